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

/// Which of `hashes` (16 bytes each) an earlier run of the connector loaded
/// for `scope`: one probe of the hash index per hash (a join would scan the
/// whole store for every batch).
pub fn known_hashes(connector_id: i64, scope: &str, hashes: Vec<Vec<u8>>) -> ScResult<HashSet<Vec<u8>>> {
    // One plain index probe per hash. The store is rarely analyzed (a run
    // adds a million rows at once), and without statistics the planner
    // chose a bitmap scan per probe, five times slower, or a scan of the
    // whole store. For this transaction only; no JIT, which the costs of
    // disabled plans would otherwise trigger for every batch.
    Spi::run("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_memoize = off; SET LOCAL jit = off")?;
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT u.h FROM pg_catalog.unnest($3::bytea[]) AS u(h)
             CROSS JOIN LATERAL (SELECT FROM sc.row_hashes r
                                 WHERE r.hash = u.h AND r.connector_id = $1 AND r.scope = $2 LIMIT 1) AS found",
            None,
            &[connector_id.into(), scope.into(), hashes.into()],
        )?;
        let mut out = HashSet::new();
        for row in rows {
            out.extend(row.get::<Vec<u8>>(1)?);
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
