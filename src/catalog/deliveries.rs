//! `sc.ended_webhook_deliveries`: the "execution ended" POSTs to send, and
//! what each attempt got.
use crate::error::ScResult;
use pgrx::prelude::*;

/// One delivery that is due.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub url: String,
    pub secret: Option<String>,
    pub body: String,
    pub attempts: i32,
}

/// Queues the POST announcing execution `execution_id`'s end (in the
/// transaction that records the end).
pub fn queue(execution_id: i64, url: &str, secret: Option<&str>, body: &str) -> ScResult<()> {
    Spi::run_with_args(
        "INSERT INTO sc.ended_webhook_deliveries (execution_id, url, secret, body) VALUES ($1, $2, $3, $4)",
        &[execution_id.into(), url.into(), secret.into(), body.into()],
    )?;
    Ok(())
}

/// Up to `limit` deliveries due now, oldest first, except those in `busy`.
pub fn due(limit: i64, busy: Vec<i64>) -> ScResult<Vec<Due>> {
    Ok(Spi::connect(|client| {
        client
            .select(
                "SELECT id, url, secret, body, attempts FROM sc.ended_webhook_deliveries
                  WHERE next_attempt_at <= pg_catalog.now() AND id <> ALL ($2)
                  ORDER BY next_attempt_at, id LIMIT $1",
                None,
                &[limit.into(), busy.into()],
            )?
            .map(|r| {
                Ok::<_, pgrx::spi::Error>(Due {
                    id: r.get::<i64>(1)?.unwrap_or_default(),
                    url: r.get::<String>(2)?.unwrap_or_default(),
                    secret: r.get::<String>(3)?,
                    body: r.get::<String>(4)?.unwrap_or_default(),
                    attempts: r.get::<i32>(5)?.unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })?)
}

/// What to record of an attempt.
pub struct Recorded<'a> {
    pub status: Option<i32>,
    pub error: Option<&'a str>,
    /// Seconds until the next attempt; None when there is none.
    pub retry_in_s: Option<f64>,
    pub delivered: bool,
    pub given_up: Option<&'a str>,
}

/// Stops delivery `id` without an attempt (its host is no longer allowed, its secret is gone).
pub fn give_up(id: i64, reason: &str) -> ScResult<()> {
    Spi::run_with_args(
        "UPDATE sc.ended_webhook_deliveries
            SET next_attempt_at = NULL, given_up_at = pg_catalog.now(), given_up_reason = $2, last_error = $2
          WHERE id = $1",
        &[id.into(), reason.into()],
    )?;
    Ok(())
}

/// Records one attempt of delivery `id`.
pub fn record(id: i64, r: &Recorded<'_>) -> ScResult<()> {
    Spi::run_with_args(
        "UPDATE sc.ended_webhook_deliveries
            SET attempts = attempts + 1, last_attempt_at = pg_catalog.now(), last_status = $2, last_error = $3,
                next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(secs => $4),
                delivered_at = CASE WHEN $5 THEN pg_catalog.now() END,
                given_up_at = CASE WHEN $6::text IS NOT NULL THEN pg_catalog.now() END,
                given_up_reason = $6
          WHERE id = $1",
        &[id.into(), r.status.into(), r.error.into(), r.retry_in_s.into(), r.delivered.into(), r.given_up.into()],
    )?;
    Ok(())
}
