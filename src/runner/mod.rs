//! Background workers: the launcher (one per server), one worker per
//! execution, and the deliveries worker ("execution ended" webhooks), plus
//! what user backends need to reach them.
//!
//! `sc_run` inserts a queued execution and registers a commit callback that
//! sends SIGUSR1 to the launcher, whose default handler sets its latch. The
//! launcher claims queued executions within `smartconnector.max_workers` and
//! each connector's `max_concurrency` and starts a dynamic worker for each,
//! with itself as the notify process, so a worker's end wakes it as well.
//! A slow backstop poll covers lost signals.
mod deliverer;
pub mod launcher;
mod retention;
pub mod worker;

use pgrx::bgworkers::{BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::pg_sys;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `backend_type` of the launcher in `pg_stat_activity`.
pub const LAUNCHER_TYPE: &str = "smartconnector launcher";
/// `backend_type` of the worker that sends "execution ended" webhooks.
pub const DELIVERER_TYPE: &str = "smartconnector deliveries";
/// `backend_type` of execution workers in `pg_stat_activity`.
pub const WORKER_TYPE: &str = "smartconnector worker";

/// Set in the postmaster when the library is preloaded; inherited by every backend.
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Called from `_PG_init`: registers the launcher when preloading.
pub fn init() {
    // SAFETY: a plain global flag PostgreSQL sets while loading preload libraries.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    PRELOADED.store(true, Ordering::Relaxed);
    register_static(LAUNCHER_TYPE, "sc_launcher_main");
    register_static(DELIVERER_TYPE, "sc_deliverer_main");
}

/// Registers one of the server's static workers: started once recovery is
/// done, restarted 5 s after it ends.
fn register_static(backend_type: &str, function: &str) {
    BackgroundWorkerBuilder::new(backend_type)
        .set_type(backend_type)
        .set_library("smartconnector")
        .set_function(function)
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

/// Whether the extension is installed in the worker's database, at a
/// version that has `relation` (a static worker waits until it is).
fn installed(relation: &str) -> bool {
    pgrx::Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'smartconnector')
            AND pg_catalog.to_regclass($1) IS NOT NULL",
        &[relation.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}

/// Whether this server loaded the library through `shared_preload_libraries`.
pub fn preloaded() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

/// Arranges for the launcher (`launcher_pid`) to be woken when the current
/// transaction commits.
pub fn wake_launcher_on_commit(launcher_pid: i32) {
    if launcher_pid <= 0 {
        return; // not running (yet): its backstop poll finds the execution
    }
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, move || {
        // SAFETY: kill(2) on a pid of our own cluster; SIGUSR1 only sets its latch.
        unsafe {
            libc_kill(launcher_pid, pg_sys::SIGUSR1 as i32);
        }
    });
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

pub use crate::gucs::database;
