//! Execution variable types (SPEC §4): parsing one value, resolving one variable per row, formats.
//!
//! * [`parse_value`] turns one non-blank text into a [`TypedValue`] or a
//!   plain reason (`no digits`).
//! * [`resolve`] applies a [`Variable`]'s declaration (static value, blank,
//!   required, array, output format) to one row's cell and returns a
//!   [`Resolved`] value, error or warning.
//! * [`check_input_format`] / [`check_output_format`] tell document
//!   validation which formats a type accepts; [`check_phone_region`] which
//!   regions the phone metadata knows.
//!
//! The rules and every decision taken where SPEC §4 is silent are written
//! down in the module documentation of `parse.rs` (number, boolean, e-mail,
//! phone, UUID), `dates.rs` (date, datetime), `resolve.rs` (per-row
//! behaviour) and `value.rs` (canonical text and rendering).
//!
//! Formats per type:
//!
//! | type | input_format | output_format |
//! | --- | --- | --- |
//! | string | — | `raw` (keep white space), `upper`, `lower` |
//! | number | `decimal_point` (default), `decimal_comma` | `0`, `0.0`, `0.00`, … (fixed decimals, half away from zero; rendering only) |
//! | date, datetime | `DD/MM/YYYY`, `MM/DD/YYYY`, `YYYY-MM-DD` (order shorthands) or a strftime pattern | a strftime pattern or the same shorthands (rendering only) |
//! | email | — | `lower` (the whole address lower-cased; the domain always is) |
//! | boolean, phone, uuid | — | — |

mod context;
mod dates;
mod parse;
mod resolve;
mod value;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dates;
#[cfg(test)]
mod tests_resolve;

use chrono::{NaiveDate, TimeZone};

pub use context::{check_phone_region, Context};
pub use parse::parse_value;
pub use resolve::{resolve, Resolved};
pub use value::TypedValue;

use crate::document::{Variable, VariableType};

/// Whether `t` accepts `f` as its `input_format`.
pub fn check_input_format(t: VariableType, f: &str) -> Result<(), String> {
    match t {
        VariableType::Number => match f.trim() {
            "decimal_point" | "decimal_comma" => Ok(()),
            _ => Err(format!("input_format \"{f}\" is not a number format (use decimal_point or decimal_comma)")),
        },
        VariableType::Date | VariableType::Datetime => {
            if let dates::DateFormat::Pattern(p) = dates::date_format(Some(f))? {
                // The pattern must read back what it writes.
                let sample = chrono::Utc.with_ymd_and_hms(2001, 2, 3, 16, 5, 6).single();
                let text = sample.and_then(|s| {
                    value::strftime(p, |items, out| {
                        use std::fmt::Write as _;
                        write!(out, "{}", s.format_with_items(items.iter()))
                    })
                });
                let ctx = Context::default();
                let back = text
                    .ok_or_else(|| "cannot be formatted".to_owned())
                    .and_then(|t| parse_value(VariableType::Datetime, &t, Some(p), &ctx).map(|_| ()));
                if let Err(why) = back {
                    return Err(format!("input_format \"{f}\" cannot read a date: {why}"));
                }
            }
            Ok(())
        }
        _ => Err(format!("input_format is not used by {t} variables")),
    }
}

/// Whether `t` accepts `f` as its `output_format`.
pub fn check_output_format(t: VariableType, f: &str) -> Result<(), String> {
    let bad_pattern = || {
        format!(
            "output_format \"{f}\" is not a strftime pattern for a {t} (such as %d.%m.%Y{})",
            if t == VariableType::Date { "; time fields such as %H are not available" } else { "" }
        )
    };
    match t {
        VariableType::String => match f {
            "raw" | "upper" | "lower" => Ok(()),
            _ => Err(format!("output_format \"{f}\" is not a string format (use raw, upper or lower)")),
        },
        VariableType::Number => value::fixed_decimals(f)
            .map(|_| ())
            .ok_or_else(|| format!("output_format \"{f}\" is not a number format (use 0, 0.0, 0.00, …)")),
        VariableType::Date | VariableType::Datetime => {
            let pattern = value::date_pattern(f);
            if !pattern.contains('%') {
                return Err(bad_pattern());
            }
            let sample = NaiveDate::from_ymd_opt(2001, 2, 3).unwrap_or_default();
            let rendered = if t == VariableType::Date {
                value::strftime(&pattern, |items, out| {
                    use std::fmt::Write as _;
                    write!(out, "{}", sample.format_with_items(items.iter()))
                })
            } else {
                let dt = chrono_tz::Tz::UTC.from_utc_datetime(&sample.and_time(Default::default()));
                value::strftime(&pattern, |items, out| {
                    use std::fmt::Write as _;
                    write!(out, "{}", dt.format_with_items(items.iter()))
                })
            };
            rendered.map(|_| ()).ok_or_else(bad_pattern)
        }
        VariableType::Email => match f {
            "lower" => Ok(()),
            _ => {
                Err(format!("output_format \"{f}\" is not an email format (use lower: the whole address lower-cased)"))
            }
        },
        _ => Err(format!("output_format is not used by {t} variables")),
    }
}

/// Checks a variable's formats and static value, as document validation
/// would; `Err` carries one message per problem.
pub fn check_variable(var: &Variable, ctx: &Context) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if let Some(f) = &var.input_format {
        problems.extend(check_input_format(var.var_type, f).err());
    }
    if let Some(f) = &var.output_format {
        problems.extend(check_output_format(var.var_type, f).err());
    }
    if var.value.is_some() && problems.is_empty() {
        let r = resolve(var, None, ctx);
        problems.extend(r.error.or(r.warning));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
