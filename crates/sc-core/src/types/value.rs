//! A typed variable value and its two text forms: canonical (`to_text`) and rendered (`render`).
//!
//! `to_text` is the one canonical rendering, used for diff hashing, reports
//! and `Display`; it never depends on a document's `output_format`:
//!
//! | type | canonical text |
//! | --- | --- |
//! | string, email, phone | the value itself (phone is E.164, `+12015550123`) |
//! | number | plain decimal, trailing zeros removed, no exponent: `1234.5`, `-3`, `0` |
//! | boolean | `true` / `false` |
//! | date | `YYYY-MM-DD` |
//! | datetime | RFC 3339 in UTC with `Z`; fractional seconds only when non-zero (`2024-05-04T11:45:00Z`, `…:00.250Z`) |
//! | uuid | lower-case hyphenated |
//! | array | a JSON array of the items: numbers and booleans bare, everything else a JSON string: `[1.5,2]`, `["a","b"]`, `[]` |
//!
//! `render(output_format)` applies an `output_format` (see
//! [`super::check_output_format`]): a strftime pattern (or the shorthand
//! `DD/MM/YYYY`, `MM/DD/YYYY`, `YYYY-MM-DD`, …) for dates and datetimes, `0` / `0.00` for a fixed number of decimals, `upper` / `lower`
//! / `raw` for strings. Anything it cannot apply falls back to `to_text`.

use std::fmt::{self, Write as _};

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

/// One parsed value of an execution variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypedValue {
    String(String),
    Number(Decimal),
    Boolean(bool),
    Date(NaiveDate),
    Datetime(DateTime<Utc>),
    /// Local part as given, domain lower-cased.
    Email(String),
    /// E.164, e.g. `+12015550123`.
    Phone(String),
    Uuid(uuid::Uuid),
    Array(Vec<TypedValue>),
}

impl TypedValue {
    /// The canonical text (see the module documentation).
    pub fn to_text(&self) -> String {
        match self {
            TypedValue::String(s) | TypedValue::Email(s) | TypedValue::Phone(s) => s.clone(),
            TypedValue::Number(d) => d.normalize().to_string(),
            TypedValue::Boolean(b) => b.to_string(),
            TypedValue::Date(d) => d.format("%Y-%m-%d").to_string(),
            TypedValue::Datetime(dt) => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            TypedValue::Uuid(u) => u.hyphenated().to_string(),
            TypedValue::Array(items) => {
                let mut out = String::from("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match item {
                        TypedValue::Number(_) | TypedValue::Boolean(_) | TypedValue::Array(_) => {
                            out.push_str(&item.to_text())
                        }
                        _ => out.push_str(&json_string(&item.to_text())),
                    }
                }
                out.push(']');
                out
            }
        }
    }

    /// The text with `output_format` applied; datetimes are rendered in UTC.
    pub fn render(&self, output_format: Option<&str>) -> String {
        self.render_in(output_format, chrono_tz::Tz::UTC)
    }

    /// Like [`TypedValue::render`], with datetimes shown in `tz` (a pattern's
    /// `%H`, `%z`, `%Z` then refer to that zone).
    pub fn render_in(&self, output_format: Option<&str>, tz: chrono_tz::Tz) -> String {
        let Some(format) = output_format else {
            return self.to_text();
        };
        match self {
            TypedValue::String(s) => match format {
                "upper" => s.to_uppercase(),
                "lower" => s.to_lowercase(),
                _ => s.clone(),
            },
            TypedValue::Number(d) => match fixed_decimals(format) {
                Some(places) => render_fixed(*d, places),
                None => self.to_text(),
            },
            TypedValue::Date(d) => {
                strftime(&date_pattern(format), |items, out| write!(out, "{}", d.format_with_items(items.iter())))
                    .unwrap_or_else(|| self.to_text())
            }
            TypedValue::Datetime(dt) => {
                let local = dt.with_timezone(&tz);
                strftime(&date_pattern(format), |items, out| write!(out, "{}", local.format_with_items(items.iter())))
                    .unwrap_or_else(|| self.to_text())
            }
            TypedValue::Array(items) => {
                let rendered: Vec<String> = items.iter().map(|v| v.render_in(output_format, tz)).collect();
                let mut out = String::from("[");
                for (i, (item, text)) in items.iter().zip(&rendered).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match item {
                        TypedValue::Number(_) | TypedValue::Boolean(_) | TypedValue::Array(_) => out.push_str(text),
                        _ => out.push_str(&json_string(text)),
                    }
                }
                out.push(']');
                out
            }
            _ => self.to_text(),
        }
    }
}

impl fmt::Display for TypedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// `0` → 0 decimals, `0.00` → 2; `None` for anything else (at most 28).
pub(super) fn fixed_decimals(format: &str) -> Option<u32> {
    let rest = format.strip_prefix('0')?;
    if rest.is_empty() {
        return Some(0);
    }
    let zeros = rest.strip_prefix('.')?;
    let n = zeros.len();
    (n > 0 && n <= 28 && zeros.bytes().all(|b| b == b'0')).then_some(n as u32)
}

/// Rounded half away from zero to exactly `places` decimals.
fn render_fixed(d: Decimal, places: u32) -> String {
    let mut r = d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() {
        r.set_sign_positive(true);
    }
    if r.scale() < places {
        // Scaling up can only fail for values with 28+ digits; keep them as they are.
        r.rescale(places);
    }
    r.to_string()
}

/// A date shorthand (`DD/MM/YYYY`, `YYYY-MM-DD`, any order of the three
/// tokens with `/ - .` or a space between) as a strftime pattern; any other
/// text is already a pattern.
pub(super) fn date_pattern(format: &str) -> String {
    let tokens: Vec<&str> = format.split(['/', '-', '.', ' ']).collect();
    let mut sorted = tokens.clone();
    sorted.sort_unstable();
    if sorted != ["DD", "MM", "YYYY"] {
        return format.to_owned();
    }
    format.replace("YYYY", "%Y").replace("MM", "%m").replace("DD", "%d")
}

/// Formats through a strftime pattern; `None` when the pattern is invalid
/// or names a field the value does not have (e.g. `%H` on a date).
pub(super) fn strftime(format: &str, write: impl FnOnce(&[Item<'_>], &mut String) -> fmt::Result) -> Option<String> {
    let items = StrftimeItems::new(format).parse().ok()?;
    let mut out = String::new();
    write(&items, &mut out).ok()?;
    Some(out)
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}
