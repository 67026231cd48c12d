//! Validation of connector settings: ranges, time zone, phone region, NOTIFY
//! channel, the "execution ended" webhook URL and the schedule syntax.

use super::identifiers::{is_identifier, MAX_PG_IDENTIFIER};
use super::model::Settings;
use super::problem::{field, Problem};

/// Checks every given setting; omitted ones take server defaults.
pub(super) fn check_settings(s: &Settings, out: &mut Vec<Problem>) {
    range(out, "max_concurrency", s.max_concurrency.map(u64::from), 1, Some(64));
    range(out, "chunk_size", s.chunk_size.map(u64::from), 1, Some(100_000));
    range(out, "sql_time_limit_s", s.sql_time_limit_s.map(u64::from), 1, Some(86_400));
    range(out, "sql_threads", s.sql_threads.map(u64::from), 1, Some(64));
    range(out, "sql_max_output_rows", s.sql_max_output_rows, 1, None);
    range(out, "sql_memory_limit_mb", s.sql_memory_limit_mb, 16, None);
    if let Some(tz) = &s.timezone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            out.push(
                Problem::new(path("timezone"), format!("`{tz}` is not a known time zone"))
                    .with_hint("use an IANA zone name such as UTC, Europe/Berlin or America/New_York"),
            );
        }
    }
    if let Some(region) = &s.phone_region {
        // Two upper-case letters the phone number data knows (a code it does not would fail every run).
        let known = crate::types::check_phone_region(region).is_ok();
        if !(region.len() == 2 && region.chars().all(|c| c.is_ascii_uppercase()) && known) {
            out.push(
                Problem::new(path("phone_region"), format!("`{region}` is not a region code"))
                    .with_hint("use a two-letter upper-case ISO 3166 code such as US or DE"),
            );
        }
    }
    if let Some(channel) = &s.notify_channel {
        if !is_identifier(channel) || channel.len() > MAX_PG_IDENTIFIER {
            out.push(
                Problem::new(path("notify_channel"), format!("`{channel}` is not a valid channel name"))
                    .with_hint("use up to 63 letters, digits and _, not starting with a digit"),
            );
        }
    }
    if let Some(url) = &s.ended_webhook {
        if let Err(why) = check_http_url(url) {
            out.push(
                Problem::new(path("ended_webhook"), format!("not an http(s) URL: {why}"))
                    .with_hint("write a full URL such as https://hooks.example.com/sc"),
            );
        }
    }
    if let Some(secret) = &s.ended_webhook_secret {
        if !is_identifier(secret) || secret.len() > MAX_PG_IDENTIFIER {
            out.push(
                Problem::new(path("ended_webhook_secret"), format!("`{secret}` is not a secret name"))
                    .with_hint("name a secret stored with sc_set_secret (letters, digits and _)"),
            );
        }
        if s.ended_webhook.is_none() {
            out.push(
                Problem::new(path("ended_webhook_secret"), "there is no ended_webhook to sign")
                    .with_hint("set settings.ended_webhook to the receiver's URL, or remove ended_webhook_secret"),
            );
        }
    }
    range(out, "max_batch_calls", s.max_batch_calls.map(u64::from), 1, Some(MAX_BATCH_CALLS));
    if let Some(cadence) = &s.cadence {
        match cadence_seconds(cadence) {
            Ok(secs) if (MIN_CADENCE_S..=MAX_CADENCE_S).contains(&secs) => {}
            Ok(secs) => out.push(
                Problem::new(
                    path("cadence"),
                    format!("cadence must be between 30 seconds and 3 hours, not {secs} seconds"),
                )
                .with_hint("for example `30 seconds`, `5 minutes` or `1 hour`"),
            ),
            Err(why) => out.push(
                Problem::new(path("cadence"), format!("`{cadence}` is not a cadence: {why}"))
                    .with_hint("write a number and a unit: `30 seconds`, `5 minutes`, `1 hour`"),
            ),
        }
    }
    if let Some(sig) = &s.webhook_signature {
        check_signature(sig, out);
    }
    if let Some(schedule) = &s.schedule {
        if let Err(why) = check_schedule(schedule) {
            out.push(
                Problem::new(path("schedule"), format!("`{schedule}` is not a schedule: {why}"))
                    .with_hint("use five cron fields such as `*/15 * * * *`, or an interval such as `30 seconds`"),
            );
        }
    }
}

