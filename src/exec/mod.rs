//! One execution as a pipeline of stages, run by its background worker:
//! input → reference data → SQL stage (supervised engine process) →
//! variables → load steps → SQL output → report. Every stage boundary is
//! committed so other sessions see stage, progress and times; whatever
//! happens, the execution ends with a final status and its input kept.
//!
//! `state` holds what is published, `artifacts` moves files in and out of
//! the catalog, `summary` writes the report's Summary; each stage has a file.
mod artifacts;
mod failed_rows;
mod load_steps;
mod outcomes;
mod reference;
pub(crate) mod sql_stage;
mod state;
mod summary;
pub mod workdir;

use crate::catalog::executions::{self, Ending};
use crate::error::ScError;
use crate::postgres::background::{signals_blocked, Background};
use crate::postgres::transaction;
use artifacts::{store_file, store_sql_output, write_input, MAX_ARTIFACT};
pub use failed_rows::KIND as FAILED_ROWS;
use outcomes::RowsObserver;
use pgrx::prelude::*;
use sc_core::document::parse_document;
use sc_core::execution::{ExecutionStatus, Stage};
use sc_core::report::{ReportThread, ReportWriter};
use sc_core::variables::{OutputTable, ScopeCounts, StageError};
use serde_json::{json, Value};
use state::VariableCounts;
pub use state::{Execution, Stop};
use std::path::Path;
use summary::{final_status, store_summary_report, summary_counts, summary_facts};

/// Runs execution `id` to its end. Never raises: every failure is recorded.
pub fn run(id: i64) {
    let claimed = match transaction(move || executions::claimed(id)) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return fail_early(id, &e.to_string()),
        Err(e) => return fail_early(id, &e),
    };
    if claimed.status != ExecutionStatus::Running {
        return; // cancelled between claim and start
    }
    name_the_process(id, &claimed.api_name);
    let doc = match parse_document(&claimed.definition) {
        Ok(d) => d,
        Err(problems) => {
            let text = problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ");
            return fail_early(id, &format!("the connector definition is invalid: {text}"));
        }
    };
    let dir = match workdir::create(id) {
        Ok(d) => d,
        Err(e) => return fail_early(id, &e),
    };
    let mut ex = Execution::new(claimed, doc, dir);
    let result = pipeline(&mut ex);
    finish(&mut ex, result);
    workdir::remove(id);
}

/// What a DBA sees in `pg_stat_activity.application_name` for this worker:
/// `smartconnector vendor_products #42` (cut to 63 bytes by PostgreSQL).
fn name_the_process(id: i64, api_name: &str) {
    let name = format!("smartconnector {api_name} #{id}");
    let (Ok(key), Ok(value)) = (std::ffi::CString::new("application_name"), std::ffi::CString::new(name)) else {
        return;
    };
    // SAFETY: sets a user-level setting of this worker's own session; its
    // assign hook reports the new name to pg_stat_activity.
    unsafe {
        pg_sys::SetConfigOption(
            key.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
        );
    }
}

/// Marks an execution failed before its pipeline could start.
fn fail_early(id: i64, message: &str) {
    log!("smartconnector: execution {id} failed: {message}");
    let end = Ending {
        status: ExecutionStatus::Failed,
        error: Some(message),
        counts: &json!({}),
        progress: &json!({}),
        stage_times: &json!({}),
    };
    if let Err(e) = transaction(move || executions::finish(id, &end)) {
        warning!("smartconnector: execution {id} failed ({message}) and could not be recorded: {e}");
    }
}

