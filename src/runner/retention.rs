//! Retention in the launcher: once a day (and when `smartconnector.retention`
//! changes), ended executions older than the setting lose their files,
//! per-row outcomes and processed webhook calls (`sc.purge_batch`, see
//! sql/retention.sql). A batch is one short transaction; a round stops
//! after [`BUDGET`] and goes on at the next wake-up, so a large backlog
//! never delays starting executions.
use crate::postgres::transaction;
use pgrx::prelude::*;
use std::time::{Duration, Instant};

/// How often a purge round runs.
const EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// Most time one launcher wake-up spends purging.
const BUDGET: Duration = Duration::from_millis(500);
/// Executions per batch (per transaction).
const BATCH: i32 = 20;

/// When the launcher last purged, and with which setting.
#[derive(Default)]
pub struct Retention {
    last_round: Option<Instant>,
    setting: String,
    /// A round stopped at its budget with work left.
    unfinished: bool,
}

impl Retention {
    /// Purges what is due, within the budget.
    pub fn tick(&mut self) {
        let setting = crate::gucs::retention();
        let due = self.unfinished || self.setting != setting || self.last_round.is_none_or(|t| t.elapsed() >= EVERY);
        if !due {
            return;
        }
        if !self.unfinished {
            self.last_round = Some(Instant::now());
        }
        self.setting = setting.clone();
        self.unfinished = false;
        let started = Instant::now();
        let mut purged = 0i64;
        loop {
            let batch = transaction(|| {
                Spi::get_one_with_args::<i32>(
                    "SELECT sc.purge_batch(pg_catalog.now() - $1::interval, $2)",
                    &[setting.as_str().into(), BATCH.into()],
                )
            });
            match batch {
                Ok(Ok(Some(n))) if n > 0 => purged += i64::from(n),
                Ok(Ok(_)) => break,
                Ok(Err(e)) => {
                    warning!("smartconnector: retention (smartconnector.retention = '{setting}') failed: {e}");
                    break;
                }
                Err(e) => {
                    warning!("smartconnector: retention (smartconnector.retention = '{setting}') failed: {e}");
                    break;
                }
            }
            if started.elapsed() >= BUDGET {
                self.unfinished = true;
                break;
            }
        }
        if purged > 0 {
            log!("smartconnector: retention purged the files and row outcomes of {purged} execution(s)");
        }
    }
}
