//! The crate's error type, ClickHouse error classification and message cutting (masking: `mask`).

use crate::job::Limits;

/// What went wrong in the engine process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The SQL, its input or its limits: the user can act (exit code 2).
    #[error("{0}")]
    User(String),
    /// The SQL time limit was exceeded (exit code 2, kind `time_limit`).
    #[error("{0}")]
    TimeLimit(String),
    /// A fault of the engine or of this program (exit code 3).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The `kind` written to `error.json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::User(_) => "user",
            Error::TimeLimit(_) => "time_limit",
            Error::Internal(_) => "internal",
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::User(_) | Error::TimeLimit(_) => 2,
            Error::Internal(_) => 3,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Error::User(m) | Error::TimeLimit(m) | Error::Internal(m) => m,
        }
    }
}

/// The message for an exceeded time limit.
pub fn time_limit_message(time_s: u64) -> String {
    format!("SQL time limit of {time_s} s exceeded")
}

/// Longest ClickHouse message kept whole.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Cut a long message in the middle, keeping its head and tail.
pub fn cut_middle(msg: &str, max_chars: usize) -> String {
    let n = msg.chars().count();
    if n <= max_chars {
        return msg.to_string();
    }
    let keep = max_chars / 2;
    let head: String = msg.chars().take(keep).collect();
    let tail: String = msg.chars().skip(n - keep).collect();
    format!("{head} … [{} chars cut] … {tail}", n - 2 * keep)
}

/// The ClickHouse error code in a message such as `Code: 241. DB::Exception: …`.
pub fn clickhouse_code(msg: &str) -> Option<u32> {
    let rest = msg.trim_start().strip_prefix("Code: ")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// Strip the `Code: N. DB::Exception: ` prefix for display.
fn strip_prefix(msg: &str) -> &str {
    let m = msg.trim();
    match m.find("DB::Exception: ") {
        Some(i) if i < 40 => &m[i + "DB::Exception: ".len()..],
        _ => m,
    }
}

/// Turn a ClickHouse error into the error the user sees.
pub fn classify(raw: &str, limits: &Limits) -> Error {
    match clickhouse_code(raw) {
        // TIMEOUT_EXCEEDED
        Some(159) => Error::TimeLimit(time_limit_message(limits.time_s)),
        // MEMORY_LIMIT_EXCEEDED
        Some(241) => Error::User(match limits.memory_bytes {
            Some(b) => format!("SQL memory limit of {} exceeded", human_bytes(b)),
            None => "SQL memory limit exceeded (the engine's memory limit)".to_string(),
        }),
        _ => Error::User(format!("SQL error: {}", cut_middle(strip_prefix(raw), MAX_MESSAGE_CHARS))),
    }
}

/// `1073741824` → `1.0 GiB`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub use crate::mask::Masker;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_long_messages_in_the_middle() {
        let m = format!("{}{}", "a".repeat(1500), "b".repeat(1500));
        let c = cut_middle(&m, 2000);
        assert!(c.starts_with(&"a".repeat(1000)) && c.ends_with(&"b".repeat(1000)));
        assert!(c.contains(" … [1000 chars cut] … "));
        assert_eq!(cut_middle("short", 2000), "short");
    }

    #[test]
    fn classifies_clickhouse_errors() {
        let l = Limits { time_s: 7, memory_bytes: Some(1 << 30), ..Limits::default() };
        let t = classify("Code: 159. DB::Exception: Timeout exceeded: elapsed 7.1 seconds", &l);
        assert_eq!(t, Error::TimeLimit("SQL time limit of 7 s exceeded".into()));
        let m = classify("Code: 241. DB::Exception: Memory limit (for query) exceeded", &l);
        assert_eq!(m.message(), "SQL memory limit of 1.0 GiB exceeded");
        let s = classify("Code: 62. DB::Exception: Syntax error: failed at position 1. (SYNTAX_ERROR)", &l);
        assert_eq!(s.message(), "SQL error: Syntax error: failed at position 1. (SYNTAX_ERROR)");
    }
}
