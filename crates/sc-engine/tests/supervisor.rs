//! The supervisor's side: crashes, kills, deadlines and progress.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sc_engine::run::TEST_ABORT_ENV;
use sc_engine::supervisor::{Outcome, StartOptions, Supervisor};

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

#[test]
fn abort_is_reported_as_a_crash() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let opts = StartOptions { env: vec![(TEST_ABORT_ENV.into(), "1".into())], ..StartOptions::default() };
    assert_eq!(
        run_with(dir.path(), &job(None, vec![t]), &opts),
        Outcome::Crashed("SQL engine crashed (signal 6)".into())
    );
}

#[test]
fn kill_stops_the_engine_within_a_second() {
    let dir = exec_dir();
    let j = job(Some("SELECT sleep(3); SELECT sleep(3); SELECT sleep(3); SELECT sleep(3)"), vec![]);
    let mut running = Supervisor::start(&engine_bin(), dir.path(), &j).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < until, "never reached the SQL stage");
        if running.progress().is_some_and(|p| p.stage == "sql") {
            break;
        }
        assert!(running.wait_for(Duration::from_millis(20)).is_none(), "ended early");
    }
    let p = running.progress().unwrap();
    assert_eq!((p.statement, p.statements), (Some(1), Some(4)));
    let pid = running.pid();
    let t = Instant::now();
    assert_eq!(running.kill(), Outcome::Killed);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(!alive(pid), "engine still running");
    assert_eq!(running.try_wait(), Some(Outcome::Killed));
}

#[test]
fn the_callers_deadline_kills_a_running_engine() {
    let dir = exec_dir();
    let mut j = job(Some("SELECT sleep(3); SELECT sleep(3); SELECT sleep(3)"), vec![]);
    j.limits.time_s = 300;
    let mut running = Supervisor::start(&engine_bin(), dir.path(), &j).unwrap();
    let pid = running.pid();
    let t = Instant::now();
    let o = running.wait_with_deadline(Duration::from_millis(1500));
    assert_eq!(o, Outcome::TimedOut("SQL time limit of 300 s exceeded".into()));
    assert!(t.elapsed() < Duration::from_millis(2500), "{:?}", t.elapsed());
    assert!(!alive(pid));
}

#[test]
fn bad_job_files_are_internal_errors() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let mut j = job(None, vec![t]);
    if let sc_engine::job::Input::Prepared { tables } = &mut j.input {
        tables[0].file = "missing.rowbinary".into();
    }
    match run(dir.path(), &j) {
        Outcome::Internal(m) => assert!(m.contains("missing.rowbinary"), "{m}"),
        other => panic!("{other:?}"),
    }
}