/// The stages; `Ok` carries the variables counts per scope.
fn pipeline(ex: &mut Execution) -> Result<Vec<ScopeCounts>, Stop> {
    ex.enter(Stage::Input)?;
    let tables = match (ex.claimed.only_failed, ex.claimed.rerun_of) {
        // The rows that failed in an earlier execution, as its SQL produced them.
        (true, Some(from)) => failed_rows::unpack(ex, from)?,
        _ => {
            let input = write_input(ex)?;
            ex.enter(Stage::Reference)?;
            let reference = reference::read_all(&ex.doc.reference, &ex.claimed.run_as, &ex.dir)?;
            ex.enter(Stage::Sql)?;
            let manifest = sql_stage::run(ex, input, reference)?;
            sql_output_tables(ex, manifest)
        }
    };
    // Packaging the SQL output is pure Rust: it runs on a thread of its own
    // while this one loads (not while it validates, which already shares the
    // machine with the report's thread), and is stored after the load steps.
    let zip_path = ex.dir.join("sql_output.zip");
    let package = |tables: &[OutputTable]| {
        let (tables, path) = (tables.to_vec(), zip_path.clone());
        Background::spawn("sql_output", move || sc_core::artifacts::write_sql_output_zip(&tables, &path))
    };
    ex.enter(Stage::Variables)?;
    let report_path = ex.dir.join("report.xlsx");
    let writer = ReportWriter::create_with(
        &report_path,
        sc_core::report::ReportOptions { temp_dir: Some(ex.dir.clone()), ..Default::default() },
    )?;
    // Report rows are written on a thread of their own, while this one
    // validates and loads (the thread inherits the blocked signals).
    let mut report = signals_blocked(|| ReportThread::start(writer))?;
    // Diff check: the hashes earlier runs stored. When there are any, most
    // rows are likely unchanged and skip the report, whose thread then idles:
    // the SQL output is packaged beside validation instead of after it.
    let stored = load_steps::stored_hashes(ex, &tables)?;
    let mut early = if stored.is_empty() { None } else { Some(package(&tables)?) };
    let counts = match validate(ex, &tables, &mut report, stored) {
        Ok(counts) => counts,
        Err(Stop::Failed(e)) => {
            // A run that fails validation (say, a variable naming a column the
            // SQL does not produce) keeps its SQL output, which shows why.
            if let Some(packaging) = early.take().or_else(|| package(&tables).ok()) {
                let _ = store_sql_output(ex, packaging, &zip_path);
            }
            return Err(Stop::Failed(e));
        }
        Err(stop) => return Err(stop),
    };
    let packaging = match early {
        Some(packaging) => packaging,
        None => package(&tables)?,
    };
    let scopes: Vec<load_steps::ScopeValues> = counts
        .iter()
        .zip(&tables)
        .map(|(c, t)| load_steps::ScopeValues {
            name: c.scope.clone(),
            variables: c.variables.clone(),
            rows: c.rows,
            path: t.values_path.clone().unwrap_or_default(),
        })
        .collect();
    let loaded = match load_steps::run(ex, &scopes, &mut report) {
        Ok(loaded) => {
            failed_rows::store(ex, &tables, &loaded)?;
            loaded
        }
        Err(Stop::Failed(e)) => {
            // A failed load step (not a cancel) still keeps the SQL output.
            let _ = store_sql_output(ex, packaging, &zip_path);
            return Err(Stop::Failed(e));
        }
        Err(stop) => return Err(stop),
    };
    ex.enter(Stage::SqlOutput)?;
    store_sql_output(ex, packaging, &zip_path)?;
    // The report is saved (its Summary, then compression) while the diff
    // store runs; its Summary therefore lists the times of the stages so far.
    let status = final_status(ex, &counts);
    let saving = report.finish(summary_facts(ex, status, None), summary_counts(ex))?;
    load_steps::remember(ex, &scopes, &loaded)?;
    ex.enter(Stage::Report)?;
    saving.wait()?;
    store_report(ex, status, &report_path)?;
    Ok(counts)
}

/// The SQL stage's output tables, with the files the variables stage writes.
fn sql_output_tables(ex: &mut Execution, manifest: sc_engine::Manifest) -> Vec<OutputTable> {
    ex.engine_version = Some(manifest.engine_version.clone());
    ex.warnings.extend(manifest.warnings.iter().cloned());
    // A scope's rows are placed in the one input table that has lines (SQL
    // that reads several selects `_sheet` too).
    let source = match manifest.inputs.iter().filter(|t| t.lines).collect::<Vec<_>>().as_slice() {
        [one] => Some(one.source.clone()),
        _ => None,
    };
    let tables: Vec<OutputTable> = manifest
        .scopes
        .iter()
        .enumerate()
        .map(|(i, s)| OutputTable {
            name: s.name.clone(),
            columns: s.columns.iter().map(|c| (c.name.clone(), c.ch_type.clone())).collect(),
            rows: s.rows,
            path: ex.dir.join(&s.file),
            values_path: Some(ex.dir.join(format!("values_{i}.rowbinary"))),
            source: source.clone(),
        })
        .collect();
    for t in &tables {
        ex.set_scope_progress(&t.name, 0, t.rows);
    }
    tables
}

