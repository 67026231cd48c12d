//! One problem found in a connector document, named by its path in the document.
//!
//! Paths are written the way a user reads them: `variables[3].type`,
//! `load_steps[1].match[0].columns.sku`, `settings.chunk_size`; the whole
//! document is `$`. A map key that is not a plain identifier is written as
//! `["key with spaces"]`.

use std::fmt;

use serde::Serialize;

/// Path of the whole document.
pub const ROOT: &str = "$";

/// A problem in a connector document: where, what, and (when the user can
/// act) what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { path: path.into(), message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// `base.field`, or just `field` at the root.
pub fn field(base: &str, name: &str) -> String {
    if base.is_empty() || base == ROOT {
        name.to_string()
    } else {
        format!("{base}.{name}")
    }
}

/// `base[index]`.
pub fn index(base: &str, i: usize) -> String {
    if base.is_empty() {
        format!("{ROOT}[{i}]")
    } else {
        format!("{base}[{i}]")
    }
}

/// `base.key` for an identifier-like key, else `base["key"]` (JSON-escaped).
pub fn key(base: &str, k: &str) -> String {
    let plain = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        field(base, k)
    } else {
        let quoted = serde_json::to_string(k).unwrap_or_else(|_| format!("\"{k}\""));
        if base.is_empty() || base == ROOT {
            format!("{ROOT}[{quoted}]")
        } else {
            format!("{base}[{quoted}]")
        }
    }
}

/// A problem for text that is not `name` or `schema.name`.
pub(super) fn table_problem(path: &str, text: &str, why: &str) -> Problem {
    Problem::new(path, format!("`{text}` is not a valid table name: it {why}"))
        .with_hint("write name or schema.name; double-quote a name with other characters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_hint() {
        let p = Problem::new("settings.chunk_size", "must be between 1 and 100000");
        assert_eq!(p.to_string(), "settings.chunk_size: must be between 1 and 100000");
        let p = p.with_hint("use 1000");
        assert_eq!(p.to_string(), "settings.chunk_size: must be between 1 and 100000 (hint: use 1000)");
    }

    #[test]
    fn paths_read_like_the_document() {
        let step = index("load_steps", 1);
        let rule = index(&field(&step, "match"), 0);
        assert_eq!(key(&field(&rule, "columns"), "sku"), "load_steps[1].match[0].columns.sku");
        assert_eq!(key("parameters", "a b"), "parameters[\"a b\"]");
        assert_eq!(field(ROOT, "name"), "name");
        assert_eq!(key(ROOT, "x y"), "$[\"x y\"]");
        assert_eq!(index(ROOT, 2), "$[2]");
    }

    #[test]
    fn serializes_without_empty_hint() {
        let v = serde_json::to_value(Problem::new("$", "m")).unwrap();
        assert_eq!(v, serde_json::json!({"path": "$", "message": "m"}));
    }
}
