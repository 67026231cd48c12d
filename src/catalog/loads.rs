//! What the load stage reads and writes in `sc.*`: earlier steps' record
//! ids and the diff-check store `sc.row_hashes`.
use crate::error::ScResult;
use pgrx::prelude::*;
use std::collections::{HashMap, HashSet};

/// Outcome and record id of `step` for rows `from..=to` of `scope`.
pub fn entity_ids(id: i64, scope: &str, step: &str, from: i64, to: i64) -> ScResult<HashMap<i64, (String, Option<String>)>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT row_number, outcome, record_id FROM sc.execution_rows
             WHERE execution_id = $1 AND scope = $2 AND step = $3 AND row_number BETWEEN $4 AND $5",
            None,
            &[id.into(), scope.into(), step.into(), from.into(), to.into()],
        )?;
        let mut out = HashMap::new();
        for row in rows {
            out.insert(
                row.get::<i64>(1)?.unwrap_or(0),
                (row.get::<String>(2)?.unwrap_or_default(), row.get::<String>(3)?),
            );
        }
        Ok(out)
    })
}

/// Which of `hashes` an earlier run of the connector loaded for `scope`.
pub fn known_hashes(connector_id: i64, scope: &str, hashes: Vec<String>) -> ScResult<HashSet<String>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT h.hash FROM pg_catalog.unnest($3::text[]) AS h(hash)
             WHERE EXISTS (SELECT 1 FROM sc.row_hashes r WHERE r.connector_id = $1 AND r.scope = $2 AND r.hash = h.hash)",
            None,
            &[connector_id.into(), scope.into(), hashes.into()],
        )?;
        let mut out = HashSet::new();
        for row in rows {
            out.extend(row.get::<String>(1)?);
        }
        Ok(out)
    })
}

/// Remembers hashes of rows loaded without error.
pub fn store_hashes(connector_id: i64, scope: &str, execution_id: i64, hashes: Vec<String>) -> ScResult<()> {
    if hashes.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "INSERT INTO sc.row_hashes (connector_id, scope, hash, execution_id)
         SELECT $1, $2, h, $3 FROM pg_catalog.unnest($4::text[]) AS h
         ON CONFLICT (connector_id, scope, hash) DO UPDATE SET execution_id = EXCLUDED.execution_id, loaded_at = now()",
        &[connector_id.into(), scope.into(), execution_id.into(), hashes.into()],
    )?;
    Ok(())
}
