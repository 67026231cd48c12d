//! Tables of input → expected for date and datetime, and the format checks.

use super::tests::{check_table, Expect};
use super::*;
use crate::document::VariableType;

fn berlin() -> Context {
    Context { timezone: "Europe/Berlin".parse().unwrap(), ..Context::default() }
}

#[test]
fn date_rule() {
    let ymd = "2024-05-04";
    let rows: &[(&str, Option<&str>, Expect)] = &[
        // every layout of SPEC §4
        ("2024-05-04", None, Ok(ymd)),
        ("05/04/2024", None, Ok(ymd)),
        ("05-04-2024", None, Ok(ymd)),
        ("05.04.2024", None, Ok(ymd)),
        ("04/05/2024", Some("DD/MM/YYYY"), Ok(ymd)),
        ("04-05-2024", Some("DD-MM-YYYY"), Ok(ymd)),
        ("04.05.2024", Some("DD.MM.YYYY"), Ok(ymd)),
        ("2024/05/04", None, Ok(ymd)),
        ("2024.05.04", None, Ok(ymd)),
        ("5/4/2024", None, Ok(ymd)),
        ("2024-5-4", None, Ok(ymd)),
        ("  2024-05-04  ", None, Ok(ymd)),
        // ambiguous: month first unless input_format says otherwise
        ("04/05/2024", None, Ok("2024-04-05")),
        ("04/05/2024", Some("MM/DD/YYYY"), Ok("2024-04-05")),
        ("04.05.2024", Some("dd mm yyyy"), Ok(ymd)),
        // a first field over 12 is a day (only without input_format)
        ("25/12/2024", None, Ok("2024-12-25")),
        ("25-12-2024", None, Ok("2024-12-25")),
        ("25.12.2024", None, Ok("2024-12-25")),
        ("12/25/2024", None, Ok("2024-12-25")),
        ("12/25/2024", Some("DD/MM/YYYY"), Err("month 25 does not exist")),
        ("25/12/2024", Some("MM/DD/YYYY"), Err("month 25 does not exist")),
        ("13/13/2024", None, Err("month 13 does not exist")),
        // ISO with the shorthand still works
        ("2024-05-04", Some("DD/MM/YYYY"), Ok(ymd)),
        ("2024-05-04", Some("YYYY-MM-DD"), Ok(ymd)),
        // a time part is dropped (checked first)
        ("2024-05-04 13:45:00", None, Ok(ymd)),
        ("2024-05-04T13:45:00Z", None, Ok(ymd)),
        ("2024-05-04T23:30:00-05:00", None, Ok(ymd)),
        ("05/04/2024 1:45 PM", None, Ok(ymd)),
        ("2024-05-04 junk", None, Err("unexpected text after the date")),
        ("2024-05-04 25:00", None, Err("25:00:00 is not a time of day")),
        // Excel serials (1900 system) and epochs
        ("45000", None, Ok("2023-03-15")),
        ("45416", None, Ok(ymd)),
        ("45416.5729", None, Ok(ymd)),
        ("1", None, Ok("1900-01-01")),
        ("59", None, Ok("1900-02-28")),
        ("60", None, Err("1900-02-29, which does not exist")),
        ("61", None, Ok("1900-03-01")),
        ("99999", None, Ok("2173-10-13")),
        ("0", None, Err("Excel serial 0")),
        ("1714830300", None, Ok(ymd)),
        ("1714830300.75", None, Ok(ymd)),
        ("1714830300000", None, Ok(ymd)),
        ("100000", None, Ok("1970-01-02")),
        ("100000000000000", None, Err("out of range")),
        ("20240504", None, Ok(ymd)),
        // strftime patterns are strict
        ("04 May 2024", Some("%d %B %Y"), Ok(ymd)),
        ("04/05/24", Some("%d/%m/%y"), Ok(ymd)),
        ("2024-05-04", Some("%d/%m/%Y"), Err("does not match input_format \"%d/%m/%Y\"")),
        ("1714830300", Some("%s"), Ok(ymd)),
        // rejections
        ("abc", None, Err("expected a date such as")),
        ("", None, Err("expected a date such as")),
        ("04/05/24", None, Err("expected a date such as")),
        ("2024-05/04", None, Err("expected a date such as")),
        ("2024-13-01", None, Err("month 13 does not exist")),
        ("2024-02-30", None, Err("day 30 does not exist in 2024-02")),
        ("2023-02-29", None, Err("day 29 does not exist in 2023-02")),
        ("0000-01-01", None, Err("year 0 does not exist")),
        ("-1", None, Err("expected a date such as")),
        ("45416.", None, Err("expected a date such as")),
        ("2024-05-04", Some("European"), Err("is neither DD/MM/YYYY")),
    ];
    check_table(VariableType::Date, &Context::default(), rows);
    // An epoch is an instant: its date is the connector's zone's
    // (2024-05-04 22:00 UTC is already the 5th in Berlin); Excel serials and
    // written dates are wall dates and do not move.
    check_table(
        VariableType::Date,
        &berlin(),
        &[("1714860000", None, Ok("2024-05-05")), ("45416.99", None, Ok(ymd)), ("2024-05-04T23:30:00Z", None, Ok(ymd))],
    );
}

