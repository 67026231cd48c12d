//! pg_cron schedules (SPEC §10): parsing as pg_cron reads them, and the next
//! time one fires, for the `sc.schedules` view.
//!
//! Five fields (minute hour day-of-month month day-of-week, each a comma list
//! of `*`, `n`, `a-b` with an optional `/step`; month and weekday names; `$`
//! for the last day of the month), a macro (`@hourly`, `@daily`/`@midnight`,
//! `@weekly`, `@monthly`, `@yearly`/`@annually`), or an interval `N seconds`
//! (1–59). As in pg_cron (and vixie cron), when both day fields are
//! restricted a day matching either one fires; when either starts with `*`,
//! both must match. Times are UTC (pg_cron's default `cron.timezone`).

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every N seconds (pg_cron 1.5 and later).
    Every(u32),
    Cron(CronSpec),
}

/// Five cron fields as bit sets (bit n set: value n matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSpec {
    minute: u64,
    hour: u32,
    /// Bits 1..=31.
    dom: u32,
    /// `$`: the last day of the month.
    last_dom: bool,
    /// Bits 1..=12.
    month: u16,
    /// Bits 0..=6, Sunday 0 (7 folds onto 0).
    dow: u8,
    dom_star: bool,
    dow_star: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names accepted for values, from `min` on (months, weekdays).
    names: &'static [&'static str],
    /// `$` (last day of the month) is allowed.
    dollar: bool,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[], dollar: false },
    Field { name: "hour", min: 0, max: 23, names: &[], dollar: false },
    Field { name: "day-of-month", min: 1, max: 31, names: &[], dollar: true },
    Field { name: "month", min: 1, max: 12, names: &MONTHS, dollar: false },
    Field { name: "day-of-week", min: 0, max: 7, names: &WEEKDAYS, dollar: false },
];

impl Schedule {
    /// Parses a schedule; the error says what is wrong, naming the field.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.len() == 2 && words[0].bytes().all(|b| b.is_ascii_digit()) {
            return match (words[0].parse::<u32>(), words[1]) {
                (Ok(n @ 1..=59), "second" | "seconds") => Ok(Schedule::Every(n)),
                (Ok(_), "second" | "seconds") => Err("an interval is 1 to 59 seconds".to_string()),
                _ => Err("an interval is written like `30 seconds`".to_string()),
            };
        }
        if let [word] = words.as_slice() {
            if let Some(name) = word.strip_prefix('@') {
                return macro_spec(name).map(Schedule::Cron);
            }
        }
        if words.len() != 5 {
            return Err(format!("a cron expression has 5 fields, this has {}", words.len()));
        }
        let mut sets = [0u64; 5];
        let mut last_dom = false;
        for (i, (word, spec)) in words.iter().zip(FIELDS.iter()).enumerate() {
            let (bits, dollar) =
                field_bits(word, spec).map_err(|why| format!("{} field `{word}`: {why}", spec.name))?;
            sets[i] = bits;
            last_dom |= dollar;
        }
        // Day-of-week 7 is Sunday, like 0.
        let dow = (sets[4] & 0x7f) | ((sets[4] >> 7) & 1);
        Ok(Schedule::Cron(CronSpec {
            minute: sets[0],
            hour: sets[1] as u32,
            dom: sets[2] as u32,
            last_dom,
            month: sets[3] as u16,
            dow: dow as u8,
            dom_star: words[2].starts_with('*'),
            dow_star: words[4].starts_with('*'),
        }))
    }

    /// The first time strictly after `after` at which this schedule fires
    /// (None if it never does, e.g. `0 0 31 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(n) => Some(after + Duration::seconds(i64::from(*n))),
            Schedule::Cron(spec) => spec.next_after(after),
        }
    }
}

impl Schedule {
    /// The latest time in (`after`, `until`] at which this schedule fires,
    /// in microseconds since 1970-01-01 UTC: the one tick to run after a
    /// downtime that missed some (None when none was missed).
    pub fn latest_missed_micros(&self, after_us: i64, until_us: i64) -> Option<i64> {
        let until = DateTime::<Utc>::from_timestamp_micros(until_us)?;
        let mut next = self.next_after(DateTime::<Utc>::from_timestamp_micros(after_us)?)?;
        if next > until {
            return None;
        }
        if let Schedule::Every(_) = self {
            return Some(until.timestamp_micros());
        }
        // Walk the fire times up to `until` (a year of minutes at most), keeping the last.
        for _ in 0..600_000 {
            match self.next_after(next) {
                Some(t) if t <= until => next = t,
                _ => break,
            }
        }
        Some(next.timestamp_micros())
    }

