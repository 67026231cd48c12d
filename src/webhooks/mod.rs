//! Webhook connectors (SPEC §9): pending calls become a batch on each
//! connector's cadence (the launcher cuts it, in the same transaction that
//! queues the execution, so a call belongs to exactly one execution), and
//! the worker writes its batch as the input table `input.webhooks_raw` (the
//! engine adds the typed `input.webhooks`). Ingest itself is SQL:
//! `sql/webhooks.sql`, exposed through PostgREST (docs/webhooks.md).
pub mod endpoints;

use crate::catalog::webhook_calls::{self, Call};
use crate::error::ScResult;
use crate::postgres::transaction;
use sc_core::document::parse_document;
use sc_core::input::TableMeta;
use sc_core::rowbinary::RowBinaryWriter;
use std::path::Path;

/// The columns of `input.webhooks_raw` (all strings), in order.
pub const COLUMNS: [&str; 5] = ["timestamp", "sender", "querystring", "headers", "body"];

/// The input table's name and file.
const TABLE: &str = "webhooks_raw";
const FILE: &str = "input_webhooks.rowbinary";

/// Calls read per transaction while writing a batch.
const PAGE: i64 = 1_000;

/// Queues one execution for every live webhook connector whose cadence has
/// passed since its last batch and that has pending calls; returns their
/// ids. Runs inside the caller's transaction.
pub fn cut_due_batches() -> ScResult<Vec<i64>> {
    let mut queued = Vec::new();
    for p in webhook_calls::pending()? {
        // A document that no longer parses is refused by its run, which says why.
        let settings = parse_document(&p.document).map(|d| d.settings).unwrap_or_default();
        let due = p.since_last_s.is_none_or(|s| s >= settings.cadence_s() as f64);
        if due {
            if let Some(id) = webhook_calls::cut_batch(&p, i64::from(settings.max_batch_calls()))? {
                queued.push(id);
            }
        }
    }
    Ok(queued)
}

/// Writes the batch of execution `id` into `dir` as the input table, a page
/// of calls per transaction; its description for the engine.
pub fn write_batch(id: i64, dir: &Path) -> Result<TableMeta, String> {
    let path = dir.join(FILE);
    let file = std::fs::File::create(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let mut w = RowBinaryWriter::new(std::io::BufWriter::new(file), COLUMNS.len());
    let mut after = 0i64;
    let mut rows = 0u64;
    loop {
        let page: Vec<Call> = transaction(move || webhook_calls::batch(id, after, PAGE))?.map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for c in &page {
            let row = [
                Some(c.timestamp.as_str()),
                Some(c.sender.as_str()),
                c.querystring.as_deref(),
                c.headers.as_deref(),
                Some(c.body.as_str()),
            ];
            w.write_row(&row).map_err(|e| format!("cannot write the webhook calls: {e}"))?;
            rows += 1;
        }
    }
    w.finish().map_err(|e| format!("cannot write the webhook calls: {e}"))?;
    if rows == 0 {
        return Err("the execution has no webhook calls (were they removed?)".into());
    }
    Ok(TableMeta {
        name: TABLE.into(),
        source: "webhook calls".into(),
        index: 0,
        columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows,
        file: FILE.into(),
        lines: false,
    })
}
