//! The kernel sandbox of the engine process: whatever SQL feature is used,
//! the engine cannot touch files outside its execution directory, start a
//! program, reach a host it was not allowed, or fill the disk.
//!
//! Every "victim" here is a directory made for the purpose beside the
//! execution directory, never a real cluster's.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sc_engine::job::Secret;
use sc_engine::supervisor::Outcome;

/// A directory with one file, outside the execution directory.
fn victim(root: &Path, name: &str) -> std::path::PathBuf {
    let v = root.join(name);
    std::fs::create_dir_all(v.join("all_1_1_0")).unwrap();
    std::fs::write(v.join("all_1_1_0/checksums.txt"), "precious").unwrap();
    std::fs::write(v.join("keep.txt"), "precious").unwrap();
    v
}

fn intact(v: &Path) -> bool {
    std::fs::read_to_string(v.join("keep.txt")).is_ok_and(|t| t == "precious")
}

fn run_sql(exec: &Path, sql: &str, hosts: &[&str]) -> Outcome {
    run_sql_for(exec, sql, hosts, 30)
}

fn run_sql_for(exec: &Path, sql: &str, hosts: &[&str], time_s: u64) -> Outcome {
    let mut j = job(Some(sql), vec![]);
    j.allowed_hosts = hosts.iter().map(|h| h.to_string()).collect();
    j.limits.time_s = time_s;
    run(exec, &j)
}

#[test]
fn attach_from_a_directory_outside_cannot_move_or_delete_it() {
    let root = tempfile::tempdir().unwrap();
    let exec = root.path().join("exec");
    std::fs::create_dir_all(&exec).unwrap();
    let abs = victim(root.path(), "victim_abs");
    let rel = victim(root.path(), "victim_rel");
    for from in [abs.display().to_string(), "../../../victim_rel".to_string()] {
        let sql = format!(
            "ATTACH TABLE connector.stolen FROM '{from}' (x String) ENGINE = MergeTree ORDER BY x;
             CREATE TABLE output.o ENGINE = Memory AS SELECT 1 AS x"
        );
        let outcome = run_sql(&exec, &sql, &[]);
        // Whatever the engine answered, the directories are where they were,
        // also after the engine's own directory was removed.
        assert!(intact(&abs) && intact(&rel), "{from}: {outcome:?}");
    }
}

#[test]
fn a_local_disk_outside_creates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let exec = root.path().join("exec");
    std::fs::create_dir_all(&exec).unwrap();
    let outside = root.path().join("made_by_engine");
    let sql = format!(
        "CREATE TABLE connector.t (x String) ENGINE = MergeTree ORDER BY x
           SETTINGS disk = disk(type = 'local', path = '{}/');
         INSERT INTO connector.t VALUES ('x')",
        outside.display()
    );
    let outcome = run_sql(&exec, &sql, &[]);
    assert!(!matches!(outcome, Outcome::Ok(_)), "{outcome:?}");
    assert!(!outside.exists(), "{outcome:?}");
}

