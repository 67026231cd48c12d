//! The stop flag of a background worker: latched once SIGTERM arrives
//! (server shutdown, `pg_terminate_backend`).
use pgrx::bgworkers::BackgroundWorker;
use std::sync::atomic::{AtomicBool, Ordering};

/// Latched once SIGTERM arrives (pgrx's own flag resets when read).
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether the server asked this worker to stop.
pub fn stopping() -> bool {
    if BackgroundWorker::sigterm_received() {
        STOPPING.store(true, Ordering::Relaxed);
    }
    STOPPING.load(Ordering::Relaxed)
}
