//! Helpers shared by the integration tests of sc-core: a scratch directory
//! per test (a `tempfile` directory, removed when dropped), running the
//! readers on bytes, and reading prepared tables back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sc_core::input::TableMeta;
use sc_core::readers::{prepare_inputs_with, Prepared, ReadError, ReadOptions};
use sc_core::rowbinary::read_rows;

/// A fresh directory for one test, removed when dropped.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(tempfile::Builder::new().prefix("sc-core-test-").tempdir().expect("scratch dir"))
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        self.0.path()
    }

    /// A path inside it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// Writes `bytes` as an input file and returns its path.
    pub fn input(&self, bytes: &[u8]) -> PathBuf {
        let dir = self.file("in");
        std::fs::create_dir_all(&dir).expect("create input dir");
        let p = dir.join("upload.bin");
        std::fs::write(&p, bytes).expect("write input");
        p
    }

    /// The directory prepared tables are written to.
    pub fn out(&self) -> PathBuf {
        let dir = self.file("out");
        std::fs::create_dir_all(&dir).expect("create output dir");
        dir
    }
}

/// Runs the readers on `bytes` uploaded as `file_name`.
pub fn prepare(bytes: &[u8], file_name: &str) -> (Scratch, Result<Prepared, ReadError>) {
    prepare_opts(bytes, file_name, &ReadOptions::default())
}

pub fn prepare_opts(bytes: &[u8], file_name: &str, opts: &ReadOptions) -> (Scratch, Result<Prepared, ReadError>) {
    let s = Scratch::new();
    let input = s.input(bytes);
    let out = s.out();
    let result = prepare_inputs_with(&input, file_name, &out, opts);
    (s, result)
}

/// Runs the readers and expects success.
pub fn prepare_ok(bytes: &[u8], file_name: &str) -> (Scratch, Prepared) {
    let (s, r) = prepare(bytes, file_name);
    match r {
        Ok(p) => (s, p),
        Err(e) => panic!("prepare_inputs({file_name}) failed: {e}"),
    }
}

/// Runs the readers and expects an error; returns its message.
pub fn prepare_err(bytes: &[u8], file_name: &str) -> String {
    match prepare(bytes, file_name).1 {
        Ok(p) => panic!("prepare_inputs({file_name}) unexpectedly succeeded: {p:?}"),
        Err(e) => e.to_string(),
    }
}

/// Reads a prepared table back.
pub fn rows(s: &Scratch, meta: &TableMeta) -> Vec<Vec<Option<String>>> {
    rows_in(&s.out(), meta)
}

pub fn rows_in(out: &Path, meta: &TableMeta) -> Vec<Vec<Option<String>>> {
    let mut rows = with_lines(out, meta);
    for r in &mut rows {
        r.pop();
    }
    rows
}

/// Each row's line in the uploaded file (the readers' last column).
pub fn lines(s: &Scratch, meta: &TableMeta) -> Vec<u64> {
    with_lines(&s.out(), meta).iter().map(|r| r.last().cloned().flatten().unwrap().parse().unwrap()).collect()
}

fn with_lines(out: &Path, meta: &TableMeta) -> Vec<Vec<Option<String>>> {
    assert!(meta.lines, "the readers write each row's line");
    let data = std::fs::read(out.join(&meta.file)).expect("read prepared table");
    let rows = read_rows(&data, meta.columns.len() + 1).expect("valid RowBinary");
    assert_eq!(rows.len() as u64, meta.rows, "row count in meta matches the data");
    rows
}

/// `Some(text)` / `None` shorthand for expected rows.
pub fn row(cells: &[&str]) -> Vec<Option<String>> {
    cells.iter().map(|c| if *c == "\u{2400}" { None } else { Some((*c).to_owned()) }).collect()
}

/// NULL marker for [`row`].
pub const NULL: &str = "\u{2400}";

/// The single table of a result.
pub fn only(p: &Prepared) -> &TableMeta {
    assert_eq!(p.tables.len(), 1, "expected one table, got {:?}", p.tables);
    &p.tables[0]
}

