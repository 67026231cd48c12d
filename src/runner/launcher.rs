//! The launcher: recovers executions a crash left behind, runs once what a
//! schedule missed while the server was down, then starts one
//! dynamic worker per queued execution within the concurrency limits, and
//! applies retention (`retention`).
use super::{database, WORKER_TYPE};
use crate::catalog::executions;
use crate::exec::workdir;
use crate::postgres::{pin_search_path, transaction};
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BackgroundWorkerStatus, DynamicBackgroundWorker, SignalWakeFlags,
};
use pgrx::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Backstop poll, in case a wake-up signal was lost.
const BACKSTOP: Duration = Duration::from_secs(5);

/// Reason given to executions the server lost.
pub const RESTARTED: &str =
    "the server restarted while this execution was running (crash, SIGKILL of a worker, or restart); it did not finish";
/// Reason given to executions whose worker vanished without recording an end.
pub const WORKER_GONE: &str = "the execution's worker process ended unexpectedly";

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn sc_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(Some(&database()), None);
    if let Err(e) = pin_search_path() {
        warning!("smartconnector launcher: cannot set its search_path: {e}");
    }
    let mut recovered = false;
    let mut workers: HashMap<i64, DynamicBackgroundWorker> = HashMap::new();
    let mut retention = super::retention::Retention::default();
    loop {
        if BackgroundWorker::sighup_received() {
            // SAFETY: re-reads postgresql.conf, as every process does on SIGHUP.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        // Until CREATE EXTENSION runs in this database there is nothing to do.
        if matches!(transaction(|| super::installed("sc.executions")), Ok(true)) {
            if !recovered {
                recover();
                recovered = true;
            }
            if let Err(e) = schedule(&mut workers) {
                warning!("smartconnector launcher: {e}");
            }
            retention.tick();
        }
        if !BackgroundWorker::wait_latch(Some(BACKSTOP)) {
            break;
        }
    }
    // Exit code 1, not 0: a launcher stopped by pg_terminate_backend is
    // restarted by the postmaster (exit 0 would unregister it for good).
    // SAFETY: the normal way for a background worker to end.
    unsafe { pg_sys::proc_exit(1) };
}

/// Start-up: executions a crash or restart left `running` end `failed`, and
/// their leftover directories go.
fn recover() {
    match transaction(|| executions::fail_orphans(RESTARTED, WORKER_TYPE)) {
        Ok(Ok(n)) if n > 0 => log!("smartconnector: marked {n} interrupted execution(s) failed"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => warning!("smartconnector launcher: recovery failed: {e}"),
        Err(e) => warning!("smartconnector launcher: recovery failed: {e}"),
    }
    match transaction(executions::running_ids) {
        Ok(Ok(keep)) => workdir::sweep(&keep),
        _ => warning!("smartconnector launcher: cannot list running executions; leaving work directories"),
    }
    match transaction(crate::schedules::catch_up) {
        Ok(Ok(n)) if n > 0 => log!("smartconnector: queued {n} scheduled run(s) missed while the server was down"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => warning!("smartconnector launcher: catching up missed schedules failed: {e}"),
        Err(e) => warning!("smartconnector launcher: catching up missed schedules failed: {e}"),
    }
}

/// One scheduling round: fail executions whose worker died, then start
/// workers for queued executions while there is room.
fn schedule(workers: &mut HashMap<i64, DynamicBackgroundWorker>) -> Result<(), String> {
    reap(workers)?;
    // Webhook connectors whose cadence has come get a batch (queued below like any run).
    transaction(crate::webhooks::cut_due_batches)?.map_err(|e| e.to_string())?;
    let (mut running, waiting) = transaction(executions::queue)?.map_err(|e| e.to_string())?;
    let max_workers = i64::from(crate::gucs::MAX_WORKERS.get());
    let mut total: i64 = running.values().sum();
    let mut blocked: HashSet<String> = HashSet::new();
    for w in waiting {
        if total >= max_workers {
            break;
        }
        let now = running.get(&w.api_name).copied().unwrap_or(0);
        if now >= w.max_concurrency.max(1) || blocked.contains(&w.api_name) {
            // Later executions of this connector must not overtake this one.
            blocked.insert(w.api_name.clone());
            continue;
        }
        let id = w.id;
        if !transaction(move || executions::claim(id))?.map_err(|e| e.to_string())? {
            continue;
        }
        match start_worker(id) {
            Ok((worker, pid)) => {
                workers.insert(id, worker);
                transaction(move || executions::set_worker_pid(id, pid))?.map_err(|e| e.to_string())?;
                *running.entry(w.api_name).or_insert(0) += 1;
                total += 1;
            }
            Err(e) => {
                transaction(move || executions::unclaim(id))?.map_err(|e| e.to_string())?;
                return Err(format!("cannot start a worker for execution {id} (it stays queued): {e}"));
            }
        }
    }
    Ok(())
}

/// Forgets workers that stopped; an execution a stopped worker left
/// `running` is failed (the worker died without recording its end).
fn reap(workers: &mut HashMap<i64, DynamicBackgroundWorker>) -> Result<(), String> {
    let stopped: Vec<i64> = workers
        .iter()
        .filter(|(_, w)| {
            matches!(w.pid(), Err(BackgroundWorkerStatus::Stopped | BackgroundWorkerStatus::PostmasterDied))
        })
        .map(|(id, _)| *id)
        .collect();
    for id in stopped {
        workers.remove(&id);
        transaction(move || executions::fail_if_running(id, WORKER_GONE))?.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Starts the worker of execution `id` and waits until it runs.
fn start_worker(id: i64) -> Result<(DynamicBackgroundWorker, i32), String> {
    let worker = BackgroundWorkerBuilder::new(&format!("smartconnector execution {id}"))
        .set_type(WORKER_TYPE)
        .set_library("smartconnector")
        .set_function("sc_worker_main")
        .set_argument(id.into_datum())
        .enable_spi_access()
        // SAFETY: MyProcPid is this process's pid.
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic()
        .map_err(|_| "no background worker slot is free (raise max_worker_processes)".to_string())?;
    let pid = worker.wait_for_startup().map_err(|s| format!("the worker did not start ({s:?})"))?;
    Ok((worker, pid as i32))
}
