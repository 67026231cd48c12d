//! Execution artifacts besides the report: the SQL output as a ZIP of CSV files, one per scope.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use crate::rowbinary::RowReader;
use crate::stage::OutputTable;

/// Writes every scope as `<scope>.csv` (header row, then the rows; NULL is an
/// empty field) into one ZIP at `path`; returns the ZIP's size in bytes.
pub fn write_sql_output_zip(tables: &[OutputTable], path: &Path) -> io::Result<u64> {
    let file = File::create(path)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for t in tables {
        zip.start_file(format!("{}.csv", t.name), options).map_err(io::Error::other)?;
        let mut csv = csv::Writer::from_writer(&mut zip);
        csv.write_record(t.columns.iter().map(|(c, _)| c.as_str()))?;
        if !t.columns.is_empty() {
            let mut reader = RowReader::new(BufReader::new(File::open(&t.path)?), t.columns.len());
            let mut row = Vec::new();
            while reader.next_into(&mut row)? {
                csv.write_record(row.iter().map(|v| v.as_deref().unwrap_or("")))?;
            }
        }
        csv.flush()?;
    }
    let mut inner = zip.finish().map_err(io::Error::other)?;
    inner.flush()?;
    drop(inner);
    Ok(std::fs::metadata(path)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rowbinary::RowBinaryWriter;
    use std::io::Read;

    #[test]
    fn every_scope_becomes_a_csv_in_the_zip() {
        let dir = std::env::temp_dir().join(format!("sc-artifacts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let rb = dir.join("t.rowbinary");
        let mut w = RowBinaryWriter::new(File::create(&rb).expect("create"), 2);
        w.write_row(&[Some("a,b"), None]).expect("row");
        w.finish().expect("finish");
        let t = OutputTable {
            name: "things".into(),
            columns: vec![("x".into(), "String".into()), ("y".into(), "String".into())],
            rows: 1,
            path: rb,
            values_path: None,
        };
        let zip_path = dir.join("out.zip");
        assert!(write_sql_output_zip(&[t], &zip_path).expect("zip") > 0);
        let mut archive = zip::ZipArchive::new(File::open(&zip_path).expect("open")).expect("archive");
        let mut text = String::new();
        archive.by_name("things.csv").expect("entry").read_to_string(&mut text).expect("read");
        assert_eq!(text, "x,y\n\"a,b\",\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
