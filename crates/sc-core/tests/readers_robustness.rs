//! Bad input never panics: random bytes, truncated and corrupted workbooks
//! (XLSX, XLS, ODS) and archives under every extension must give `Ok` or a
//! `ReadError`.
//!
//! Panics inside calamine are caught at the reader boundary and returned as
//! `ReadError::Panic`; that is tolerated for workbook content only. For text
//! and ZIP-of-CSV content (our code, csv, zip, encoding_rs) a `Panic` error
//! fails the test.

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use sc_core::readers::ReadError;

const EXTENSIONS: [&str; 10] = ["csv", "tsv", "txt", "xlsx", "xlsm", "xlsb", "xls", "ods", "zip", "dat"];

fn valid_xlsx() -> &'static [u8] {
    static XLSX: OnceLock<Vec<u8>> = OnceLock::new();
    XLSX.get_or_init(|| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let date_fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        for name in ["One", "Two"] {
            let ws = wb.add_worksheet().set_name(name).expect("name");
            ws.write_string(0, 0, "id").expect("cell");
            ws.write_string(0, 1, "when").expect("cell");
            for r in 1..20u32 {
                ws.write_number(r, 0, f64::from(r)).expect("cell");
                ws.write_number_with_format(r, 1, 45_000.0 + f64::from(r), &date_fmt).expect("cell");
            }
            ws.write_formula(20, 0, rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!")).expect("cell");
        }
        wb.save_to_buffer().expect("xlsx")
    })
}

fn valid_xls() -> &'static [u8] {
    static XLS: OnceLock<Vec<u8>> = OnceLock::new();
    XLS.get_or_init(|| {
        let mut cells = vec![biff_cell(0, 0, Ok("id")), biff_cell(0, 1, Ok("name"))];
        for r in 1..30u16 {
            cells.push(biff_cell(r, 0, Err(f64::from(r))));
            cells.push(biff_cell(r, 1, Ok("some text")));
        }
        xls("Sheet", &cells)
    })
}

fn valid_ods() -> &'static [u8] {
    static ODS: OnceLock<Vec<u8>> = OnceLock::new();
    ODS.get_or_init(|| {
        let cell = |v: &str| format!(r#"<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>"#);
        let rows: String = (0..20).map(|i| format!("<table:table-row>{}{}</table:table-row>", cell("a"), cell(&i.to_string()))).collect();
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="S">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        );
        let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>"#;
        zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            ("META-INF/manifest.xml", manifest.as_bytes()),
            ("content.xml", content.as_bytes()),
        ])
    })
}

fn valid_zip() -> &'static [u8] {
    static ZIP: OnceLock<Vec<u8>> = OnceLock::new();
    ZIP.get_or_init(|| {
        zip_of(&[
            ("a.csv", b"id,name\n1,\"x, y\"\n2,z\n"),
            ("b.csv", b"k\tv\n1\t2\n"),
            ("c.csv", b"\xEF\xBB\xBFp;q\n3;4\n"),
        ])
    })
}

/// Runs the readers; returns the error, if any, after checking the rules.
fn check(bytes: &[u8], ext: &str, workbook_content: bool) {
    let name = format!("input.{ext}");
    match prepare(bytes, &name).1 {
        Ok(p) => {
            for t in &p.tables {
                assert!(!t.columns.is_empty(), "a table always has columns: {t:?}");
            }
        }
        Err(ReadError::Panic { detail, .. }) if !workbook_content => {
            panic!("reader panicked on non-workbook content ({name}): {detail}")
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("file \""), "message names the file: {msg}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_under_every_extension(bytes in proptest::collection::vec(any::<u8>(), 0..1024), ext in 0..EXTENSIONS.len()) {
        let starts_like_container = bytes.starts_with(b"PK") || bytes.starts_with(&[0xD0, 0xCF]);
        check(&bytes, EXTENSIONS[ext], starts_like_container);
    }

    #[test]
    fn csv_like_text_under_text_extensions(
        text in "[a-c,;|\t\"\r\n ]{0,200}",
        ext in 0..3usize,
    ) {
        check(text.as_bytes(), EXTENSIONS[ext], false);
    }

    #[test]
    fn truncated_xlsx(cut in 0usize..10_000, ext in 0..EXTENSIONS.len()) {
        let full = valid_xlsx();
        check(&full[..cut.min(full.len())], EXTENSIONS[ext], true);
    }

    #[test]
    fn corrupted_xlsx(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = valid_xlsx().to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        check(&bytes, "xlsx", true);
    }

    #[test]
    fn truncated_and_corrupted_xls_and_ods(cut in 0usize..20_000, flip in any::<prop::sample::Index>(), value in any::<u8>()) {
        for (full, ext) in [(valid_xls(), "xls"), (valid_ods(), "ods")] {
            check(&full[..cut.min(full.len())], ext, true);
            let mut bytes = full.to_vec();
            let i = flip.index(bytes.len());
            bytes[i] = value;
            check(&bytes, ext, true);
        }
    }

    #[test]
    fn truncated_and_corrupted_zip(cut in 0usize..1_000, flip in any::<prop::sample::Index>(), value in any::<u8>()) {
        let full = valid_zip();
        check(&full[..cut.min(full.len())], "zip", false);
        let mut bytes = full.to_vec();
        let i = flip.index(bytes.len());
        bytes[i] = value;
        check(&bytes, "zip", false);
    }
}

#[test]
fn valid_fixtures_read_cleanly() {
    let (_s, p) = prepare_ok(valid_xlsx(), "v.xlsx");
    assert_eq!(p.tables.len(), 2);
    assert_eq!(p.tables[0].rows, 19);
    let (_s, p) = prepare_ok(valid_zip(), "v.zip");
    assert_eq!(p.tables.len(), 3);
    let (_s, p) = prepare_ok(valid_xls(), "v.xls");
    assert_eq!(only(&p).rows, 29);
    let (_s, p) = prepare_ok(valid_ods(), "v.ods");
    assert_eq!(only(&p).rows, 19);
}
