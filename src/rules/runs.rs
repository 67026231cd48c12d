//! Starting, waiting for, cancelling and downloading executions (SPEC §7).
//!
//! The caller's role is checked first; the rows are then written as the
//! bootstrap superuser, so operators need no write privilege on `sc.*` and
//! cannot forge who started a run or as whom it runs.
use super::require_role;
use crate::catalog::connectors::{self, Lock};
use crate::catalog::executions::{self, NewExecution};
use crate::error::{ScError, ScResult};
use crate::postgres::{as_superuser, current_role, is_superuser};
use crate::runner::{self, LAUNCHER_TYPE};
use crate::schedules;
use pgrx::prelude::*;
use sc_core::document::{parse_document, ConnectorType};
use serde_json::Value;
use std::time::{Duration, Instant};

const OPERATOR: &str = "sc_operator";

/// The arguments of `sc_run`.
pub struct RunRequest<'a> {
    pub connector: &'a str,
    pub input: Option<&'a [u8]>,
    pub filename: Option<&'a str>,
    pub params: Option<&'a Value>,
    pub dry_run: bool,
    pub diff_check: Option<bool>,
}

/// `sc_run`: queues an execution; a worker starts it once the caller commits.
pub fn start(req: &RunRequest<'_>) -> ScResult<i64> {
    if !runner::preloaded() {
        return Err(ScError::NotReady {
            message: "smartconnector is not loaded at server start, so no worker can run connectors".into(),
            hint:
                "Add this line to postgresql.conf and restart the server: shared_preload_libraries = 'smartconnector'"
                    .into(),
        });
    }
    require_role(OPERATOR, "running a connector")?;
    let here = Spi::get_one::<String>("SELECT current_database()::text")?.unwrap_or_default();
    let home = runner::database();
    if here != home {
        return Err(ScError::NotReady {
            message: format!("connectors run in database \"{home}\", not in \"{here}\""),
            hint: format!(
                "Connect to \"{home}\", or set smartconnector.database = '{here}' in postgresql.conf and restart."
            ),
        });
    }
    let started_by = current_role()?;
    let trigger = trigger()?;
    let (id, launcher) = as_superuser(|| queue(req, &started_by, &trigger))?;
    runner::wake_launcher_on_commit(launcher.unwrap_or(0));
    Ok(id)
}

/// `sc.run_scheduled`: what a connector's pg_cron job calls on each tick
/// (as the connector's owner). Queues an execution with trigger `schedule`
/// whose `input.schedule` holds the time the schedule fired, unless the tick
/// is skipped (`schedules::tick`). Returns the execution id, or NULL.
pub fn scheduled(api_name: &str) -> ScResult<Option<i64>> {
    require_role(OPERATOR, "running a connector on its schedule")?;
    let caller = current_role()?;
    let queued = as_superuser(|| -> ScResult<Option<(i64, Option<i32>)>> {
        // Locked: two ticks of one connector (a slow commit, a manual call) decide one after the other.
        let stored = connectors::get(api_name, Lock::ForUpdate)?;
        if caller != stored.owner && !is_superuser(&caller)? {
            return Err(ScError::NotOwner {
                action: "running on its schedule",
                api_name: api_name.into(),
                owner: stored.owner,
            });
        }
        let doc = parse_document(&stored.document).map_err(ScError::InvalidDocument)?;
        let Some(fired_at) = schedules::fired_now(&doc)? else {
            pgrx::notice!("connector \"{api_name}\" has no schedule; this tick starts nothing");
            return Ok(None);
        };
        if !stored.is_live() {
            pgrx::notice!("connector \"{api_name}\" is {}; this tick starts nothing", stored.status);
            return Ok(None);
        }
        match schedules::tick(&stored, &doc, &caller, &fired_at)? {
            None => Ok(None),
            Some(id) => Ok(Some((id, launcher_pid()?))),
        }
    })?;
    Ok(queued.map(|(id, launcher)| {
        runner::wake_launcher_on_commit(launcher.unwrap_or(0));
        id
    }))
}