    /// [`Schedule::next_after`] in microseconds since 1970-01-01 UTC.
    pub fn next_after_micros(&self, after_us: i64) -> Option<i64> {
        self.next_after(DateTime::<Utc>::from_timestamp_micros(after_us)?).map(|t| t.timestamp_micros())
    }
}

impl CronSpec {
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // The next whole minute, then minute by minute through matching days;
        // a day or hour that cannot match is skipped whole. Five years bound
        // the search (a 29 February schedule fires within four).
        let start = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let end = start + Duration::days(5 * 366);
        let mut t = start;
        while t < end {
            if !self.day_matches(t) {
                let next_day =
                    Utc.with_ymd_and_hms(t.year(), t.month(), t.day(), 0, 0, 0).single()? + Duration::days(1);
                t = next_day;
                continue;
            }
            if self.hour & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if self.minute & (1 << t.minute()) != 0 {
                return Some(t);
            }
            t += Duration::minutes(1);
        }
        None
    }

    fn day_matches(&self, t: DateTime<Utc>) -> bool {
        if self.month & (1 << t.month()) == 0 {
            return false;
        }
        let last = self.last_dom && (t + Duration::days(1)).month() != t.month();
        let dom = self.dom & (1 << t.day()) != 0 || last;
        let dow = self.dow & (1 << t.weekday().num_days_from_sunday()) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }
}

fn macro_spec(name: &str) -> Result<CronSpec, String> {
    let all = |f: &Field| (f.min..=f.max).fold(0u64, |b, v| b | (1 << v));
    let one = |v: u32| 1u64 << v;
    let (minute, hour, dom, month, dow) = match name {
        "hourly" => (one(0), all(&FIELDS[1]), all(&FIELDS[2]), all(&FIELDS[3]), 0x7f),
        "daily" | "midnight" => (one(0), one(0), all(&FIELDS[2]), all(&FIELDS[3]), 0x7f),
        "weekly" => (one(0), one(0), all(&FIELDS[2]), all(&FIELDS[3]), 1),
        "monthly" => (one(0), one(0), one(1), all(&FIELDS[3]), 0x7f),
        "yearly" | "annually" => (one(0), one(0), one(1), one(1), 0x7f),
        "reboot" | "restart" => {
            return Err(format!("@{name} fires only at server start; a connector's schedule needs times"))
        }
        _ => return Err(format!("`@{name}` is not a pg_cron macro (@hourly, @daily, @weekly, @monthly, @yearly)")),
    };
    Ok(CronSpec {
        minute,
        hour: hour as u32,
        dom: dom as u32,
        last_dom: false,
        month: month as u16,
        dow: dow as u8,
        dom_star: true,
        dow_star: true,
    })
}

/// One field as a bit set, and whether it holds `$`: a comma list of `*`,
/// `n`, `a-b`, each range (or `*`) with an optional `/step`.
fn field_bits(word: &str, spec: &Field) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut dollar = false;
    for item in word.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (b, Some(s)),
            None => (item, None),
        };
        let (from, to, is_range) = match base {
            "*" => (spec.min, spec.max, true),
            "$" if spec.dollar => {
                dollar = true;
                (0, 0, false)
            }
            _ => match base.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (value(a, spec)?, value(b, spec)?);
                    if a > b {
                        return Err(format!("range {base} runs backwards"));
                    }
                    (a, b, true)
                }
                None => {
                    let v = value(base, spec)?;
                    (v, v, false)
                }
            },
        };
        let step = match step {
            None => 1,
            Some(_) if !is_range => {
                return Err(format!("a step needs * or a range before it, as in */{}", step.unwrap_or_default()))
            }
            Some(s) => match s.parse::<u32>() {
                Ok(n) if n >= 1 && n <= spec.max => n,
                _ => return Err(format!("step `{s}` must be a number from 1 to {}", spec.max)),
            },
        };
        if base != "$" {
            let mut v = from;
            while v <= to {
                bits |= 1 << v;
                v += step;
            }
        }
    }
    Ok((bits, dollar))
}

