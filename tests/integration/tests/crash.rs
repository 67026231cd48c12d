//! Crash recovery: a worker killed with SIGKILL and a server restart, each
//! in the middle of a run, leave the execution `failed` with a reason, the
//! engine process gone, and the server serving.
use sc_integration::*;
use std::time::Duration;

const SLOW: &str =
    "CREATE TABLE output.t ENGINE = Memory AS SELECT toString(sum(number)) AS x FROM numbers(100000000000)";

/// Starts a slow run and returns (id, worker pid) once its engine is working.
fn start_slow(c: &mut postgres::Client, api_name: &str) -> (i64, i32) {
    save(c, &scheduler_doc(api_name, SLOW, 1));
    let id = run(c, api_name);
    poll(Duration::from_secs(30), || (field(c, id, "stage").as_deref() == Some("sql")).then_some(()))
        .expect("the run reaches the SQL stage");
    let pid: i32 = field(c, id, "worker_pid").expect("worker pid").parse().unwrap();
    (id, pid)
}

/// Processes running the installed engine binary (read from /proc, no tools needed).
fn engine_processes() -> usize {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("smartconnector/sc-engine"))
                .unwrap_or(false)
        })
        .count()
}

fn final_error(id: i64) -> String {
    let mut c = reconnect(Duration::from_secs(60));
    let status = poll(Duration::from_secs(60), || {
        let s = field(&mut c, id, "status")?;
        (s != "running").then_some(s)
    })
    .expect("the execution leaves running");
    assert_eq!(status, "failed");
    field(&mut c, id, "error").expect("a reason")
}

#[test]
fn sigkill_of_a_worker_fails_its_execution_and_the_server_recovers() {
    let mut c = connect_ready();
    let (id, pid) = start_slow(&mut c, "itest_sigkill");
    assert!(engine_processes() >= 1, "the engine runs");
    // SAFETY: sending a signal to a process of the test cluster.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    await_crash_restart(c);
    let error = final_error(id);
    assert!(error.contains("restarted"), "{error}");
    let mut c = reconnect(Duration::from_secs(30));
    let one: i32 = c.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1, "the database serves new sessions");
    assert!(
        poll(Duration::from_secs(10), || (engine_processes() == 0).then_some(())).is_some(),
        "the engine died with its worker"
    );
    // And the next run works.
    save(&mut c, &scheduler_doc("itest_after_crash", "CREATE TABLE output.t ENGINE = Memory AS SELECT '1' AS x", 1));
    let next = run(&mut c, "itest_after_crash");
    assert_eq!(wait(&mut c, next), "succeeded", "{:?}", field(&mut c, next, "error"));
}

#[test]
fn a_server_restart_mid_run_fails_the_execution_with_a_reason() {
    let data = std::env::var("SC_TEST_PGDATA").expect("SC_TEST_PGDATA: run through scripts/test.sh");
    let mut c = connect_ready();
    let (id, _) = start_slow(&mut c, "itest_restart");
    drop(c);
    restart_server(&data);
    let error = final_error(id);
    assert!(error.contains("shutting down") || error.contains("restarted"), "{error}");
    assert!(
        poll(Duration::from_secs(10), || (engine_processes() == 0).then_some(())).is_some(),
        "no engine left behind"
    );
}
