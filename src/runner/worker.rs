//! The per-execution worker: connects, runs the execution's pipeline and
//! exits. It never raises out of its main function: every failure ends up
//! on the execution record.
use super::database;
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn sc_worker_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(Some(&database()), None);
    let id = arg.value() as i64;
    if let Err(e) = crate::postgres::pin_search_path() {
        warning!("smartconnector: execution {id}: cannot set the worker's search_path: {e}");
    }
    crate::exec::run(id);
}
