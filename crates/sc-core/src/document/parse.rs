//! From JSON to a validated [`ConnectorDocument`] and back, with every problem
//! named by its path.

use serde_path_to_error::{Path, Segment};

use super::model::ConnectorDocument;
use super::problem::{self, Problem, ROOT};

/// Reads a connector document and validates it.
///
/// A document that does not have the document's shape (an unknown key, a
/// missing key, a wrong type or an unknown enum value) gives one problem at
/// the path where reading stopped. A document with the right shape gives
/// every validation problem at once.
pub fn parse_document(v: &serde_json::Value) -> Result<ConnectorDocument, Vec<Problem>> {
    if !v.is_object() {
        // serde would also read a struct from an array, by position.
        return Err(vec![Problem::new(ROOT, "the document must be a JSON object")
            .with_hint("export a connector to see the expected shape")]);
    }
    let doc: ConnectorDocument = match serde_path_to_error::deserialize(v) {
        Ok(doc) => doc,
        Err(err) => return Err(vec![shape_problem(err.path(), &err.inner().to_string())]),
    };
    let problems = doc.validate();
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems)
    }
}

/// Writes a document back as JSON; omitted keys stay omitted.
pub fn to_value(doc: &ConnectorDocument) -> serde_json::Value {
    // Serializing these types cannot fail: every map key is a string and
    // every value is plain data. Keep the fallback anyway rather than panic.
    serde_json::to_value(doc).unwrap_or(serde_json::Value::Null)
}

/// Turns one serde error into a problem with a user path and a hint.
fn shape_problem(at: &Path, message: &str) -> Problem {
    let base = user_path(at);
    if let Some(name) = quoted_name(message, "missing field `") {
        return Problem::new(problem::field(&base, name), format!("`{name}` is required"))
            .with_hint(format!("add \"{name}\" here"));
    }
    if let Some(name) = quoted_name(message, "unknown field `") {
        let allowed = message.split_once(", expected ").map(|(_, rest)| rest.to_string());
        // The path already ends at the unknown key.
        let ends_at_key = matches!(at.iter().next_back(), Some(Segment::Map { key }) if key == name);
        let path = if ends_at_key { base } else { problem::key(&base, name) };
        let p = Problem::new(path, format!("unknown key `{name}`"));
        return match allowed {
            Some(list) if list.starts_with("one of ") => {
                p.with_hint(format!("allowed keys here are {}", &list["one of ".len()..]))
            }
            Some(list) => p.with_hint(format!("the only allowed key here is {list}")),
            None => p.with_hint("remove it or check its spelling"),
        };
    }
    if let Some(value) = quoted_name(message, "unknown variant `") {
        let p = Problem::new(base, format!("`{value}` is not an allowed value"));
        return match message.split_once(", expected ") {
            Some((_, allowed)) => p.with_hint(format!("use {allowed}")),
            None => p,
        };
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        return Problem::new(base, plain_expectation(message))
            .with_hint("check the value's JSON type against the document format (SPEC §8.1)");
    }
    Problem::new(base, message.to_string())
}

/// serde's expectation in document words: `expected u32` → `expected a
/// whole number of 0 or more`, `expected struct Lookup` → `expected an object`.
fn plain_expectation(message: &str) -> String {
    let Some((head, expected)) = message.split_once(", expected ") else {
        return message.to_string();
    };
    let plain = match expected {
        "u32" | "u64" | "usize" => "a whole number of 0 or more",
        "a sequence" => "a list",
        "a map" => "an object",
        e if e.starts_with("struct ") => "an object",
        e => e,
    };
    format!("{head}, expected {plain}")
}

/// `name` out of a message that starts with `prefix` followed by ``name` …``.
fn quoted_name<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// The error path in the form used by [`Problem`] (`$` for the root).
fn user_path(at: &Path) -> String {
    let mut out = String::new();
    for segment in at.iter() {
        out = match segment {
            Segment::Seq { index } => problem::index(&out, *index),
            Segment::Map { key } => problem::key(&out, key),
            Segment::Enum { variant } => problem::key(&out, variant),
            Segment::Unknown => problem::field(&out, "?"),
        };
    }
    if out.is_empty() {
        ROOT.to_string()
    } else {
        out
    }
}
