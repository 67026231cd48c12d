//! One execution as a pipeline of stages, run by its background worker:
//! input → reference data → SQL stage (supervised engine process) →
//! variables → report. Every stage boundary is committed so other sessions
//! see stage, progress and times; whatever happens, the execution ends with
//! a final status and its input kept.
mod load_stage;
mod outcomes;
mod reference;
pub(crate) mod sql_stage;
pub mod workdir;

use crate::catalog::executions::{self, Claimed, Ending};
use crate::postgres::background::{signals_blocked, Background};
use crate::postgres::transaction;
use outcomes::RowsObserver;
use pgrx::prelude::*;
use sc_core::document::{parse_document, ConnectorDocument};
use sc_core::report::{ReportThread, ReportWriter};
use sc_core::stage::{OutputTable, ScopeCounts, StageError};
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Artifacts larger than this are not stored (`sc_report` returns one bytea,
/// which tops out at 1 GB).
const MAX_ARTIFACT: u64 = 512 << 20;
/// Artifacts are stored and read in parts of this many bytes.
const PART: usize = 8 << 20;

/// How a pipeline stopped early.
#[derive(Debug)]
pub enum Stop {
    Failed(String),
    Cancelled,
}

impl From<String> for Stop {
    fn from(m: String) -> Self {
        Stop::Failed(m)
    }
}

/// The running state of one execution, published as it changes.
pub struct Execution {
    pub claimed: Claimed,
    pub doc: ConnectorDocument,
    pub dir: PathBuf,
    stage: String,
    stage_started: Instant,
    stage_times: Map<String, Value>,
    progress: Map<String, Value>,
    counts: Map<String, Value>,
    warnings: Vec<String>,
    engine_version: Option<String>,
}

impl Execution {
    /// Enters `stage`, recording the time of the previous one, and publishes it.
    fn enter(&mut self, stage: &str) -> Result<(), Stop> {
        self.close_stage();
        self.stage = stage.to_owned();
        self.stage_started = Instant::now();
        self.publish()
    }

    fn close_stage(&mut self) {
        if !self.stage.is_empty() && self.stage != "done" {
            let ms = self.stage_started.elapsed().as_millis() as u64;
            self.stage_times.insert(self.stage.clone(), json!(ms));
        }
    }

    fn progress_value(&self) -> Value {
        Value::Object(self.progress.clone())
    }

    /// Commits stage and progress; fails with `Stop::Cancelled` when a cancel is pending.
    fn publish(&mut self) -> Result<(), Stop> {
        let (id, stage, progress, times) =
            (self.claimed.id, self.stage.clone(), self.progress_value(), Value::Object(self.stage_times.clone()));
        let cancelled = transaction(move || -> Result<bool, String> {
            executions::set_progress(id, &stage, &progress, &times).map_err(|e| e.to_string())?;
            executions::should_stop(id).map_err(|e| e.to_string())
        })??;
        if cancelled || crate::postgres::stop::stopping() {
            return Err(if cancelled {
                Stop::Cancelled
            } else {
                Stop::Failed("the server is shutting down; the execution was stopped".into())
            });
        }
        Ok(())
    }

    /// Records rows done / total of a load step (published by the next `publish`).
    fn set_step_progress(&mut self, step: &str, done: u64, total: u64) {
        let steps = self.progress.entry("steps").or_insert_with(|| json!({}));
        if let Some(map) = steps.as_object_mut() {
            map.insert(step.to_owned(), json!({"done": done, "total": total}));
        }
    }

    /// Records rows done / total of a scope (published by the next `publish`).
    fn set_scope_progress(&mut self, scope: &str, done: u64, total: u64) {
        let scopes = self.progress.entry("scopes").or_insert_with(|| json!({}));
        if let Some(map) = scopes.as_object_mut() {
            map.insert(scope.to_owned(), json!({"done": done, "total": total}));
        }
    }
}

/// Runs execution `id` to its end. Never raises: every failure is recorded.
pub fn run(id: i64) {
    let claimed = match transaction(move || executions::load(id)) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return fail_early(id, &e.to_string()),
        Err(e) => return fail_early(id, &e),
    };
    if claimed.status != "running" {
        return; // cancelled between claim and start
    }
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
    let mut ex = Execution {
        claimed,
        doc,
        dir,
        stage: String::new(),
        stage_started: Instant::now(),
        stage_times: Map::new(),
        progress: Map::new(),
        counts: Map::new(),
        warnings: Vec::new(),
        engine_version: None,
    };
    let result = pipeline(&mut ex);
    finish(&mut ex, result);
    workdir::remove(id);
}

