//! Tables of input → expected for number, boolean, e-mail, phone, UUID and string; canonical text.

use rust_decimal::Decimal;

use super::*;
use crate::document::VariableType;

/// Expected outcome: `Ok(canonical text)` or `Err(part of the reason)`.
pub(super) type Expect = Result<&'static str, &'static str>;

/// Checks each `(input, input_format, expected)` row, collecting every mismatch.
pub(super) fn check_table(t: VariableType, ctx: &Context, rows: &[(&str, Option<&str>, Expect)]) {
    let mut failures = Vec::new();
    for (input, format, expected) in rows {
        let got = parse_value(t, input, *format, ctx);
        let ok = match (&got, expected) {
            (Ok(v), Ok(want)) => v.to_text() == *want,
            (Err(why), Err(part)) => why.contains(part),
            _ => false,
        };
        if !ok {
            failures.push(format!("{t} {input:?} (input_format {format:?}): got {got:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn number_rule() {
    let dc = Some("decimal_comma");
    let rows: &[(&str, Option<&str>, Expect)] = &[
        // SPEC §4 examples
        ("$16.99 USD", None, Ok("16.99")),
        ("41 Apples", None, Ok("41")),
        ("1,234.50", None, Ok("1234.5")),
        ("-3", None, Ok("-3")),
        ("(12.50)", None, Ok("-12.5")),
        ("abc", None, Err("no digits")),
        // signs
        ("($1,000.00)", None, Ok("-1000")),
        ("( 7 )", None, Ok("-7")),
        ("(7 USD)", None, Ok("7")),
        ("-$3", None, Ok("-3")),
        ("$ -3", None, Ok("-3")),
        ("\u{2212}4.5", None, Ok("-4.5")),
        ("+7", None, Ok("7")),
        ("ABC-123", None, Ok("123")),
        ("5 (approx)", None, Ok("5")),
        ("(see note) 5", None, Ok("5")),
        ("-0", None, Ok("0")),
        // the first number wins, other text is ignored
        ("3 to 5", None, Ok("3")),
        ("3, 4", None, Ok("3")),
        ("USD 5", None, Ok("5")),
        ("1 234", None, Ok("1")),
        ("5'11", None, Ok("5")),
        ("  42  ", None, Ok("42")),
        // separators
        ("1,234,567.891", None, Ok("1234567.891")),
        ("1,23,456.5", None, Ok("123456.5")),
        ("1'234.5", None, Ok("1234.5")),
        (".5", None, Ok("0.5")),
        ("$.99", None, Ok("0.99")),
        ("5.", None, Ok("5")),
        ("1.2345", None, Ok("1.2345")),
        ("1,5", None, Err("\",\" is not followed by three digits")),
        ("12,3456", None, Err("not followed by three digits")),
        ("1.234,50", None, Err("\",\" after the decimal separator")),
        ("1.2.3", None, Err("more than one decimal separator")),
        // decimal comma
        ("1.234,50", dc, Ok("1234.5")),
        ("12,5", dc, Ok("12.5")),
        ("€ 1.234.567,89", dc, Ok("1234567.89")),
        ("1\u{a0}234,5", dc, Ok("1234.5")),
        ("-0,75", dc, Ok("-0.75")),
        ("1.5", dc, Err("\".\" is not followed by three digits")),
        ("1,234.50", Some("decimal_point"), Ok("1234.5")),
        // exponents
        ("1e3", None, Ok("1000")),
        ("1.5E+3", None, Ok("1500")),
        ("2.5e-2", None, Ok("0.025")),
        ("1.23E+11", None, Ok("123000000000")),
        ("5EUR", None, Ok("5")),
        ("1e999", None, Err("out of range")),
        ("1e-40", None, Err("out of range")),
        // exact, never a float
        ("0.1", None, Ok("0.1")),
        ("12345678901234567890.12345678", None, Ok("12345678901234567890.12345678")),
        ("123456789012345678901234567890", None, Err("too many digits")),
        // no digits
        ("", None, Err("no digits")),
        ("-", None, Err("no digits")),
        ("N/A", None, Err("no digits")),
        (". ,", None, Err("no digits")),
    ];
    check_table(VariableType::Number, &Context::default(), rows);
    // Exactly as written: the scale is kept.
    let v = parse_value(VariableType::Number, "1,234.50", None, &Context::default());
    assert_eq!(v, Ok(TypedValue::Number(Decimal::new(123_450, 2))));
    assert_eq!(
        v.map(|v| match v {
            TypedValue::Number(d) => d.scale(),
            _ => 99,
        }),
        Ok(2)
    );
}

#[test]
fn boolean_rule() {
    let mut rows: Vec<(&str, Option<&str>, Expect)> = Vec::new();
    for t in ["True", "TRUE", "true", "Yes", "YES", "yes", "On", "ON", "1", "t", "T", "Checked", "CHECKED", " yes "] {
        rows.push((t, None, Ok("true")));
    }
    for f in
        ["False", "FALSE", "false", "No", "NO", "no", "Off", "oFF", "0", "f", "F", "Unchecked", "UNCHECKED", "\tno\n"]
    {
        rows.push((f, None, Ok("false")));
    }
    for bad in ["y", "n", "2", "-1", "maybe", "truee", "1.0", "", "yes please"] {
        rows.push((bad, None, Err("expected true/false, yes/no")));
    }
    check_table(VariableType::Boolean, &Context::default(), &rows);
}

#[test]
fn email_rule() {
    let rows: &[(&str, Option<&str>, Expect)] = &[
        ("  John.Doe@Example.COM ", None, Ok("John.Doe@example.com")),
        ("a@b.co", None, Ok("a@b.co")),
        ("First.Last+Tag@Sub.Example.ORG", None, Ok("First.Last+Tag@sub.example.org")),
        ("no-at-sign", None, Err("no @")),
        ("a@", None, Err("nothing after the @")),
        ("@b.com", None, Err("nothing before the @")),
        ("a@localhost", None, Err("no top-level domain")),
        ("a@b..com", None, Err("empty part")),
        ("John <john@example.com>", None, Err("display name")),
        ("a@[127.0.0.1]", None, Err("IP address")),
        ("a b@c.com", None, Err("invalid character")),
        ("", None, Err("no @")),
    ];
    check_table(VariableType::Email, &Context::default(), rows);
}

#[test]
fn phone_rule() {
    let us = Context::default();
    let de = Context { phone_region: "DE".to_owned(), ..Context::default() };
    let gb = Context { phone_region: "GB".to_owned(), ..Context::default() };
    let xx = Context { phone_region: "XX".to_owned(), ..Context::default() };
    let rows: &[(&Context, &str, Expect)] = &[
        (&us, "(201) 555-0123", Ok("+12015550123")),
        (&us, "201-555-0123", Ok("+12015550123")),
        (&us, "201.555.0123", Ok("+12015550123")),
        (&us, " +1 201 555 0123 ", Ok("+12015550123")),
        (&us, "+44 20 7946 0958", Ok("+442079460958")),
        (&us, "201-555-0123 x42", Ok("+12015550123")),
        (&de, "030 12345678", Ok("+493012345678")),
        (&de, "+49 (0)30 12345678", Ok("+493012345678")),
        (&gb, "020 7946 0958", Ok("+442079460958")),
        (&gb, "07400 123456", Ok("+447400123456")),
        (&us, "555-0123", Err("not a valid phone number for region US")),
        (&us, "123", Err("not a valid phone number")),
        (&us, "+1 000 000 0000", Err("not a valid phone number")),
        (&us, "abc", Err("no digits")),
        (&us, "", Err("no digits")),
        (&us, &"1".repeat(65), Err("longer than 64")),
        (&xx, "201-555-0123", Err("`XX` is not a phone region")),
    ];
    let mut failures = Vec::new();
    for (ctx, input, expected) in rows {
        let got = parse_value(VariableType::Phone, input, None, ctx);
        let ok = match (&got, expected) {
            (Ok(v), Ok(want)) => v.to_text() == *want,
            (Err(why), Err(part)) => why.contains(part),
            _ => false,
        };
        if !ok {
            failures.push(format!("{} {input:?}: got {got:?}, expected {expected:?}", ctx.phone_region));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(check_phone_region("DE"), Ok(()));
    assert!(check_phone_region("XX").is_err());
}

#[test]
fn uuid_rule() {
    let want = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    let rows: &[(&str, Option<&str>, Expect)] = &[
        ("67e55044-10b1-426f-9247-bb680e5fe0c8", None, Ok(want)),
        ("67E55044-10B1-426F-9247-BB680E5FE0C8", None, Ok(want)),
        (" {67e55044-10b1-426f-9247-bb680e5fe0c8} ", None, Ok(want)),
        ("urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8", None, Ok(want)),
        ("67e5504410b1426f9247bb680e5fe0c8", None, Ok(want)),
        ("00000000-0000-0000-0000-000000000000", None, Ok("00000000-0000-0000-0000-000000000000")),
        ("67e55044-10b1-426f-9247", None, Err("expected 32 hex digits")),
        ("67e55044-10b1-426f-9247-bb680e5fe0cg", None, Err("expected 32 hex digits")),
        ("not-a-uuid", None, Err("expected 32 hex digits")),
        ("", None, Err("expected 32 hex digits")),
    ];
    check_table(VariableType::Uuid, &Context::default(), rows);
}

#[test]
fn string_rule() {
    // parse_value keeps the text exactly; trimming is the resolver's (see tests_resolve).
    let rows: &[(&str, Option<&str>, Expect)] = &[
        ("hello", None, Ok("hello")),
        ("  two  words  ", None, Ok("  two  words  ")),
        ("ümlaut ✓", None, Ok("ümlaut ✓")),
        ("", None, Ok("")),
    ];
    check_table(VariableType::String, &Context::default(), rows);
}

#[test]
fn canonical_text_and_rendering() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let date = NaiveDate::from_ymd_opt(2024, 5, 4).unwrap();
    let dt = Utc.with_ymd_and_hms(2024, 5, 4, 11, 45, 0).unwrap();
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let n = |s: &str| TypedValue::Number(s.parse().unwrap());
    let rows: Vec<(TypedValue, Option<&str>, chrono_tz::Tz, &str)> = vec![
        (n("1234.50"), None, chrono_tz::UTC, "1234.5"),
        (n("-0.0"), None, chrono_tz::UTC, "0"),
        (n("1000"), None, chrono_tz::UTC, "1000"),
        (n("1234.5"), Some("0.00"), chrono_tz::UTC, "1234.50"),
        (n("2.345"), Some("0.00"), chrono_tz::UTC, "2.35"),
        (n("-2.5"), Some("0"), chrono_tz::UTC, "-3"),
        (n("-0.004"), Some("0.00"), chrono_tz::UTC, "0.00"),
        (TypedValue::Boolean(true), None, chrono_tz::UTC, "true"),
        (TypedValue::Date(date), None, chrono_tz::UTC, "2024-05-04"),
        (TypedValue::Date(date), Some("%d.%m.%Y"), chrono_tz::UTC, "04.05.2024"),
        (TypedValue::Date(date), Some("DD/MM/YYYY"), chrono_tz::UTC, "04/05/2024"),
        (TypedValue::Date(date), Some("%H:%M"), chrono_tz::UTC, "2024-05-04"),
        (TypedValue::Datetime(dt), None, berlin, "2024-05-04T11:45:00Z"),
        (
            TypedValue::Datetime(dt + chrono::TimeDelta::milliseconds(250)),
            None,
            chrono_tz::UTC,
            "2024-05-04T11:45:00.250Z",
        ),
        (TypedValue::Datetime(dt), Some("%Y-%m-%d %H:%M %Z"), berlin, "2024-05-04 13:45 CEST"),
        (TypedValue::Datetime(dt), Some("%Y-%m-%d %H:%M"), chrono_tz::UTC, "2024-05-04 11:45"),
        (TypedValue::Datetime(dt), Some("%Q"), chrono_tz::UTC, "2024-05-04T11:45:00Z"),
        (TypedValue::String("Ab".into()), Some("upper"), chrono_tz::UTC, "AB"),
        (TypedValue::Email("A@b.com".into()), None, chrono_tz::UTC, "A@b.com"),
        (
            TypedValue::Uuid(uuid::Uuid::from_u128(0x67e5504410b1426f9247bb680e5fe0c8)),
            None,
            chrono_tz::UTC,
            "67e55044-10b1-426f-9247-bb680e5fe0c8",
        ),
        (TypedValue::Array(vec![n("1.50"), n("2")]), None, chrono_tz::UTC, "[1.5,2]"),
        (TypedValue::Array(vec![n("1.5")]), Some("0.00"), chrono_tz::UTC, "[1.50]"),
        (
            TypedValue::Array(vec![TypedValue::String("a\"b".into()), TypedValue::String("c".into())]),
            None,
            chrono_tz::UTC,
            r#"["a\"b","c"]"#,
        ),
        (TypedValue::Array(vec![TypedValue::Date(date)]), Some("%d.%m."), chrono_tz::UTC, r#"["04.05."]"#),
        (TypedValue::Array(vec![]), None, chrono_tz::UTC, "[]"),
    ];
    for (value, format, tz, want) in rows {
        assert_eq!(value.render_in(format, tz), want, "{value:?} with {format:?}");
        if format.is_none() {
            assert_eq!(value.to_string(), want, "Display of {value:?}");
            assert_eq!(value.render(None), want);
        }
    }
}
