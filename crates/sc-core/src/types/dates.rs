//! Date and datetime parsing: the layouts of SPEC §4, Excel serials, epochs, times, offsets, zones.
//!
//! Decisions:
//! * Layouts: `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` (year first is always
//!   year-month-day) and `A/B/YYYY` with `/`, `-` or `.` (one separator used
//!   twice). Month and day may have one or two digits; the year needs four
//!   (`04/05/24` is invalid: use input_format `%m/%d/%y`).
//! * `A/B/YYYY` is month-first (`04/05/2024` → April 5). Without
//!   `input_format`, a first field over 12 that cannot be a month makes it
//!   day-first (`25/12/2024` → Dec 25). An input_format shorthand fixes the
//!   order strictly: `DD/MM/YYYY` (any of `/ - .` or a space between the
//!   three tokens, any order of DD and MM before YYYY) reads day-first and
//!   `MM/DD/YYYY` month-first, with no swapping; the separator and the other
//!   accepted forms (ISO, serials, epochs) stay flexible. `YYYY-MM-DD` as a
//!   shorthand is the default behaviour.
//! * An input_format containing `%` is a chrono strftime pattern and is
//!   strict: the whole value must match it (`%d/%m/%Y %H:%M`). A pattern
//!   without time fields gives midnight; `%z` gives the offset; `%s` an epoch.
//! * All digits (optionally `.fraction`): exactly 8 digits forming a valid
//!   date are `YYYYMMDD`; otherwise an integer part below 100 000 is an
//!   Excel serial (1900 date system: 1 = 1900-01-01, 59 = 1900-02-28,
//!   60 = Excel's non-existent 1900-02-29 and is invalid, 61 = 1900-03-01,
//!   up to 99 999 = 2173-10-13; the fraction is the time of day, rounded to
//!   the millisecond, wall-clock in the connector's time zone); from
//!   100 000 up to 10^11 epoch seconds (UTC, fraction = sub-seconds); from
//!   10^11 up to 10^14 epoch milliseconds; larger is invalid. Negative
//!   numbers are not dates.
//! * A time after the date (after `T` or white space): `H:MM`, `HH:MM:SS`,
//!   fractional seconds (`.` or `,`, up to nanoseconds, more digits
//!   truncated), `AM`/`PM`/`a.m.`/`p.m.` in any case (hour 1–12), then an
//!   optional offset `Z`, `UTC`, `GMT`, `±HH`, `±HHMM`, `±HH:MM`. Nothing
//!   else may follow. Seconds 60 (leap) and hour 24 are invalid.
//! * date: a time and offset are checked, then dropped; the date is the one
//!   written (no zone conversion). An epoch is converted to a date in the
//!   connector's time zone.
//! * datetime: with an offset that instant; without one, a wall-clock time
//!   in the connector's time zone (a bare date is midnight there). In a DST
//!   overlap the earlier instant is taken; a time in a DST gap is read with
//!   the offset in force before the gap (02:30 on a spring-forward night in
//!   Berlin → 03:30 CEST = 01:30 UTC), as PostgreSQL does.

use chrono::format::{Parsed, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::context::Context;

const EXPECTED: &str = "expected a date such as 2024-05-04, 05/04/2024 or 04.05.2024, \
                        an Excel serial or epoch seconds";

/// How `A/B/YYYY` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// Month first, day first when the first field is over 12 (the default).
    Auto,
    MonthFirst,
    DayFirst,
}

/// A parsed `input_format` for dates and datetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateFormat<'a> {
    Layouts(Order),
    Pattern(&'a str),
}

/// What a text says before a time zone is applied.
enum Moment {
    Wall { date: NaiveDate, time: Option<NaiveTime>, offset: Option<FixedOffset> },
    Instant(DateTime<Utc>),
}

