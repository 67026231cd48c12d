//! The engine's sandbox: the ClickHouse server and users configuration written for one run.
//!
//! Facts about chDB 26.5 in-process mode (measured, see the crate docs):
//!
//! * `--config-file=PATH` given to `chdb_connect` is read; its `users_config`
//!   key names the users file. The connection always authenticates as
//!   `default`, so the sandbox is *what `default` may do*.
//! * In-process mode ("local" application type) skips the `user_files_path`
//!   check and ignores `remote_url_allow_hosts`, so `file()` would read any
//!   path and `url()` reach any host. Access rights are enforced though, so
//!   `default` gets no `FILE` source grant at all (file functions, `File`
//!   engine and `INSERT INTO FUNCTION file` are refused) and network sources
//!   only through grants filtered by host (`GRANT READ ON URL('regexp')`).
//!   Only `URL` and `S3` grants honour such a filter; `POSTGRES`, `MYSQL`
//!   and `REMOTE` are therefore granted only when the allowed hosts are `*`.
//! * `INTO OUTFILE` / `FROM INFILE` run in the embedded client, outside the
//!   access checks: the SQL may not use them (see `sql`).
//! * Settings in the user's profile with a `readonly` constraint cannot be
//!   raised by `SET` or `SETTINGS` (the limits).
//! * Named collections declared in the server config are usable with
//!   `GRANT NAMED COLLECTION ON name`; values are never displayed
//!   (`display_secrets_in_show_and_select` = 0, no `SHOW NAMED COLLECTIONS`).
//!   The config holds the secrets, so it is written `0600` and deleted as
//!   soon as the engine has started (chDB does not reload it).

use std::fmt::Write as _;
use std::path::Path;

use crate::job::{Job, Secret};

/// Databases the SQL sees; `connector` is the current one.
pub const DATABASES: [&str; 5] = ["input", "output", "connector", "meta", "pg"];

/// The allowed-hosts entry that opens every network source to every host.
pub const ANY_HOST: &str = "*";

/// Sources granted for [`ANY_HOST`]. chDB 26.5 filters grants by host only
/// for `URL` and `S3`; `POSTGRES`, `MYSQL` and `REMOTE` grants with a filter
/// never match, so these are available only when every host is allowed.
const ANY_HOST_SOURCES: [&str; 5] = ["URL", "S3", "POSTGRES", "MYSQL", "REMOTE"];

/// Named-collection keys a query may not override (where to connect, as whom).
const FIXED_KEYS: [&str; 11] = [
    "host",
    "hostname",
    "port",
    "addresses_expr",
    "url",
    "endpoint",
    "user",
    "username",
    "password",
    "access_key_id",
    "secret_access_key",
];

/// System tables the SQL may read.
const SYSTEM_TABLES: [&str; 14] = [
    "one",
    "numbers",
    "numbers_mt",
    "zeros",
    "zeros_mt",
    "functions",
    "table_functions",
    "tables",
    "columns",
    "databases",
    "settings",
    "formats",
    "data_type_families",
    "time_zones",
];

/// Escape text for an XML element.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Is `s` a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`)?
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Check an allowed-host entry: a host name or IP, optionally `*.` in front
/// and `:port` behind.
pub fn check_host(host: &str) -> Result<(), String> {
    if host == ANY_HOST {
        return Ok(());
    }
    let body = host.strip_prefix("*.").unwrap_or(host);
    let ok =
        !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid allowed host {host:?}: use a host name or IP, optionally *.domain and :port"))
    }
}

/// The regular expression for one allowed host (without scheme and path).
fn host_regex(host: &str) -> String {
    let (wild, body) = match host.strip_prefix("*.") {
        Some(b) => (true, b),
        None => (false, host),
    };
    let mut re = String::new();
    if wild {
        re.push_str("([A-Za-z0-9-]+\\.)+");
    }
    for c in body.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == ':' {
            re.push(c);
        } else {
            re.push('\\');
            re.push(c);
        }
    }
    if !body.contains(':') || body.starts_with('[') && body.ends_with(']') {
        re.push_str("(:[0-9]+)?");
    }
    re
}

/// The grants of the SQL's user.
pub fn grants(job: &Job) -> Vec<String> {
    let mut g = Vec::new();
    for db in DATABASES {
        g.push(format!("GRANT CREATE DATABASE ON {db}.*"));
        g.push(format!(
            "GRANT SHOW, SELECT, INSERT, ALTER, CREATE TABLE, CREATE VIEW, DROP TABLE, DROP VIEW, TRUNCATE, OPTIMIZE ON {db}.*"
        ));
    }
    for t in SYSTEM_TABLES {
        g.push(format!("GRANT SELECT ON system.{t}"));
    }
    g.push("GRANT CREATE TEMPORARY TABLE ON *.*".to_string());
    g.push("GRANT CREATE FUNCTION, DROP FUNCTION ON *.*".to_string());
    if job.allowed_hosts.iter().any(|h| h == ANY_HOST) {
        g.push(format!("GRANT READ ON {}", ANY_HOST_SOURCES.join(", READ ON ")));
    } else {
        for host in &job.allowed_hosts {
            let h = host_regex(host);
            g.push(format!("GRANT READ ON URL('https?://{h}(/.*)?')"));
            g.push(format!("GRANT READ ON S3('https?://{h}(/.*)?')"));
        }
    }
    for name in job.secrets.keys() {
        g.push(format!("GRANT NAMED COLLECTION ON {name}"));
    }
    g
}

