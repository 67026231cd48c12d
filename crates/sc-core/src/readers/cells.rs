//! Spreadsheet cell values as text: how numbers, booleans, dates, times,
//! durations and formula errors from calamine become input strings.
//!
//! Decisions:
//! * Integers, and floats with no fractional part below 1e15, print without
//!   `.0` (`41`); other floats are rounded to 15 significant digits (what
//!   Excel stores and shows) and printed in the shortest form (`16.99`, not
//!   `16.990000000000002`), never in exponent notation.
//! * Booleans are `True` / `False`, as Kizen's runtime writes them.
//! * Date cells are `YYYY-MM-DD`; date-times with a time part are
//!   `YYYY-MM-DD HH:MM:SS`, with `.ffffff` when the time has a fraction of a
//!   second (Excel keeps milliseconds: `13:45:00.250000`, as Kizen's runtime
//!   prints them); time-only cells (serial below 1) are `HH:MM:SS` the same
//!   way; durations are `HH:MM:SS` with hours past 24
//!   kept (`36:00:00`, to the second) and a leading `-` when negative. ODS
//!   ISO dates keep their digits with `T` replaced by a space; ODS durations (`PT1H30M`)
//!   become `HH:MM:SS`.
//! * A formula error (`#DIV/0!`, `#N/A`, …) is NULL, and the reader reports a
//!   warning naming the sheet and cell.

use calamine::{Data, DataRef, ExcelDateTime, ExcelDateTimeType};

/// A cell after conversion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CellValue {
    Null,
    Text(String),
    /// A formula error, e.g. `#DIV/0!`.
    Error(String),
}

impl CellValue {
    /// True if the cell counts for the table's shape (see `table`).
    pub(crate) fn is_data(&self) -> bool {
        matches!(self, CellValue::Text(s) if !super::table::is_blank(s))
    }
}

fn text(s: String) -> CellValue {
    if s.is_empty() {
        CellValue::Null
    } else {
        CellValue::Text(s)
    }
}

/// Converts an owned cell (XLS, ODS ranges).
pub(crate) fn from_data(d: &Data) -> CellValue {
    match d {
        Data::Empty => CellValue::Null,
        Data::String(s) => text(s.clone()),
        Data::Int(i) => CellValue::Text(i.to_string()),
        Data::Float(f) => CellValue::Text(format_float(*f)),
        Data::Bool(b) => CellValue::Text(bool_text(*b)),
        Data::DateTime(dt) => CellValue::Text(format_excel_datetime(dt)),
        Data::DateTimeIso(s) => text(format_iso_datetime(s)),
        Data::DurationIso(s) => text(format_iso_duration(s)),
        Data::Error(e) => CellValue::Error(e.to_string()),
    }
}

/// Converts a streamed cell (XLSX, XLSB cell readers).
pub(crate) fn from_data_ref(d: &DataRef<'_>) -> CellValue {
    match d {
        DataRef::Empty => CellValue::Null,
        DataRef::String(s) => text(s.clone()),
        DataRef::SharedString(s) => text((*s).to_owned()),
        DataRef::Int(i) => CellValue::Text(i.to_string()),
        DataRef::Float(f) => CellValue::Text(format_float(*f)),
        DataRef::Bool(b) => CellValue::Text(bool_text(*b)),
        DataRef::DateTime(dt) => CellValue::Text(format_excel_datetime(dt)),
        DataRef::DateTimeIso(s) => text(format_iso_datetime(s)),
        DataRef::DurationIso(s) => text(format_iso_duration(s)),
        DataRef::Error(e) => CellValue::Error(e.to_string()),
    }
}

fn bool_text(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

/// Renders a float without spurious `.0` or binary noise.
pub(crate) fn format_float(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    // Round to 15 significant digits, then print the shortest exact form.
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        return format!("{}", rounded as i64);
    }
    format!("{rounded}")
}

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Renders an Excel serial date/time or duration (see module docs).
pub(crate) fn format_excel_datetime(dt: &ExcelDateTime) -> String {
    let value = dt.as_f64();
    if dt.is_duration() {
        return format_seconds((value * SECONDS_PER_DAY).round());
    }
    // Milliseconds of the day, as Excel stores them.
    if (0.0..1.0).contains(&value) {
        let ms = (value * MS_PER_DAY).round().min(MS_PER_DAY - 1.0) as u64;
        return format_time_ms(ms);
    }
    // calamine does not expose the 1904 flag: compare with a 1900 reading.
    let plain = ExcelDateTime::new(value, ExcelDateTimeType::DateTime, false);
    let is_1904 = plain.to_ymd_hms_milli() != dt.to_ymd_hms_milli();
    let mut days = value.floor();
    let mut ms = ((value - days) * MS_PER_DAY).round();
    if ms >= MS_PER_DAY {
        days += 1.0;
        ms = 0.0;
    }
    let (y, m, d, ..) = ExcelDateTime::new(days, ExcelDateTimeType::DateTime, is_1904).to_ymd_hms_milli();
    if ms == 0.0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02} {}", format_time_ms(ms as u64))
    }
}

const MS_PER_DAY: f64 = 86_400_000.0;