/// Interprets a date/datetime `input_format` (see the module documentation).
pub(super) fn date_format(input_format: Option<&str>) -> Result<DateFormat<'_>, String> {
    let Some(f) = input_format else {
        return Ok(DateFormat::Layouts(Order::Auto));
    };
    if f.contains('%') {
        if StrftimeItems::new(f).parse().is_err() {
            return Err(format!("input_format \"{f}\" is not a valid strftime pattern"));
        }
        return Ok(DateFormat::Pattern(f));
    }
    let tokens: Vec<String> = f.trim().split(['/', '-', '.', ' ']).map(str::to_ascii_uppercase).collect();
    match tokens.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["MM", "DD", "YYYY"] => Ok(DateFormat::Layouts(Order::MonthFirst)),
        ["DD", "MM", "YYYY"] => Ok(DateFormat::Layouts(Order::DayFirst)),
        ["YYYY", "MM", "DD"] => Ok(DateFormat::Layouts(Order::Auto)),
        _ => Err(format!(
            "input_format \"{f}\" is neither DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD \
             nor a strftime pattern such as %d.%m.%Y"
        )),
    }
}

pub(super) fn parse_date(raw: &str, fmt: Option<&str>, ctx: &Context) -> Result<NaiveDate, String> {
    Ok(match parse_moment(raw, fmt)? {
        Moment::Wall { date, .. } => date,
        Moment::Instant(i) => i.with_timezone(&ctx.timezone).date_naive(),
    })
}

pub(super) fn parse_datetime(raw: &str, fmt: Option<&str>, ctx: &Context) -> Result<DateTime<Utc>, String> {
    match parse_moment(raw, fmt)? {
        Moment::Instant(i) => Ok(i),
        Moment::Wall { date, time, offset } => {
            let local = date.and_time(time.unwrap_or(NaiveTime::MIN));
            let utc = match offset {
                Some(o) => o.from_local_datetime(&local).single().map(|d| d.to_utc()),
                None => localize(local, ctx.timezone),
            };
            utc.ok_or_else(|| "out of range".to_owned())
        }
    }
}

/// A wall-clock time in `tz` as an instant (DST rules in the module documentation).
pub(super) fn localize(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    if let Some(d) = tz.from_local_datetime(&local).earliest() {
        return Some(d.to_utc());
    }
    // In a gap: the offset in force before it (gaps last at most a day).
    for hours in 1..=48 {
        let probe = local.checked_sub_signed(TimeDelta::hours(hours))?;
        if let Some(d) = tz.from_local_datetime(&probe).earliest() {
            let offset = d.offset().fix();
            return offset.from_local_datetime(&local).single().map(|d| d.to_utc());
        }
    }
    None
}

fn parse_moment(raw: &str, fmt: Option<&str>) -> Result<Moment, String> {
    let text = raw.trim();
    match date_format(fmt)? {
        DateFormat::Pattern(p) => parse_pattern(text, p),
        DateFormat::Layouts(order) => match parse_numeric(text) {
            Some(result) => result,
            None => parse_layout(text, order),
        },
    }
}

/// A strict strftime match.
fn parse_pattern(text: &str, pattern: &str) -> Result<Moment, String> {
    let items = StrftimeItems::new(pattern)
        .parse()
        .map_err(|_| format!("input_format \"{pattern}\" is not a valid strftime pattern"))?;
    let mut p = Parsed::new();
    chrono::format::parse(&mut p, text, items.iter())
        .map_err(|e| format!("does not match input_format \"{pattern}\" ({e})"))?;
    if p.timestamp().is_some() {
        return p
            .to_datetime_with_timezone(&Utc)
            .map(Moment::Instant)
            .map_err(|e| format!("does not match input_format \"{pattern}\" ({e})"));
    }
    let date = p.to_naive_date().map_err(|e| format!("input_format \"{pattern}\" does not give a full date ({e})"))?;
    let time = if p.hour_div_12().is_none() && p.hour_mod_12().is_none() {
        None
    } else {
        Some(p.to_naive_time().map_err(|e| format!("invalid time ({e})"))?)
    };
    let offset = p.offset().and_then(FixedOffset::east_opt);
    Ok(Moment::Wall { date, time, offset })
}

