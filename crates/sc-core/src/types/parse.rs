//! `parse_value`: one cell's text → a [`TypedValue`] by the SPEC §4 rules (dates live in `dates.rs`).
//!
//! The `Err` of every parser is the plain reason, without the value and the
//! variable (`no digits`); [`super::resolve`] builds the full message
//! (`variable "price": "abc" is not a number (no digits)`).
//!
//! Numbers (decisions):
//! * The *first* number in the text is taken; everything around it is
//!   ignored: `$16.99 USD` → 16.99, `41 Apples` → 41, `3 to 5` → 3.
//! * Default separators: `.` decimal point, `,` thousands. `input_format`
//!   `decimal_comma` swaps them (`1.234,50` → 1234.5); `decimal_point` is the
//!   default spelled out.
//! * A thousands separator must be followed by exactly three digits (or two
//!   digits and another separator, for Indian grouping `1,23,456`); a
//!   separator not followed by a digit ends the number (`3, 4` → 3). A
//!   thousands separator between digits in any other grouping (`1,5`,
//!   `12,3456`) is invalid, as is a second decimal separator (`1.2.3`) or a
//!   thousands separator after the decimal point (`1.234,5` by default) —
//!   both are signs of the other convention, and guessing would load a
//!   wrong amount. `'`, no-break space and thin spaces are also accepted as
//!   thousands separators (never an ordinary space: `1 234` → 1).
//! * Negative: a `-` (or `−`) before the number with only non-alphanumeric
//!   characters in between and not itself preceded by a letter or digit
//!   (`-3`, `-$3`, `$ -3`; but `ABC-123` → 123), or accounting parentheses
//!   around it with only non-alphanumerics in between (`(12.50)`, `($12.50)`).
//! * An exponent directly after the digits is applied: `1e3`, `1.5E+3`,
//!   `2.5e-2` (Excel writes large numbers so); `5EUR` has none.
//! * Stored exactly as `rust_decimal::Decimal` with the scale as written
//!   (`1,234.50` → 1234.50); more than 28 significant digits is invalid.
//!
//! Booleans: True/False, Yes/No, On/Off, 1/0, T/F, Checked/Unchecked in any
//! case, trimmed; nothing else (not `y`/`n`).
//!
//! E-mail: trimmed, RFC 5322 syntax via the `email_address` crate with a
//! plain address only (no display name, no `[ip]` domain literal) and a
//! domain of at least two labels (`a@localhost` is invalid); the domain is
//! lower-cased, the local part kept as written.
//!
//! Phone: the `phonenumber` crate (libphonenumber metadata) with
//! `Context::phone_region` as the default region; a number must be *valid*
//! for its region, not just plausible; normalised to E.164. An extension
//! (`x123`) is dropped because E.164 has none.
//!
//! UUID: hyphenated, simple, braced and `urn:uuid:` forms in any case →
//! lower-case hyphenated. Strings are returned as given (the resolver trims).

use std::str::FromStr;

use rust_decimal::Decimal;

use super::context::Context;
use super::dates;
use super::value::TypedValue;
use crate::document::VariableType;

/// Longest phone text handed to the phone parser.
const MAX_PHONE_LEN: usize = 64;

/// Parses one non-blank cell as `t`. Never panics.
pub fn parse_value(
    t: VariableType,
    raw: &str,
    input_format: Option<&str>,
    ctx: &Context,
) -> Result<TypedValue, String> {
    match t {
        VariableType::String => Ok(TypedValue::String(raw.to_owned())),
        VariableType::Number => parse_number(raw, input_format).map(TypedValue::Number),
        VariableType::Boolean => parse_boolean(raw).map(TypedValue::Boolean),
        VariableType::Date => dates::parse_date(raw, input_format, ctx).map(TypedValue::Date),
        VariableType::Datetime => dates::parse_datetime(raw, input_format, ctx).map(TypedValue::Datetime),
        VariableType::Email => parse_email(raw).map(TypedValue::Email),
        VariableType::Phone => parse_phone(raw, &ctx.phone_region).map(TypedValue::Phone),
        VariableType::Uuid => parse_uuid(raw).map(TypedValue::Uuid),
    }
}

