//! Rows of `sc.webhook_events`: live webhook connectors with pending calls,
//! cutting those calls into the batch one execution processes, and reading
//! a batch back.
use super::executions::{self, NewExecution};
use crate::error::ScResult;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// A live webhook connector with pending calls and no webhook execution
/// queued or running; its row is locked until the transaction ends.
pub struct Pending {
    pub connector_id: i64,
    pub api_name: String,
    pub document: Value,
    pub owner: String,
    /// Seconds since its last webhook execution was queued (`None`: never).
    pub since_last_s: Option<f64>,
}

/// Every connector that could get a batch now.
pub fn pending() -> ScResult<Vec<Pending>> {
    Spi::connect_mut(|client| {
        let rows = client.update(
            "SELECT c.id, c.api_name, c.document, c.owner::text,
                    (SELECT extract(epoch FROM now() - max(x.queued_at))::float8 FROM sc.executions x
                      WHERE x.connector_id = c.id AND x.trigger = 'webhook')
               FROM sc.connectors c
              WHERE c.type = 'webhook' AND c.status IN ('operational', 'needs_attention')
                AND EXISTS (SELECT FROM sc.webhook_events e
                             WHERE e.connector_id = c.id AND e.execution_id IS NULL AND NOT e.sample)
                AND NOT EXISTS (SELECT FROM sc.executions x WHERE x.connector_id = c.id AND x.trigger = 'webhook'
                                   AND x.status IN ('queued', 'running'))
              ORDER BY c.id
                FOR UPDATE OF c SKIP LOCKED",
            None,
            &[],
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(Pending {
                connector_id: row.get(1)?.unwrap_or(0),
                api_name: row.get(2)?.unwrap_or_default(),
                document: row.get::<JsonB>(3)?.map(|j| j.0).unwrap_or(Value::Null),
                owner: row.get(4)?.unwrap_or_default(),
                since_last_s: row.get(5)?,
            });
        }
        Ok(out)
    })
}

/// Queues an execution of `p` (trigger `webhook`) and attaches to it the
/// oldest `max_calls` pending calls, skipping any a concurrent transaction
/// holds. Its id, or `None` (and no execution) when no call was free.
pub fn cut_batch(p: &Pending, max_calls: i64) -> ScResult<Option<i64>> {
    let id = executions::insert(&NewExecution {
        connector_id: p.connector_id,
        api_name: &p.api_name,
        definition: &p.document,
        trigger: "webhook",
        started_by: "sc_webhook",
        run_as: &p.owner,
        dry_run: false,
        diff_check: None,
        params: None,
        file_name: None,
        file_size: None,
        fired_at: None,
        rerun_of: None,
        only_failed: false,
    })?;
    let attached = Spi::get_one_with_args::<i64>(
        "WITH batch AS (
             UPDATE sc.webhook_events SET execution_id = $1
              WHERE id IN (SELECT id FROM sc.webhook_events
                            WHERE connector_id = $2 AND execution_id IS NULL AND NOT sample
                            ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING 1)
         SELECT count(*) FROM batch",
        &[id.into(), p.connector_id.into(), max_calls.into()],
    )?
    .unwrap_or(0);
    if attached == 0 {
        Spi::run_with_args("DELETE FROM sc.executions WHERE id = $1", &[id.into()])?;
        return Ok(None);
    }
    Ok(Some(id))
}

/// One stored call, every field as text.
pub struct Call {
    pub id: i64,
    /// `received_at` in UTC, ISO 8601 with microseconds.
    pub timestamp: String,
    pub sender: String,
    pub querystring: Option<String>,
    pub headers: Option<String>,
    pub body: String,
}

/// Up to `limit` calls of execution `execution_id` after call `after`, in arrival order.
pub fn batch(execution_id: i64, after: i64, limit: i64) -> ScResult<Vec<Call>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT id, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), sender, querystring,
                    headers::text, body
               FROM sc.webhook_events WHERE execution_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            None,
            &[execution_id.into(), after.into(), limit.into()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(Call {
                id: row.get(1)?.unwrap_or(0),
                timestamp: row.get(2)?.unwrap_or_default(),
                sender: row.get(3)?.unwrap_or_default(),
                querystring: row.get(4)?,
                headers: row.get(5)?,
                body: row.get(6)?.unwrap_or_default(),
            });
        }
        Ok(out)
    })
}

/// Whether execution `execution_id` has webhook calls (its batch).
pub fn has_batch(execution_id: i64) -> ScResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM sc.webhook_events WHERE execution_id = $1)",
        &[execution_id.into()],
    )?
    .unwrap_or(false))
}
