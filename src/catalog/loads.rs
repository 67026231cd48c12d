//! What the load stage reads and writes in `sc.*`: earlier steps' record
//! ids and the diff-check store `sc.row_hashes`.
use crate::error::ScResult;
use pgrx::prelude::*;
use sc_core::load::{EntityRecord, RowOutcome};
use std::collections::{HashMap, HashSet};

/// Outcome and record id of `step` for rows `from..=to` of `scope`.
pub fn entity_ids(id: i64, scope: &str, step: &str, from: i64, to: i64) -> ScResult<HashMap<i64, EntityRecord>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT r.n, r.o, r.id FROM sc.execution_row_batches b
             CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(b.row_numbers), pg_catalog.unnest(b.outcomes),
                                           pg_catalog.unnest(b.record_ids)) AS r(n, o, id)
             WHERE b.execution_id = $1 AND b.scope = $2 AND b.step = $3 AND b.first_row <= $5 AND b.last_row >= $4
               AND r.n BETWEEN $4 AND $5",
            None,
            &[id.into(), scope.into(), step.into(), from.into(), to.into()],
        )?;
        let mut out = HashMap::new();
        for row in rows {
            out.insert(
                row.get::<i64>(1)?.unwrap_or(0),
                EntityRecord {
                    outcome: RowOutcome::parse(&row.get::<String>(2)?.unwrap_or_default())
                        .unwrap_or(RowOutcome::Failed),
                    id: row.get::<String>(3)?,
                },
            );
        }
        Ok(out)
    })
}

/// Every hash stored for `scope` of the connector, read in one pass (a
/// cursor, 10,000 rows a fetch, so only the set itself is held).
pub fn stored_hashes(connector_id: i64, scope: &str) -> ScResult<HashSet<[u8; 16]>> {
    Spi::connect(|client| {
        let mut cursor = client.open_cursor(
            "SELECT hash FROM sc.row_hashes WHERE connector_id = $1 AND scope = $2",
            &[connector_id.into(), scope.into()],
        );
        let mut out = HashSet::new();
        loop {
            let batch = cursor.fetch(10_000)?;
            if batch.is_empty() {
                break;
            }
            for row in batch {
                if let Some(h) = row.get::<Vec<u8>>(1)? {
                    if let Ok(h) = <[u8; 16]>::try_from(h.as_slice()) {
                        out.insert(h);
                    }
                }
            }
            // Else every batch stays until the end: about 100 bytes per
            // stored row, where the set keeps about 36.
            // SAFETY: the loop above consumed the batch.
            unsafe { crate::postgres::free_last_fetch() };
        }
        Ok(out)
    })
}

/// Whether any run of the connector stored hashes for `scope`.
pub fn has_hashes(connector_id: i64, scope: &str) -> ScResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT FROM sc.row_hash_scopes WHERE connector_id = $1 AND scope = $2)",
        &[connector_id.into(), scope.into()],
    )?
    .unwrap_or(false))
}

/// Remembers hashes of rows loaded without error (the caller passes only
/// hashes the run did not find in the store).
pub fn store_hashes(connector_id: i64, scope: &str, execution_id: i64, hashes: Vec<Vec<u8>>) -> ScResult<()> {
    if hashes.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "WITH marked AS (
             INSERT INTO sc.row_hash_scopes (connector_id, scope) VALUES ($1, $2) ON CONFLICT DO NOTHING
         )
         INSERT INTO sc.row_hashes (connector_id, scope, hash, execution_id)
         SELECT $1, $2, h, $3 FROM pg_catalog.unnest($4::bytea[]) AS h",
        &[connector_id.into(), scope.into(), execution_id.into(), hashes.into()],
    )?;
    Ok(())
}
