//! ZIP archives of CSV files through `prepare_inputs`: which entries are
//! tables (as Kizen's runtime reads them), in archive order, naming,
//! skipping, encodings inside entries, and the uncompressed-size guard.

mod common;

use common::*;
use sc_core::readers::ReadOptions;

#[test]
fn csv_entries_at_the_root_in_archive_order_as_kizen_reads_them() {
    let bytes = zip_of(&[
        ("Orders.csv", b"id,total\n1,9.50\n"),
        ("docs/", b""),
        ("docs/nested.csv", b"x\n1\n"),
        ("__MACOSX/._Orders.csv", b"\x00\x05junk"),
        (".DS_Store", b"\x00\x00"),
        ("._Orders.csv", b"\x00\x05junk"),
        ("readme.md", b"# hi"),
        ("lines.TSV", b"a\tb\n1,5\t2\n"),
        ("2024 Totals.CSV", b"n;m\nx;y\n"),
    ]);
    let (s, p) = prepare_ok(&bytes, "batch.zip");
    let got: Vec<_> = p.tables.iter().map(|t| (t.index, t.name.as_str(), t.source.as_str())).collect();
    // Named without the extension, a leading digit kept; only the .csv files are numbered.
    assert_eq!(got, vec![(0, "orders", "batch.zip!Orders.csv"), (1, "2024_totals", "batch.zip!2024 Totals.CSV")]);
    assert_eq!(rows(&s, &p.tables[0]), vec![row(&["1", "9.50"])]);
    assert_eq!(rows(&s, &p.tables[1]), vec![row(&["x", "y"])]);
    for skipped in ["\"readme.md\" skipped", "\"lines.TSV\" skipped", "\"docs/nested.csv\" skipped"] {
        assert!(p.warnings.iter().any(|w| w.contains(skipped)), "{skipped}: {:?}", p.warnings);
    }
    assert!(!p.warnings.iter().any(|w| w.contains("MACOSX") || w.contains("._Orders") || w.contains("DS_Store")));
    // Temporary inflated entries are cleaned up; only the tables remain.
    let mut left: Vec<_> = std::fs::read_dir(s.out())
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["input_0.rowbinary", "input_1.rowbinary"]);
}

#[test]
fn a_compressed_folder_is_read_as_if_at_the_root() {
    // What "compress folder" makes of a folder `exports` holding two CSVs.
    let bytes = zip_of(&[
        ("exports/", b""),
        ("exports/contacts.csv", b"email\na@x.io\n"),
        ("__MACOSX/exports/._contacts.csv", b"junk"),
        ("exports/deals.csv", b"id\n7\n"),
        ("exports/old/deals.csv", b"id\n1\n"),
    ]);
    let (_s, p) = prepare_ok(&bytes, "exports.zip");
    let got: Vec<_> = p.tables.iter().map(|t| (t.index, t.name.as_str())).collect();
    assert_eq!(got, vec![(0, "contacts"), (1, "deals")]);
    assert!(p.warnings.iter().any(|w| w.contains("\"exports/old/deals.csv\" skipped")), "{:?}", p.warnings);
}

#[test]
fn a_single_entry_is_still_named_from_the_entry() {
    let (_s, p) = prepare_ok(&zip_of(&[("Carrier Weekly.csv", b"a\n1\n")]), "upload.zip");
    assert_eq!(only(&p).name, "carrier_weekly");
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
    assert_eq!(names, vec!["a_b", "a_b__duplicate_1__"]);
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
fn archive_without_csv_tables_is_an_error() {
    let msg = prepare_err(&zip_of(&[("data/x.csv", b"a\n1\n")]), "z.zip");
    assert_eq!(msg, "file \"z.zip\": the ZIP archive has no .csv file at its root or in a folder \"z/\"");
    let msg = prepare_err(&zip_of(&[("x.tsv", b"a\n1\n")]), "dir/Upload 1.zip");
    assert_eq!(
        msg,
        "file \"dir/Upload 1.zip\": the ZIP archive has no .csv file at its root or in a folder \"Upload 1/\""
    );
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