#[test]
fn datetime_rule() {
    let utc = Context::default();
    let ber = berlin();
    let rows: &[(&Context, &str, Option<&str>, Expect)] = &[
        // ISO 8601 with an offset or Z: that instant, whatever the zone
        (&utc, "2024-05-04T13:45:00Z", None, Ok("2024-05-04T13:45:00Z")),
        (&ber, "2024-05-04T13:45:00Z", None, Ok("2024-05-04T13:45:00Z")),
        (&utc, "2024-05-04T13:45:00+02:00", None, Ok("2024-05-04T11:45:00Z")),
        (&utc, "2024-05-04t13:45:00z", None, Ok("2024-05-04T13:45:00Z")),
        (&utc, "2024-05-04T13:45:00.123-0530", None, Ok("2024-05-04T19:15:00.123Z")),
        (&utc, "2024-05-04 13:45:00 +02", None, Ok("2024-05-04T11:45:00Z")),
        (&utc, "2024-05-04 13:45:00 UTC", None, Ok("2024-05-04T13:45:00Z")),
        (&ber, "2024-05-04 13:45:00 GMT+01:00", None, Ok("2024-05-04T12:45:00Z")),
        // date layouts plus a time, HH:MM, seconds, fractions, AM/PM
        (&utc, "2024-05-04 13:45", None, Ok("2024-05-04T13:45:00Z")),
        (&utc, "2024-05-04 13:45:30,5", None, Ok("2024-05-04T13:45:30.500Z")),
        (&utc, "2024-05-04T13:45:30.1234567891", None, Ok("2024-05-04T13:45:30.123456789Z")),
        (&utc, "05/04/2024 1:45 PM", None, Ok("2024-05-04T13:45:00Z")),
        (&utc, "05/04/2024 12:00 AM", None, Ok("2024-05-04T00:00:00Z")),
        (&utc, "05/04/2024 12:30 p.m.", None, Ok("2024-05-04T12:30:00Z")),
        (&utc, "04.05.2024 13:45", Some("DD.MM.YYYY"), Ok("2024-05-04T13:45:00Z")),
        (&utc, "2024/05/04 13:45:00", None, Ok("2024-05-04T13:45:00Z")),
        (&utc, "25/12/2024 08:00", None, Ok("2024-12-25T08:00:00Z")),
        // no offset: the connector's zone, DST included
        (&ber, "2024-05-04 13:45:00", None, Ok("2024-05-04T11:45:00Z")),
        (&ber, "2024-01-15 13:45", None, Ok("2024-01-15T12:45:00Z")),
        (&ber, "2024-03-31 02:30", None, Ok("2024-03-31T01:30:00Z")),
        (&ber, "2024-10-27 02:30", None, Ok("2024-10-27T00:30:00Z")),
        (&ber, "2024-10-27 03:30", None, Ok("2024-10-27T02:30:00Z")),
        // a bare date is midnight in the zone
        (&utc, "2024-05-04", None, Ok("2024-05-04T00:00:00Z")),
        (&ber, "2024-05-04", None, Ok("2024-05-03T22:00:00Z")),
        // Excel serials are wall-clock; epochs are instants
        (&utc, "45416.572916666667", None, Ok("2024-05-04T13:45:00Z")),
        (&ber, "45416.5", None, Ok("2024-05-04T10:00:00Z")),
        (&utc, "1714830300", None, Ok("2024-05-04T13:45:00Z")),
        (&ber, "1714830300", None, Ok("2024-05-04T13:45:00Z")),
        (&utc, "1714830300.25", None, Ok("2024-05-04T13:45:00.250Z")),
        (&utc, "1714830300123", None, Ok("2024-05-04T13:45:00.123Z")),
        (&utc, "20240504", None, Ok("2024-05-04T00:00:00Z")),
        // strftime patterns
        (&ber, "04.05.2024 13:45", Some("%d.%m.%Y %H:%M"), Ok("2024-05-04T11:45:00Z")),
        (&ber, "2024-05-04 13:45 +0000", Some("%Y-%m-%d %H:%M %z"), Ok("2024-05-04T13:45:00Z")),
        (&ber, "04.05.2024", Some("%d.%m.%Y"), Ok("2024-05-03T22:00:00Z")),
        (&utc, "1714830300", Some("%s"), Ok("2024-05-04T13:45:00Z")),
        (&utc, "05/04/2024 01:45 PM", Some("%m/%d/%Y %I:%M %p"), Ok("2024-05-04T13:45:00Z")),
        (&utc, "2024-05-04 13:45", Some("%d.%m.%Y %H:%M"), Err("does not match input_format")),
        // rejections
        (&utc, "13:45", None, Err("expected a date such as")),
        (&utc, "abc", None, Err("expected a date such as")),
        (&utc, "2024-05-04 13", None, Err("unexpected text after the date")),
        (&utc, "2024-05-04 13:60", None, Err("13:60:00 is not a time of day")),
        (&utc, "2024-05-04 13:45:60", None, Err("is not a time of day")),
        (&utc, "2024-05-04 24:00", None, Err("is not a time of day")),
        (&utc, "2024-05-04 1:5", None, Err("unexpected text after the date")),
        (&utc, "05/04/2024 13:00 PM", None, Err("hour 13 with AM/PM")),
        (&utc, "05/04/2024 0:30 AM", None, Err("hour 0 with AM/PM")),
        (&utc, "2024-05-04T13:45:00+25:00", None, Err("invalid UTC offset")),
        (&utc, "2024-05-04T13:45:00+2:0", None, Err("invalid UTC offset")),
        (&utc, "2024-05-04T13:45:00 Europe/Berlin", None, Err("unexpected text after the date")),
        (&utc, "2024-05-04T13:45:00.", None, Err("unexpected text after the date")),
    ];
    let mut failures = Vec::new();
    for (ctx, input, format, expected) in rows {
        let got = parse_value(VariableType::Datetime, input, *format, ctx);
        let ok = match (&got, expected) {
            (Ok(v), Ok(want)) => v.to_text() == *want,
            (Err(why), Err(part)) => why.contains(part),
            _ => false,
        };
        if !ok {
            failures.push(format!("{} {input:?} ({format:?}): got {got:?}, expected {expected:?}", ctx.timezone));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn format_checks() {
    use VariableType::*;
    let input: &[(VariableType, &str, bool)] = &[
        (Number, "decimal_comma", true),
        (Number, "decimal_point", true),
        (Number, "european", false),
        (Date, "DD/MM/YYYY", true),
        (Date, "MM-DD-YYYY", true),
        (Date, "YYYY.MM.DD", true),
        (Date, "%d.%m.%Y", true),
        (Datetime, "%d.%m.%Y %H:%M", true),
        (Datetime, "%s", true),
        (Date, "%d.%m", false),
        (Date, "%Q", false),
        (Date, "DD/YYYY", false),
        (String, "raw", false),
        (Boolean, "yes/no", false),
        (Phone, "DE", false),
    ];
    let output: &[(VariableType, &str, bool)] = &[
        (String, "raw", true),
        (String, "upper", true),
        (String, "lower", true),
        (String, "title", false),
        (Number, "0", true),
        (Number, "0.00", true),
        (Number, "0.", false),
        (Number, "#,##0.00", false),
        (Date, "%d.%m.%Y", true),
        (Date, "DD/MM/YYYY", true),
        (Date, "%d.%m.%Y %H:%M", false),
        (Date, "%Q", false),
        (Date, "YYYY", false),
        (Datetime, "%Y-%m-%d %H:%M:%S %Z", true),
        (Datetime, "%+", true),
        (Boolean, "yes/no", false),
        (Uuid, "raw", false),
        (Email, "lower", true),
        (Email, "upper", false),
    ];
    for (t, f, ok) in input {
        assert_eq!(
            check_input_format(*t, f).is_ok(),
            *ok,
            "input_format {f:?} for {t}: {:?}",
            check_input_format(*t, f)
        );
    }
    for (t, f, ok) in output {
        assert_eq!(
            check_output_format(*t, f).is_ok(),
            *ok,
            "output_format {f:?} for {t}: {:?}",
            check_output_format(*t, f)
        );
    }
}