/// Marks an execution failed before its pipeline could start.
fn fail_early(id: i64, message: &str) {
    log!("smartconnector: execution {id} failed: {message}");
    let end = Ending {
        status: "failed",
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
    ex.enter("input")?;
    let input = write_input(ex)?;
    ex.enter("reference")?;
    let reference = reference::read_all(&ex.doc.reference, &ex.claimed.run_as, &ex.dir)?;
    ex.enter("sql")?;
    let manifest = sql_stage::run(ex, input, reference)?;
    ex.engine_version = Some(manifest.engine_version.clone());
    ex.warnings.extend(manifest.warnings.iter().cloned());
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
        })
        .collect();
    for t in &tables {
        ex.set_scope_progress(&t.name, 0, t.rows);
    }
    // Packaging the SQL output is pure Rust: it runs on a thread of its own
    // while this one loads (not while it validates, which already shares the
    // machine with the report's thread), and is stored after the load steps.
    let zip_path = ex.dir.join("sql_output.zip");
    let package = |tables: &[OutputTable]| {
        let (tables, path) = (tables.to_vec(), zip_path.clone());
        Background::spawn("sql_output", move || sc_core::artifacts::write_sql_output_zip(&tables, &path))
    };
    ex.enter("variables")?;
    let report_path = ex.dir.join("report.xlsx");
    let writer = ReportWriter::create_with(
        &report_path,
        sc_core::report::ReportOptions { temp_dir: Some(ex.dir.clone()), ..Default::default() },
    )
    .map_err(|e| e.to_string())?;
    // Report rows are written on a thread of their own, while this one
    // validates and loads (the thread inherits the blocked signals).
    let mut report = signals_blocked(|| ReportThread::start(writer)).map_err(|e| e.to_string())?;
    let ctx = sc_core::types::Context::from_settings(&ex.doc.settings)?;
    let vars = ex.doc.variables.clone();
    let mut observer = RowsObserver::new(ex);
    let result = sc_core::stage::run(&vars, &tables, &ctx, &mut report, &mut observer);
    let flushed = observer.finish();
    let counts = match result {
        Ok(c) => c,
        Err(StageError::Stopped) => {
            return Err(match flushed {
                Err(e) => Stop::Failed(e),
                Ok(()) => observer_stop(ex),
            })
        }
        Err(e) => {
            // A run that fails validation (say, a variable naming a column the
            // SQL does not produce) keeps its SQL output, which shows why.
            if let Ok(packaging) = package(&tables) {
                let _ = store_sql_output(ex, packaging, &zip_path);
            }
            return Err(Stop::Failed(e.to_string()));
        }
    };
    flushed?;
    let packaging = package(&tables)?;
    for c in &counts {
        ex.counts.insert(
            format!("variables ({})", c.scope),
            json!({"valid": c.valid, "invalid": c.invalid, "with_warnings": c.with_warnings}),
        );
    }
    let scopes: Vec<load_stage::ScopeValues> = counts
        .iter()
        .zip(&tables)
        .map(|(c, t)| load_stage::ScopeValues {
            name: c.scope.clone(),
            variables: c.variables.clone(),
            rows: c.rows,
            path: t.values_path.clone().unwrap_or_default(),
        })
        .collect();
    let loaded = match load_stage::run(ex, &scopes, &mut report) {
        Ok(loaded) => loaded,
        Err(Stop::Failed(e)) => {
            // A failed load step (not a cancel) still keeps the SQL output.
            let _ = store_sql_output(ex, packaging, &zip_path);
            return Err(Stop::Failed(e));
        }
        Err(stop) => return Err(stop),
    };
    ex.enter("sql_output")?;
    store_sql_output(ex, packaging, &zip_path)?;
    // The report is saved (its Summary, then compression) while the diff
    // store runs; its Summary therefore lists the times of the stages so far.
    let status = final_status(ex, &counts);
    let saving = report.finish(summary_facts(ex, status, None), summary_counts(ex)).map_err(|e| e.to_string())?;
    load_stage::remember(ex, &scopes, &loaded)?;
    ex.enter("report")?;
    saving.wait().map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&report_path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_ARTIFACT {
        // The rows are loaded; a report too big to keep must not turn that into a failure.
        ex.warnings.push(format!(
            "the full report ({size} bytes) is larger than the {MAX_ARTIFACT} bytes that can be stored; \
             this Summary is kept instead (per-row outcomes are in sc.execution_rows)"
        ));
        store_summary_report(ex, status, None);
    } else {
        store_file(ex.claimed.id, "report", "report.xlsx", &report_path)?;
    }
    Ok(counts)
}