/// A ZIP archive in memory from (name, bytes) pairs, deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, opts).expect("zip dir");
            } else {
                w.start_file(*name, opts).expect("zip entry");
                w.write_all(bytes).expect("zip write");
            }
        }
        w.finish().expect("zip finish");
    }
    buf.into_inner()
}

/// The parts of a minimal one-sheet XLSX (sheet "Data"), without the sheet.
pub const XLSX_PARTS: [(&str, &str); 4] = [
    (
        "[Content_Types].xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
    ),
    (
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    ),
    (
        "xl/workbook.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    ),
    (
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
    ),
];

/// A minimal one-sheet XLSX whose `<sheetData>` is `sheet_data`.
pub fn xlsx_with_sheet_data(sheet_data: &str) -> Vec<u8> {
    xlsx_with_parts(sheet_data, &[])
}

/// [`xlsx_with_sheet_data`] plus extra parts (e.g. `xl/sharedStrings.xml`).
pub fn xlsx_with_parts(sheet_data: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData></worksheet>"#
    );
    let mut entries: Vec<(&str, &[u8])> = XLSX_PARTS.iter().map(|(n, b)| (*n, b.as_bytes())).collect();
    entries.push(("xl/worksheets/sheet1.xml", sheet.as_bytes()));
    entries.extend_from_slice(extra);
    zip_of(&entries)
}

/// An inline-string cell, with an `r` reference when `at` is not empty.
pub fn inline_cell(at: &str, text: &str) -> String {
    let r = if at.is_empty() { String::new() } else { format!(r#" r="{at}""#) };
    format!(r#"<c{r} t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// BIFF8 record bytes.
pub fn biff(typ: u16, body: &[u8]) -> Vec<u8> {
    let mut out = typ.to_le_bytes().to_vec();
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(body);
    out
}

pub fn biff_bof(dt: u16) -> Vec<u8> {
    let mut body = 0x0600u16.to_le_bytes().to_vec();
    body.extend_from_slice(&dt.to_le_bytes());
    body.extend_from_slice(&[0; 12]);
    biff(0x0809, &body)
}

/// A BIFF8 cell: a LABEL for text, a NUMBER otherwise.
pub fn biff_cell(row: u16, col: u16, value: Result<&str, f64>) -> Vec<u8> {
    let mut body = row.to_le_bytes().to_vec();
    body.extend_from_slice(&col.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    match value {
        Ok(text) => {
            body.extend_from_slice(&(text.len() as u16).to_le_bytes());
            body.push(0);
            body.extend_from_slice(text.as_bytes());
            biff(0x0204, &body)
        }
        Err(n) => {
            body.extend_from_slice(&n.to_le_bytes());
            biff(0x0203, &body)
        }
    }
}

/// A one-sheet XLS (compound file with a BIFF8 Workbook stream).
pub fn xls(sheet_name: &str, cells: &[Vec<u8>]) -> Vec<u8> {
    use std::io::Write;
    let mut name = vec![sheet_name.len() as u8, 0];
    name.extend_from_slice(sheet_name.as_bytes());
    let boundsheet_len = 4 + 6 + name.len();
    let globals_len = biff_bof(0x0005).len() + boundsheet_len + 4;
    let mut bs = (globals_len as u32).to_le_bytes().to_vec();
    bs.extend_from_slice(&[0, 0]);
    bs.extend_from_slice(&name);
    let mut stream = biff_bof(0x0005);
    stream.extend(biff(0x0085, &bs));
    stream.extend(biff(0x000A, &[]));
    assert_eq!(stream.len(), globals_len);
    stream.extend(biff_bof(0x0010));
    for c in cells {
        stream.extend_from_slice(c);
    }
    stream.extend(biff(0x000A, &[]));
    let mut book = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).expect("cfb");
    book.create_stream("/Workbook").expect("stream").write_all(&stream).expect("write");
    book.flush().expect("flush");
    book.into_inner().into_inner()
}
