//! Execution artifacts besides the report: the SQL output as a ZIP of CSV files, one per scope.
//!
//! Two guards, as the file is opened by people in spreadsheet programs:
//!
//! * Entry names come from output table names, which the connector's SQL
//!   chooses: they are made plain file names ([`entry_name`]), never paths.
//! * A field that a spreadsheet would run as a formula (it starts with `=`,
//!   `+`, `-`, `@`, tab or carriage return, OWASP's list for CSV injection)
//!   gets a leading `'`, unless it is a plain number such as `-12.5`
//!   ([`neutralise`]). The exact values stay in the database and the report.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use crate::rowbinary::RowReader;
use crate::variables::OutputTable;

/// Writes every scope as `<scope>.csv` (header row, then the rows; NULL is an
/// empty field) into one ZIP at `path`; returns the ZIP's size in bytes.
pub fn write_sql_output_zip(tables: &[OutputTable], path: &Path) -> io::Result<u64> {
    let file = File::create(path)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    // Level 1, as the report's sheets: on the 16-column load bench's CSV it
    // takes 3.1 s against 7.2 s for the default level 6, for a file 29% larger
    // (`gzip -1` / `gzip -6`, docs/benchmarks.md). Packaging is on the
    // critical path of an unchanged re-run.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    let mut used = std::collections::HashSet::new();
    for t in tables {
        let base = entry_name(&t.name);
        let mut name = format!("{base}.csv");
        let mut n = 1;
        while !used.insert(name.clone()) {
            n += 1;
            name = format!("{base}_{n}.csv");
        }
        zip.start_file(name, options).map_err(io::Error::other)?;
        let mut csv = csv::Writer::from_writer(&mut zip);
        write_safe_record(&mut csv, t.columns.iter().map(|(c, _)| c.as_str()))?;
        if !t.columns.is_empty() {
            let mut reader = RowReader::new(BufReader::new(File::open(&t.path)?), t.columns.len());
            let mut row = Vec::new();
            while reader.next_into(&mut row)? {
                write_safe_record(&mut csv, row.iter().map(|v| v.as_deref().unwrap_or("")))?;
            }
        }
        csv.flush()?;
    }
    let mut inner = zip.finish().map_err(io::Error::other)?;
    inner.flush()?;
    drop(inner);
    Ok(std::fs::metadata(path)?.len())
}

fn write_safe_record<'a, W: Write>(csv: &mut csv::Writer<W>, fields: impl Iterator<Item = &'a str>) -> io::Result<()> {
    for f in fields {
        csv.write_field(neutralise(f).as_bytes())?;
    }
    csv.write_record(None::<&[u8]>)?;
    Ok(())
}

/// A table name as a plain ZIP entry name: no directories (`/`, `\\`), no
/// leading dot (so never `..`), no control characters, at most 100 characters.
pub fn entry_name(table: &str) -> String {
    let mut out: String = table
        .chars()
        .map(|c| if c == '/' || c == '\\' || c == ':' || c.is_control() { '_' } else { c })
        .take(100)
        .collect();
    if out.starts_with('.') {
        out.insert(0, '_');
    }
    if out.is_empty() {
        out.push_str("scope");
    }
    out
}

/// A CSV field safe to open in a spreadsheet: a leading `'` before a
/// formula-looking value that is not a number.
pub fn neutralise(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = matches!(value.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    if risky && !value.trim().parse::<f64>().is_ok_and(f64::is_finite) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rowbinary::RowBinaryWriter;
    use std::io::Read;

    #[test]
    fn every_scope_becomes_a_csv_in_the_zip() {
        let dir = tempfile::tempdir().expect("dir");
        let rb = dir.path().join("t.rowbinary");
        let mut w = RowBinaryWriter::new(File::create(&rb).expect("create"), 2);
        w.write_row(&[Some("a,b"), None]).expect("row");
        w.finish().expect("finish");
        let t = OutputTable {
            name: "things".into(),
            columns: vec![("x".into(), "String".into()), ("y".into(), "String".into())],
            rows: 1,
            path: rb,
            values_path: None,
            source: None,
        };
        let zip_path = dir.path().join("out.zip");
        assert!(write_sql_output_zip(&[t], &zip_path).expect("zip") > 0);
        let mut archive = zip::ZipArchive::new(File::open(&zip_path).expect("open")).expect("archive");
        let mut text = String::new();
        archive.by_name("things.csv").expect("entry").read_to_string(&mut text).expect("read");
        assert_eq!(text, "x,y\n\"a,b\",\n");
    }

    #[test]
    fn entry_names_are_never_paths() {
        assert_eq!(entry_name("../../etc/cron.d/x"), "_.._.._etc_cron.d_x");
        assert_eq!(entry_name(".."), "_..");
        assert_eq!(entry_name("/abs"), "_abs");
        assert_eq!(entry_name("a\\b"), "a_b");
        assert_eq!(entry_name(""), "scope");
        assert_eq!(entry_name("Orders 2024"), "Orders 2024");
    }

    #[test]
    fn formula_looking_fields_are_neutralised() {
        for (value, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+cmd", "'+cmd"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("-12.5", "-12.5"),
            ("+3", "+3"),
            ("-inf", "'-inf"),
            ("plain", "plain"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(value), expected, "{value:?}");
        }
    }

    #[test]
    fn a_hostile_table_name_stays_inside_the_zip() {
        let dir = tempfile::tempdir().expect("dir");
        let rb = dir.path().join("t.rowbinary");
        let mut w = RowBinaryWriter::new(File::create(&rb).expect("create"), 1);
        w.write_row(&[Some("=1+1")]).expect("row");
        w.finish().expect("finish");
        let table = |name: &str| OutputTable {
            name: name.into(),
            columns: vec![("x".into(), "String".into())],
            rows: 1,
            path: rb.clone(),
            values_path: None,
            source: None,
        };
        let zip_path = dir.path().join("out.zip");
        write_sql_output_zip(&[table("../evil"), table("/evil"), table("_.._evil")], &zip_path).expect("zip");
        let mut archive = zip::ZipArchive::new(File::open(&zip_path).expect("open")).expect("archive");
        let mut names = Vec::new();
        for i in 0..archive.len() {
            let entry = archive.by_index(i).expect("entry");
            assert!(entry.enclosed_name().is_some());
            names.push(format!("{:?}", entry.enclosed_name().expect("enclosed")));
        }
        names.sort_unstable();
        assert_eq!(names, ["\"_.._evil.csv\"", "\"_.._evil_2.csv\"", "\"_evil.csv\""]);
    }
}