/// Excel serials, epochs and `YYYYMMDD`; `None` when `text` is not all digits.
fn parse_numeric(text: &str) -> Option<Result<Moment, String>> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !frac.is_none_or(all_digits) {
        return None;
    }
    if int.len() == 8 && frac.is_none() {
        let (y, m, d) = (num(&int[..4]), num(&int[4..6]), num(&int[6..]));
        if let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d).filter(|_| y >= 1000) {
            return Some(Ok(wall(date)));
        }
    }
    let int = int.trim_start_matches('0');
    if int.len() > 14 {
        return Some(Err("number out of range for a date".to_owned()));
    }
    let n: i64 = int.parse().unwrap_or(0);
    // Up to nine fraction digits, right-padded: nanoseconds of the unit.
    let nanos = |f: Option<&str>| -> u32 {
        let f = f.unwrap_or("");
        let f = &f[..f.len().min(9)];
        format!("{f:0<9}").parse().unwrap_or(0)
    };
    Some(if n < 100_000 {
        excel_serial(n, nanos(frac))
    } else if n < 100_000_000_000 {
        DateTime::from_timestamp(n, nanos(frac)).map(Moment::Instant).ok_or_else(|| "epoch out of range".to_owned())
    } else if n < 100_000_000_000_000 {
        // The fraction is of a millisecond: nanos(frac) / 1000 nanoseconds.
        DateTime::from_timestamp_millis(n)
            .map(|d| d + TimeDelta::nanoseconds(i64::from(nanos(frac) / 1_000)))
            .map(Moment::Instant)
            .ok_or_else(|| "epoch out of range".to_owned())
    } else {
        Err("number out of range for a date".to_owned())
    })
}

/// Excel serial day `n` plus `nanos` billionths of a day (1900 date system).
fn excel_serial(n: i64, nanos: u32) -> Result<Moment, String> {
    let base = match n {
        0 => return Err("Excel serial 0 is not a date".to_owned()),
        1..=59 => NaiveDate::from_ymd_opt(1899, 12, 31),
        60 => return Err("Excel serial 60 is 1900-02-29, which does not exist".to_owned()),
        _ => NaiveDate::from_ymd_opt(1899, 12, 30),
    };
    // Time of day rounded to the millisecond: nanos/1e9 of 86 400 000 ms.
    let ms = (u64::from(nanos) * 86_400_000 + 500_000_000) / 1_000_000_000;
    let start = base
        .and_then(|b| b.checked_add_signed(TimeDelta::days(n)))
        .map(|d| d.and_time(NaiveTime::MIN))
        .and_then(|d| d.checked_add_signed(TimeDelta::milliseconds(ms as i64)))
        .ok_or_else(|| "Excel serial out of range".to_owned())?;
    Ok(Moment::Wall { date: start.date(), time: (nanos > 0).then(|| start.time()), offset: None })
}

fn wall(date: NaiveDate) -> Moment {
    Moment::Wall { date, time: None, offset: None }
}

/// Value of an ASCII digit string (saturating; callers bound the length).
fn num(s: &str) -> u32 {
    s.bytes().fold(0u32, |acc, b| acc.saturating_mul(10).saturating_add(u32::from(b - b'0')))
}

/// A cursor over ASCII structure; other bytes simply never match.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }
    fn eat_ci(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        let hit = self.b.get(self.i..end).is_some_and(|s| s.eq_ignore_ascii_case(word.as_bytes()));
        if hit {
            self.i = end;
        }
        hit
    }
    /// A run of digits; empty when none.
    fn digits(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.b[start..self.i]).unwrap_or("")
    }
    fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
        self.i > start
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// `A?B?C[ time]` with one of `- / .` as `?`.
fn parse_layout(text: &str, order: Order) -> Result<Moment, String> {
    let mut c = Cursor { b: text.as_bytes(), i: 0 };
    let a = c.digits();
    let sep = c.peek().filter(|s| matches!(s, b'-' | b'/' | b'.'));
    let (Some(sep), false) = (sep, a.is_empty()) else {
        return Err(EXPECTED.to_owned());
    };
    c.i += 1;
    let b = c.digits();
    if !c.eat(sep) {
        return Err(EXPECTED.to_owned());
    }
    let last = c.digits();
    let short = |s: &str| (1..=2).contains(&s.len());
    let (year, month, day) = if a.len() == 4 && short(b) && short(last) {
        (num(a), num(b), num(last))
    } else if short(a) && short(b) && last.len() == 4 {
        let (first, second) = (num(a), num(b));
        let day_first = match order {
            Order::DayFirst => true,
            Order::MonthFirst => false,
            Order::Auto => first > 12 && second <= 12,
        };
        if day_first {
            (num(last), second, first)
        } else {
            (num(last), first, second)
        }
    } else {
        return Err(EXPECTED.to_owned());
    };
    let date = calendar_date(year, month, day)?;
    if c.done() {
        return Ok(wall(date));
    }
    let (time, offset) = parse_time(&mut c)?;
    Ok(Moment::Wall { date, time: Some(time), offset })
}

