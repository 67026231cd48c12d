//! Receives the variables stage's row outcomes and progress: writes
//! `sc.execution_rows` in batches and publishes progress (which also
//! notices a cancel).
//!
//! Rows of the variables stage are recorded when they have something to
//! say (an error or a warning); a clean row is counted, and its values are
//! in the report. Load steps (next stage) record every row.
use super::Execution;
use crate::catalog::executions::{self, RowRecord};
use crate::postgres::transaction;
use sc_core::variables::{Flow, Observer, RowOutcome};
use std::time::{Duration, Instant};

/// Row outcomes written per statement.
const BATCH: usize = 5_000;
/// Least time between two progress commits.
const PUBLISH_EVERY: Duration = Duration::from_millis(500);

pub struct RowsObserver<'e> {
    ex: &'e mut Execution,
    batch: Vec<RowRecord>,
    last_publish: Instant,
    error: Option<String>,
}

impl<'e> RowsObserver<'e> {
    pub fn new(ex: &'e mut Execution) -> Self {
        RowsObserver { ex, batch: Vec::with_capacity(BATCH), last_publish: Instant::now(), error: None }
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let id = self.ex.claimed.id;
        let batch = std::mem::take(&mut self.batch);
        let r = transaction(move || executions::insert_rows(id, &batch)).and_then(|r| r.map_err(|e| e.to_string()));
        self.batch = Vec::with_capacity(BATCH);
        r.map_err(|e| format!("cannot record row outcomes: {e}"))
    }

    /// Writes what is left; the first error met, if any.
    pub fn finish(mut self) -> Result<(), String> {
        let flushed = self.flush();
        match self.error.take() {
            Some(e) => Err(e),
            None => flushed,
        }
    }
}

impl Observer for RowsObserver<'_> {
    fn row(&mut self, o: &RowOutcome<'_>) -> Result<(), String> {
        if o.valid && o.warnings.is_empty() {
            return Ok(());
        }
        self.batch.push(RowRecord {
            scope: o.scope.to_owned(),
            step: String::new(),
            row_number: o.row_number as i64,
            outcome: if o.valid { "valid" } else { "invalid" },
            record_id: None,
            errors: o.errors.to_vec(),
            warnings: o.warnings.to_vec(),
            match_key: None,
            source: o.source.map(str::to_owned),
            line: o.line,
        });
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn progress(&mut self, scope: &str, done: u64, total: u64) -> Flow {
        self.ex.set_scope_progress(scope, done, total);
        if done < total && self.last_publish.elapsed() < PUBLISH_EVERY {
            return Flow::Continue;
        }
        self.last_publish = Instant::now();
        if let Err(e) = self.flush() {
            self.error = Some(e);
            return Flow::Stop;
        }
        match self.ex.publish() {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }
}