/// `sc_rerun`: a new execution of the same connector (its current
/// definition) on the stored input of an ended execution: its file, its
/// webhook batch or its schedule time. Started like `sc_run` (trigger
/// `manual`), with `rerun_of` naming the execution whose input it runs.
/// With `only_failed`, it takes only the SQL output rows that failed in
/// execution `id` itself (`rerun_of` = `id`), without the SQL stage.
pub fn rerun(id: i64, only_failed: bool, dry_run: bool) -> ScResult<i64> {
    require_role(OPERATOR, "re-running an execution")?;
    let started_by = current_role()?;
    let (new, launcher) = as_superuser(|| -> ScResult<(i64, Option<i32>)> {
        let old = executions::rerunnable(id)?.ok_or(ScError::ExecutionNotFound(id))?;
        if matches!(old.status.as_str(), "queued" | "running") {
            return Err(ScError::InUse {
                message: format!("execution {id} is still {}", old.status),
                hint: format!("Wait for it to end (SELECT sc_wait({id});) or cancel it, then re-run it."),
            });
        }
        // api_name never changes; a connector of the same name made after a drop is another one.
        let stored = match old.connector_id {
            Some(cid) => connectors::find(&old.api_name, Lock::None)?.filter(|s| s.id == cid),
            None => None,
        }
        .ok_or_else(|| ScError::NotReady {
            message: format!("execution {id} cannot be re-run: its connector \"{}\" was dropped", old.api_name),
            hint: "Import the connector again and run it on the file with sc_run.".into(),
        })?;
        let doc = parse_document(&stored.document).map_err(ScError::InvalidDocument)?;
        let name = &doc.api_name;
        if !dry_run && !stored.is_live() {
            return Err(ScError::NotReady {
                message: format!(
                    "connector \"{name}\" is in status \"{}\"; only live connectors run live",
                    stored.status
                ),
                hint: format!("Re-run it as a dry run (sc_rerun({id}, dry_run => true)), or make the connector live."),
            });
        }
        let purged = || ScError::NotReady {
            message: format!("execution {id} cannot be re-run: its stored input is gone (purged by retention)"),
            hint: "Run the connector again on the original input with sc_run.".into(),
        };
        // Only the failed rows: those execution `id` kept, whatever input it had.
        let source = if only_failed { id } else { old.input_of };
        if only_failed && !executions::has_file(id, crate::exec::FAILED_ROWS)? {
            if let Some(when) = executions::purged_at(id)? {
                return Err(ScError::NotReady {
                    message: format!("execution {id} cannot be re-run: retention removed its failed rows on {when}"),
                    hint: "Run the connector again on the original input with sc_run.".into(),
                });
            }
            return Err(ScError::NotReady {
                message: format!(
                    "execution {id} has no failed rows to re-run: no load step failed a row or skipped one for a missing related record (or it ended before its load steps did)"
                ),
                hint: format!("Re-run all of it with SELECT sc_rerun({id});"),
            });
        }
        if let Some(when) = executions::purged_at(source)? {
            return Err(ScError::NotReady {
                message: format!(
                    "execution {id} cannot be re-run: retention removed the stored input of execution {} on {when}",
                    old.input_of
                ),
                hint: "Run the connector again on the original input with sc_run; smartconnector.retention sets how long inputs are kept.".into(),
            });
        }
        // A schedule's time is part of its input; a webhook batch stays with the execution that took it.
        let fired_at = (doc.connector_type == ConnectorType::Scheduler).then_some(old.trigger_time.as_str());
        if !only_failed
            && doc.connector_type == ConnectorType::Webhook
            && !crate::catalog::webhook_calls::has_batch(old.input_of)?
        {
            return Err(purged());
        }
        let new = executions::insert(&NewExecution {
            connector_id: stored.id,
            api_name: name,
            definition: &stored.document,
            trigger: "manual",
            started_by: &started_by,
            run_as: &stored.owner,
            dry_run,
            diff_check: old.diff_check,
            params: old.params.as_ref(),
            file_name: old.file_name.as_deref(),
            file_size: old.file_size,
            fired_at,
            rerun_of: Some(source),
            only_failed,
        })?;
        if only_failed {
            return Ok((new, launcher_pid()?));
        }
        if doc.connector_type == ConnectorType::Spreadsheet && !executions::copy_input(old.input_of, new)? {
            return Err(purged());
        }
        Ok((new, launcher_pid()?))
    })?;
    runner::wake_launcher_on_commit(launcher.unwrap_or(0));
    Ok(new)
}

