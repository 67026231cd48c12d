//! The engine's sandbox: no file access, network only to allowed hosts, secrets as masked named collections.

mod common;

use std::collections::BTreeMap;

use common::*;
use sc_engine::job::Secret;

fn denied(sql: &str, hosts: &[&str]) -> String {
    let dir = exec_dir();
    std::fs::create_dir_all(dir.path().join("other")).unwrap();
    std::fs::write(dir.path().join("other/x"), "secret\n").unwrap();
    std::fs::write(dir.path().join("mine.txt"), "mine\n").unwrap();
    let mut j = job(Some(sql), vec![]);
    j.allowed_hosts = hosts.iter().map(|h| h.to_string()).collect();
    user_error(run(dir.path(), &j))
}

#[test]
fn file_functions_are_denied() {
    for sql in [
        "CREATE TABLE output.x ENGINE = Memory AS SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "CREATE TABLE output.x ENGINE = Memory AS SELECT * FROM file('../other/x', 'LineAsString')",
        "CREATE TABLE output.x ENGINE = Memory AS SELECT * FROM file('mine.txt', 'LineAsString')",
        "INSERT INTO FUNCTION file('out.txt', 'LineAsString') SELECT 'x'",
        "CREATE TABLE output.x (l String) ENGINE = File(LineAsString, '/etc/passwd')",
    ] {
        let msg = denied(sql, &[]);
        assert!(msg.starts_with("SQL error: ") && msg.contains("ACCESS_DENIED"), "{sql}: {msg}");
    }
}

#[test]
fn client_side_file_clauses_are_refused() {
    let msg = denied("SELECT 1 INTO OUTFILE '/tmp/sc-engine-escape.txt'", &[]);
    assert!(msg.contains("INTO OUTFILE is not allowed"), "{msg}");
    assert!(!std::path::Path::new("/tmp/sc-engine-escape.txt").exists());
    let msg = denied("CREATE TABLE output.x (l String) ENGINE = Memory; INSERT INTO output.x FROM INFILE '/etc/passwd' FORMAT LineAsString", &[]);
    assert!(msg.contains("FROM INFILE is not allowed"), "{msg}");
}

#[test]
fn network_only_to_allowed_hosts() {
    // Refused by the grants before any connection is attempted.
    for hosts in [&[][..], &["allowed.example"][..]] {
        for sql in [
            "SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')",
            "SELECT * FROM s3('http://127.0.0.1:9/bucket/x.csv', 'CSV', 'a String')",
            "SELECT * FROM remote('127.0.0.1:9', system.one)",
            "SELECT * FROM postgresql('127.0.0.1:9', 'db', 't', 'u', 'p')",
            "SELECT * FROM mysql('127.0.0.1:9', 'db', 't', 'u', 'p')",
        ] {
            let msg = denied(sql, hosts);
            assert!(msg.contains("ACCESS_DENIED"), "{hosts:?} {sql}: {msg}");
        }
    }
}

const FAST: &str = "SETTINGS http_max_tries = 1, http_retry_initial_backoff_ms = 1, http_retry_max_backoff_ms = 2";

#[test]
fn an_allowed_host_passes_the_grant() {
    // A closed loopback port fails with a connection error, not ACCESS_DENIED.
    let msg = denied(&format!("SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString') {FAST}"), &["127.0.0.1"]);
    assert!(msg.contains("Connection refused"), "{msg}");
    let msg = denied(&format!("SELECT * FROM url('http://127.0.0.2:9/x', 'LineAsString') {FAST}"), &["127.0.0.1"]);
    assert!(msg.contains("ACCESS_DENIED"), "{msg}");
    // Database sources cannot be filtered by host: only `*` opens them.
    let msg = denied("SELECT * FROM remote('127.0.0.1:9', system.one)", &["127.0.0.1"]);
    assert!(msg.contains("ACCESS_DENIED"), "{msg}");
    let msg = denied(
        "SELECT * FROM remote('127.0.0.1:9', system.one) SETTINGS connect_timeout_with_failover_ms = 100",
        &["*"],
    );
    assert!(!msg.contains("ACCESS_DENIED"), "{msg}");
}

#[test]
fn named_collection_connection_keys_cannot_be_overridden() {
    let dir = exec_dir();
    let values: BTreeMap<String, String> = [
        ("url".to_string(), "http://127.0.0.1:9/fixed".to_string()),
        ("format".to_string(), "LineAsString".to_string()),
    ]
    .into();
    let mut j = job(Some(&format!("SELECT * FROM url(my_api, url = 'http://127.0.0.1:9/other') {FAST}")), vec![]);
    j.allowed_hosts = vec!["127.0.0.1".into()];
    j.secrets.insert("my_api".into(), Secret { kind: "url".into(), values: values.clone() });
    let msg = user_error(run(dir.path(), &j));
    assert!(msg.to_lowercase().contains("overrid"), "{msg}");
    j.sql = Some(format!("SELECT * FROM url(my_api, format = 'TSV') {FAST}"));
    let msg = user_error(run(dir.path(), &j));
    assert!(msg.contains("Connection refused"), "{msg}");
}

#[test]
fn secrets_become_named_collections_and_are_masked() {
    let dir = exec_dir();
    let mut values = BTreeMap::new();
    values.insert("url".to_string(), "http://127.0.0.1:9/hunter2-path".to_string());
    values.insert("format".to_string(), "LineAsString".to_string());
    let mut j = job(Some("SELECT * FROM url(my_api)"), vec![]);
    j.secrets.insert("my_api".into(), Secret { kind: "url".into(), values: values.clone() });
    let mut running = sc_engine::Supervisor::start(&engine_bin(), dir.path(), &j).unwrap();
    // The collection resolves (the URL grant is what stops it) ...
    let msg = user_error(running.wait_with_deadline(std::time::Duration::from_secs(60)));
    assert!(msg.contains("READ ON URL"), "{msg}");
    // ... and the secret is nowhere on disk.
    for entry in walk(dir.path()) {
        let text = std::fs::read(&entry).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&text).contains("hunter2"), "{} holds the secret", entry.display());
    }
    // A message that would show a secret value has it masked.
    let mut j = job(Some("SELECT throwIf(1, 'leak http://127.0.0.1:9/hunter2-path')"), vec![]);
    j.secrets.insert("my_api".into(), Secret { kind: "url".into(), values });
    let msg = user_error(run(dir.path(), &j));
    assert!(msg.contains("leak ***") && !msg.contains("hunter2"), "{msg}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