/// A thousands separator other than the main one (`'`, no-break and thin spaces).
fn is_extra_group(c: char) -> bool {
    matches!(c, '\'' | '\u{00A0}' | '\u{202F}' | '\u{2009}')
}

fn digits_from(chars: &[char], i: usize) -> usize {
    chars[i.min(chars.len())..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// The first number in `raw` (rules in the module documentation).
pub(super) fn parse_number(raw: &str, input_format: Option<&str>) -> Result<Decimal, String> {
    let (point, group) = match input_format.map(str::trim) {
        Some("decimal_comma") => (',', '.'),
        _ => ('.', ','),
    };
    let chars: Vec<char> = raw.chars().collect();
    let n = chars.len();
    let is_digit_at = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_digit());
    let Some(start) = (0..n).find(|&i| is_digit_at(i) || (chars[i] == point && is_digit_at(i + 1))) else {
        return Err("no digits".to_owned());
    };

    let mut mantissa = String::new();
    let mut seen_point = false;
    let mut i = start;
    while i < n {
        let c = chars[i];
        if c.is_ascii_digit() {
            mantissa.push(c);
            i += 1;
        } else if c == point && !seen_point {
            seen_point = true;
            mantissa.push('.');
            i += 1;
        } else if (c == point || c == group) && seen_point && is_digit_at(i + 1) {
            return Err(if c == point {
                "more than one decimal separator".to_owned()
            } else {
                format!("\"{c}\" after the decimal separator{}", hint(point))
            });
        } else if (c == group || is_extra_group(c)) && !seen_point && i > start {
            let run = digits_from(&chars, i + 1);
            let indian = run == 2 && chars.get(i + 3) == Some(&c) && is_digit_at(i + 4);
            if (run == 3 && !is_digit_at(i + 4)) || indian {
                i += 1;
            } else if run == 0 || c != group {
                break;
            } else {
                return Err(format!("\"{c}\" is not followed by three digits{}", hint(point)));
            }
        } else {
            break;
        }
    }
    let end = i;
    let mut text = mantissa;
    if text.ends_with('.') {
        text.pop();
    }
    if text.starts_with('.') {
        text.insert(0, '0');
    }
    let mut value =
        Decimal::from_str_exact(&text).map_err(|_| "too many digits to store exactly (at most 28)".to_owned())?;
    // Exponent: e/E, optional sign, 1-3 digits, directly after the digits.
    if let Some('e' | 'E') = chars.get(end) {
        let negative_exp = chars.get(end + 1) == Some(&'-');
        let sign_len = usize::from(matches!(chars.get(end + 1), Some('+' | '-')));
        let exp_digits = digits_from(&chars, end + 1 + sign_len);
        if exp_digits > 0 {
            let exp: String = chars[end + 1 + sign_len..end + 1 + sign_len + exp_digits].iter().collect();
            let exp = exp.parse::<u32>().unwrap_or(u32::MAX);
            value = apply_exponent(value, exp, negative_exp).ok_or_else(|| "out of range".to_owned())?;
        }
    }
    let negative = minus_before(&chars[..start]) || in_parentheses(&chars[..start], &chars[end..]);
    if negative {
        value.set_sign_negative(true);
    }
    Ok(value)
}

/// `value` × 10^±`exp`, exactly; `None` when that does not fit.
fn apply_exponent(mut value: Decimal, exp: u32, negative: bool) -> Option<Decimal> {
    let scale = value.scale();
    if negative {
        let new_scale = scale.checked_add(exp)?;
        if new_scale > Decimal::MAX_SCALE {
            return None;
        }
        value.set_scale(new_scale).ok()?;
        Some(value)
    } else if exp <= scale {
        value.set_scale(scale - exp).ok()?;
        Some(value)
    } else {
        let grow = exp - scale;
        if grow > 28 {
            return (value.is_zero()).then_some(Decimal::ZERO);
        }
        value.set_scale(0).ok()?;
        value.checked_mul(Decimal::from_i128_with_scale(10i128.pow(grow), 0))
    }
}

fn hint(point: char) -> &'static str {
    if point == '.' {
        " (for a decimal comma set input_format \"decimal_comma\")"
    } else {
        " (input_format \"decimal_comma\" reads \".\" as a thousands separator)"
    }
}

