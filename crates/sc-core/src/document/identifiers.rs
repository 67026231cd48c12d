//! Name syntax in connector documents: identifiers, api names, and PostgreSQL
//! object names (`table`, `schema.table`, with optional double quotes).

use std::fmt;

/// Longest PostgreSQL identifier, in bytes (NAMEDATALEN - 1).
pub const MAX_PG_IDENTIFIER: usize = 63;

/// `^[A-Za-z_][A-Za-z0-9_]*$`: names of variables, steps, scopes, references
/// and parameters.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `^[a-z][a-z0-9_]{0,62}$`: a connector's `api_name`.
pub fn is_api_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() => {}
        _ => return false,
    }
    s.len() <= MAX_PG_IDENTIFIER && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A PostgreSQL object name from a document, with quotes removed and
/// unquoted parts folded to lower case, as PostgreSQL reads them. Pass the
/// parts to `quote_ident` / `regclass`; never splice the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
}

impl QualifiedName {
    /// Parses `name`, `schema.name`, `"Odd Name"` or `schema."Odd Name"`.
    /// The error says what is wrong, for a [`super::Problem`] message.
    pub fn parse(text: &str) -> Result<QualifiedName, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        loop {
            let (part, after) = take_identifier(rest)?;
            parts.push(part);
            match after.strip_prefix('.') {
                Some(next) => rest = next,
                None if after.is_empty() => break,
                None => return Err(format!("unexpected text {after:?}")),
            }
        }
        match parts.len() {
            1 => Ok(QualifiedName { schema: None, name: parts.remove(0) }),
            2 => {
                let name = parts.remove(1);
                Ok(QualifiedName { schema: Some(parts.remove(0)), name })
            }
            n => Err(format!("has {n} parts; expected name or schema.name")),
        }
    }
}

impl fmt::Display for QualifiedName {
    /// Always quoted, so the text reads back as the same name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "\"{}\".", schema.replace('"', "\"\""))?;
        }
        write!(f, "\"{}\"", self.name.replace('"', "\"\""))
    }
}

/// One identifier at the start of `s`: quoted (`""` is a quote) or plain
/// (`[A-Za-z_][A-Za-z0-9_$]*`, folded to lower case). Returns it and the rest.
fn take_identifier(s: &str) -> Result<(String, &str), String> {
    let (ident, rest) = if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("has an unterminated double quote".to_string()),
                Some((i, '"')) => {
                    if body[i + 1..].starts_with('"') {
                        out.push('"');
                        chars.next();
                    } else {
                        break i + 1;
                    }
                }
                Some((_, c)) => out.push(c),
            }
        };
        if out.is_empty() {
            return Err("has an empty quoted identifier".to_string());
        }
        (out, &body[end..])
    } else {
        let end = s
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && (c.is_ascii_digit() || c == '$'))))
            .map_or(s.len(), |(i, _)| i);
        if end == 0 {
            return Err(match s.chars().next() {
                None => "has an empty part".to_string(),
                Some(c) => format!("has an unexpected character {c:?}"),
            });
        }
        (s[..end].to_ascii_lowercase(), &s[end..])
    };
    if ident.len() > MAX_PG_IDENTIFIER {
        return Err(format!("has a part longer than {MAX_PG_IDENTIFIER} bytes"));
    }
    Ok((ident, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["a", "_x", "Vendor_Code2", "A"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "a b", "é"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn api_names() {
        assert!(is_api_name("vendor_products"));
        assert!(is_api_name(&"a".repeat(63)));
        for bad in ["", "Vendor", "_x", "1a", "a-b", &"a".repeat(64)] {
            assert!(!is_api_name(bad), "{bad}");
        }
    }

    #[test]
    fn qualified_names() {
        let cases = [
            ("products", None, "products"),
            ("Public.Products", Some("public"), "products"),
            ("\"My Schema\".\"Odd \"\"Name\"\"\"", Some("My Schema"), "Odd \"Name\""),
            ("s.t$1", Some("s"), "t$1"),
        ];
        for (text, schema, name) in cases {
            let q = QualifiedName::parse(text).unwrap();
            assert_eq!(q.schema.as_deref(), schema, "{text}");
            assert_eq!(q.name, name, "{text}");
        }
        assert_eq!(QualifiedName::parse("a.\"b c\"").unwrap().to_string(), "\"a\".\"b c\"");
    }

    #[test]
    fn bad_qualified_names() {
        let cases = [
            ("", "empty part"),
            ("a.b.c", "3 parts"),
            ("a.", "empty part"),
            ("\"abc", "unterminated"),
            ("\"\"", "empty quoted"),
            ("a b", "unexpected text"),
            ("a;drop", "unexpected text"),
            ("1abc", "unexpected character"),
        ];
        for (text, fragment) in cases {
            let err = QualifiedName::parse(text).unwrap_err();
            assert!(err.contains(fragment), "{text}: {err}");
        }
        assert!(QualifiedName::parse(&"x".repeat(64)).is_err());
    }
}