#[test]
fn no_program_can_be_started() {
    let root = tempfile::tempdir().unwrap();
    let exec = root.path().join("exec");
    let scripts = exec.join(sc_engine::job::ENGINE_DIR).join("user_scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let marker = root.path().join("ran");
    let script = scripts.join("hello.sh");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\necho hi\n", marker.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sql = "CREATE TABLE output.o ENGINE = Memory AS SELECT * FROM executable('hello.sh', TabSeparated, 'x String')";
    // Without the sandbox the script runs: the test can see it happen.
    let mut j = job(Some(sql), vec![]);
    j.sandbox_off = true;
    let unconfined = run(&exec, &j);
    assert!(marker.exists(), "control run without the sandbox: {unconfined:?}");
    std::fs::remove_file(&marker).unwrap();
    // With it, execve fails: no row, no marker.
    let outcome = run_sql(&exec, sql, &[]);
    if let Outcome::Ok(m) = &outcome {
        assert_eq!(rows(&exec, m, "o"), Vec::<Vec<Option<String>>>::new());
    }
    assert!(!marker.exists(), "the script ran: {outcome:?}");
}

/// A loopback listener counting the connections it accepts; it answers
/// HTTP 500 to each, so a client gets an error at once.
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listener {
    fn start() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s
                    .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        Listener { port, accepted }
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

const FAST: &str = "http_max_tries = 1, http_retry_initial_backoff_ms = 1, http_retry_max_backoff_ms = 2";

#[test]
fn a_disk_cannot_reach_a_host_that_is_not_allowed() {
    let l = Listener::start();
    for (kind, extra) in [("s3", ", access_key_id = 'a', secret_access_key = 'b'"), ("web", "")] {
        for hosts in [&[][..], &["127.0.0.1:1"][..]] {
            let dir = exec_dir();
            let sql = format!(
                "CREATE TABLE connector.t (x String) ENGINE = MergeTree ORDER BY x
                   SETTINGS disk = disk(type = '{kind}', endpoint = 'http://127.0.0.1:{port}/bucket/'{extra});
                 INSERT INTO connector.t VALUES ('leaked');
                 CREATE TABLE output.o ENGINE = Memory AS SELECT * FROM connector.t",
                port = l.port
            );
            // The object-storage client retries for long: a short time limit.
            let outcome = run_sql_for(dir.path(), &sql, hosts, 5);
            assert_eq!(l.connections(), 0, "{kind} disk with hosts {hosts:?} reached the listener: {outcome:?}");
        }
    }
}

#[test]
fn an_allowed_host_is_reached_and_a_near_miss_is_not() {
    let l = Listener::start();
    let dir = exec_dir();
    let sql = format!(
        "CREATE TABLE output.o ENGINE = Memory AS SELECT * FROM url('http://127.0.0.1:{}/x', 'LineAsString') SETTINGS {FAST}",
        l.port
    );
    // Another port of the same address: refused by the kernel check,
    // although the ClickHouse grant (host without port) lets it through.
    let refused = user_error(run_sql(dir.path(), &sql, &["127.0.0.1:1", "localhost:1"]));
    assert_eq!(l.connections(), 0, "{refused}");
    assert!(refused.contains("Permission denied") || refused.contains("ACCESS_DENIED"), "{refused}");
    // The allowed host and port: the listener is reached (it answers 500).
    let dir = exec_dir();
    let answered = user_error(run_sql(dir.path(), &sql, &[&format!("127.0.0.1:{}", l.port)]));
    assert!(l.connections() >= 1, "{answered}");
}

#[test]
fn secrets_rewritten_by_the_engine_are_masked() {
    let l = Listener::start();
    let dir = exec_dir();
    let token = "Zq8sEcReTtOkEn";
    let values: BTreeMap<String, String> = [
        ("url".to_string(), format!("http://127.0.0.1:{}/{{a,b}}/data?token={token}", l.port)),
        ("format".to_string(), "LineAsString".to_string()),
    ]
    .into();
    let mut j =
        job(Some(&format!("CREATE TABLE output.o ENGINE = Memory AS SELECT * FROM url(api) SETTINGS {FAST}")), vec![]);
    j.allowed_hosts = vec![format!("127.0.0.1:{}", l.port)];
    j.secrets.insert("api".into(), Secret { kind: "url".into(), values });
    let msg = user_error(run(dir.path(), &j));
    assert!(l.connections() >= 1, "the engine should have reached the listener: {msg}");
    assert!(!msg.contains(token), "{msg}");
    let log = std::fs::read_to_string(dir.path().join(sc_engine::job::STDERR_FILE)).unwrap_or_default();
    assert!(!log.contains(token), "{log}");
}

#[test]
fn the_disk_limit_stops_the_engine() {
    let dir = exec_dir();
    let mut j = job(
        Some(
            "CREATE TABLE connector.big (s String) ENGINE = MergeTree ORDER BY tuple();
             INSERT INTO connector.big SELECT randomString(1000) FROM numbers(100000000);
             CREATE TABLE output.o ENGINE = Memory AS SELECT count() AS n FROM connector.big",
        ),
        vec![],
    );
    j.limits.disk_bytes = Some(64 << 20);
    j.limits.time_s = 120;
    let started = Instant::now();
    let msg = user_error(run(dir.path(), &j));
    assert!(msg.starts_with("SQL disk limit of 64 MB exceeded"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(60), "stopped after {:?}", started.elapsed());
    // The engine's files are gone with it.
    assert!(!dir.path().join(sc_engine::job::ENGINE_DIR).exists());
}

#[test]
fn a_compressed_input_may_not_inflate_past_the_disk_limit() {
    let dir = exec_dir();
    // 40 MB of one character compress to a few kilobytes.
    let path = dir.path().join("upload.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("rows.csv", options).unwrap();
    zip.write_all(b"x\n").unwrap();
    for _ in 0..40 {
        zip.write_all(&vec![b'7'; 1 << 20]).unwrap();
    }
    zip.finish().unwrap();
    let mut j = job(None, vec![]);
    j.input = sc_engine::job::Input::File { path: "upload.zip".into(), file_name: "upload.zip".into() };
    j.limits.disk_bytes = Some(16 << 20);
    let msg = user_error(run(dir.path(), &j));
    assert_eq!(msg, format!("file \"upload.zip\": uncompressed content exceeds the limit of {} bytes", 16 << 20));
}

#[test]
fn without_the_sandbox_the_engine_refuses_unless_an_administrator_opted_out() {
    let opts = sc_engine::supervisor::StartOptions {
        env: vec![(sc_engine::sandbox::TEST_UNAVAILABLE_ENV.into(), "1".into())],
        ..Default::default()
    };
    let sql = "CREATE TABLE output.o ENGINE = Memory AS SELECT 1 AS x";
    let dir = exec_dir();
    let msg = user_error(run_with(dir.path(), &job(Some(sql), vec![]), &opts));
    assert!(msg.starts_with("the SQL engine's sandbox cannot be set up on this server"), "{msg}");
    assert!(msg.contains("smartconnector.engine_sandbox = off"), "{msg}");
    let dir = exec_dir();
    let mut j = job(Some(sql), vec![]);
    j.sandbox_off = true;
    ok(run_with(dir.path(), &j, &opts));
}

#[test]
fn what_the_engine_shows_of_itself_names_no_server_path() {
    // chDB ignores `access_control_improvements` in its in-process mode, so
    // system tables are readable; they describe the engine's private instance
    // only, and every path in them is relative to the execution directory.
    let dir = exec_dir();
    let m = ok(run_sql(
        dir.path(),
        "CREATE TABLE output.settings ENGINE = Memory AS
           SELECT getServerSetting('path') AS p, getServerSetting('user_files_path') AS u,
                  getServerSetting('tmp_path') AS t, getServerSetting('user_scripts_path') AS s;
         CREATE TABLE output.disks ENGINE = Memory AS SELECT name, path FROM system.disks;
         CREATE TABLE output.server ENGINE = Memory AS SELECT name, value FROM system.server_settings",
        &[],
    ));
    let exec = dir.path().canonicalize().unwrap().display().to_string();
    for scope in ["settings", "disks", "server"] {
        let shown = format!("{:?}", rows(dir.path(), &m, scope));
        assert!(!shown.contains(&exec) && !shown.contains(&dir.path().display().to_string()), "{scope}: {shown}");
    }
    assert_eq!(
        rows(dir.path(), &m, "settings"),
        vec![vec![
            Some("engine/data".to_string()),
            Some("engine/user_files/".to_string()),
            Some("engine/tmp/".to_string()),
            Some("engine/user_scripts/".to_string())
        ]]
    );
}
