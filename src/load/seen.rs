//! What the repeated-key check remembers: the first row of the run that
//! carried each match key of a step, across the step's chunks. The first
//! [`IN_MEMORY`] keys stay in the worker; later ones go to a temporary table
//! of the worker's session, so the worker's memory does not grow with the
//! row count (the table's pages go through `temp_buffers`, then to disk).
//!
//! Keys are 128-bit hashes of the key values (`matching::Candidate::key_hash`).
use crate::postgres::as_superuser;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use std::collections::HashMap;

/// Keys kept in the worker before the rest go to the table: what a hash map
/// of 2^20 buckets holds at its load factor of 7/8, about 25 MiB (a million
/// rows of new keys spill a few; a table read and written with random keys
/// is slow once it outgrows `temp_buffers`, docs/benchmarks.md).
pub const IN_MEMORY: usize = (1 << 20) / 8 * 7;

/// The table, in the worker's own temporary schema (made by [`prepare`]).
const TABLE: &str = "pg_temp.sc_seen_keys";

/// The keys a step's rows carried so far, and the first row of each.
#[derive(Debug)]
pub struct SeenKeys {
    memory: HashMap<u128, i64>,
    limit: usize,
    /// Whether this step's keys went to the table yet (the table is emptied
    /// when the first one goes: it holds no other step's).
    spilled: bool,
}

impl Default for SeenKeys {
    fn default() -> Self {
        SeenKeys::with_limit(IN_MEMORY)
    }
}

/// Makes the table, if the session has none yet. Outside any role switch:
/// PostgreSQL refuses to create a temporary table inside a
/// security-restricted operation, though it lets one use an existing one.
pub fn prepare() -> Result<(), String> {
    Spi::run(&format!(
        "CREATE TEMPORARY TABLE IF NOT EXISTS {TABLE} (hi bigint, lo bigint, rn bigint NOT NULL, PRIMARY KEY (hi, lo))"
    ))
    .map_err(|e| format!("cannot make the repeated-key check's table: {e}"))
}

impl SeenKeys {
    /// At most `limit` keys in memory; the rest in the table ([`prepare`] first).
    pub fn with_limit(limit: usize) -> SeenKeys {
        SeenKeys { memory: HashMap::new(), limit, spilled: false }
    }

    /// For rows in row order, each with its key's hash: the first row of the
    /// run that carried the key, for each row an earlier row's key repeats.
    /// Records the keys carried here for the first time.
    pub fn earlier_rows(&mut self, rows: &[(i64, u128)]) -> Result<HashMap<i64, i64>, String> {
        let stored = if self.spilled {
            let missing: Vec<u128> = rows.iter().map(|(_, h)| *h).filter(|h| !self.memory.contains_key(h)).collect();
            lookup(&missing)?
        } else {
            HashMap::new()
        };
        let mut earlier = HashMap::new();
        let mut to_store: Vec<(u128, i64)> = Vec::new();
        let mut stored_here: HashMap<u128, i64> = HashMap::new();
        for &(rn, h) in rows {
            match self.memory.get(&h).or_else(|| stored.get(&h)).or_else(|| stored_here.get(&h)) {
                Some(&first) if first != rn => {
                    earlier.insert(rn, first);
                }
                Some(_) => {}
                None if self.memory.len() < self.limit => {
                    self.memory.insert(h, rn);
                }
                None => {
                    stored_here.insert(h, rn);
                    to_store.push((h, rn));
                }
            }
        }
        if !to_store.is_empty() {
            self.store(&to_store)?;
        }
        Ok(earlier)
    }

    fn store(&mut self, keys: &[(u128, i64)]) -> Result<(), String> {
        let first = !self.spilled;
        let (hi, lo) = halves(keys.iter().map(|(h, _)| *h));
        let rns: Vec<i64> = keys.iter().map(|(_, rn)| *rn).collect();
        as_superuser(|| -> Result<(), String> {
            if first {
                Spi::run(&format!("DELETE FROM {TABLE}")).map_err(|e| e.to_string())?;
            }
            let args: Vec<DatumWithOid<'static>> = vec![hi.into(), lo.into(), rns.into()];
            Spi::run_with_args(
                &format!(
                    "INSERT INTO {TABLE} (hi, lo, rn) SELECT * FROM ROWS FROM (pg_catalog.unnest($1::bigint[]),
                       pg_catalog.unnest($2::bigint[]), pg_catalog.unnest($3::bigint[]))"
                ),
                &args,
            )
            .map_err(|e| e.to_string())
        })
        .map_err(|e| format!("the repeated-key check cannot store keys: {e}"))?;
        self.spilled = true;
        Ok(())
    }
}

/// The first rows the table has for `keys`, one index probe per key.
fn lookup(keys: &[u128]) -> Result<HashMap<u128, i64>, String> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (hi, lo) = halves(keys.iter().copied());
    as_superuser(|| {
        Spi::connect(|client| {
            let args: Vec<DatumWithOid<'static>> = vec![hi.into(), lo.into()];
            let rows = client.select(
                &format!(
                    "SELECT k.hi, k.lo, s.rn FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::bigint[]))
                       AS k(hi, lo) CROSS JOIN LATERAL (SELECT t.rn FROM {TABLE} t WHERE t.hi = k.hi AND t.lo = k.lo) s"
                ),
                None,
                &args,
            )?;
            let mut out = HashMap::new();
            for row in rows {
                let (hi, lo, rn) = (row.get::<i64>(1)?, row.get::<i64>(2)?, row.get::<i64>(3)?);
                if let (Some(hi), Some(lo), Some(rn)) = (hi, lo, rn) {
                    out.insert((u128::from(hi as u64) << 64) | u128::from(lo as u64), rn);
                }
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
    })
    .map_err(|e| format!("the repeated-key check cannot read keys: {e}"))
}

/// Each hash as its two 64-bit halves (high, low), as bigint arrays take them.
fn halves(hashes: impl Iterator<Item = u128>) -> (Vec<i64>, Vec<i64>) {
    hashes.map(|h| ((h >> 64) as u64 as i64, h as u64 as i64)).unzip()
}
