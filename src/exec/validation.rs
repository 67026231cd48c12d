//! The variables stage on a thread of its own, so that load steps start on
//! the first validated rows while the rest are still being validated.
//!
//! The thread runs the pure-Rust stage (`sc_core::stage`), writes each
//! scope's values and hashes files, and sends its rows' report cells through
//! a [`ReportProducer`]. Then it packages the SQL output (`sql_output.zip`),
//! while the worker's thread is still loading. It touches nothing of
//! PostgreSQL. What needs the database comes back to the worker's thread
//! as events:
//!
//! * the outcome of every row with an error or a warning, recorded in
//!   `sc.execution_rows` (step `''`) in batches; clean rows are counted, and
//!   their values are in the report;
//! * progress per scope: rows validated *and flushed to the values file*,
//!   which is how far a load step may read ([`Validation::available`]).
//!
//! Scopes are validated one after the other, in the order the load steps
//! use them. A worker that stops early (cancel, failure) drops the
//! [`Validation`], which tells the thread to stop at its next progress
//! report; nobody waits for it.
use super::{Execution, Stop};
use crate::catalog::executions::{self, RowRecord};
use crate::runner::background::Background;
use crate::runner::tx;
use sc_core::report::ReportProducer;
use sc_core::stage::{Flow, Observer, OutputTable, Prepared, RowOutcome, ScopeCounts, StageError};
use sc_core::types::Context;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Row outcomes written per statement.
const BATCH: usize = 5_000;
/// Events the thread may send ahead of the worker before it waits.
const EVENTS_IN_FLIGHT: usize = 20_000;
/// Least time between two progress commits while waiting.
const PUBLISH_EVERY: Duration = Duration::from_millis(500);

enum Event {
    Row(RowRecord),
    /// Rows of a scope validated and flushed, of its total.
    Progress(String, u64, u64),
    /// Validation is over (the thread goes on packaging the SQL output); how long it took.
    Validated(Duration),
}

/// What the thread ends with: the counts per scope, and the packaged SQL
/// output's size (or why it could not be written).
type Outcome = (Result<Vec<ScopeCounts>, StageError>, std::io::Result<u64>);

/// The thread's side: sends events, stops when told to.
struct Events {
    sender: SyncSender<Event>,
    stop: Arc<AtomicBool>,
}

impl Observer for Events {
    fn row(&mut self, o: &RowOutcome<'_>) -> Result<(), String> {
        if o.valid && o.warnings.is_empty() {
            return Ok(());
        }
        let record = RowRecord {
            scope: o.scope.to_owned(),
            step: String::new(),
            row_number: o.row_number as i64,
            outcome: if o.valid { "valid" } else { "invalid" },
            record_id: None,
            errors: o.errors.to_vec(),
            warnings: o.warnings.to_vec(),
        };
        self.sender.send(Event::Row(record)).map_err(|_| "the worker stopped listening".to_string())
    }

