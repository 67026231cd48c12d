//! Rows of `sc.executions`, `sc.execution_files` and `sc.execution_rows`:
//! queueing, claiming, progress, cancel, outcomes and artifacts.
use crate::error::{ScError, ScResult};
use pgrx::prelude::*;
use pgrx::JsonB;
use sc_core::execution::ExecutionStatus;
use serde_json::Value;
use std::collections::HashMap;

/// What `sc_run` stores for a new execution.
pub struct NewExecution<'a> {
    pub connector_id: i64,
    pub api_name: &'a str,
    pub definition: &'a Value,
    pub trigger: &'a str,
    pub started_by: &'a str,
    pub run_as: &'a str,
    pub dry_run: bool,
    pub diff_check: Option<bool>,
    pub params: Option<&'a Value>,
    pub file_name: Option<&'a str>,
    pub file_size: Option<i64>,
    /// A scheduled run: when its schedule fired (timestamptz text).
    pub fired_at: Option<&'a str>,
    /// A re-run: the execution whose stored input it runs.
    pub rerun_of: Option<i64>,
    /// A re-run of only the rows that failed in `rerun_of`.
    pub only_failed: bool,
}

/// Inserts a `queued` execution; returns its id.
pub fn insert(e: &NewExecution<'_>) -> ScResult<i64> {
    Spi::get_one_with_args::<i64>(
        "INSERT INTO sc.executions (connector_id, connector_api_name, definition, trigger, started_by,
                                    run_as, dry_run, diff_check, params, file_name, file_size, fired_at, rerun_of,
                                    only_failed)
         VALUES ($1, $2, $3, $4, $5::name, $6::name, $7, $8, $9, $10, $11, $12::timestamptz, $13, $14) RETURNING id",
        &[
            e.connector_id.into(),
            e.api_name.into(),
            JsonB(e.definition.clone()).into(),
            e.trigger.into(),
            e.started_by.into(),
            e.run_as.into(),
            e.dry_run.into(),
            e.diff_check.into(),
            e.params.map(|p| JsonB(p.clone())).into(),
            e.file_name.into(),
            e.file_size.into(),
            e.fired_at.into(),
            e.rerun_of.into(),
            e.only_failed.into(),
        ],
    )?
    .ok_or_else(|| ScError::Internal("INSERT … RETURNING id gave no row".into()))
}

/// Stores one artifact of an execution in one part (replacing it).
pub fn store_file(id: i64, kind: &str, name: &str, content: &[u8]) -> ScResult<()> {
    store_part(id, kind, name, 0, content)
}

/// Stores part `part` of an artifact (replacing it).
pub fn store_part(id: i64, kind: &str, name: &str, part: i32, content: &[u8]) -> ScResult<()> {
    Spi::run_with_args(
        "INSERT INTO sc.execution_files (execution_id, kind, name, part, content, size)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (execution_id, kind, name, part) DO UPDATE SET content = EXCLUDED.content, size = EXCLUDED.size",
        &[id.into(), kind.into(), name.into(), part.into(), content.into(), (content.len() as i64).into()],
    )?;
    Ok(())
}

/// Removes every part of an artifact (before it is rewritten).
pub fn drop_file(id: i64, kind: &str, name: &str) -> ScResult<()> {
    Spi::run_with_args(
        "DELETE FROM sc.execution_files WHERE execution_id = $1 AND kind = $2 AND name = $3",
        &[id.into(), kind.into(), name.into()],
    )?;
    Ok(())
}

/// The whole first artifact of `kind` (by name), its parts joined, if any.
pub fn read_file(id: i64, kind: &str) -> ScResult<Option<Vec<u8>>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT string_agg(content, ''::bytea ORDER BY part) FROM sc.execution_files
             WHERE execution_id = $1 AND kind = $2 AND name = (SELECT min(name) FROM sc.execution_files
                                                             WHERE execution_id = $1 AND kind = $2)
             GROUP BY name",
            None,
            &[id.into(), kind.into()],
        )?;
        match rows.into_iter().next() {
            Some(row) => Ok(Some(row.get::<Vec<u8>>(1)?.unwrap_or_default())),
            None => Ok(None),
        }
    })
}

