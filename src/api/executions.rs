//! SQL API for executions (SPEC §7): run, wait, cancel, report.
use crate::error::OrRaise;
use crate::rules::runs::{self, RunRequest};
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::JsonB;
use std::time::Duration;

/// Queues a run of a connector and returns its execution id at once; a
/// background worker starts it when the calling transaction commits.
#[pg_extern(volatile)]
fn sc_run(
    connector: &str,
    input: default!(Option<&[u8]>, "NULL"),
    filename: default!(Option<&str>, "NULL"),
    params: default!(Option<JsonB>, "NULL"),
    dry_run: default!(bool, false),
    diff_check: default!(Option<bool>, "NULL"),
) -> i64 {
    let params = params.map(|p| p.0);
    runs::start(&RunRequest { connector, input, filename, params: params.as_ref(), dry_run, diff_check }).or_raise()
}

/// Blocks until the execution ends and returns its final status; an error after `timeout`.
#[pg_extern(volatile)]
fn sc_wait(id: i64, timeout: default!(Interval, "'10 minutes'")) -> String {
    let secs = Spi::get_one_with_args::<f64>("SELECT extract(epoch FROM $1)::float8", &[timeout.into()])
        .ok()
        .flatten()
        .unwrap_or(600.0)
        .max(0.0);
    runs::wait(id, Duration::from_secs_f64(secs)).or_raise()
}

/// Runs the connector again on the stored input of an ended execution; returns the new id.
#[pg_extern(volatile)]
fn sc_rerun(execution_id: i64, only_failed: default!(bool, false), dry_run: default!(bool, false)) -> i64 {
    runs::rerun(execution_id, only_failed, dry_run).or_raise()
}

/// Stops a queued or running execution (within seconds); false if it had already ended.
#[pg_extern(volatile)]
fn sc_cancel(id: i64) -> bool {
    runs::cancel(id).or_raise()
}

/// The execution's XLSX report.
#[pg_extern(volatile)]
fn sc_report(id: i64) -> Vec<u8> {
    runs::report(id).or_raise()
}
