//! Reference data: each `reference` entry of a connector (a table or a
//! read-only query) read with the owner's privileges and written as
//! RowBinary for the engine's `pg` database.
use crate::postgres::{as_role, transaction};
use pgrx::prelude::*;
use pgrx::spi::SpiTupleTable;
use sc_core::document::Reference;
use sc_core::rowbinary::RowBinaryWriter;
use sc_engine::job::ReferenceTable;
use std::ffi::CStr;
use std::fs::File;
use std::path::Path;

/// Rows fetched from the cursor at a time.
const FETCH: i64 = 5_000;

/// Reads every reference of the connector into `dir`; errors name the reference.
pub fn read_all(refs: &[Reference], owner: &str, dir: &Path) -> Result<Vec<ReferenceTable>, String> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let file = format!("pg_{}.rowbinary", r.name);
        let path = dir.join(&file);
        let columns = read_one(r, owner, &path)
            .map_err(|e| format!("reference \"{}\" cannot be read as role \"{owner}\": {e}", r.name))?;
        out.push(ReferenceTable { name: r.name.clone(), file, columns });
    }
    Ok(out)
}

fn read_one(r: &Reference, owner: &str, path: &Path) -> Result<Vec<String>, String> {
    let r = r.clone();
    let owner = owner.to_owned();
    let path = path.to_path_buf();
    transaction(move || -> Result<Vec<String>, String> {
        let role = Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)",
            &[owner.as_str().into()],
        )
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("role \"{owner}\" does not exist"))?;
        as_role(role, || {
            // Read only, whatever the query says; the role switch makes privileges and RLS apply.
            Spi::run("SELECT pg_catalog.set_config('transaction_read_only', 'on', true)").map_err(|e| e.to_string())?;
            let sql = match (&r.table, &r.query) {
                (Some(table), _) => Spi::get_one_with_args::<String>(
                    "SELECT pg_catalog.format('SELECT * FROM %s', $1::regclass)",
                    &[table.as_str().into()],
                )
                .map_err(|e| e.to_string())?
                .ok_or("table not found")?,
                (None, Some(query)) => query.clone(),
                (None, None) => return Err("it names neither a table nor a query".into()),
            };
            copy_query(&sql, &path)
        })
    })?
}

/// Runs `sql` through a cursor and writes every row as text.
fn copy_query(sql: &str, path: &Path) -> Result<Vec<String>, String> {
    Spi::connect(|client| {
        let mut cursor = client.open_cursor(sql, &[]);
        let mut table = cursor.fetch(FETCH).map_err(|e| e.to_string())?;
        let ncols = table.columns().map_err(|e| e.to_string())?;
        let mut columns = Vec::with_capacity(ncols);
        let mut outputs = Vec::with_capacity(ncols);
        for i in 1..=ncols {
            columns.push(table.column_name(i).map_err(|e| e.to_string())?);
            outputs.push(output_function(table.column_type_oid(i).map_err(|e| e.to_string())?.value()));
        }
        let file = File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut w = RowBinaryWriter::new(file, ncols);
        loop {
            if table.is_empty() {
                break;
            }
            write_rows(&mut table, &outputs, &mut w)?;
            // Else a reference table's every batch stays in memory until the end.
            // SAFETY: `table` is not read again before the next fetch replaces it.
            unsafe { crate::postgres::free_last_fetch() };
            table = cursor.fetch(FETCH).map_err(|e| e.to_string())?;
        }
        w.finish().map_err(|e| e.to_string())?;
        Ok(columns)
    })
}

fn write_rows(
    table: &mut SpiTupleTable<'_>,
    outputs: &[pg_sys::Oid],
    w: &mut RowBinaryWriter<File>,
) -> Result<(), String> {
    let mut texts: Vec<Option<String>> = Vec::with_capacity(outputs.len());
    while table.next().is_some() {
        texts.clear();
        for (i, out) in outputs.iter().enumerate() {
            let datum = table.get_datum_by_ordinal(i + 1).map_err(|e| e.to_string())?;
            // SAFETY: the datum comes from the current row of the table, of the type whose output function `out` is.
            texts.push(datum.map(|d| unsafe {
                let c = pg_sys::OidOutputFunctionCall(*out, d);
                let s = CStr::from_ptr(c).to_string_lossy().into_owned();
                pg_sys::pfree(c.cast());
                s
            }));
        }
        let row: Vec<Option<&str>> = texts.iter().map(|t| t.as_deref()).collect();
        w.write_row(&row).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn output_function(typoid: pg_sys::Oid) -> pg_sys::Oid {
    let mut func = pg_sys::Oid::INVALID;
    let mut varlena = false;
    // SAFETY: looks up the type's output function in the syscache; errors if the type is gone.
    unsafe { pg_sys::getTypeOutputInfo(typoid, &mut func, &mut varlena) };
    func
}
