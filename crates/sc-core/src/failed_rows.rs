//! The failed rows of an execution, kept for `sc_rerun(id, only_failed => true)`:
//! one ZIP with a manifest and, per scope, the SQL output rows that did not
//! load for an error, as the engine wrote them (RowBinary, every column
//! `Nullable(String)`), each with its row number in that execution as a last
//! column [`ROW_COLUMN`]. Every scope is listed, also with no rows, so a
//! re-run's load steps find their scopes. The file is deflated: failed rows
//! are few, and the same values repeat.
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::rowbinary::{RowBinaryWriter, RowReader};
use crate::variables::OutputTable;

/// The column holding each row's number in the execution it failed in.
pub const ROW_COLUMN: &str = "_row";
const MANIFEST: &str = "manifest.json";

/// One scope in the manifest.
#[derive(Serialize, Deserialize)]
struct Scope {
    name: String,
    columns: Vec<(String, String)>,
    rows: u64,
    source: Option<String>,
    entry: String,
}

/// Writes the rows of `tables` for which `failed(scope, row_number)` holds
/// (row numbers 1-based) into a ZIP at `path`; returns how many.
pub fn write(tables: &[OutputTable], failed: &dyn Fn(&str, i64) -> bool, path: &Path) -> io::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(io::BufWriter::new(file));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    let mut scopes = Vec::with_capacity(tables.len());
    let mut kept = 0;
    for (i, t) in tables.iter().enumerate() {
        let entry = format!("scope_{i}.rowbinary");
        // The rows of a re-run already carry their first number.
        let numbered = t.columns.iter().any(|(c, _)| c == ROW_COLUMN);
        let mut columns = t.columns.clone();
        if !numbered {
            columns.push((ROW_COLUMN.into(), "UInt64".into()));
        }
        zip.start_file(entry.as_str(), options).map_err(io::Error::other)?;
        let mut rows = 0u64;
        if !t.columns.is_empty() {
            let mut w = RowBinaryWriter::new(&mut zip, columns.len());
            let mut reader = RowReader::new(BufReader::new(std::fs::File::open(&t.path)?), t.columns.len());
            let (mut row, mut rn) = (Vec::new(), 0i64);
            while reader.next_into(&mut row)? {
                rn += 1;
                if !failed(&t.name, rn) {
                    continue;
                }
                let number = rn.to_string();
                let mut out: Vec<Option<&str>> = row.iter().map(|v| v.as_deref()).collect();
                if !numbered {
                    out.push(Some(&number));
                }
                w.write_row(&out)?;
                rows += 1;
            }
            w.finish()?;
        }
        kept += rows;
        scopes.push(Scope { name: t.name.clone(), columns, rows, source: t.source.clone(), entry });
    }
    zip.start_file(MANIFEST, options).map_err(io::Error::other)?;
    zip.write_all(&serde_json::to_vec(&scopes).map_err(io::Error::other)?)?;
    zip.finish().map_err(io::Error::other)?.flush()?;
    Ok(kept)
}

/// Unpacks a file [`write`] made into `dir` as output tables, the n-th
/// writing its values to `dir/values_<n>.rowbinary`.
pub fn read(zip_bytes: Vec<u8>, dir: &Path) -> io::Result<Vec<OutputTable>> {
    let mut zip = zip::ZipArchive::new(io::Cursor::new(zip_bytes)).map_err(io::Error::other)?;
    let mut text = String::new();
    zip.by_name(MANIFEST).map_err(io::Error::other)?.read_to_string(&mut text)?;
    let scopes: Vec<Scope> = serde_json::from_str(&text).map_err(io::Error::other)?;
    let mut tables = Vec::with_capacity(scopes.len());
    for (i, s) in scopes.into_iter().enumerate() {
        let path = dir.join(format!("failed_{i}.rowbinary"));
        let mut out = std::fs::File::create(&path)?;
        io::copy(&mut zip.by_name(&s.entry).map_err(io::Error::other)?, &mut out)?;
        tables.push(OutputTable {
            name: s.name,
            columns: s.columns,
            rows: s.rows,
            path,
            values_path: Some(PathBuf::from(dir).join(format!("values_{i}.rowbinary"))),
            source: s.source,
        });
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rowbinary::read_rows;

    fn table(dir: &Path, name: &str, rows: &[Vec<Option<&str>>]) -> OutputTable {
        let path = dir.join(format!("{name}.rb"));
        let mut w = RowBinaryWriter::new(std::fs::File::create(&path).unwrap(), 2);
        for r in rows {
            w.write_row(r).unwrap();
        }
        w.finish().unwrap();
        OutputTable {
            name: name.into(),
            columns: vec![
                ("sku".into(), "Nullable(String)".into()),
                ("price".into(), "Nullable(Decimal(10, 2))".into()),
            ],
            rows: rows.len() as u64,
            path,
            values_path: None,
            source: Some("book.xlsx!Products".into()),
        }
    }

    #[test]
    fn only_the_failed_rows_come_back_numbered_and_every_scope_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let products = table(
            dir.path(),
            "products",
            &[vec![Some("a"), Some("1")], vec![Some("b"), None], vec![Some("c"), Some("3")]],
        );
        let vendors = table(dir.path(), "vendors", &[vec![Some("v"), None]]);
        let zip = dir.path().join("failed.zip");
        let failed = |scope: &str, rn: i64| scope == "products" && rn != 2;
        assert_eq!(write(&[products, vendors], &failed, &zip).unwrap(), 2);

        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let tables = read(std::fs::read(&zip).unwrap(), &out).unwrap();
        assert_eq!(
            tables.iter().map(|t| (t.name.as_str(), t.rows)).collect::<Vec<_>>(),
            [("products", 2), ("vendors", 0)]
        );
        let p = &tables[0];
        assert_eq!(p.columns.last().unwrap().0, ROW_COLUMN);
        assert_eq!(p.columns[1].1, "Nullable(Decimal(10, 2))", "the engine's types stay");
        assert_eq!(p.source.as_deref(), Some("book.xlsx!Products"));
        let rows = read_rows(&std::fs::read(&p.path).unwrap(), 3).unwrap();
        assert_eq!(
            rows,
            [
                vec![Some("a".to_string()), Some("1".to_string()), Some("1".to_string())],
                vec![Some("c".to_string()), Some("3".to_string()), Some("3".to_string())]
            ]
        );

        // Failing again keeps the first numbers rather than adding a column.
        let again = dir.path().join("again.zip");
        assert_eq!(write(&tables, &|_: &str, rn: i64| rn == 2, &again).unwrap(), 1);
        let out2 = dir.path().join("out2");
        std::fs::create_dir(&out2).unwrap();
        let tables2 = read(std::fs::read(&again).unwrap(), &out2).unwrap();
        assert_eq!(tables2[0].columns.len(), 3);
        let rows = read_rows(&std::fs::read(&tables2[0].path).unwrap(), 3).unwrap();
        assert_eq!(rows, [vec![Some("c".to_string()), Some("3".to_string()), Some("3".to_string())]]);
    }
}