/// (part number, size in bytes) of each part of an artifact.
pub type Parts = Vec<(i32, i64)>;

/// Name, and (part, size) of every part, of the first artifact of `kind`.
pub fn file_parts(id: i64, kind: &str) -> ScResult<Option<(String, Parts)>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT name, part, size FROM sc.execution_files
             WHERE execution_id = $1 AND kind = $2 AND name = (SELECT min(name) FROM sc.execution_files
                                                             WHERE execution_id = $1 AND kind = $2)
             ORDER BY part",
            None,
            &[id.into(), kind.into()],
        )?;
        let mut name = None;
        let mut parts = Vec::new();
        for row in rows {
            name = row.get::<String>(1)?;
            parts.push((row.get::<i32>(2)?.unwrap_or(0), row.get::<i64>(3)?.unwrap_or(0)));
        }
        Ok(name.map(|n| (n, parts)))
    })
}

/// Bytes `offset .. offset + len` of one part of an artifact (only those are
/// fetched: the column is stored uncompressed, so PostgreSQL reads just the
/// slices needed).
pub fn read_slice(id: i64, kind: &str, name: &str, part: i32, offset: i64, len: i64) -> ScResult<Vec<u8>> {
    Ok(Spi::get_one_with_args::<Vec<u8>>(
        "SELECT substring(content FROM $5::int + 1 FOR $6::int) FROM sc.execution_files
         WHERE execution_id = $1 AND kind = $2 AND name = $3 AND part = $4",
        &[id.into(), kind.into(), name.into(), part.into(), offset.into(), len.into()],
    )?
    .unwrap_or_default())
}

/// The status of an execution, read with a fresh snapshot; `None` if it does not exist.
pub fn status(id: i64) -> ScResult<Option<ExecutionStatus>> {
    Spi::connect_mut(|client| {
        // `update` (not `select`) so each poll sees rows committed since the last one.
        let rows = client.update("SELECT status FROM sc.executions WHERE id = $1", Some(1), &[id.into()])?;
        match rows.into_iter().next() {
            Some(row) => Ok(row.get::<String>(1)?.as_deref().and_then(ExecutionStatus::parse)),
            None => Ok(None),
        }
    })
}

/// Cancels: a queued execution ends `cancelled` at once, a running one is
/// flagged for its worker. `None` if it does not exist, else whether it was
/// still active.
pub fn request_cancel(id: i64) -> ScResult<Option<bool>> {
    let Some(status) = status(id)? else { return Ok(None) };
    if status.is_final() {
        return Ok(Some(false));
    }
    let queued = changes(
        "UPDATE sc.executions SET status = 'cancelled', cancel_requested = true, ended_at = now(),
                stage = 'done', error = 'cancelled before it started'
         WHERE id = $1 AND status = 'queued'",
        id,
    )?;
    if queued {
        return Ok(Some(true));
    }
    Ok(Some(changes("UPDATE sc.executions SET cancel_requested = true WHERE id = $1 AND status = 'running'", id)?))
}

/// Runs an UPDATE of one execution; whether it changed a row.
fn changes(sql: &str, id: i64) -> ScResult<bool> {
    Spi::connect_mut(|client| Ok(!client.update(sql, None, &[id.into()])?.is_empty()))
}

// ---------------------------------------------------------------- launcher

/// Launcher start: every execution left `running` belongs to a process
/// that no longer exists (the launcher starts only after a server start or
/// crash restart, when no worker survives), so it ends `failed` with `reason`.
/// Workers are the backends whose `backend_type` is `worker_type`.
pub fn fail_orphans(reason: &str, worker_type: &str) -> ScResult<u64> {
    Spi::connect_mut(|client| {
        let rows = client.update(
            "UPDATE sc.executions SET status = 'failed', error = $1, ended_at = now(), stage = 'done'
             WHERE status = 'running'
               AND (worker_pid IS NULL
                    OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                                   WHERE a.pid = worker_pid AND a.backend_type = $2))
             RETURNING id",
            None,
            &[reason.into(), worker_type.into()],
        )?;
        Ok(rows.len() as u64)
    })
}

