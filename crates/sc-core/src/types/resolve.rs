//! Resolving one variable for one row: static value or cell → blank, typed value, error or warning.
//!
//! Decisions:
//! * A static `value` (a JSON scalar) replaces the cell: a string as is, a
//!   number as its JSON text, a boolean as `true`/`false`, `null` as blank.
//!   It then goes through the same parsing as a cell.
//! * Blank (no cell, empty or white space only) → NULL; on a `required`
//!   variable → error `variable "x" is required but blank`. This holds for
//!   `raw` strings too.
//! * Invalid → `variable "price": "abc" is not a number (no digits)`: an
//!   error (value NULL, the row fails) when required, else a warning with
//!   the same wording and the value NULL. The value is shown as written,
//!   escaped like a Rust string literal, cut after 100 characters with `…`.
//! * Strings: trimmed; `output_format` `raw` keeps the cell exactly;
//!   `upper` / `lower` change the case of the (trimmed) value.
//! * E-mail: the domain is always lower-cased; `output_format` `lower`
//!   lower-cases the whole address, the way to match e-mails case-insensitively.
//! * Arrays: the text is split by `delimiter` (default `,`; `,` `;` `|` or a
//!   tab — `\t` and `tab` also mean a tab), items trimmed (not for `raw`
//!   strings) and empty items dropped; no items at all is blank. Items are
//!   parsed one by one. An invalid item on a required variable fails the row
//!   (`variable "n": item "x" is not a number (no digits)`; several are
//!   joined with `; `, at most five named); on an optional variable the
//!   invalid items are dropped with one warning of the same wording and the
//!   value is the remaining items (NULL if none remain). Splitting happens
//!   before parsing, so numbers with a `,` thousands separator need another
//!   delimiter.
//! * Other output formats (dates, numbers) do not change the value; they
//!   apply when it is rendered ([`super::TypedValue::render`]).

use super::context::Context;
use super::parse::parse_value;
use super::value::TypedValue;
use crate::document::{Variable, VariableType};

/// Longest value shown in a message, in characters.
const MAX_SHOWN: usize = 100;
/// Most invalid array items named in one message.
const MAX_ITEMS_NAMED: usize = 5;

/// The outcome of one variable on one row. `error` set means the row fails.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolved {
    /// `None` is SQL NULL.
    pub value: Option<TypedValue>,
    pub error: Option<String>,
    pub warning: Option<String>,
}

impl Resolved {
    fn value(v: TypedValue) -> Resolved {
        Resolved { value: Some(v), ..Resolved::default() }
    }

    /// A problem: an error on a required variable, else a warning.
    fn problem(var: &Variable, message: String, value: Option<TypedValue>) -> Resolved {
        if var.required {
            Resolved { value: None, error: Some(message), warning: None }
        } else {
            Resolved { value, error: None, warning: Some(message) }
        }
    }

    fn blank(var: &Variable) -> Resolved {
        if var.required {
            Resolved { error: Some(format!("variable \"{}\" is required but blank", var.name)), ..Resolved::default() }
        } else {
            Resolved::default()
        }
    }
}

/// Resolves `var` for one row whose source cell is `cell` (`None`: no cell).
pub fn resolve(var: &Variable, cell: Option<&str>, ctx: &Context) -> Resolved {
    let static_text = var.value.as_ref().and_then(static_text);
    let text = if var.value.is_some() { static_text.as_deref() } else { cell };
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Resolved::blank(var);
    };
    if var.array {
        return resolve_array(var, text, ctx);
    }
    match parse_one(var, text, ctx) {
        Ok(v) => Resolved::value(v),
        Err(reason) => {
            let message = format!("variable \"{}\": {} is {} ({reason})", var.name, shown(text), not_a(var.var_type));
            Resolved::problem(var, message, None)
        }
    }
}

fn resolve_array(var: &Variable, text: &str, ctx: &Context) -> Resolved {
    let delimiter = match var.delimiter.as_deref() {
        Some("\\t" | "tab") => "\t",
        Some(d) if !d.is_empty() => d,
        _ => ",",
    };
    let mut items = Vec::new();
    let mut problems = Vec::new();
    let mut seen = 0usize;
    for item in text.split(delimiter) {
        if item.trim().is_empty() {
            continue;
        }
        seen += 1;
        let raw = var.var_type == VariableType::String && var.output_format.as_deref().map(str::trim) == Some("raw");
        let item = if raw { item } else { item.trim() };
        match parse_one(var, item, ctx) {
            Ok(v) => items.push(v),
            Err(reason) => problems.push(format!("item {} is {} ({reason})", shown(item), not_a(var.var_type))),
        }
    }
    if seen == 0 {
        return Resolved::blank(var);
    }
    if problems.is_empty() {
        return Resolved::value(TypedValue::Array(items));
    }
    let extra = problems.len().saturating_sub(MAX_ITEMS_NAMED);
    problems.truncate(MAX_ITEMS_NAMED);
    let mut message = format!("variable \"{}\": {}", var.name, problems.join("; "));
    if extra > 0 {
        message.push_str(&format!("; and {extra} more invalid items"));
    }
    let value = (!items.is_empty()).then_some(TypedValue::Array(items));
    Resolved::problem(var, message, value)
}

/// One scalar: strings get trimming and case; other types are parsed.
fn parse_one(var: &Variable, text: &str, ctx: &Context) -> Result<TypedValue, String> {
    let format = var.output_format.as_deref().map(str::trim);
    if var.var_type == VariableType::String {
        let s = if format == Some("raw") { text } else { text.trim() };
        return Ok(TypedValue::String(match format {
            Some("upper") => s.to_uppercase(),
            Some("lower") => s.to_lowercase(),
            _ => s.to_owned(),
        }));
    }
    let value = parse_value(var.var_type, text, var.input_format.as_deref(), ctx)?;
    Ok(match (value, format) {
        // The whole address: the local part is case-sensitive by the standard, not in practice.
        (TypedValue::Email(address), Some("lower")) => TypedValue::Email(address.to_lowercase()),
        (value, _) => value,
    })
}

/// The text of a static JSON scalar; `None` for `null`.
fn static_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// A value as shown in a message: cut after [`MAX_SHOWN`] characters, quoted and escaped.
fn shown(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{:?}", format!("{}…", &text[..cut])),
        None => format!("{text:?}"),
    }
}

/// The tail of "`"x" is …`" for a type.
fn not_a(t: VariableType) -> &'static str {
    match t {
        VariableType::String => "not a string",
        VariableType::Number => "not a number",
        VariableType::Boolean => "not a boolean",
        VariableType::Date => "not a date",
        VariableType::Datetime => "not a datetime",
        VariableType::Email => "not an e-mail address",
        VariableType::Phone => "not a phone number",
        VariableType::Uuid => "not a UUID",
    }
}