/// Writes and stores a report with only the Summary sheet (best effort).
fn store_summary_report(ex: &Execution, status: &str, error: Option<&str>) {
    let path = ex.dir.join("report-summary.xlsx");
    let written = ReportWriter::create(&path).and_then(|mut r| {
        r.summary(&summary_facts(ex, status, error), &summary_counts(ex))?;
        r.finish()
    });
    if written.is_ok() {
        let _ = store_file(ex.claimed.id, "report", "report.xlsx", &path);
    }
}

/// Why the observer stopped the stage: a cancel or a shutdown.
fn observer_stop(ex: &mut Execution) -> Stop {
    match ex.publish() {
        Err(stop) => stop,
        Ok(()) => Stop::Failed("the variables stage stopped unexpectedly".into()),
    }
}

/// `partial_success` when some row failed validation or a load step.
fn final_status(ex: &Execution, counts: &[ScopeCounts]) -> &'static str {
    let step_failed = ex
        .doc
        .load_steps
        .iter()
        .any(|s| ex.counts.get(&s.name).and_then(|c| c.get("failed")).and_then(Value::as_u64).unwrap_or(0) > 0);
    if step_failed || counts.iter().any(|c| c.invalid > 0) {
        "partial_success"
    } else {
        "succeeded"
    }
}

/// Copies the stored input file into the execution directory, a slice at a
/// time (each in its own transaction), so the worker never holds it whole.
fn write_input(ex: &mut Execution) -> Result<Option<(PathBuf, String)>, Stop> {
    let id = ex.claimed.id;
    let Some((name, parts)) = transaction(move || executions::file_parts(id, "input"))?.map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let input_dir = ex.dir.join("input");
    std::fs::create_dir_all(&input_dir).map_err(|e| format!("cannot create {}: {e}", input_dir.display()))?;
    // The stored name is the user's file name; only its last component is used on disk.
    let safe = Path::new(&name).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "input".into());
    let path = input_dir.join(&safe);
    let mut file = std::fs::File::create(&path).map_err(|e| format!("cannot write the input file: {e}"))?;
    for (part, size) in parts {
        let mut offset = 0i64;
        while offset < size {
            let len = (size - offset).min(PART as i64);
            let file_name = name.clone();
            let bytes = transaction(move || executions::read_slice(id, "input", &file_name, part, offset, len))?
                .map_err(|e| e.to_string())?;
            if bytes.is_empty() {
                break;
            }
            std::io::Write::write_all(&mut file, &bytes).map_err(|e| format!("cannot write the input file: {e}"))?;
            offset += bytes.len() as i64;
        }
    }
    Ok(Some((path, name)))
}

/// Waits for the SQL output's packaging and stores it.
fn store_sql_output(ex: &mut Execution, packaging: Background<std::io::Result<u64>>, path: &Path) -> Result<(), Stop> {
    let size = packaging.join()?.map_err(|e| format!("cannot package the SQL output: {e}"))?;
    if size > MAX_ARTIFACT {
        ex.warnings
            .push(format!("the SQL output ({size} bytes zipped) is too large to keep; the report still shows it"));
        return Ok(());
    }
    store_file(ex.claimed.id, "sql_output", "sql_output.zip", path)
}

