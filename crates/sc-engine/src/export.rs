//! Export of the output tables: listing, the output-row limit, and one RowBinary file per scope.
//!
//! Format decision: every scope is written as ClickHouse `RowBinary` with each
//! column converted to `Nullable(String)` by the engine (`toString`, or
//! `toJSONString` for arrays, maps and tuples; DateTime in UTC), and the
//! original ClickHouse type recorded in the manifest. Reasons: it is the
//! very layout the input readers already produce, so one small reader serves
//! inputs and outputs; it is row-oriented like its consumer (per-row
//! validation and chunked loading); ClickHouse renders every type exactly
//! (Decimal without float rounding) while the variable layer parses text
//! anyway; and it needs no Arrow/Parquet crates. The files are streamed from
//! chDB chunk by chunk, never held whole in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{classify, Error};
use crate::job::{Column, Limits, Scope};
use crate::rowbinary::RowReader;
use crate::session::{quote_ident, quote_str, Session};

/// A table to export as a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Database (`output`, or `input` for a pass-through).
    pub database: String,
    /// Table name; also the scope name.
    pub table: String,
}

/// Run a metadata query whose result is `Nullable(String)` columns and read it back.
fn text_rows(session: &Session<'_>, sql: &str, columns: usize) -> Result<Vec<Vec<String>>, String> {
    let bytes = session.query(sql, "RowBinary")?;
    let mut reader = RowReader::new(&bytes[..], columns);
    let mut rows = Vec::new();
    while let Some(r) = reader.next_row().map_err(|e| format!("cannot read engine metadata: {e}"))? {
        rows.push(r.into_iter().map(Option::unwrap_or_default).collect());
    }
    Ok(rows)
}

/// Every table (or view) left in database `output`, by name.
pub fn list_output_tables(session: &Session<'_>) -> Result<Vec<Source>, String> {
    let rows = text_rows(
        session,
        "SELECT toNullable(name) FROM system.tables WHERE database = 'output' AND NOT startsWith(name, '.inner') ORDER BY name",
        1,
    )?;
    Ok(rows.into_iter().map(|mut r| Source { database: "output".into(), table: r.remove(0) }).collect())
}

fn columns_of(session: &Session<'_>, src: &Source) -> Result<Vec<Column>, String> {
    let sql = format!(
        "SELECT toNullable(name), toNullable(type) FROM system.columns WHERE database = {} AND table = {} ORDER BY position",
        quote_str(&src.database),
        quote_str(&src.table)
    );
    Ok(text_rows(session, &sql, 2)?
        .into_iter()
        .map(|mut r| {
            let ch_type = r.pop().unwrap_or_default();
            let name = r.pop().unwrap_or_default();
            Column { name, ch_type }
        })
        .collect())
}

fn count_rows(session: &Session<'_>, src: &Source) -> Result<u64, String> {
    let sql = format!("SELECT count() FROM {}.{}", quote_ident(&src.database), quote_ident(&src.table));
    let out = session.query(&sql, "TabSeparatedRaw")?;
    String::from_utf8_lossy(&out).trim().parse().map_err(|_| "cannot read a row count".to_string())
}

/// The expression that renders one column as `Nullable(String)`.
fn as_text(col: &Column) -> String {
    let c = quote_ident(&col.name);
    let t = col.ch_type.as_str();
    let inner = t.strip_prefix("Nullable(").and_then(|s| s.strip_suffix(')')).unwrap_or(t);
    let inner = inner.strip_prefix("LowCardinality(").and_then(|s| s.strip_suffix(')')).unwrap_or(inner);
    let inner = inner.strip_prefix("Nullable(").and_then(|s| s.strip_suffix(')')).unwrap_or(inner);
    if inner == "String" {
        format!("CAST({c} AS Nullable(String))")
    } else if ["Array(", "Map(", "Tuple(", "Nested("].iter().any(|p| inner.starts_with(p)) {
        format!("CAST(toJSONString({c}) AS Nullable(String))")
    } else if inner.starts_with("DateTime") {
        format!("CAST(toString({c}, 'UTC') AS Nullable(String))")
    } else {
        format!("CAST(toString({c}) AS Nullable(String))")
    }
}

/// Export `sources` into `out_<n>.rowbinary` files; enforces the output-row limit first.
pub fn export_tables(
    session: &Session<'_>,
    exec_dir: &Path,
    sources: &[Source],
    limits: &Limits,
    progress: &dyn Fn(u64),
) -> Result<Vec<Scope>, Error> {
    let engine_err = |e: String| classify(&e, limits);
    let mut planned = Vec::with_capacity(sources.len());
    let mut total = 0u64;
    for src in sources {
        let columns = columns_of(session, src).map_err(engine_err)?;
        if columns.is_empty() {
            return Err(Error::User(format!("output table {} has no columns", src.table)));
        }
        let rows = count_rows(session, src).map_err(engine_err)?;
        total = total.saturating_add(rows);
        if total > limits.max_output_rows {
            return Err(Error::User(format!("SQL output exceeds {} rows", limits.max_output_rows)));
        }
        planned.push((src, columns, rows));
    }
    let mut scopes = Vec::with_capacity(planned.len());
    let mut written = 0u64;
    for (i, (src, columns, rows)) in planned.into_iter().enumerate() {
        let file = format!("out_{i}.rowbinary");
        let path = exec_dir.join(&file);
        let f = File::create(&path).map_err(|e| Error::Internal(format!("cannot create {}: {e}", path.display())))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let exprs: Vec<String> = columns.iter().map(as_text).collect();
        let sql = format!(
            "SELECT {} FROM {}.{} SETTINGS max_block_size = 65536",
            exprs.join(", "),
            quote_ident(&src.database),
            quote_ident(&src.table)
        );
        session.query_stream_into(&sql, "RowBinary", &mut w).map_err(|e| {
            if e.starts_with("cannot write") {
                Error::Internal(e)
            } else {
                engine_err(e)
            }
        })?;
        w.flush().map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
        written += rows;
        progress(written);
        scopes.push(Scope { name: src.table.clone(), columns, rows, file });
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_expressions_by_type() {
        let c = |t: &str| Column { name: "a`b".into(), ch_type: t.into() };
        assert_eq!(as_text(&c("String")), "CAST(`a\\`b` AS Nullable(String))");
        assert_eq!(as_text(&c("LowCardinality(Nullable(String))")), "CAST(`a\\`b` AS Nullable(String))");
        assert!(as_text(&c("Array(String)")).contains("toJSONString"));
        assert!(as_text(&c("Nullable(DateTime64(3))")).contains("'UTC'"));
        assert!(as_text(&c("Decimal(18, 2)")).starts_with("CAST(toString("));
    }
}