/// Fails one execution if it is still `running` (its worker is gone).
pub fn fail_if_running(id: i64, reason: &str) -> ScResult<()> {
    Spi::run_with_args(
        "UPDATE sc.executions SET status = 'failed', error = $2, ended_at = now(), stage = 'done'
         WHERE id = $1 AND status = 'running'",
        &[id.into(), reason.into()],
    )?;
    Ok(())
}

/// Ids of executions still running (their directories must stay).
pub fn running_ids() -> ScResult<Vec<i64>> {
    Spi::connect(|client| {
        let rows = client.select("SELECT id FROM sc.executions WHERE status = 'running'", None, &[])?;
        let mut ids = Vec::new();
        for row in rows {
            ids.extend(row.get::<i64>(1)?);
        }
        Ok(ids)
    })
}

/// A queued execution waiting for a worker.
pub struct Waiting {
    pub id: i64,
    pub api_name: String,
    pub max_concurrency: i64,
}

/// Running executions per connector, and the queue in arrival order.
pub fn queue() -> ScResult<(HashMap<String, i64>, Vec<Waiting>)> {
    Spi::connect_mut(|client| {
        let mut running = HashMap::new();
        let rows = client.update(
            "SELECT connector_api_name, count(*) FROM sc.executions WHERE status = 'running' GROUP BY 1",
            None,
            &[],
        )?;
        for row in rows {
            running.insert(row.get::<String>(1)?.unwrap_or_default(), row.get::<i64>(2)?.unwrap_or(0));
        }
        let mut waiting = Vec::new();
        let rows = client.update(
            "SELECT id, connector_api_name,
                    coalesce((definition #>> '{settings,max_concurrency}')::bigint, 1)
             FROM sc.executions WHERE status = 'queued' ORDER BY id LIMIT 1000",
            None,
            &[],
        )?;
        for row in rows {
            waiting.push(Waiting {
                id: row.get::<i64>(1)?.unwrap_or(0),
                api_name: row.get::<String>(2)?.unwrap_or_default(),
                max_concurrency: row.get::<i64>(3)?.unwrap_or(1),
            });
        }
        Ok((running, waiting))
    })
}

/// Claims a queued execution for a worker about to start; false if it is no longer queued.
pub fn claim(id: i64) -> ScResult<bool> {
    changes(
        "UPDATE sc.executions SET status = 'running', stage = 'starting', started_at = now()
         WHERE id = $1 AND status = 'queued'",
        id,
    )
}

/// Puts back a claimed execution whose worker could not start.
pub fn unclaim(id: i64) -> ScResult<()> {
    Spi::run_with_args(
        "UPDATE sc.executions SET status = 'queued', stage = NULL, started_at = NULL
         WHERE id = $1 AND status = 'running' AND worker_pid IS NULL",
        &[id.into()],
    )?;
    Ok(())
}

/// Records the process running an execution.
pub fn set_worker_pid(id: i64, pid: i32) -> ScResult<()> {
    Spi::run_with_args(
        "UPDATE sc.executions SET worker_pid = $2 WHERE id = $1 AND worker_pid IS NULL",
        &[id.into(), pid.into()],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ worker

/// What a worker needs to know about its execution.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    /// `None` once the connector was dropped.
    pub connector_id: Option<i64>,
    /// The run's diff_check argument (`None`: the connector's setting).
    pub diff_check: Option<bool>,
    pub status: ExecutionStatus,
    pub api_name: String,
    pub definition: Value,
    pub trigger: String,
    pub run_as: String,
    pub dry_run: bool,
    pub params: Option<Value>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    /// ISO 8601 in UTC.
    pub queued_at: Option<String>,
    /// What `input.schedule` holds: when the schedule fired, else when the
    /// run was queued (ISO 8601 in UTC).
    pub trigger_time: Option<String>,
    /// The role that started the run.
    pub started_by: Option<String>,
    /// A re-run: the execution whose stored input it runs.
    pub rerun_of: Option<i64>,
    /// A re-run of only the rows that failed in `rerun_of`.
    pub only_failed: bool,
}

/// Loads an execution for its worker.
pub fn claimed(id: i64) -> ScResult<Claimed> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT status, connector_api_name, definition, trigger, run_as::text, dry_run, params,
                    file_name, file_size,
                    to_char(queued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                    connector_id, diff_check,
                    to_char(COALESCE(fired_at, queued_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                    started_by::text, rerun_of, only_failed
             FROM sc.executions WHERE id = $1",
            Some(1),
            &[id.into()],
        )?;
        if let Some(row) = rows.into_iter().next() {
            return Ok(Claimed {
                id,
                status: row
                    .get::<String>(1)?
                    .as_deref()
                    .and_then(ExecutionStatus::parse)
                    .unwrap_or(ExecutionStatus::Failed),
                api_name: row.get::<String>(2)?.unwrap_or_default(),
                definition: row.get::<JsonB>(3)?.map(|j| j.0).unwrap_or(Value::Null),
                trigger: row.get::<String>(4)?.unwrap_or_default(),
                run_as: row.get::<String>(5)?.unwrap_or_default(),
                dry_run: row.get::<bool>(6)?.unwrap_or(false),
                params: row.get::<JsonB>(7)?.map(|j| j.0),
                file_name: row.get::<String>(8)?,
                file_size: row.get::<i64>(9)?,
                queued_at: row.get::<String>(10)?,
                connector_id: row.get::<i64>(11)?,
                diff_check: row.get::<bool>(12)?,
                trigger_time: row.get::<String>(13)?,
                started_by: row.get::<String>(14)?,
                rerun_of: row.get::<i64>(15)?,
                only_failed: row.get::<bool>(16)?.unwrap_or(false),
            });
        }
        Err(ScError::Internal(format!("execution {id} does not exist")))
    })
}

/// Publishes the current stage and progress (committed by the caller's transaction).
pub fn set_progress(id: i64, stage: &str, progress: &Value, stage_times: &Value) -> ScResult<()> {
    Spi::run_with_args(
        "UPDATE sc.executions SET stage = $2, progress = $3, stage_times = $4 WHERE id = $1",
        &[id.into(), stage.into(), JsonB(progress.clone()).into(), JsonB(stage_times.clone()).into()],
    )?;
    Ok(())
}

/// Records the engine version in use.
pub fn set_engine_version(id: i64, version: &str) -> ScResult<()> {
    Spi::run_with_args("UPDATE sc.executions SET engine_version = $2 WHERE id = $1", &[id.into(), version.into()])?;
    Ok(())
}

/// Whether this execution should stop: a cancel was asked for, or it is no
/// longer `running` (someone else ended it).
pub fn should_stop(id: i64) -> ScResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT cancel_requested OR status <> 'running' FROM sc.executions WHERE id = $1",
        &[id.into()],
    )?
    .unwrap_or(true))
}