/// A minus sign before the number: only non-alphanumerics between them, and
/// not a hyphen glued to a word (`ABC-123`).
fn minus_before(prefix: &[char]) -> bool {
    for (i, &c) in prefix.iter().enumerate().rev() {
        if c == '-' || c == '\u{2212}' {
            return !(i > 0 && prefix[i - 1].is_alphanumeric());
        }
        if c.is_alphanumeric() {
            return false;
        }
    }
    false
}

/// Accounting negative: `(` before and `)` after, with only non-alphanumerics in between.
fn in_parentheses(prefix: &[char], suffix: &[char]) -> bool {
    let open = prefix.iter().rev().take_while(|c| !c.is_alphanumeric() && **c != ')').any(|&c| c == '(');
    let close = suffix.iter().take_while(|c| !c.is_alphanumeric() && **c != '(').any(|&c| c == ')');
    open && close
}

pub(super) fn parse_boolean(raw: &str) -> Result<bool, String> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "t" | "checked" => Ok(true),
        "false" | "no" | "off" | "0" | "f" | "unchecked" => Ok(false),
        _ => Err("expected true/false, yes/no, on/off, 1/0, t/f or checked/unchecked".to_owned()),
    }
}

pub(super) fn parse_email(raw: &str) -> Result<String, String> {
    use email_address::{EmailAddress, Error, Options};
    let text = raw.trim();
    let options = Options::default().with_required_tld().without_domain_literal().without_display_text();
    let address = EmailAddress::parse_with_options(text, options).map_err(|e| {
        match e {
            Error::MissingSeparator => "no @",
            Error::LocalPartEmpty => "nothing before the @",
            Error::LocalPartTooLong => "the part before the @ is longer than 64 characters",
            Error::DomainEmpty => "nothing after the @",
            Error::DomainTooLong => "the domain is longer than 254 characters",
            Error::SubDomainEmpty | Error::DomainInvalidSeparator => "the domain has an empty part",
            Error::SubDomainTooLong => "a domain part is longer than 63 characters",
            Error::DomainTooFew => "the domain has no top-level domain",
            Error::UnbalancedQuotes => "unbalanced quotes",
            Error::UnsupportedDomainLiteral | Error::InvalidIPAddress => "an IP address is not accepted as the domain",
            Error::UnsupportedDisplayName | Error::MissingDisplayName | Error::MissingEndBracket => {
                "a display name or <> is not accepted, only the address"
            }
            Error::InvalidCharacter | Error::InvalidComment => "invalid character",
        }
        .to_owned()
    })?;
    let (local, domain) = (address.local_part(), address.domain());
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

pub(super) fn parse_phone(raw: &str, region: &str) -> Result<String, String> {
    use phonenumber::{country, Mode};
    let text = raw.trim();
    if text.chars().count() > MAX_PHONE_LEN {
        return Err(format!("longer than {MAX_PHONE_LEN} characters"));
    }
    if !text.chars().any(|c| c.is_ascii_digit()) {
        return Err("no digits".to_owned());
    }
    let id = country::Id::from_str(region).map_err(|_| format!("`{region}` is not a phone region"))?;
    // The parser has panicked on crafted input in the past; a panic here
    // must become an invalid value, never a failed execution.
    let parsed = std::panic::catch_unwind(|| {
        let number = phonenumber::parse(Some(id), text).ok()?;
        phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
    })
    .ok()
    .flatten();
    parsed.ok_or_else(|| format!("not a valid phone number for region {region}"))
}

pub(super) fn parse_uuid(raw: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::parse_str(raw.trim())
        .map_err(|_| "expected 32 hex digits, e.g. 67e55044-10b1-426f-9247-bb680e5fe0c8".to_owned())
}
