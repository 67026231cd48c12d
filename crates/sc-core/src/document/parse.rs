//! From JSON to a validated [`ConnectorDocument`] and back, with every problem
//! named by its path.

use serde_path_to_error::{Path, Segment};

use super::model::ConnectorDocument;
use super::problem::{self, Problem, ROOT};

/// Most shape problems reported for one document.
const MAX_SHAPE_PROBLEMS: usize = 100;

/// Reads a connector document and validates it, reporting every problem at once.
///
/// A document that does not have the document's shape (an unknown key, a
/// wrong type or an unknown enum value) gives a problem at the path where
/// reading stopped. Misspellings do not stop it: an unknown key is dropped
/// and an unknown value replaced by an allowed one, and reading goes on, so
/// a newcomer sees every misspelling in one save. Once the shape reads,
/// validation adds its problems, except those inside an object whose value
/// was replaced (they would be about the stand-in). A wrong JSON type or a
/// missing key ends the reading.
pub fn parse_document(v: &serde_json::Value) -> Result<ConnectorDocument, Vec<Problem>> {
    if !v.is_object() {
        // serde would also read a struct from an array, by position.
        return Err(vec![Problem::new(ROOT, "the document must be a JSON object")
            .with_hint("export a connector to see the expected shape")]);
    }
    let mut value = v.clone();
    let mut problems: Vec<Problem> = Vec::new();
    // Objects holding a stand-in value: validation's word on them is not reported.
    let mut stand_ins: Vec<String> = Vec::new();
    loop {
        let err = match serde_path_to_error::deserialize::<_, ConnectorDocument>(&value) {
            Ok(doc) => {
                let shape_ok = problems.is_empty();
                problems.extend(doc.validate().into_iter().filter(|p| !stand_ins.iter().any(|a| within(&p.path, a))));
                return if shape_ok && problems.is_empty() { Ok(doc) } else { Err(problems) };
            }
            Err(err) => err,
        };
        let message = err.inner().to_string();
        let segments: Vec<Segment> = err.path().iter().cloned().collect();
        problems.push(shape_problem(err.path(), &message));
        if problems.len() >= MAX_SHAPE_PROBLEMS {
            return Err(problems);
        }
        match set_aside(&mut value, &segments, &message) {
            SetAside::Dropped => {}
            SetAside::StandIn => stand_ins.push(user_path_of(&segments[..segments.len().saturating_sub(1)])),
            SetAside::Stop => return Err(problems),
        }
    }
}

/// What [`set_aside`] did with the spot a shape error points at.
enum SetAside {
    /// An unknown key was removed.
    Dropped,
    /// An unknown value was replaced by an allowed one.
    StandIn,
    /// Reading cannot go on (a wrong type, a missing key).
    Stop,
}

/// `path` is `at` or lies under it.
fn within(path: &str, at: &str) -> bool {
    path == at || path.strip_prefix(at).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Sets aside the spot a shape error points at, so reading can go on.
fn set_aside(value: &mut serde_json::Value, at: &[Segment], message: &str) -> SetAside {
    if let Some(name) = quoted_name(message, "unknown field `") {
        let parent = match at.last() {
            Some(Segment::Map { key }) if key == name => &at[..at.len() - 1],
            _ => at,
        };
        let removed = navigate(value, parent).and_then(|p| p.as_object_mut()).is_some_and(|o| o.remove(name).is_some());
        return if removed { SetAside::Dropped } else { SetAside::Stop };
    }
    if quoted_name(message, "unknown variant `").is_some() {
        let allowed = message.split_once(", expected ").and_then(|(_, rest)| rest.split('`').nth(1));
        if let (Some(allowed), Some(spot)) = (allowed, navigate(value, at)) {
            if spot.is_string() {
                *spot = serde_json::Value::String(allowed.to_owned());
                return SetAside::StandIn;
            }
        }
    }
    SetAside::Stop
}

/// The value at `at`, if the document has one there.
fn navigate<'v>(value: &'v mut serde_json::Value, at: &[Segment]) -> Option<&'v mut serde_json::Value> {
    let mut here = value;
    for segment in at {
        here = match segment {
            Segment::Seq { index } => here.get_mut(*index)?,
            Segment::Map { key } => here.get_mut(key.as_str())?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
    }
    Some(here)
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
            .with_hint("check the value's JSON type against the document reference (docs/connector.md)");
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
    user_path_of(&at.iter().cloned().collect::<Vec<_>>())
}

fn user_path_of(at: &[Segment]) -> String {
    let mut out = String::new();
    for segment in at {
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