/// How an execution ended.
pub struct Ending<'a> {
    pub status: ExecutionStatus,
    pub error: Option<&'a str>,
    pub counts: &'a Value,
    pub progress: &'a Value,
    pub stage_times: &'a Value,
}

/// Writes the final state; only a `running` execution changes.
pub fn finish(id: i64, end: &Ending<'_>) -> ScResult<()> {
    Spi::run_with_args(
        "UPDATE sc.executions SET status = $2, error = $3, counts = $4, progress = $5, stage_times = $6,
                stage = 'done', ended_at = now()
         WHERE id = $1 AND status = 'running'",
        &[
            id.into(),
            end.status.as_str().into(),
            end.error.into(),
            JsonB(end.counts.clone()).into(),
            JsonB(end.progress.clone()).into(),
            JsonB(end.stage_times.clone()).into(),
        ],
    )?;
    Ok(())
}

/// Sends `payload` on a NOTIFY channel (delivered when the transaction commits).
pub fn notify(channel: &str, payload: &str) -> ScResult<()> {
    Spi::run_with_args("SELECT pg_catalog.pg_notify($1, $2)", &[channel.into(), payload.into()])?;
    Ok(())
}

/// One row outcome waiting to be written.
pub struct RowRecord {
    pub scope: String,
    pub step: String,
    pub row_number: i64,
    pub outcome: &'static str,
    pub record_id: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub match_key: Option<String>,
    /// The row's input in the uploaded file (`book.xlsx!Sheet 1`) and line there.
    pub source: Option<String>,
    pub line: Option<i64>,
}