fn calendar_date(year: u32, month: u32, day: u32) -> Result<NaiveDate, String> {
    if year == 0 {
        return Err("year 0 does not exist".to_owned());
    }
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} does not exist"));
    }
    NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| format!("day {day} does not exist in {year:04}-{month:02}"))
}

/// The time after a date: `T` or white space, then the time, AM/PM and offset.
fn parse_time(c: &mut Cursor<'_>) -> Result<(NaiveTime, Option<FixedOffset>), String> {
    const BAD: &str = "unexpected text after the date (expected a time such as 13:45 or 13:45:00Z)";
    if !(c.eat(b'T') || c.eat(b't') || c.skip_ws()) {
        return Err(BAD.to_owned());
    }
    let h = c.digits();
    if !(1..=2).contains(&h.len()) || !c.eat(b':') {
        return Err(BAD.to_owned());
    }
    let mut hour = num(h);
    let m = c.digits();
    if m.len() != 2 {
        return Err(BAD.to_owned());
    }
    let minute = num(m);
    let mut second = 0;
    let mut nano = 0;
    if c.eat(b':') {
        let s = c.digits();
        if s.len() != 2 {
            return Err(BAD.to_owned());
        }
        second = num(s);
        if c.eat(b'.') || c.eat(b',') {
            let f = c.digits();
            if f.is_empty() {
                return Err(BAD.to_owned());
            }
            nano = num(&format!("{:0<9}", &f[..f.len().min(9)]));
        }
    }
    c.skip_ws();
    let pm = if c.eat_ci("am") || c.eat_ci("a.m.") {
        Some(false)
    } else if c.eat_ci("pm") || c.eat_ci("p.m.") {
        Some(true)
    } else {
        None
    };
    if let Some(pm) = pm {
        if !(1..=12).contains(&hour) {
            return Err(format!("hour {hour} with AM/PM (expected 1 to 12)"));
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    c.skip_ws();
    let offset = parse_offset(c)?;
    c.skip_ws();
    if !c.done() {
        return Err(BAD.to_owned());
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)
        .filter(|_| second < 60)
        .ok_or_else(|| format!("{hour:02}:{minute:02}:{second:02} is not a time of day"))?;
    Ok((time, offset))
}

/// `Z`, `UTC`, `GMT` (optionally followed by `±…`), `±HH`, `±HHMM`, `±HH:MM`.
fn parse_offset(c: &mut Cursor<'_>) -> Result<Option<FixedOffset>, String> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Ok(FixedOffset::east_opt(0));
    }
    let named = c.eat_ci("utc") || c.eat_ci("gmt");
    let negative = match c.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        _ if named => return Ok(FixedOffset::east_opt(0)),
        _ => return Ok(None),
    };
    c.i += 1;
    let bad = || "invalid UTC offset (expected Z, +HH:MM, +HHMM or +HH)".to_owned();
    let d = c.digits();
    let (hours, minutes) = match d.len() {
        1 | 2 if c.eat(b':') => {
            let m = c.digits();
            if m.len() != 2 {
                return Err(bad());
            }
            (num(d), num(m))
        }
        1 | 2 => (num(d), 0),
        4 => (num(&d[..2]), num(&d[2..])),
        _ => return Err(bad()),
    };
    if hours > 23 || minutes > 59 {
        return Err(bad());
    }
    let secs = (hours * 3600 + minutes * 60) as i32;
    Ok(FixedOffset::east_opt(if negative { -secs } else { secs }))
}
