//! ZIP archives of CSV files through `prepare_inputs`: root entries only, in
//! archive order, naming, skipping, encodings inside entries, and the
//! uncompressed-size guard.

mod common;

use common::*;
use sc_core::readers::ReadOptions;

#[test]
fn root_text_files_in_archive_order() {
    let bytes = zip_of(&[
        ("Orders.csv", b"id,total\n1,9.50\n"),
        ("docs/", b""),
        ("docs/nested.csv", b"x\n1\n"),
        ("__MACOSX/._Orders.csv", b"\x00\x05junk"),
        (".DS_Store", b"\x00\x00"),
        ("readme.md", b"# hi"),
        ("lines.TSV", b"a\tb\n1,5\t2\n"),
        ("notes.txt", b"n;m\nx;y\n"),
    ]);
    let (s, p) = prepare_ok(&bytes, "batch.zip");
    let got: Vec<_> = p.tables.iter().map(|t| (t.index, t.name.as_str(), t.source.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (0, "orders_csv", "batch.zip!Orders.csv"),
            (1, "lines_tsv", "batch.zip!lines.TSV"),
            (2, "notes_txt", "batch.zip!notes.txt"),
        ]
    );
    assert_eq!(rows(&s, &p.tables[0]), vec![row(&["1", "9.50"])]);
    assert_eq!(rows(&s, &p.tables[1]), vec![row(&["1,5", "2"])]);
    assert_eq!(rows(&s, &p.tables[2]), vec![row(&["x", "y"])]);
    assert!(p.warnings.iter().any(|w| w.contains("\"readme.md\" ignored")), "{:?}", p.warnings);
    assert!(p.warnings.iter().any(|w| w.contains("1 text file(s) inside folders ignored")), "{:?}", p.warnings);
    // Temporary inflated entries are cleaned up; only the tables remain.
    let mut left: Vec<_> = std::fs::read_dir(s.out())
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["input_0.rowbinary", "input_1.rowbinary", "input_2.rowbinary"]);
}

#[test]
fn a_single_entry_is_still_named_from_the_entry() {
    let (_s, p) = prepare_ok(&zip_of(&[("Carrier Weekly.csv", b"a\n1\n")]), "upload.zip");
    assert_eq!(only(&p).name, "carrier_weekly_csv");
}

#[test]
fn empty_entries_are_skipped_and_keep_positions() {
    let bytes = zip_of(&[("a.csv", b""), ("b.csv", b"x\n1\n")]);
    let (_s, p) = prepare_ok(&bytes, "z.zip");
    assert_eq!(only(&p).index, 1);
    assert!(p.warnings.iter().any(|w| w.contains("z.zip!a.csv") && w.contains("no data")), "{:?}", p.warnings);
}

#[test]
fn names_colliding_after_cleaning_get_the_duplicate_suffix() {
    let bytes = zip_of(&[("a b.csv", b"x\n1\n"), ("a-b.csv", b"y\n2\n")]);
    let (_s, p) = prepare_ok(&bytes, "z.zip");
    let names: Vec<_> = p.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["a_b_csv", "a_b_csv__duplicate_1__"]);
}

#[test]
fn entry_errors_name_the_entry() {
    let bytes = zip_of(&[("ok.csv", b"a\n1\n"), ("bad.csv", b"a,b\n1,2\n\xff\x01\x02\xfe\x03\n")]);
    let msg = prepare_err(&bytes, "z.zip");
    assert_eq!(msg, "file \"z.zip!bad.csv\": invalid UTF-8 at byte 8 and encoding could not be detected");
}

#[test]
fn latin1_entry_is_transcoded() {
    let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("Name;Stadt\nJosé;Zürich\nFrançois;Genève\n");
    let (s, p) = prepare_ok(&zip_of(&[("l.csv", &latin)]), "z.zip");
    assert_eq!(rows(&s, only(&p))[0], row(&["José", "Zürich"]));
}

#[test]
fn archive_without_root_text_files_is_an_error() {
    let msg = prepare_err(&zip_of(&[("data/x.csv", b"a\n1\n")]), "z.zip");
    assert_eq!(
        msg,
        "file \"z.zip\": the ZIP archive has no .csv, .tsv or .txt file at its root (files inside folders are not read)"
    );
    let msg = prepare_err(&zip_of(&[("x.json", b"{}")]), "z.zip");
    assert_eq!(msg, "file \"z.zip\": the ZIP archive has no .csv, .tsv or .txt file at its root");
}

#[test]
fn all_entries_empty_is_empty() {
    assert_eq!(prepare_err(&zip_of(&[("a.csv", b"\n")]), "z.zip"), "file \"z.zip\" is empty");
}

#[test]
fn uncompressed_size_is_capped() {
    // 1 MiB of highly compressible CSV, against a 64 KiB limit.
    let mut big = b"a,b\n".to_vec();
    while big.len() < 1 << 20 {
        big.extend_from_slice(b"0,0\n");
    }
    let bytes = zip_of(&[("big.csv", &big)]);
    assert!(bytes.len() < 64 * 1024, "fixture compresses well");
    let opts = ReadOptions { max_uncompressed_bytes: 64 * 1024, ..ReadOptions::default() };
    let msg = match prepare_opts(&bytes, "bomb.zip", &opts).1 {
        Ok(p) => panic!("expected the cap to trigger: {p:?}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(msg, "file \"bomb.zip\": uncompressed content exceeds the limit of 65536 bytes");
    // The same archive under the default limit reads fine.
    let (_s, p) = prepare_ok(&bytes, "bomb.zip");
    assert_eq!(only(&p).rows, (big.len() as u64 - 4) / 4);
}

#[test]
fn workbook_size_is_capped_too() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..2000u32 {
        ws.write_string(r, 0, "the same text again and again").expect("cell");
    }
    let bytes = wb.save_to_buffer().expect("xlsx");
    let opts = ReadOptions { max_uncompressed_bytes: 16 * 1024, ..ReadOptions::default() };
    let err = prepare_opts(&bytes, "w.xlsx", &opts).1.expect_err("cap");
    assert_eq!(err.to_string(), "file \"w.xlsx\": uncompressed content exceeds the limit of 16384 bytes");
}

#[test]
fn truncated_archive_is_a_clear_error() {
    let bytes = zip_of(&[("a.csv", b"x\n1\n")]);
    let msg = prepare_err(&bytes[..bytes.len() - 10], "t.zip");
    assert!(msg.starts_with("file \"t.zip\": not a valid ZIP archive ("), "{msg}");
}