/// Check the parts of the job that go into the configuration.
pub fn validate(job: &Job) -> Result<(), String> {
    for host in &job.allowed_hosts {
        check_host(host)?;
    }
    for (name, secret) in &job.secrets {
        if !is_identifier(name) {
            return Err(format!("invalid secret name {name:?}: use letters, digits and _"));
        }
        for key in secret.values.keys() {
            if !is_identifier(key) {
                return Err(format!("invalid key {key:?} in secret {name}: use letters, digits and _"));
            }
        }
    }
    Ok(())
}

fn named_collections(out: &mut String, secrets: &std::collections::BTreeMap<String, Secret>) {
    if secrets.is_empty() {
        return;
    }
    out.push_str("  <named_collections>\n");
    for (name, secret) in secrets {
        let _ = writeln!(out, "    <{name}>");
        for (k, v) in &secret.values {
            let fixed = if FIXED_KEYS.contains(&k.as_str()) { " overridable=\"false\"" } else { "" };
            let _ = writeln!(out, "      <{k}{fixed}>{}</{k}>", xml_escape(v));
        }
        let _ = writeln!(out, "    </{name}>");
    }
    out.push_str("  </named_collections>\n");
}

/// The server configuration (`config.xml`). `engine_dir` is the engine's
/// directory, relative to the execution directory the engine runs in: every
/// path the engine may write (files, temporary data, scripts) lies inside it,
/// where the kernel sandbox lets it write.
pub fn server_config(job: &Job, engine_dir: &Path, users_file: &Path) -> String {
    let mut out = String::from("<clickhouse>\n");
    let _ = writeln!(out, "  <users_config>{}</users_config>", xml_escape(&users_file.to_string_lossy()));
    let dir = xml_escape(&engine_dir.to_string_lossy());
    for (key, sub) in [("user_files_path", "user_files"), ("tmp_path", "tmp"), ("user_scripts_path", "user_scripts")] {
        let _ = writeln!(out, "  <{key}>{dir}/{sub}/</{key}>");
    }
    out.push_str("  <display_secrets_in_show_and_select>0</display_secrets_in_show_and_select>\n");
    out.push_str("  <timezone>UTC</timezone>\n");
    if let Some(m) = job.limits.memory_bytes {
        let _ = writeln!(out, "  <max_server_memory_usage>{m}</max_server_memory_usage>");
    }
    // Not enforced by chDB's in-process mode (the grants are); kept for clarity.
    out.push_str("  <remote_url_allow_hosts>\n");
    for h in job.allowed_hosts.iter().filter(|h| *h != ANY_HOST) {
        let _ = writeln!(out, "    <host_regexp>{}</host_regexp>", xml_escape(&host_regex(h)));
    }
    out.push_str("  </remote_url_allow_hosts>\n");
    named_collections(&mut out, &job.secrets);
    out.push_str("</clickhouse>\n");
    out
}

/// The users configuration (`users.xml`): one user, `default`, with the limits and grants.
pub fn users_config(job: &Job) -> String {
    let l = &job.limits;
    let mut settings = vec![
        ("max_execution_time".to_string(), l.time_s.to_string()),
        ("timeout_overflow_mode".to_string(), "throw".to_string()),
    ];
    if let Some(m) = l.memory_bytes {
        settings.push(("max_memory_usage".to_string(), m.to_string()));
    }
    if let Some(t) = l.threads {
        settings.push(("max_threads".to_string(), t.to_string()));
    }
    let mut out = String::from("<clickhouse>\n  <profiles>\n    <default>\n");
    for (k, v) in &settings {
        let _ = writeln!(out, "      <{k}>{v}</{k}>");
    }
    out.push_str("      <constraints>\n");
    for (k, _) in &settings {
        let _ = writeln!(out, "        <{k}><readonly/></{k}>");
    }
    out.push_str("      </constraints>\n    </default>\n  </profiles>\n");
    out.push_str("  <users>\n    <default>\n      <password></password>\n");
    out.push_str("      <networks><ip>::/0</ip></networks>\n");
    out.push_str("      <profile>default</profile>\n      <quota>default</quota>\n");
    out.push_str("      <access_management>0</access_management>\n");
    out.push_str("      <named_collection_control>0</named_collection_control>\n");
    out.push_str("      <grants>\n");
    for g in grants(job) {
        let _ = writeln!(out, "        <query>{}</query>", xml_escape(&g));
    }
    out.push_str("      </grants>\n    </default>\n  </users>\n  <quotas><default/></quotas>\n</clickhouse>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        assert_eq!(host_regex("api.example.com"), "api\\.example\\.com(:[0-9]+)?");
        assert_eq!(host_regex("db.local:5432"), "db\\.local:5432");
        assert_eq!(host_regex("*.example.com"), "([A-Za-z0-9-]+\\.)+example\\.com(:[0-9]+)?");
        assert!(check_host("a.b").is_ok());
        assert!(check_host("a.b/x").is_err() && check_host("'").is_err() && check_host("").is_err());
    }

    #[test]
    fn secrets_and_grants() {
        let mut job = Job::default();
        job.secrets.insert(
            "pg1".into(),
            Secret { kind: "postgresql".into(), values: [("password".to_string(), "a<b".to_string())].into() },
        );
        assert!(validate(&job).is_ok());
        let cfg = server_config(&job, Path::new("engine"), Path::new("engine/users.xml"));
        assert!(cfg.contains("<password overridable=\"false\">a&lt;b</password>"));
        assert!(users_config(&job).contains("GRANT NAMED COLLECTION ON pg1"));
        assert!(cfg.contains("<password overridable=\"false\">"));
        assert!(!users_config(&job).contains("POSTGRES"));
        job.allowed_hosts = vec!["*".into()];
        assert!(users_config(&job).contains("READ ON POSTGRES"));
        assert!(!users_config(&job).contains("FILE"));
        job.secrets.insert("bad name".into(), Secret::default());
        assert!(validate(&job).is_err());
    }
}