    fn progress(&mut self, scope: &str, done: u64, total: u64) -> Flow {
        let listening = self.sender.send(Event::Progress(scope.to_owned(), done, total)).is_ok();
        if !listening || self.stop.load(Ordering::Relaxed) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// The worker's side of the variables stage.
pub struct Validation {
    thread: Option<Background<Outcome>>,
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    /// Rows validated and flushed, per scope that has reported any.
    done: HashMap<String, u64>,
    totals: HashMap<String, u64>,
    batch: Vec<RowRecord>,
    last_publish: Instant,
    /// Set once validation is over (or the thread is gone).
    took: Option<Duration>,
    gone: bool,
    /// What the thread ended with, once joined.
    ended: Option<Outcome>,
}

impl Drop for Validation {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Validation {
    /// Starts validating `tables` (prepared with their sheets begun) on a
    /// thread; the SQL output is packaged to `zip` after it.
    pub fn start(
        prepared: Prepared,
        tables: Vec<OutputTable>,
        ctx: Context,
        mut report: ReportProducer,
        zip: PathBuf,
    ) -> Result<Validation, Stop> {
        let (sender, events) = sync_channel(EVENTS_IN_FLIGHT);
        let stop = Arc::new(AtomicBool::new(false));
        let totals = tables.iter().map(|t| (t.name.clone(), t.rows)).collect();
        let mut observer = Events { sender, stop: stop.clone() };
        let thread = Background::spawn("variables", move || -> Outcome {
            let started = Instant::now();
            let mut counts = prepared.run(&tables, &ctx, &mut report, &mut observer);
            if let (Ok(_), Err(e)) = (&counts, report.flush()) {
                counts = Err(StageError::Report(e));
            }
            let _ = observer.sender.send(Event::Validated(started.elapsed()));
            if matches!(counts, Err(StageError::Stopped)) {
                return (counts, Ok(0));
            }
            (counts, sc_core::artifacts::write_sql_output_zip(&tables, &zip))
        })?;
        Ok(Validation {
            thread: Some(thread),
            events,
            stop,
            done: HashMap::new(),
            totals,
            batch: Vec::with_capacity(BATCH),
            last_publish: Instant::now(),
            took: None,
            gone: false,
            ended: None,
        })
    }

    fn handle(&mut self, ex: &mut Execution, event: Event) -> Result<(), Stop> {
        match event {
            Event::Row(record) => {
                self.batch.push(record);
                if self.batch.len() >= BATCH {
                    self.record_rows(ex)?;
                }
            }
            Event::Progress(scope, done, total) => {
                ex.set_scope_progress(&scope, done, total);
                self.done.insert(scope, done);
            }
            Event::Validated(took) => self.took = Some(took),
        }
        Ok(())
    }

    /// Handles what the thread has sent, without waiting.
    fn pump(&mut self, ex: &mut Execution) -> Result<(), Stop> {
        while let Ok(event) = self.events.try_recv() {
            self.handle(ex, event)?;
        }
        Ok(())
    }

    /// Waits up to a moment for the next event; commits progress (and so
    /// notices a cancel) every [`PUBLISH_EVERY`].
    fn wait(&mut self, ex: &mut Execution) -> Result<(), Stop> {
        match self.events.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => self.handle(ex, event)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.gone = true,
        }
        if self.last_publish.elapsed() >= PUBLISH_EVERY {
            self.last_publish = Instant::now();
            self.record_rows(ex)?;
            ex.publish()?;
        }
        Ok(())
    }

    fn record_rows(&mut self, ex: &mut Execution) -> Result<(), Stop> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let id = ex.claimed.id;
        let batch = std::mem::take(&mut self.batch);
        tx(move || executions::insert_rows(id, &batch))?
            .map_err(|e| Stop::Failed(format!("cannot record row outcomes: {e}")))
    }

    /// Waits until `rows` rows of `scope` are validated and flushed, or the
    /// whole scope is; returns how many are. Fails with the stage's error
    /// if validation ended without them.
    pub fn available(&mut self, ex: &mut Execution, scope: &str, rows: u64) -> Result<u64, Stop> {
        let total = self.totals.get(scope).copied().unwrap_or(0);
        loop {
            self.pump(ex)?;
            // A scope that reported nothing yet may not have its values file.
            if let Some(&done) = self.done.get(scope) {
                if done >= rows.min(total) {
                    return Ok(done);
                }
            }
            if self.gone {
                if let (Err(e), _) = self.ended()? {
                    return Err(Stop::Failed(e.to_string()));
                }
                return Err(Stop::Failed(format!("the variables stage ended without validating scope \"{scope}\"")));
            }
            self.wait(ex)?;
        }
    }

    /// Waits for the thread's end: its counts per scope, the packaged SQL
    /// output, and how long validation itself took.
    pub fn finish(mut self, ex: &mut Execution) -> Result<(Outcome, Duration), Stop> {
        while !self.gone {
            self.wait(ex)?;
        }
        self.pump(ex)?;
        self.record_rows(ex)?;
        let took = self.took.unwrap_or_default();
        self.ended()?;
        let ended = self.ended.take().ok_or_else(|| Stop::Failed("the variables stage ended twice".into()))?;
        Ok((ended, took))
    }

    /// What the thread ended with (joined once, then kept).
    fn ended(&mut self) -> Result<&Outcome, Stop> {
        if self.ended.is_none() {
            let thread = self.thread.take().ok_or_else(|| Stop::Failed("the variables stage ended twice".into()))?;
            self.ended = Some(thread.join()?);
        }
        self.ended.as_ref().ok_or_else(|| Stop::Failed("the variables stage ended twice".into()))
    }
}