/// Stores a file of the execution directory as an artifact, in parts of
/// [`PART`] bytes, each part in its own transaction: memory stays at one part.
fn store_file(id: i64, kind: &'static str, name: &'static str, path: &Path) -> Result<(), Stop> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_ARTIFACT {
        return Err(Stop::Failed(format!("the {kind} is {size} bytes, more than can be stored")));
    }
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    transaction(move || executions::drop_file(id, kind, name))?.map_err(|e| e.to_string())?;
    let mut part = 0i32;
    loop {
        let mut buf = Vec::with_capacity(PART);
        std::io::Read::take(&mut file, PART as u64)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if buf.is_empty() && part > 0 {
            break;
        }
        let last = buf.len() < PART;
        transaction(move || executions::store_part(id, kind, name, part, &buf))?
            .map_err(|e| Stop::Failed(e.to_string()))?;
        part += 1;
        if last {
            break;
        }
    }
    Ok(())
}

fn summary_facts(ex: &Execution, status: &str, error: Option<&str>) -> Vec<(String, String)> {
    let c = &ex.claimed;
    let mut facts = vec![
        ("Execution".to_string(), c.id.to_string()),
        ("Connector".into(), c.api_name.clone()),
        ("Status".into(), status.to_owned()),
        ("Trigger".into(), c.trigger.clone()),
        ("Run as".into(), c.run_as.clone()),
        ("Dry run".into(), c.dry_run.to_string()),
        ("Input file".into(), c.file_name.clone().unwrap_or_default()),
        ("Queued at".into(), c.queued_at.clone().unwrap_or_default()),
        ("Engine version".into(), ex.engine_version.clone().unwrap_or_default()),
    ];
    for (stage, ms) in &ex.stage_times {
        facts.push((format!("Time: {stage} (ms)"), ms.to_string()));
    }
    if let Some(e) = error {
        facts.push(("Error".into(), e.to_owned()));
    }
    for w in &ex.warnings {
        facts.push(("Warning".into(), w.clone()));
    }
    facts
}

/// (step, outcome, rows) for the Summary: variables per scope, then each load step.
fn summary_counts(ex: &Execution) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for (step, outcomes) in &ex.counts {
        if let Some(map) = outcomes.as_object() {
            for (outcome, n) in map {
                out.push((step.clone(), outcome.clone(), n.as_u64().unwrap_or(0)));
            }
        }
    }
    out
}

/// Records the end; a failed or cancelled run still gets a Summary-only report.
fn finish(ex: &mut Execution, result: Result<Vec<ScopeCounts>, Stop>) {
    ex.close_stage();
    ex.stage = "done".into();
    let (status, error) = match &result {
        Ok(counts) => (final_status(ex, counts), None),
        Err(Stop::Cancelled) => ("cancelled", Some("cancelled by sc_cancel".to_string())),
        Err(Stop::Failed(m)) => ("failed", Some(m.clone())),
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
    let counts = Value::Object(ex.counts.clone());
    let progress = ex.progress_value();
    let times = Value::Object(ex.stage_times.clone());
    let channel = ex.doc.settings.notify_channel.clone();
    let payload = json!({
        "execution_id": id, "connector": ex.claimed.api_name, "status": status,
        "error": error.as_deref().map(|e| e.chars().take(2000).collect::<String>()),
    })
    .to_string();
    let recorded = transaction(move || -> Result<(), String> {
        if let Some(v) = &version {
            executions::set_engine_version(id, v).map_err(|e| e.to_string())?;
        }
        let end = Ending { status, error: error.as_deref(), counts: &counts, progress: &progress, stage_times: &times };
        executions::finish(id, &end).map_err(|e| e.to_string())?;
        match &channel {
            Some(channel) => executions::notify(channel, &payload).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    });
    match recorded {
        Ok(Ok(())) => {}
        Ok(Err(e)) | Err(e) => warning!("smartconnector: execution {id} ended but could not be recorded: {e}"),
    }
}