/// Writes a batch of row outcomes, one statement per run of rows with the
/// same scope and step (arrays unnested server-side; scope and step travel once).
pub fn insert_rows(id: i64, rows: &[RowRecord]) -> ScResult<()> {
    let mut start = 0;
    while start < rows.len() {
        let (scope, step) = (&rows[start].scope, &rows[start].step);
        let len = rows[start..].iter().take_while(|r| &r.scope == scope && &r.step == step).count();
        insert_group(id, scope, step, &rows[start..start + len])?;
        start += len;
    }
    Ok(())
}

fn insert_group(id: i64, scope: &str, step: &str, rows: &[RowRecord]) -> ScResult<()> {
    // One table row per batch: parallel arrays, a column left NULL when no
    // row has a value in it. Ragged message lists travel as one text per
    // row, joined by the record separator U+001E (which messages never
    // contain); the sc.execution_rows view splits them back.
    let joined = |v: &Vec<String>| (!v.is_empty()).then(|| v.join("\u{1e}"));
    let column = |values: Vec<Option<String>>| values.iter().any(Option::is_some).then_some(values);
    let first = rows.iter().map(|r| r.row_number).min().unwrap_or(0);
    let last = rows.iter().map(|r| r.row_number).max().unwrap_or(0);
    Spi::run_with_args(
        "INSERT INTO sc.execution_row_batches
           (execution_id, scope, step, first_row, last_row, row_numbers, outcomes, record_ids, errors, warnings,
            match_keys, sources, lines)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            id.into(),
            scope.into(),
            step.into(),
            first.into(),
            last.into(),
            rows.iter().map(|r| r.row_number).collect::<Vec<_>>().into(),
            rows.iter().map(|r| r.outcome.to_string()).collect::<Vec<_>>().into(),
            column(rows.iter().map(|r| r.record_id.clone()).collect()).into(),
            column(rows.iter().map(|r| joined(&r.errors)).collect()).into(),
            column(rows.iter().map(|r| joined(&r.warnings)).collect()).into(),
            column(rows.iter().map(|r| r.match_key.clone()).collect()).into(),
            column(rows.iter().map(|r| r.source.clone()).collect()).into(),
            rows.iter().any(|r| r.line.is_some()).then(|| rows.iter().map(|r| r.line).collect::<Vec<_>>()).into(),
        ],
    )?;
    Ok(())
}

/// The execution of connector `connector_id` that a schedule tick at
/// `fired_at` already started, if any.
pub fn fired(connector_id: i64, fired_at: &str) -> ScResult<Option<i64>> {
    Ok(Spi::get_one_with_args::<i64>(
        "SELECT (SELECT id FROM sc.executions WHERE connector_id = $1 AND fired_at = $2::timestamptz LIMIT 1)",
        &[connector_id.into(), fired_at.into()],
    )?)
}

/// The execution that keeps a schedule tick of connector `connector_id` from
/// starting another, and why: with `skip`, any queued or running one; with
/// `queue`, one already waiting to start (a run never piles up behind another).
pub fn blocking_tick(connector_id: i64, overlap: sc_core::document::Overlap) -> ScResult<Option<(i64, String)>> {
    let statuses: &[&str] = match overlap {
        sc_core::document::Overlap::Skip => &["queued", "running"],
        sc_core::document::Overlap::Queue => &["queued"],
    };
    let statuses: Vec<String> = statuses.iter().map(|s| s.to_string()).collect();
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT id, status FROM sc.executions WHERE connector_id = $1 AND status = ANY($2) ORDER BY id LIMIT 1",
            Some(1),
            &[connector_id.into(), statuses.into()],
        )?;
        match rows.into_iter().next() {
            None => Ok(None),
            Some(row) => {
                let id = row.get::<i64>(1)?.unwrap_or_default();
                let status = row.get::<String>(2)?.unwrap_or_default();
                let reason = if status == "queued" {
                    format!("execution {id} is still queued")
                } else {
                    format!("execution {id} is still running")
                };
                Ok(Some((id, reason)))
            }
        }
    })
}