/// The signature's own fields; whether it suits the connector (a webhook
/// connector, not named `webhook`) is checked with the header.
fn check_signature(sig: &super::model::WebhookSignature, out: &mut Vec<Problem>) {
    let at = |name: &str| field(&path("webhook_signature"), name);
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if sig.header.is_empty() || !sig.header.chars().all(token) {
        out.push(
            Problem::new(at("header"), format!("`{}` is not an HTTP header name", sig.header))
                .with_hint("for example X-Hub-Signature-256, X-Shopify-Hmac-Sha256 or Stripe-Signature"),
        );
    }
    if !is_identifier(&sig.secret) || sig.secret.len() > MAX_PG_IDENTIFIER {
        out.push(
            Problem::new(at("secret"), format!("`{}` is not a secret name", sig.secret))
                .with_hint("name a secret stored with sc_set_secret (letters, digits and _)"),
        );
    }
    range(out, "webhook_signature.tolerance_s", sig.tolerance_s.map(u64::from), 1, Some(86_400));
}

/// Shortest and longest cadence of a webhook connector, and its default.
pub const MIN_CADENCE_S: u64 = 30;
pub const MAX_CADENCE_S: u64 = 3 * 3600;
pub const DEFAULT_CADENCE_S: u64 = 300;
/// Most calls a batch may hold, and the default.
pub const MAX_BATCH_CALLS: u64 = 1_000_000;
pub const DEFAULT_BATCH_CALLS: u32 = 10_000;

/// `30 seconds`, `5 minutes`, `1 hour`, `90s`, `2 min`, `1h` → seconds.
pub fn cadence_seconds(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| "it does not start with a number".to_string())?;
    let per = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "" => return Err("it has no unit (seconds, minutes or hours)".into()),
        other => return Err(format!("`{other}` is not a unit (seconds, minutes or hours)")),
    };
    n.checked_mul(per).ok_or_else(|| "it is far too long".to_string())
}

impl Settings {
    /// The cadence in seconds (the default when unset or invalid, which saving refuses).
    pub fn cadence_s(&self) -> u64 {
        self.cadence.as_deref().and_then(|c| cadence_seconds(c).ok()).unwrap_or(DEFAULT_CADENCE_S)
    }

    /// Most calls in one batch.
    pub fn max_batch_calls(&self) -> u32 {
        self.max_batch_calls.unwrap_or(DEFAULT_BATCH_CALLS)
    }
}

fn path(name: &str) -> String {
    field("settings", name)
}

fn range(out: &mut Vec<Problem>, name: &str, value: Option<u64>, min: u64, max: Option<u64>) {
    let Some(v) = value else { return };
    let ok = v >= min && max.is_none_or(|m| v <= m);
    if !ok {
        let message = match max {
            Some(m) => format!("{name} must be between {min} and {m}, not {v}"),
            None => format!("{name} must be at least {min}, not {v}"),
        };
        out.push(Problem::new(path(name), message).with_hint(format!("omit {name} to use the server default")));
    }
}

/// Accepts `http://host…` and `https://host…` with no white space.
pub fn check_http_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url["https://".len()..]
    } else if lower.starts_with("http://") {
        &url["http://".len()..]
    } else {
        return Err("it must start with http:// or https://".to_string());
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains white space".to_string());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, port)) => {
                check_port(port.strip_prefix(':'), port.is_empty())?;
                h
            }
            None => return Err("it has an unterminated [ in the host".to_string()),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, port)) => {
                check_port(Some(port), false)?;
                h
            }
            None => host_port,
        }
    };
    let host_ok = !host.is_empty() && host.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if host_ok {
        Ok(())
    } else {
        Err("it has no valid host".to_string())
    }
}

