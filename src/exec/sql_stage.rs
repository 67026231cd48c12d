//! The SQL stage: builds the engine job from the connector and the run,
//! starts `sc-engine` under the supervisor and watches it, publishing
//! progress and killing it on cancel, shutdown or time-out.
use super::{Execution, Stop};
use crate::catalog::secrets;
use crate::gucs;
use crate::postgres::transaction;
use sc_core::document::ConnectorType;
use sc_engine::job::{Input, Job, JobMeta, Limits, ReferenceTable, Secret};
use sc_engine::mask::Masker;
use sc_engine::supervisor::{Outcome, StartOptions, Supervisor};
use sc_engine::Manifest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the worker looks at the engine, a cancel and the progress.
const POLL: Duration = Duration::from_millis(250);

fn guc_path(setting: &pgrx::GucSetting<Option<std::ffi::CString>>) -> Option<PathBuf> {
    setting.get().and_then(|c| c.to_str().ok().filter(|s| !s.is_empty()).map(PathBuf::from))
}

/// Runs the engine on this execution and returns its manifest.
pub fn run(
    ex: &mut Execution,
    input: Option<(PathBuf, String)>,
    reference: Vec<ReferenceTable>,
) -> Result<Manifest, Stop> {
    let engine = guc_path(&gucs::ENGINE_PATH).ok_or("smartconnector.engine_path is empty".to_string())?;
    if !engine.is_file() {
        return Err(Stop::Failed(format!(
            "the SQL engine binary {} does not exist; install it with scripts/setup.sh or set smartconnector.engine_path",
            engine.display()
        )));
    }
    let job = build_job(ex, input, reference)?;
    if let (ConnectorType::Webhook, Input::Prepared { tables }) = (ex.doc.connector_type, &job.input) {
        let calls: u64 = tables.iter().map(|t| t.rows).sum();
        let of = ex.claimed.rerun_of.unwrap_or(ex.claimed.id);
        ex.input_note =
            Some(format!("{calls} webhook calls, the batch of execution {of} (sc.webhook_events.execution_id = {of})"));
    }
    let opts = StartOptions { libchdb: guc_path(&gucs::LIBCHDB_PATH), env: Vec::new() };
    let mut running = Supervisor::start_with(&engine, &ex.dir, &job, &opts)
        .map_err(|e| format!("cannot start the SQL engine {}: {e}", engine.display()))?;
    let outcome = loop {
        if let Some(o) = running.wait_for(POLL) {
            break o;
        }
        if let Some(p) = running.progress() {
            ex.progress.engine = serde_json::to_value(&p).ok();
        }
        // A cancel or a shutdown ends the engine at once (it ignores signals while a query runs).
        if let Err(stop) = ex.publish() {
            running.kill();
            return Err(stop);
        }
    };
    // The engine masks its own messages; masking again here also covers the
    // log tail and anything the engine could not mask (a crash).
    let masker = Masker::new(job.secrets.values().flat_map(|s| s.values.values().cloned()));
    match outcome {
        Outcome::Ok(m) => Ok(m),
        Outcome::UserError(m) | Outcome::TimedOut(m) | Outcome::Crashed(m) => Err(Stop::Failed(masker.mask(&m))),
        Outcome::Killed => Err(Stop::Failed("the SQL engine was stopped".into())),
        Outcome::Internal(m) => Err(Stop::Failed(masker.mask(&with_log_tail(m, &ex.dir)))),
    }
}

/// Adds the end of the engine's stderr to an internal error (the directory is removed afterwards).
fn with_log_tail(message: String, dir: &Path) -> String {
    let log = std::fs::read(dir.join(sc_engine::job::STDERR_FILE)).unwrap_or_default();
    let tail = String::from_utf8_lossy(&log[log.len().saturating_sub(600)..]).trim().to_string();
    if tail.is_empty() {
        message
    } else {
        format!("{message}; engine log ends: {tail}")
    }
}

fn build_job(ex: &Execution, input: Option<(PathBuf, String)>, reference: Vec<ReferenceTable>) -> Result<Job, Stop> {
    let c = &ex.claimed;
    let s = &ex.doc.settings;
    let mut parameters: BTreeMap<String, String> =
        ex.doc.parameters.iter().map(|(k, v)| (k.clone(), json_text(v))).collect();
    if let Some(serde_json::Value::Object(p)) = &c.params {
        for (k, v) in p {
            parameters.insert(k.clone(), json_text(v));
        }
    }
    let input = match (ex.doc.connector_type, input) {
        (ConnectorType::Scheduler, _) => Input::Schedule,
        // The batch of calls this execution processes.
        // A re-run reads the batch of the execution it re-runs (the calls stay with that one).
        (ConnectorType::Webhook, _) => {
            Input::Prepared { tables: vec![crate::webhooks::write_batch(c.rerun_of.unwrap_or(c.id), &ex.dir)?] }
        }
        (_, Some((path, file_name))) => Input::File { path, file_name },
        (_, None) => Input::None,
    };
    let limits = limits(s);
    let secrets = transaction(secrets::all_for_engine)??;
    let secrets =
        secrets.into_iter().map(|s| (s.name, Secret { kind: s.kind, values: s.pairs.into_iter().collect() })).collect();
    Ok(Job {
        sql: ex.doc.sql.clone(),
        parameters,
        input,
        reference,
        meta: JobMeta {
            execution_id: c.id.to_string(),
            connector: c.api_name.clone(),
            connector_type: ex.doc.connector_type.as_str().to_owned(),
            trigger: c.trigger.clone(),
            dry_run: c.dry_run,
            file_name: c.file_name.clone(),
            file_size: c.file_size.map(|n| n as u64),
            trigger_time: c.trigger_time.clone(),
            started_by: c.started_by.clone(),
        },
        limits,
        allowed_hosts: gucs::allowed_hosts(),
        sandbox_off: !gucs::ENGINE_SANDBOX.get(),
        secrets,
    })
}

/// The engine's limits: a connector's setting may lower a server-wide
/// GUC, never exceed it (the GUCs are ceilings an sc_admin cannot raise).
pub(crate) fn limits(s: &sc_core::document::Settings) -> Limits {
    let ceiling = |guc: i32| u64::try_from(guc).unwrap_or(1).max(1);
    let lower = |own: Option<u64>, guc: i32| own.map_or(ceiling(guc), |v| v.min(ceiling(guc)));
    Limits {
        time_s: lower(s.sql_time_limit_s.map(u64::from), gucs::SQL_TIME_LIMIT_S.get()),
        memory_bytes: Some(lower(s.sql_memory_limit_mb, gucs::SQL_MEMORY_LIMIT_MB.get()) << 20),
        threads: Some(lower(s.sql_threads.map(u64::from), gucs::SQL_THREADS.get()) as u32),
        max_output_rows: lower(s.sql_max_output_rows, gucs::SQL_MAX_OUTPUT_ROWS.get()),
        disk_bytes: Some(ceiling(gucs::SQL_DISK_LIMIT_MB.get()) << 20),
    }
}

/// A parameter value as the engine sees it: strings as they are, anything else as JSON.
fn json_text(v: &serde_json::Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())
}