/// How `sc_run` was started: always `manual`. What a session says of itself
/// (`application_name`, PostgREST's `request.*` settings) can be set by any
/// caller, so it never decides the trigger; schedules and webhooks start
/// executions through their own paths, which record their own trigger.
fn trigger() -> ScResult<String> {
    Ok("manual".into())
}

fn queue(req: &RunRequest<'_>, started_by: &str, trigger: &str) -> ScResult<(i64, Option<i32>)> {
    let stored = connectors::get(req.connector, Lock::None)?;
    let doc = parse_document(&stored.document).map_err(ScError::InvalidDocument)?;
    if !req.dry_run && !stored.is_live() {
        return Err(ScError::NotReady {
            message: format!(
                "connector \"{}\" is in status \"{}\"; only operational and needs_attention connectors run live",
                req.connector, stored.status
            ),
            hint: format!(
                "Try it with sc_run('{0}', …, dry_run => true), or make it live with sc_set_status('{0}', 'operational').",
                req.connector
            ),
        });
    }
    match (doc.connector_type, req.input) {
        (ConnectorType::Spreadsheet, None) => return Err(ScError::invalid_argument(
            format!("connector \"{}\" reads a spreadsheet, but no input was given", req.connector),
            "Pass the file's bytes as input, e.g. sc_run('name', pg_read_binary_file('/path/file.xlsx'), 'file.xlsx').",
        )),
        (ConnectorType::Webhook | ConnectorType::Scheduler, Some(_)) => {
            return Err(ScError::invalid_argument(
                format!(
                    "connector \"{}\" is a {} connector and takes no input file",
                    req.connector, doc.connector_type
                ),
                "Call sc_run without input.",
            ))
        }
        _ => {}
    }
    check_params(req, &doc.parameters)?;
    check_file_name(req.filename)?;
    let file_name = req.input.map(|bytes| default_file_name(req.filename, req.connector, bytes));
    let new = NewExecution {
        connector_id: stored.id,
        api_name: req.connector,
        definition: &stored.document,
        trigger,
        started_by,
        run_as: &stored.owner,
        dry_run: req.dry_run,
        diff_check: req.diff_check,
        params: req.params,
        file_name: file_name.as_deref(),
        file_size: req.input.map(|b| b.len() as i64),
        fired_at: None,
        rerun_of: None,
        only_failed: false,
    };
    let id = executions::insert(&new)?;
    if let (Some(bytes), Some(name)) = (req.input, &file_name) {
        executions::store_file(id, "input", name, bytes)?;
    }
    Ok((id, launcher_pid()?))
}

/// The launcher's process id, to wake it when the caller commits.
fn launcher_pid() -> ScResult<Option<i32>> {
    Ok(Spi::get_one_with_args::<i32>(
        "SELECT (SELECT pid FROM pg_catalog.pg_stat_activity WHERE backend_type = $1 LIMIT 1)",
        &[LAUNCHER_TYPE.into()],
    )?)
}