/// `HH:MM:SS` for a time of day in milliseconds, with `.ffffff` when it has a fraction.
fn format_time_ms(ms: u64) -> String {
    let s = ms / 1000;
    let clock = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    match ms % 1000 {
        0 => clock,
        frac => format!("{clock}.{:06}", frac * 1000),
    }
}

/// `HH:MM:SS` for a whole number of seconds (hours may exceed 24).
fn format_seconds(total: f64) -> String {
    let sign = if total < 0.0 { "-" } else { "" };
    let s = total.abs().min(1e15) as u64;
    format!("{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// ODS date values: `2024-05-04` stays, `2024-05-04T13:45:00.25` gets a
/// space and its fraction as six digits (`13:45:00.250000`), like Excel's.
fn format_iso_datetime(s: &str) -> String {
    let out = s.replacen('T', " ", 1);
    match out.split_once('.') {
        Some((clock, frac)) if clock.contains(' ') && frac.bytes().all(|b| b.is_ascii_digit()) => {
            let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
            if digits.bytes().all(|b| b == b'0') {
                clock.to_owned()
            } else {
                format!("{clock}.{digits}")
            }
        }
        _ => out,
    }
}

/// ODS durations `PnDTnHnMn.nS` as `HH:MM:SS`; anything else is kept as is.
fn format_iso_duration(s: &str) -> String {
    parse_iso_duration(s).map_or_else(|| s.to_owned(), |secs| format_seconds(secs.round()))
}

fn parse_iso_duration(s: &str) -> Option<f64> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let rest = rest.strip_prefix('P')?;
    let mut total = 0.0;
    let mut number = String::new();
    let mut in_time = false;
    for ch in rest.chars() {
        match ch {
            'T' if number.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if ch == ',' { '.' } else { ch }),
            unit => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                total += n * match (unit, in_time) {
                    ('D', false) => SECONDS_PER_DAY,
                    ('W', false) => 7.0 * SECONDS_PER_DAY,
                    ('H', true) => 3600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
            }
        }
    }
    number.is_empty().then_some(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(v: f64) -> ExcelDateTime {
        ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false)
    }

    #[test]
    fn floats_without_noise() {
        assert_eq!(format_float(41.0), "41");
        assert_eq!(format_float(-3.0), "-3");
        assert_eq!(format_float(16.99), "16.99");
        assert_eq!(format_float(0.1 + 0.2), "0.3");
        assert_eq!(format_float(1e20), "100000000000000000000");
        assert_eq!(format_float(0.000_001_5), "0.0000015");
        assert_eq!(format_float(-0.0), "0");
    }

    #[test]
    fn excel_dates_and_datetimes() {
        assert_eq!(format_excel_datetime(&dt(45416.0)), "2024-05-04");
        assert_eq!(format_excel_datetime(&dt(45_416.572_916_666_67)), "2024-05-04 13:45:00");
        // Fractions of a second are kept, to the millisecond Excel stores.
        assert_eq!(format_excel_datetime(&dt(45416.0 + 86_399.9 / 86_400.0)), "2024-05-04 23:59:59.900000");
        assert_eq!(format_excel_datetime(&dt(45416.0 + 49_500.25 / 86_400.0)), "2024-05-04 13:45:00.250000");
        // 23:59:59.9996 rounds into the next day.
        assert_eq!(format_excel_datetime(&dt(45416.0 + 86_399.999_6 / 86_400.0)), "2024-05-05");
        assert_eq!(format_excel_datetime(&dt(0.5)), "12:00:00");
        assert_eq!(format_excel_datetime(&dt(0.5 + 0.125 / 86_400.0)), "12:00:00.125000");
        let d1904 = ExcelDateTime::new(45416.0 - 1462.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(format_excel_datetime(&d1904), "2024-05-04");
    }

    #[test]
    fn durations() {
        let d = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(format_excel_datetime(&d), "36:00:00");
        assert_eq!(format_iso_duration("PT13H45M00S"), "13:45:00");
        assert_eq!(format_iso_duration("P1DT0H30M"), "24:30:00");
        assert_eq!(format_iso_duration("-PT90S"), "-00:01:30");
        assert_eq!(format_iso_duration("bogus"), "bogus");
        assert_eq!(format_iso_datetime("2024-05-04T13:45:00.25"), "2024-05-04 13:45:00.250000");
        assert_eq!(format_iso_datetime("2024-05-04T13:45:00.000"), "2024-05-04 13:45:00");
        assert_eq!(format_iso_datetime("2024-05-04"), "2024-05-04");
    }

    #[test]
    fn iso_datetimes() {
        assert_eq!(format_iso_datetime("2024-05-04"), "2024-05-04");
        assert_eq!(format_iso_datetime("2024-05-04T13:45:00.123"), "2024-05-04 13:45:00.123000");
    }

    #[test]
    fn strings_errors_and_blanks() {
        assert_eq!(from_data(&Data::String(String::new())), CellValue::Null);
        assert_eq!(from_data(&Data::Bool(true)), CellValue::Text("True".into()));
        assert_eq!(from_data(&Data::Bool(false)), CellValue::Text("False".into()));
        assert_eq!(from_data(&Data::Error(calamine::CellErrorType::Div0)), CellValue::Error("#DIV/0!".into()));
        assert!(!CellValue::Text("  ".into()).is_data());
        assert!(CellValue::Text(" x".into()).is_data());
    }
}
