//! The engine process: runs one job in chDB and reports through files and its exit code.
//!
//! Usage: `sc-engine --exec-dir DIR [--libchdb PATH] [--secrets-stdin]`
//!
//! Reads `DIR/job.json` (and, with `--secrets-stdin`, the secrets as JSON on
//! stdin), writes `progress.json`, then `manifest.json` and exits 0, or
//! `error.json` and exits 2 (user, SQL, input or limit error) or 3 (internal
//! error). A crash is a signal. The process ends with `_exit` so chDB's
//! global destructors never run against its live threads.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sc_engine::error::{time_limit_message, Error, Masker};
use sc_engine::ffi::Engine;
use sc_engine::job::{self, ErrorReport, Job, Secret};
use sc_engine::run::Run;
use sc_engine::sandbox;

/// Set by whichever of the main thread and the watchdog reports first.
static REPORTED: AtomicBool = AtomicBool::new(false);

struct Args {
    exec_dir: PathBuf,
    libchdb: Option<PathBuf>,
    secrets_stdin: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut exec_dir = None;
    let mut libchdb = None;
    let mut secrets_stdin = false;
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--exec-dir") => exec_dir = it.next().map(PathBuf::from),
            Some("--libchdb") => libchdb = it.next().map(PathBuf::from),
            Some("--secrets-stdin") => secrets_stdin = true,
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    let exec_dir = exec_dir.ok_or("missing --exec-dir")?;
    Ok(Args { exec_dir, libchdb, secrets_stdin })
}

/// Write `error.json` and the message to stderr, then end the process.
fn report_error_and_exit(exec_dir: &Path, err: &Error) -> ! {
    let report = ErrorReport { kind: err.kind().to_string(), message: err.message().to_string() };
    let _ = job::write_json_atomic(exec_dir, job::ERROR_FILE, &report);
    let _ = writeln!(std::io::stderr(), "sc-engine: {}", err.message());
    exit_now(err.exit_code())
}

fn exit_now(code: i32) -> ! {
    let _ = std::io::stderr().flush();
    // SAFETY: ends the process without running C++ static destructors.
    unsafe { libc::_exit(code) }
}

fn claim_report() -> bool {
    REPORTED.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_ok()
}

/// Ends the run with the time-limit error if it is still going at the deadline.
///
/// ClickHouse's own `max_execution_time` bounds each statement; this bounds
/// the whole run, including calls that ignore it (DNS, connection set-up).
fn start_watchdog(exec_dir: PathBuf, time_s: u64, started: Instant) {
    let deadline = started + Duration::from_secs(time_s) + Duration::from_millis(500);
    std::thread::spawn(move || {
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        if claim_report() {
            report_error_and_exit(&exec_dir, &Error::TimeLimit(time_limit_message(time_s)));
        }
    });
}

/// Enter the kernel sandbox (still one thread here), or end the run when it
/// cannot be set up and no administrator turned it off.
fn confine(exec_dir: &Path, job: &Job, libchdb: &Path) {
    if job.sandbox_off {
        let _ = writeln!(std::io::stderr(), "sc-engine: sandbox off (smartconnector.engine_sandbox = off)");
        return;
    }
    let mut read_only: Vec<PathBuf> = libchdb.parent().map(Path::to_path_buf).into_iter().collect();
    if let Some(dir) = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)) {
        read_only.push(dir);
    }
    let policy =
        sandbox::Policy { exec_dir: exec_dir.to_path_buf(), read_only, allowed_hosts: job.allowed_hosts.clone() };
    // Debug builds can pretend the kernel lacks the sandbox (tests of the refusal).
    let unavailable = cfg!(debug_assertions) && std::env::var(sandbox::TEST_UNAVAILABLE_ENV).as_deref() == Ok("1");
    let confined =
        if unavailable { Err("simulated: this kernel has no Landlock".to_string()) } else { sandbox::confine(&policy) };
    match confined {
        Ok(c) => {
            let _ = writeln!(
                std::io::stderr(),
                "sc-engine: sandbox: Landlock ABI {}, programs refused, network: {}",
                c.landlock_abi, c.network
            );
        }
        Err(e) => report_error_and_exit(
            exec_dir,
            &Error::User(format!(
                "the SQL engine's sandbox cannot be set up on this server ({e}), so connector SQL is not run; \
                 an administrator can run without it by setting smartconnector.engine_sandbox = off (see docs/security.md)"
            )),
        ),
    }
}

fn main() {
    let started = Instant::now();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "sc-engine: {e}");
            exit_now(3);
        }
    };
    // Absolute, as the engine later works from inside it.
    let exec_dir = std::fs::canonicalize(&args.exec_dir).unwrap_or(args.exec_dir);
    let internal = |m: String| -> ! { report_error_and_exit(&exec_dir, &Error::Internal(m)) };
    let mut job: Job = match job::read_json(&exec_dir.join(job::JOB_FILE)) {
        Ok(j) => j,
        Err(e) => internal(e),
    };
    if args.secrets_stdin {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            internal(format!("cannot read secrets from stdin: {e}"));
        }
        if !text.trim().is_empty() {
            match serde_json::from_str::<BTreeMap<String, Secret>>(&text) {
                Ok(s) => job.secrets = s,
                Err(e) => internal(format!("cannot parse secrets: {e}")),
            }
        }
    }
    let masker = Masker::new(job.secrets.values().flat_map(|s| s.values.values().cloned()));
    let libchdb = Engine::resolve_path(args.libchdb.as_deref());
    confine(&exec_dir, &job, &libchdb);
    start_watchdog(exec_dir.clone(), job.limits.time_s, started);
    let run = Run::new(&exec_dir, &job, &libchdb, &masker, started);
    let result = run.execute();
    if !claim_report() {
        // The watchdog is reporting the time limit and ends the process.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(manifest) => {
            if let Err(e) = job::write_json_atomic(&exec_dir, job::MANIFEST_FILE, &manifest) {
                report_error_and_exit(&exec_dir, &Error::Internal(format!("cannot write the manifest: {e}")));
            }
            run.progress("done", manifest.scopes.iter().map(|s| s.rows).sum(), None, None);
            exit_now(0)
        }
        Err(e) => report_error_and_exit(&exec_dir, &masker.mask_error(e)),
    }
}