/// Run parameters must be an object of declared names.
fn check_params(req: &RunRequest<'_>, declared: &std::collections::BTreeMap<String, Value>) -> ScResult<()> {
    let Some(params) = req.params else { return Ok(()) };
    let Some(map) = params.as_object() else {
        return Err(ScError::invalid_argument(
            "params must be a JSON object of parameter names and values",
            "e.g. '{\"region\": \"EU\"}'::jsonb",
        ));
    };
    let names = || declared.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
    for key in map.keys() {
        if !declared.contains_key(key) {
            return Err(ScError::invalid_argument(
                format!("params: connector \"{}\" has no parameter \"{key}\"", req.connector),
                format!("Its parameters are: {}", if declared.is_empty() { "(none)".into() } else { names() }),
            ));
        }
    }
    Ok(())
}

/// Longest file name accepted, in bytes (what file systems allow).
const MAX_FILE_NAME_BYTES: usize = 255;

/// A file name is a name, not a path or a document.
fn check_file_name(given: Option<&str>) -> ScResult<()> {
    let Some(name) = given else { return Ok(()) };
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(ScError::invalid_argument(
            format!("filename is {} bytes long; at most {MAX_FILE_NAME_BYTES} are allowed", name.len()),
            "Pass the file's own name, e.g. 'products.xlsx' (its extension tells the format).",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ScError::invalid_argument(
            "filename contains a control character",
            "Pass the file's own name, e.g. 'products.xlsx'.",
        ));
    }
    Ok(())
}

/// The file name drives format detection; without one, guess from the first bytes.
fn default_file_name(given: Option<&str>, connector: &str, bytes: &[u8]) -> String {
    if let Some(name) = given.map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_owned();
    }
    let ext = if bytes.starts_with(b"PK\x03\x04") {
        "xlsx"
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "xls"
    } else {
        "csv"
    };
    format!("{connector}.{ext}")
}

/// `sc_wait`: blocks until the execution ends; its final status.
pub fn wait(id: i64, timeout: Duration) -> ScResult<String> {
    require_role(OPERATOR, "waiting for an execution")?;
    let deadline = Instant::now() + timeout;
    loop {
        let status = executions::status(id)?.ok_or(ScError::ExecutionNotFound(id))?;
        if status.is_final() {
            return Ok(status.as_str().to_owned());
        }
        if Instant::now() >= deadline {
            return Err(ScError::Timeout(format!(
                "execution {id} is still {status} after {:.0} s",
                timeout.as_secs_f64()
            )));
        }
        sleep_interruptibly(Duration::from_millis(100));
    }
}

/// Sleeps on the backend's latch, so a query cancel or termination ends the wait.
fn sleep_interruptibly(d: Duration) {
    // SAFETY: MyLatch is this backend's latch; WaitLatch/ResetLatch are the documented way to sleep.
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            d.as_millis() as libc_long,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    pgrx::check_for_interrupts!();
}

#[allow(non_camel_case_types)]
type libc_long = std::os::raw::c_long;

/// `sc_cancel`: true if the execution was queued or running.
pub fn cancel(id: i64) -> ScResult<bool> {
    require_role(OPERATOR, "cancelling an execution")?;
    as_superuser(|| executions::request_cancel(id))?.ok_or(ScError::ExecutionNotFound(id))
}

/// `sc_report`: the XLSX report of an ended execution.
pub fn report(id: i64) -> ScResult<Vec<u8>> {
    require_role(OPERATOR, "downloading a report")?;
    match executions::read_file(id, "report")? {
        Some(bytes) => Ok(bytes),
        None => {
            let status = executions::status(id)?.ok_or(ScError::ExecutionNotFound(id))?;
            if let Some(when) = executions::purged_at(id)? {
                return Err(ScError::NotReady {
                    message: format!("execution {id} has no report any more: retention removed its files on {when}"),
                    hint: "Its summary (status, counts, error) stays in sc.executions; smartconnector.retention sets how long files are kept.".into(),
                });
            }
            Err(ScError::NotReady {
                message: format!("execution {id} has no report yet (it is {status})"),
                hint: format!("Reports are written when an execution ends: SELECT sc_wait({id}); first."),
            })
        }
    }
}
