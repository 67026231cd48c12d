//! The running state of one execution: its stage and the time each took,
//! progress and counts as typed values, warnings, and how it stopped early.
//! Published to `sc.executions` as JSON only when committed.
use crate::catalog::executions::{self, Claimed};
use crate::error::ScError;
use crate::postgres::transaction;
use sc_core::document::ConnectorDocument;
use sc_core::execution::Stage;
use sc_core::load::RowOutcome;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// How a pipeline stopped early: the worker's error type.
#[derive(Debug)]
pub enum Stop {
    /// The run failed; the message is for the user.
    Failed(String),
    /// `sc_cancel` asked it to stop.
    Cancelled,
}

impl From<String> for Stop {
    fn from(m: String) -> Self {
        Stop::Failed(m)
    }
}

impl From<ScError> for Stop {
    fn from(e: ScError) -> Self {
        Stop::Failed(e.to_string())
    }
}

impl From<sc_core::report::ReportError> for Stop {
    fn from(e: sc_core::report::ReportError) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// Rows done of rows in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Done {
    pub done: u64,
    pub total: u64,
}

/// Progress of the current stage, per scope (variables) and per load step,
/// and the engine's own report while the SQL stage runs.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub engine: Option<Value>,
    pub scopes: BTreeMap<String, Done>,
    pub steps: BTreeMap<String, Done>,
}

impl Progress {
    /// `{"engine": …, "scopes": {name: {done, total}}, "steps": {…}}`, empty parts left out.
    pub fn to_value(&self) -> Value {
        let part = |m: &BTreeMap<String, Done>| -> Value {
            m.iter().map(|(k, d)| (k.clone(), json!({"done": d.done, "total": d.total}))).collect::<Map<_, _>>().into()
        };
        let mut out = Map::new();
        if let Some(e) = &self.engine {
            out.insert("engine".into(), e.clone());
        }
        if !self.scopes.is_empty() {
            out.insert("scopes".into(), part(&self.scopes));
        }
        if !self.steps.is_empty() {
            out.insert("steps".into(), part(&self.steps));
        }
        Value::Object(out)
    }
}

/// Rows of one scope after validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VariableCounts {
    pub valid: u64,
    pub invalid: u64,
    pub with_warnings: u64,
    /// Rows an earlier run loaded (diff check): counted, not validated.
    pub unchanged: u64,
}

/// Rows per scope (variables stage) and per load step and outcome.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub variables: BTreeMap<String, VariableCounts>,
    pub steps: BTreeMap<String, BTreeMap<RowOutcome, u64>>,
}

impl Counts {
    /// Rows of `step` with `outcome`.
    pub fn of(&self, step: &str, outcome: RowOutcome) -> u64 {
        self.steps.get(step).and_then(|m| m.get(&outcome)).copied().unwrap_or(0)
    }

    /// (step, outcome, rows) in the stored order: by step name (variables as
    /// `variables (<scope>)`), then by outcome name; every load outcome listed.
    pub fn rows(&self) -> Vec<(String, String, u64)> {
        let mut groups: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
        for (scope, c) in &self.variables {
            groups.insert(
                format!("variables ({scope})"),
                vec![
                    ("invalid".into(), c.invalid),
                    ("unchanged".into(), c.unchanged),
                    ("valid".into(), c.valid),
                    ("with_warnings".into(), c.with_warnings),
                ],
            );
        }
        for (step, outcomes) in &self.steps {
            let mut list: Vec<(String, u64)> = RowOutcome::LOAD
                .into_iter()
                .map(|o| (o.as_str().to_owned(), outcomes.get(&o).copied().unwrap_or(0)))
                .collect();
            list.sort();
            groups.insert(step.clone(), list);
        }
        groups.into_iter().flat_map(|(step, list)| list.into_iter().map(move |(o, n)| (step.clone(), o, n))).collect()
    }

    /// `{step: {outcome: rows}}` as stored in `sc.executions.counts`.
    pub fn to_value(&self) -> Value {
        let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for (step, outcome, n) in self.rows() {
            out.entry(step).or_default().insert(outcome, json!(n));
        }
        Value::Object(out.into_iter().map(|(k, v)| (k, Value::Object(v))).collect())
    }
}

/// The running state of one execution, published as it changes.
pub struct Execution {
    pub claimed: Claimed,
    pub doc: ConnectorDocument,
    pub dir: PathBuf,
    pub stage: Option<Stage>,
    stage_started: Instant,
    /// Milliseconds per stage name.
    pub stage_times: Map<String, Value>,
    /// The same, in the order the stages ran (the report lists them so).
    pub stage_log: Vec<(String, u64)>,
    /// When the worker took the execution up.
    pub started_wall: std::time::SystemTime,
    /// What the input was, when no file says it (a webhook batch).
    pub input_note: Option<String>,
    pub progress: Progress,
    pub counts: Counts,
    pub warnings: Vec<String>,
    pub engine_version: Option<String>,
}

