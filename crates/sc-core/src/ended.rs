//! The "execution ended" webhook's rules, without I/O: which hosts it may
//! reach, how a request is signed, and when a failed delivery is tried again.
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Header with the Unix time (seconds) the request was signed at.
pub const TIMESTAMP_HEADER: &str = "X-Smartconnector-Timestamp";
/// Header with `sha256=<hex>`: HMAC-SHA256 over `<timestamp>.<body>`.
pub const SIGNATURE_HEADER: &str = "X-Smartconnector-Signature";
/// Header with the delivery's id (the same on every attempt: receivers dedupe on it).
pub const DELIVERY_HEADER: &str = "X-Smartconnector-Delivery";

/// Waits before attempts 2, 3, … as multiples of the first retry delay: with
/// the default 30 s, 30 s, 1 min, 5 min, 15 min and 40 min (6 attempts over
/// about an hour).
const BACKOFF: [u32; 5] = [1, 2, 10, 30, 80];

/// Most attempts of one delivery.
pub const MAX_ATTEMPTS: u32 = BACKOFF.len() as u32 + 1;

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer: a timeout, a refused or broken connection, a TLS error.
    Error(String),
}

/// What happens to a delivery after `attempts` attempts, the last one `last`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryIn(Duration),
    /// The reason it is not tried again.
    GiveUp(String),
}

/// Delivered on 2xx; tried again after timeouts, connection errors, 408,
/// 429 and 5xx, up to [`MAX_ATTEMPTS`]; any other answer (a 3xx not
/// followed, a 4xx) is the receiver's refusal and is final.
pub fn next(attempts: u32, last: &Attempt, first_retry: Duration) -> Next {
    let retryable = match last {
        Attempt::Status(s) if (200..300).contains(s) => return Next::Delivered,
        Attempt::Status(s) => *s == 408 || *s == 429 || *s >= 500,
        Attempt::Error(_) => true,
    };
    let what = match last {
        Attempt::Status(s) => format!("HTTP {s}"),
        Attempt::Error(e) => e.clone(),
    };
    if !retryable {
        return Next::GiveUp(format!("the receiver answered {what}, which is not retried"));
    }
    match BACKOFF.get(attempts.saturating_sub(1) as usize) {
        Some(k) => Next::RetryIn(first_retry * *k),
        None => Next::GiveUp(format!("{attempts} attempts failed, the last with {what}")),
    }
}

/// The host and port of an `http(s)` URL (default port by scheme), lower-cased host.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let lower = url.to_ascii_lowercase();
    let (rest, default) =
        if let Some(r) = lower.strip_prefix("https://") { (r, 443) } else { (lower.strip_prefix("http://")?, 80) };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h.to_owned(), after.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (host_port.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default,
    };
    (!host.is_empty()).then_some((host, port))
}

/// Whether `url`'s host is one of `allowed` (`smartconnector.allowed_hosts`
/// entries: `host`, `host:port`, `*.domain`, or `*` for every host).
pub fn host_allowed(url: &str, allowed: &[String]) -> bool {
    let Some((host, port)) = host_port(url) else { return false };
    allowed.iter().map(|a| a.trim().to_ascii_lowercase()).any(|a| {
        if a == "*" {
            return true;
        }
        // `host:port` (an IPv6 address in brackets: `[::1]:8080`), else a host on any port.
        let (pattern, want_port) = match a.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse::<u16>().ok()),
            _ => (a.as_str(), None),
        };
        let pattern = pattern.trim_start_matches('[').trim_end_matches(']');
        if want_port.is_some_and(|p| p != port) {
            return false;
        }
        match pattern.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == pattern,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_exactly_by_port_or_by_domain() {
        let allowed: Vec<String> =
            ["hooks.example.com", "127.0.0.1:8080", "*.corp.io"].iter().map(|s| s.to_string()).collect();
        assert!(host_allowed("https://hooks.example.com/sc", &allowed));
        assert!(host_allowed("http://HOOKS.example.com:9000/x", &allowed), "any port without one given");
        assert!(host_allowed("http://127.0.0.1:8080/", &allowed));
        assert!(!host_allowed("http://127.0.0.1:8081/", &allowed), "another port");
        assert!(host_allowed("https://a.b.corp.io/", &allowed));
        assert!(!host_allowed("https://corp.io/", &allowed), "*.domain is its subdomains");
        assert!(!host_allowed("https://evilhooks.example.com/", &allowed));
        assert!(!host_allowed("https://hooks.example.com.evil.io/", &allowed));
        assert!(!host_allowed("https://user@evil.io/?hooks.example.com", &allowed));
        assert!(!host_allowed("ftp://hooks.example.com/", &allowed));
        assert!(host_allowed("https://anything.io/", &["*".to_string()]));
        assert!(!host_allowed("https://anything.io/", &[]));
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
        assert_eq!(
            signature(b"s3cret", 1_700_000_000, br#"{"a":1}"#),
            "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
        );
    }

    #[test]
    fn retries_back_off_for_about_an_hour_then_give_up() {
        let first = Duration::from_secs(30);
        assert_eq!(next(1, &Attempt::Status(204), first), Next::Delivered);
        assert_eq!(next(1, &Attempt::Status(500), first), Next::RetryIn(Duration::from_secs(30)));
        assert_eq!(next(2, &Attempt::Error("timed out".into()), first), Next::RetryIn(Duration::from_secs(60)));
        assert_eq!(next(3, &Attempt::Status(429), first), Next::RetryIn(Duration::from_secs(300)));
        let total: u64 = (1..MAX_ATTEMPTS)
            .map(|a| match next(a, &Attempt::Status(503), first) {
                Next::RetryIn(d) => d.as_secs(),
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(total, 3690, "about an hour between the first and the last attempt");
        assert!(matches!(next(MAX_ATTEMPTS, &Attempt::Status(503), first), Next::GiveUp(_)));
        assert!(matches!(next(1, &Attempt::Status(404), first), Next::GiveUp(r) if r.contains("HTTP 404")));
        assert!(matches!(next(1, &Attempt::Status(301), first), Next::GiveUp(_)), "a redirect is not followed");
    }
}
