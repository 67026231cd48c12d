//! Secret masking: every text bound for a message, a report or a log loses
//! the secret values in it, also as the engine rewrote them.
//!
//! The engine does not always repeat a value as it was given: a URL with a
//! glob (`{1,2}`, `{a|b}`, `*`, `?`) is expanded before it appears in an
//! error, and values may come back URL-encoded or decoded. So besides each
//! whole value, the masker hides:
//!
//! * its percent-decoded and percent-encoded forms (either hex case, and
//!   `+` for a space);
//! * every piece of it between glob and alternative characters
//!   (`{ } | , * ? [ ]`) of at least [`MIN_PIECE`] characters, and those
//!   pieces' encoded forms — an expanded URL is made of these pieces.
//!
//! Masking too much only hides a little of a message; masking too little
//! leaks a credential to every operator, so the rules lean to the former.

/// Shortest value (and glob piece) masked: shorter ones would mangle every
/// message and reveal next to nothing.
pub const MIN_PIECE: usize = 4;

/// Shortest whole value masked.
const MIN_VALUE: usize = 3;

/// Characters ClickHouse expands or treats as alternatives in a path or URL.
const GLOB: [char; 8] = ['{', '}', '|', ',', '*', '?', '[', ']'];

/// Replaces every secret value with `***` in text bound for a message or a log.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Needles, longest first (so a secret containing another is masked whole).
    needles: Vec<String>,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encode every byte but the unreserved ones, in `upper` or lower hex.
fn encode(s: &str, upper: bool, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else if b == b' ' && plus_for_space {
            out.push('+');
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// Percent-decode (`+` stays `+`); `None` when it decodes to nothing new or
/// to something that is not UTF-8.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).ok()?, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    let text = String::from_utf8(out).ok()?;
    (text != s).then_some(text)
}

/// The forms of one text that may show up in a message.
fn forms(text: &str, min: usize, out: &mut Vec<String>) {
    if text.chars().count() < min {
        return;
    }
    out.push(text.to_string());
    if let Some(d) = decode(text) {
        out.push(d);
    }
    for (upper, plus) in [(true, false), (false, false), (true, true), (false, true)] {
        let e = encode(text, upper, plus);
        if e != text {
            out.push(e);
        }
    }
}

impl Masker {
    /// Mask these values (values shorter than 3 characters are not masked).
    pub fn new<I: IntoIterator<Item = String>>(values: I) -> Self {
        let mut needles = Vec::new();
        for v in values {
            forms(&v, MIN_VALUE, &mut needles);
            let decoded = decode(&v).unwrap_or_else(|| v.clone());
            for source in [v.as_str(), decoded.as_str()] {
                if source.contains(GLOB) {
                    for piece in source.split(GLOB) {
                        forms(piece, MIN_PIECE, &mut needles);
                    }
                }
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Masker { needles }
    }

    /// Mask `text`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.needles {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }

    /// Mask the message inside an error, keeping its kind.
    pub fn mask_error(&self, e: crate::Error) -> crate::Error {
        use crate::Error;
        match e {
            Error::User(m) => Error::User(self.mask(&m)),
            Error::TimeLimit(m) => Error::TimeLimit(self.mask(&m)),
            Error::Internal(m) => Error::Internal(self.mask(&m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_whole_values_longest_first() {
        let m = Masker::new(vec!["hunter2".to_string(), "ab".to_string(), "hunter22".to_string()]);
        assert_eq!(m.mask("pw hunter22 and hunter2, ab"), "pw *** and ***, ab");
    }

    #[test]
    fn masks_what_the_engine_makes_of_a_value() {
        let url = "https://api.example.com/v1/{orders,customers}?token=Tk9xq7Zp&x=1".to_string();
        let m = Masker::new(vec![url.clone(), "p@ss word/1".to_string(), "{xa|yb}-secretpart".to_string()]);
        for (leaky, secret) in [
            // a glob expanded by the engine
            (
                "Code: 86. Received error from remote server https://api.example.com/v1/orders?token=Tk9xq7Zp&x=1",
                "Tk9xq7Zp",
            ),
            // URL-encoded, either hex case, and with + for a space
            ("password=p%40ss%20word%2F1 rejected", "p%40ss"),
            ("password=p%40ss+word%2f1 rejected", "ss+word"),
            // decoded back from an encoded secret
            ("user p@ss word/1 denied", "p@ss word"),
            // an alternative picked by the engine, embedded in a longer string
            ("connect to xa-secretpart.example failed", "secretpart"),
            // the whole value inside a longer text
            (&format!("url('{url}') failed"), "Tk9xq7Zp"),
        ] {
            let masked = m.mask(leaky);
            assert!(!masked.contains(secret), "{leaky} → {masked}");
            assert!(masked.contains("***"), "{leaky} → {masked}");
        }
        // Text unrelated to any secret is left alone.
        assert_eq!(m.mask("SQL error: Syntax error at position 1"), "SQL error: Syntax error at position 1");
    }

    #[test]
    fn decoding_is_strict() {
        assert_eq!(decode("a%41b"), Some("aAb".into()));
        assert_eq!(decode("100%"), None);
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%ff"), None, "not UTF-8");
    }
}