fn check_port(port: Option<&str>, absent: bool) -> Result<(), String> {
    match port {
        _ if absent => Ok(()),
        Some(p) if p.parse::<u16>().is_ok_and(|n| n > 0) => Ok(()),
        _ => Err("it has an invalid port".to_string()),
    }
}

/// Accepts what pg_cron reads: five cron fields (minute hour day-of-month
/// month day-of-week), an `@hourly`-style macro, or an interval `N seconds`
/// (1–59). Whether this server's pg_cron accepts it is checked when saving.
pub fn check_schedule(schedule: &str) -> Result<(), String> {
    crate::cron::Schedule::parse(schedule).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        for ok in [
            "* * * * *",
            "*/15 * * * *",
            "0 3 * * 1-5",
            "0,30 8-18/2 1,15 * *",
            "0 0 $ * *",
            "0 6 * jan-mar mon,fri",
            "0 6 * * 7",
            "30 seconds",
            "1 second",
            "  59   seconds ",
            "@hourly",
            "@daily",
        ] {
            assert_eq!(check_schedule(ok), Ok(()), "{ok}");
        }
        let bad = [
            ("", "5 fields, this has 0"),
            ("* * * *", "5 fields, this has 4"),
            ("60 * * * *", "minute field"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day-of-month field"),
            ("* * * 13 *", "month field"),
            ("* * * * 8", "day-of-week field"),
            ("5/10 * * * *", "needs * or a range"),
            ("*/0 * * * *", "step `0`"),
            ("10-5 * * * *", "runs backwards"),
            ("1,,2 * * * *", "empty value"),
            ("$ * * * *", "minute field"),
            ("0 seconds", "1 to 59"),
            ("60 seconds", "1 to 59"),
            ("30 minutes", "like `30 seconds`"),
            ("-1 * * * *", "minute field"),
            ("@reboot", "fires only at server start"),
            ("@often", "not a pg_cron macro"),
        ];
        for (text, fragment) in bad {
            let err = check_schedule(text).unwrap_err();
            assert!(err.contains(fragment), "{text}: {err}");
        }
    }

    #[test]
    fn urls() {
        for ok in [
            "https://hooks.example.com/sc",
            "http://localhost:8080/x?y=1",
            "HTTPS://Example.COM",
            "http://[::1]:9000/",
            "http://127.0.0.1",
        ] {
            assert_eq!(check_http_url(ok), Ok(()), "{ok}");
        }
        let bad = [
            ("ftp://example.com", "http:// or https://"),
            ("example.com", "http:// or https://"),
            ("https://", "no valid host"),
            ("https:///path", "no valid host"),
            ("https://exa mple.com", "white space"),
            ("https://example.com:99999", "invalid port"),
            ("https://example.com:", "invalid port"),
            ("http://[::1", "unterminated"),
        ];
        for (text, fragment) in bad {
            let err = check_http_url(text).unwrap_err();
            assert!(err.contains(fragment), "{text}: {err}");
        }
    }

    #[test]
    fn cadences() {
        for (text, secs) in
            [("30 seconds", 30), ("5 minutes", 300), ("1 hour", 3600), ("90s", 90), ("2 min", 120), ("3h", 10_800)]
        {
            assert_eq!(cadence_seconds(text), Ok(secs), "{text}");
        }
        for (text, why) in [("soon", "number"), ("5", "no unit"), ("5 days", "`days` is not a unit")] {
            let err = cadence_seconds(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let mut out = Vec::new();
        let settings = Settings { cadence: Some("10 seconds".into()), max_batch_calls: Some(0), ..Settings::default() };
        check_settings(&settings, &mut out);
        let text: Vec<String> = out.iter().map(|p| p.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text.iter().any(|t| t.contains("settings.cadence") && t.contains("not 10 seconds")), "{text:?}");
        assert_eq!(settings.cadence_s(), 10);
        assert_eq!(Settings::default().cadence_s(), DEFAULT_CADENCE_S);
    }
}