fn value(text: &str, spec: &Field) -> Result<u32, String> {
    if let Some(pos) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.min + pos as u32);
    }
    match text.parse::<u32>() {
        Ok(n) if text.bytes().all(|b| b.is_ascii_digit()) && (spec.min..=spec.max).contains(&n) => Ok(n),
        _ if text.is_empty() => Err("empty value".to_string()),
        _ => Err(format!("`{text}` is not a value from {} to {}", spec.min, spec.max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn next(schedule: &str, after: &str) -> String {
        let s = Schedule::parse(schedule).unwrap();
        s.next_after(at(after)).map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into())
    }

    #[test]
    fn the_latest_missed_tick() {
        let us = |t: &str| at(t).timestamp_micros();
        let missed = |schedule: &str, after: &str, until: &str| {
            Schedule::parse(schedule)
                .unwrap()
                .latest_missed_micros(us(after), us(until))
                .map(|t| DateTime::<Utc>::from_timestamp_micros(t).unwrap().to_rfc3339())
        };
        let down = ("2026-11-27T03:00:00Z", "2026-11-29T13:32:35Z");
        assert_eq!(missed("0 3 * * *", down.0, down.1).as_deref(), Some("2026-11-29T03:00:00+00:00"));
        assert_eq!(missed("* * * * *", down.0, down.1).as_deref(), Some("2026-11-29T13:32:00+00:00"));
        assert_eq!(missed("0 3 * * *", "2026-11-29T03:00:00Z", down.1), None, "nothing missed since");
        assert_eq!(missed("30 seconds", "2026-11-29T13:31:00Z", down.1).as_deref(), Some("2026-11-29T13:32:35+00:00"));
    }

    #[test]
    fn next_fire_times() {
        // 2026-11-29 is a Sunday.
        let cases = [
            ("* * * * *", "2026-11-29T13:32:35Z", "2026-11-29T13:33:00+00:00"),
            ("* * * * *", "2026-11-29T13:32:00Z", "2026-11-29T13:33:00+00:00"),
            ("*/15 * * * *", "2026-11-29T13:32:35Z", "2026-11-29T13:45:00+00:00"),
            ("0 3 * * 1-5", "2026-11-29T13:32:35Z", "2026-11-30T03:00:00+00:00"),
            ("0 3 * * 1-5", "2026-12-04T03:00:00Z", "2026-12-07T03:00:00+00:00"),
            ("30 8-18/2 1,15 * *", "2026-11-29T13:32:35Z", "2026-12-01T08:30:00+00:00"),
            ("0 0 $ * *", "2026-11-29T13:32:35Z", "2026-11-30T00:00:00+00:00"),
            ("0 0 $ * *", "2027-02-01T00:00:00Z", "2027-02-28T00:00:00+00:00"),
            ("0 6 * jan-mar mon,fri", "2026-11-29T13:32:35Z", "2027-01-01T06:00:00+00:00"),
            ("0 6 * * 7", "2026-11-29T13:32:35Z", "2026-12-06T06:00:00+00:00"),
            // Both day fields restricted: either one matches (the 1st, or a Monday).
            ("0 0 1 * 1", "2026-11-29T13:32:35Z", "2026-11-30T00:00:00+00:00"),
            ("0 0 1 * 1", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00+00:00"),
            ("@hourly", "2026-11-29T13:32:35Z", "2026-11-29T14:00:00+00:00"),
            ("@daily", "2026-11-29T13:32:35Z", "2026-11-30T00:00:00+00:00"),
            ("@weekly", "2026-11-29T13:32:35Z", "2026-12-06T00:00:00+00:00"),
            ("@monthly", "2026-11-29T13:32:35Z", "2026-12-01T00:00:00+00:00"),
            ("@yearly", "2026-11-29T13:32:35Z", "2027-01-01T00:00:00+00:00"),
            ("0 0 29 2 *", "2026-11-29T13:32:35Z", "2028-02-29T00:00:00+00:00"),
            ("0 0 31 2 *", "2026-11-29T13:32:35Z", "never"),
            ("30 seconds", "2026-11-29T13:32:35Z", "2026-11-29T13:33:05+00:00"),
        ];
        for (schedule, after, expected) in cases {
            assert_eq!(next(schedule, after), expected, "{schedule} after {after}");
        }
    }
}