/// Records a schedule tick that started nothing; keeps the newest
/// `sc.skipped_tick_cap()` of the connector.
pub fn skip_tick(connector_id: i64, fired_at: &str, reason: &str, blocker: i64) -> ScResult<()> {
    Spi::run_with_args(
        "INSERT INTO sc.skipped_ticks (connector_id, fired_at, reason, execution_id) VALUES ($1, $2::timestamptz, $3, $4)",
        &[connector_id.into(), fired_at.into(), reason.into(), blocker.into()],
    )?;
    Spi::run_with_args(
        "DELETE FROM sc.skipped_ticks WHERE connector_id = $1 AND id < (SELECT id FROM sc.skipped_ticks
           WHERE connector_id = $1 ORDER BY id DESC OFFSET sc.skipped_tick_cap() - 1 LIMIT 1)",
        &[connector_id.into()],
    )?;
    Ok(())
}

/// What a re-run takes from an ended execution.
pub struct Rerunnable {
    pub status: String,
    pub connector_id: Option<i64>,
    pub api_name: String,
    pub params: Option<Value>,
    pub diff_check: Option<bool>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    /// When its schedule fired, else when it was queued (timestamptz text).
    pub trigger_time: String,
    /// The execution whose input it ran: itself, or what it re-ran.
    pub input_of: i64,
}

/// The facts of execution `id` a re-run needs; None when there is none.
pub fn rerunnable(id: i64) -> ScResult<Option<Rerunnable>> {
    Ok(Spi::connect(|client| {
        let rows = client.select(
            "SELECT status, connector_id, connector_api_name, params, diff_check, file_name, file_size,
                    COALESCE(fired_at, queued_at)::text, COALESCE(rerun_of, id)
               FROM sc.executions WHERE id = $1",
            Some(1),
            &[id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else { return Ok::<_, pgrx::spi::Error>(None) };
        Ok(Some(Rerunnable {
            status: row.get::<String>(1)?.unwrap_or_default(),
            connector_id: row.get::<i64>(2)?,
            api_name: row.get::<String>(3)?.unwrap_or_default(),
            params: row.get::<JsonB>(4)?.map(|j| j.0),
            diff_check: row.get::<bool>(5)?,
            file_name: row.get::<String>(6)?,
            file_size: row.get::<i64>(7)?,
            trigger_time: row.get::<String>(8)?.unwrap_or_default(),
            input_of: row.get::<i64>(9)?.unwrap_or(id),
        }))
    })?)
}

/// Whether execution `id` has a stored file of `kind`.
pub fn has_file(id: i64, kind: &str) -> ScResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM sc.execution_files WHERE execution_id = $1 AND kind = $2)",
        &[id.into(), kind.into()],
    )?
    .unwrap_or(false))
}

/// When retention removed execution `id`'s files and row outcomes
/// (`YYYY-MM-DD HH:MM:SS+TZ`); None when it has not (or there is no such execution).
pub fn purged_at(id: i64) -> ScResult<Option<String>> {
    Ok(Spi::get_one_with_args::<String>(
        "SELECT (SELECT date_trunc('second', purged_at)::text FROM sc.executions WHERE id = $1)",
        &[id.into()],
    )?)
}

/// Gives execution `to` the stored input file of execution `from`; false
/// when `from` has none (it was purged, or never had one).
pub fn copy_input(from: i64, to: i64) -> ScResult<bool> {
    let copied = Spi::connect_mut(|client| {
        client
            .update(
                "INSERT INTO sc.execution_files (execution_id, kind, name, part, content, size)
                 SELECT $2, kind, name, part, content, size FROM sc.execution_files
                  WHERE execution_id = $1 AND kind = 'input'",
                None,
                &[from.into(), to.into()],
            )
            .map(|t| t.len())
    })?;
    Ok(copied > 0)
}
