//! Re-running only the rows that failed (`sc_rerun(id, only_failed => true)`).
//!
//! After its load steps, an execution keeps the SQL output rows that did not
//! load for an error: a row a step failed (an invalid row, a row PostgreSQL
//! refused, a failed lookup) or skipped for a missing related record
//! (`sc_core::failed_rows` has the file's layout). A re-run of only those rows
//! reads them instead of running the input and SQL stages, then validates
//! (with the connector's current definition) and loads as any run does: rows
//! that loaded the first time are not in the file, so nothing else is touched.
use super::artifacts::store_file;
use super::load_steps::Loaded;
use super::{Execution, Stop};
use crate::catalog::executions;
use crate::postgres::transaction;
use sc_core::variables::OutputTable;

/// `sc.execution_files.kind` of the kept rows.
pub const KIND: &str = "failed_rows";
const FILE: &str = "failed_rows.zip";

/// Keeps the rows that failed in `loaded`'s steps, when there are any.
pub fn store(ex: &mut Execution, tables: &[OutputTable], loaded: &Loaded) -> Result<(), Stop> {
    if !loaded.any_retry() {
        return Ok(());
    }
    let path = ex.dir.join(FILE);
    let failed = |scope: &str, rn: i64| loaded.retry(scope).is_some_and(|b| b.get(rn));
    sc_core::failed_rows::write(tables, &failed, &path).map_err(|e| format!("cannot keep the failed rows: {e}"))?;
    store_file(ex.claimed.id, KIND, FILE, &path)
}

/// The failed rows of execution `from` as this execution's scopes.
pub fn unpack(ex: &mut Execution, from: i64) -> Result<Vec<OutputTable>, Stop> {
    let bytes = transaction(move || executions::read_file(from, KIND))??.ok_or_else(|| {
        Stop::Failed(format!("execution {from} kept no failed rows (none failed, or retention removed them)"))
    })?;
    let tables = sc_core::failed_rows::read(bytes, &ex.dir)
        .map_err(|e| Stop::Failed(format!("the failed rows of execution {from} are unreadable: {e}")))?;
    ex.engine_version = Some(format!("none (the failed rows of execution {from}, without the SQL stage)"));
    for t in &tables {
        ex.set_scope_progress(&t.name, 0, t.rows);
    }
    Ok(tables)
}