/// The variables stage: validates every row of every scope; its counts.
/// `stored`: per scope, the row hashes earlier runs loaded (diff check).
fn validate(
    ex: &mut Execution,
    tables: &[OutputTable],
    report: &mut ReportThread,
    stored: std::collections::HashMap<String, std::collections::HashSet<[u8; 16]>>,
) -> Result<Vec<ScopeCounts>, Stop> {
    let ctx = sc_core::types::Context::from_settings(&ex.doc.settings)?;
    let vars = ex.doc.variables.clone();
    let fingerprint = load_steps::fingerprint(&ex.doc);
    let known = |scope: &str, hash: &[u8; 16]| stored.get(scope).is_some_and(|s| s.contains(hash));
    let options = sc_core::variables::Options {
        fingerprint: &fingerprint,
        known: (!stored.is_empty()).then_some(&known as sc_core::variables::Known<'_>),
        ..Default::default()
    };
    let mut observer = RowsObserver::new(ex);
    let result = sc_core::variables::run_with(&vars, tables, &ctx, report, &mut observer, &options);
    drop(stored);
    let flushed = observer.finish();
    let counts = match result {
        Ok(c) => c,
        Err(StageError::Stopped) => {
            return Err(match flushed {
                Err(e) => Stop::Failed(e),
                Ok(()) => observer_stop(ex),
            })
        }
        Err(e) => return Err(Stop::Failed(e.to_string())),
    };
    flushed?;
    for c in &counts {
        ex.counts.variables.insert(
            c.scope.clone(),
            VariableCounts {
                valid: c.valid,
                invalid: c.invalid,
                with_warnings: c.with_warnings,
                unchanged: c.unchanged,
            },
        );
    }
    Ok(counts)
}

/// Stores the finished report, or a Summary-only one when it is too large to keep.
fn store_report(ex: &mut Execution, status: ExecutionStatus, path: &Path) -> Result<(), Stop> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_ARTIFACT {
        // The rows are loaded; a report too big to keep must not turn that into a failure.
        ex.warnings.push(format!(
            "the full report ({size} bytes) is larger than the {MAX_ARTIFACT} bytes that can be stored; \
             this Summary is kept instead (per-row outcomes are in sc.execution_rows)"
        ));
        store_summary_report(ex, status, None);
        Ok(())
    } else {
        store_file(ex.claimed.id, "report", "report.xlsx", path)
    }
}

/// Why the observer stopped the stage: a cancel or a shutdown.
fn observer_stop(ex: &mut Execution) -> Stop {
    match ex.publish() {
        Err(stop) => stop,
        Ok(()) => Stop::Failed("the variables stage stopped unexpectedly".into()),
    }
}

/// The "execution ended" webhook's JSON body (README, "The execution ended webhook").
fn ended_body(ex: &Execution, status: ExecutionStatus, error: Option<&str>, counts: &Value) -> String {
    let c = &ex.claimed;
    json!({
        "event": "execution.ended",
        "execution_id": c.id,
        "connector": c.api_name,
        "status": status.as_str(),
        "trigger": c.trigger,
        "dry_run": c.dry_run,
        "rerun_of": c.rerun_of,
        "started_at": sc_core::execution::utc_iso(ex.started_wall),
        "ended_at": sc_core::execution::utc_iso(std::time::SystemTime::now()),
        "counts": counts,
        "error": error.map(|e| e.chars().take(2000).collect::<String>()),
        "report": {"sql": format!("SELECT sc_report({})", c.id), "execution": format!("SELECT * FROM sc.executions WHERE id = {}", c.id)},
    })
    .to_string()
}

/// Records the end; a failed or cancelled run still gets a Summary-only report.
fn finish(ex: &mut Execution, result: Result<Vec<ScopeCounts>, Stop>) {
    ex.close_stage();
    let (status, error) = match &result {
        Ok(counts) => (final_status(ex, counts), None),
        Err(Stop::Cancelled) => (ExecutionStatus::Cancelled, Some("cancelled by sc_cancel".to_string())),
        Err(Stop::Failed(m)) => (ExecutionStatus::Failed, Some(m.clone())),
    };
    if result.is_err() {
        store_summary_report(ex, status, error.as_deref());
    }
    let id = ex.claimed.id;
    log!(
        "smartconnector: execution {id} ended {status}{}",
        error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
    );
    let version = ex.engine_version.clone();
    let counts = ex.counts.to_value();
    let progress = ex.progress.to_value();
    let times = Value::Object(ex.stage_times.clone());
    let channel = ex.doc.settings.notify_channel.clone();
    let ended_webhook = ex.doc.settings.ended_webhook.clone().map(|url| {
        let secret = ex.doc.settings.ended_webhook_secret.clone();
        (url, secret, ended_body(ex, status, error.as_deref(), &counts))
    });
    let payload = json!({
        "execution_id": id, "connector": ex.claimed.api_name, "status": status.as_str(),
        "error": error.as_deref().map(|e| e.chars().take(2000).collect::<String>()),
    })
    .to_string();
    let recorded = transaction(move || -> Result<(), ScError> {
        if let Some(v) = &version {
            executions::set_engine_version(id, v)?;
        }
        let end = Ending { status, error: error.as_deref(), counts: &counts, progress: &progress, stage_times: &times };
        executions::finish(id, &end)?;
        if let Some((url, secret, body)) = &ended_webhook {
            crate::catalog::deliveries::queue(id, url, secret.as_deref(), body)?;
        }
        match &channel {
            Some(channel) => executions::notify(channel, &payload),
            None => Ok(()),
        }
    });
    match recorded {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warning!("smartconnector: execution {id} ended but could not be recorded: {e}"),
        Err(e) => warning!("smartconnector: execution {id} ended but could not be recorded: {e}"),
    }
}