impl Execution {
    pub fn new(claimed: Claimed, doc: ConnectorDocument, dir: PathBuf) -> Self {
        Execution {
            claimed,
            doc,
            dir,
            stage: None,
            stage_started: Instant::now(),
            stage_times: Map::new(),
            stage_log: Vec::new(),
            started_wall: std::time::SystemTime::now(),
            input_note: None,
            progress: Progress::default(),
            counts: Counts::default(),
            warnings: Vec::new(),
            engine_version: None,
        }
    }

    /// Enters `stage`, recording the time of the previous one, and publishes it.
    /// The progress of a stage that has ended is dropped (its counts stay).
    pub fn enter(&mut self, stage: Stage) -> Result<(), Stop> {
        self.enter_unpublished(stage);
        self.publish()
    }

    /// [`Execution::enter`] inside a transaction of the pipeline's own (a dry
    /// run's load): nothing is written; a cancel is checked.
    pub fn enter_in_transaction(&mut self, stage: Stage) -> Result<(), Stop> {
        self.enter_unpublished(stage);
        self.check_stop_in_transaction()
    }

    fn enter_unpublished(&mut self, stage: Stage) {
        match &self.stage {
            Some(Stage::Sql) => self.progress.engine = None,
            Some(Stage::Variables) => self.progress.scopes.clear(),
            Some(Stage::Load(step)) => {
                self.progress.steps.remove(step);
            }
            _ => {}
        }
        self.close_stage();
        self.stage = Some(stage);
        self.stage_started = Instant::now();
    }

    /// Inside a transaction of the pipeline's own: `Stop::Cancelled` when a
    /// cancel is pending (progress is published once it has ended).
    pub fn check_stop_in_transaction(&self) -> Result<(), Stop> {
        if executions::should_stop(self.claimed.id)? {
            return Err(Stop::Cancelled);
        }
        if crate::postgres::stop::stopping() {
            return Err(Stop::Failed("the server is shutting down; the execution was stopped".into()));
        }
        Ok(())
    }

    /// Records the time of the current stage; the execution is then done.
    pub fn close_stage(&mut self) {
        if let Some(stage) = self.stage.take().filter(|s| *s != Stage::Done) {
            let ms = self.stage_started.elapsed().as_millis() as u64;
            self.stage_times.insert(stage.name(), json!(ms));
            self.stage_log.push((stage.name(), ms));
        }
        self.stage = Some(Stage::Done);
    }

    fn stage_name(&self) -> String {
        self.stage.as_ref().map(Stage::name).unwrap_or_default()
    }

    /// Commits stage and progress; fails with `Stop::Cancelled` when a cancel is pending.
    pub fn publish(&mut self) -> Result<(), Stop> {
        let (id, stage, progress, times) =
            (self.claimed.id, self.stage_name(), self.progress.to_value(), Value::Object(self.stage_times.clone()));
        let cancelled = transaction(move || -> Result<bool, ScError> {
            executions::set_progress(id, &stage, &progress, &times)?;
            executions::should_stop(id)
        })??;
        if cancelled {
            return Err(Stop::Cancelled);
        }
        if crate::postgres::stop::stopping() {
            return Err(Stop::Failed("the server is shutting down; the execution was stopped".into()));
        }
        Ok(())
    }

    /// Records rows done / total of a load step (published by the next `publish`).
    pub fn set_step_progress(&mut self, step: &str, done: u64, total: u64) {
        self.progress.steps.insert(step.to_owned(), Done { done, total });
    }

    /// Records rows done / total of a scope (published by the next `publish`).
    pub fn set_scope_progress(&mut self, scope: &str, done: u64, total: u64) {
        self.progress.scopes.insert(scope.to_owned(), Done { done, total });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_stored_as_before() {
        let mut c = Counts::default();
        c.variables.insert("items".into(), VariableCounts { valid: 3, invalid: 1, with_warnings: 2, unchanged: 5 });
        c.steps.insert("vendors".into(), [(RowOutcome::Created, 2), (RowOutcome::Failed, 1)].into());
        assert_eq!(
            c.to_value(),
            json!({
                "variables (items)": {"valid": 3, "invalid": 1, "with_warnings": 2, "unchanged": 5},
                "vendors": {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 1}
            })
        );
        assert_eq!(c.rows()[0], ("variables (items)".to_string(), "invalid".to_string(), 1));
        assert_eq!(c.rows()[4], ("vendors".to_string(), "created".to_string(), 2));
        assert_eq!(c.of("vendors", RowOutcome::Failed), 1);
        assert_eq!(c.of("nope", RowOutcome::Failed), 0);
    }

    #[test]
    fn progress_is_stored_as_before() {
        let mut p = Progress::default();
        assert_eq!(p.to_value(), json!({}));
        p.scopes.insert("items".into(), Done { done: 1, total: 5 });
        p.steps.insert("vendors".into(), Done { done: 0, total: 5 });
        assert_eq!(
            p.to_value(),
            json!({"scopes": {"items": {"done": 1, "total": 5}}, "steps": {"vendors": {"done": 0, "total": 5}}})
        );
    }
}
