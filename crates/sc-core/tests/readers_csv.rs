//! Delimited text through `prepare_inputs`: delimiters, quoting, encodings,
//! header and row shape rules, and the error messages for bad text.

mod common;

use common::*;

#[test]
fn simple_csv_names_table_from_file_and_keeps_values() {
    let (s, p) = prepare_ok(b"Name,Unit Price,Qty\nApple,16.99,41\nPear,,3\n", "Carrier Weekly.csv");
    let t = only(&p);
    assert_eq!(t.name, "carrier_weekly_csv");
    assert_eq!(t.source, "Carrier Weekly.csv");
    assert_eq!(t.index, 0);
    assert_eq!(t.file, "input_0.rowbinary");
    assert_eq!(t.columns, vec!["name", "unit_price", "qty"]);
    assert_eq!(t.rows, 2);
    assert_eq!(rows(&s, t), vec![row(&["Apple", "16.99", "41"]), row(&["Pear", NULL, "3"])]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn detects_semicolon_tab_and_pipe() {
    for (bytes, name) in [
        (&b"a;b\n1,5;2\n"[..], "x.csv"),
        (&b"a\tb\n1,5\t2\n"[..], "x.txt"),
        (&b"a|b\n1,5|2\n"[..], "x.csv"),
        (&b"a\tb\n1,5\t2\n"[..], "x.tsv"),
    ] {
        let (s, p) = prepare_ok(bytes, name);
        let t = only(&p);
        assert_eq!(t.columns, vec!["a", "b"], "{name}: {bytes:?}");
        assert_eq!(rows(&s, t), vec![row(&["1,5", "2"])]);
    }
}

#[test]
fn tsv_single_column_keeps_commas() {
    let (s, p) = prepare_ok(b"note\nhello, world\n", "notes.tsv");
    assert_eq!(rows(&s, only(&p)), vec![row(&["hello, world"])]);
}

#[test]
fn quotes_delimiters_and_embedded_newlines() {
    let csv = b"id,comment\n1,\"Hello, \"\"world\"\"\"\n2,\"line one\nline two\"\n3,plain\n";
    let (s, p) = prepare_ok(csv, "q.csv");
    assert_eq!(
        rows(&s, only(&p)),
        vec![row(&["1", "Hello, \"world\""]), row(&["2", "line one\nline two"]), row(&["3", "plain"])]
    );
}

#[test]
fn crlf_line_endings() {
    let (s, p) = prepare_ok(b"a,b\r\n1,2\r\n", "w.csv");
    assert_eq!(rows(&s, only(&p)), vec![row(&["1", "2"])]);
}

#[test]
fn utf8_bom_is_skipped() {
    let (s, p) = prepare_ok(b"\xEF\xBB\xBFid,name\n1,Z\xC3\xBCrich\n", "bom.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["id", "name"]);
    assert_eq!(rows(&s, t), vec![row(&["1", "Zürich"])]);
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if big_endian { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    out
}

#[test]
fn utf16_with_bom_is_transcoded() {
    for big_endian in [false, true] {
        let bytes = utf16("id;city\n1;Zürich\n2;東京\n", big_endian, true);
        let (s, p) = prepare_ok(&bytes, "u16.csv");
        let t = only(&p);
        assert_eq!(t.columns, vec!["id", "city"]);
        assert_eq!(rows(&s, t), vec![row(&["1", "Zürich"]), row(&["2", "東京"])]);
    }
}

#[test]
fn utf16_without_bom_is_recognised_with_a_warning() {
    let (s, p) = prepare_ok(&utf16("a,b\n1,2\n", false, false), "nobom.csv");
    assert_eq!(rows(&s, only(&p)), vec![row(&["1", "2"])]);
    assert!(p.warnings.iter().any(|w| w.contains("UTF-16LE")), "{:?}", p.warnings);
}

#[test]
fn latin1_is_detected_and_transcoded() {
    let text =
        "Name;Stadt;Straße\nJosé;Zürich;Hauptstraße 5\nFrançois;Genève;Rue de la Paix\nMüller;München;Königstraße\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    let (s, p) = prepare_ok(&bytes, "latin1.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["name", "stadt", "stra_e"]);
    assert_eq!(rows(&s, t)[0], row(&["José", "Zürich", "Hauptstraße 5"]));
    assert!(p.warnings.iter().any(|w| w.contains("latin1.csv") && w.contains("windows-1252")), "{:?}", p.warnings);
}

#[test]
fn undetectable_encoding_names_file_and_offset() {
    // Valid ASCII, then bytes no single encoding makes plausible (C0 controls).
    let msg = prepare_err(b"a,b\n1,2\n\xff\x01\x02\xfe\x03\n", "bad.csv");
    assert_eq!(msg, "file \"bad.csv\": invalid UTF-8 at byte 8 and encoding could not be detected");
}

#[test]
fn invalid_utf8_after_bom_is_an_error_with_offset() {
    let msg = prepare_err(b"\xEF\xBB\xBFa,b\n1,\xC3\x28\n", "b.csv");
    assert_eq!(msg, "file \"b.csv\": invalid UTF-8 text at byte 9");
}

#[test]
fn malformed_utf16_is_an_error_with_offset() {
    let mut bytes = utf16("a,b\n", false, true);
    bytes.extend_from_slice(&[0x00, 0xDC, b'x', 0]);
    let msg = prepare_err(&bytes, "m.csv");
    assert_eq!(msg, "file \"m.csv\": invalid UTF-16LE text at byte 10");
}

#[test]
fn binary_content_is_rejected() {
    let msg = prepare_err(b"\x00\x01\x02\x03garbage\x00\x00\x10", "blob.csv");
    assert!(msg.starts_with("file \"blob.csv\" is not a text file"), "{msg}");
}

#[test]
fn empty_and_blank_files_are_errors() {
    assert_eq!(prepare_err(b"", "a.csv"), "file \"a.csv\" is empty");
    assert_eq!(prepare_err(b"\n\n,,\n  ,\n", "b.csv"), "file \"b.csv\" is empty");
    assert_eq!(prepare_err(b"\xEF\xBB\xBF", "c.csv"), "file \"c.csv\" is empty");
}

#[test]
fn header_only_is_a_table_with_zero_rows() {
    let (s, p) = prepare_ok(b"id,name\n", "h.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["id", "name"]);
    assert_eq!(t.rows, 0);
    assert!(rows(&s, t).is_empty());
}

#[test]
fn first_non_blank_row_is_header_and_blank_rows_are_skipped() {
    let (s, p) = prepare_ok(b"\n,,\nid,name\n1,a\n,,\n2,b\n", "x.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["id", "name"]);
    assert_eq!(rows(&s, t), vec![row(&["1", "a"]), row(&["2", "b"])]);
}

#[test]
fn short_rows_are_padded_and_long_rows_add_blank_header_columns() {
    let (s, p) = prepare_ok(b"a,,b\n1\n1,2,3,4,,6\n", "x.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["a", "_1", "b", "_2", "_3", "_4"]);
    assert_eq!(rows(&s, t), vec![row(&["1", NULL, NULL, NULL, NULL, NULL]), row(&["1", "2", "3", "4", NULL, "6"])]);
}

#[test]
fn trailing_empty_columns_are_dropped() {
    let (s, p) = prepare_ok(b"a,b,,\n1,2,,\n3,,,\n", "x.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["a", "b"]);
    assert_eq!(rows(&s, t), vec![row(&["1", "2"]), row(&["3", NULL])]);
}

#[test]
fn duplicate_and_blank_headers_follow_the_naming_rules() {
    let (_s, p) = prepare_ok(b"Name,name,,2nd Name,Name\n1,2,3,4,5\n", "x.csv");
    assert_eq!(only(&p).columns, vec!["name", "name__duplicate_1__", "_1", "_2nd_name", "name__duplicate_2__"]);
}

#[test]
fn values_are_trimmed_and_blank_cells_are_null_as_in_kizen() {
    let (s, p) = prepare_ok(b"a,b,c,d\n  x y\t,,\" \",\"\t\"\n", "x.csv");
    assert_eq!(rows(&s, only(&p)), vec![row(&["x y", NULL, NULL, NULL])]);
}

#[test]
fn a_delimiter_found_only_in_values_does_not_split_the_file() {
    // No `;` in the header: comma-separated, however many `;` the values hold.
    let (s, p) = prepare_ok(b"name,tags\nann,a;b;c\nbob,d;e\ncid,f;g;h;i\n", "x.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["name", "tags"]);
    assert_eq!(rows(&s, t)[0], row(&["ann", "a;b;c"]));
    // One column whose values hold `;`: still one column.
    let (s, p) = prepare_ok(b"note\na;b\nc;d\n", "x.csv");
    let t = only(&p);
    assert_eq!(t.columns, vec!["note"]);
    assert_eq!(rows(&s, t), vec![row(&["a;b"]), row(&["c;d"])]);
}

#[test]
fn unknown_extension_is_read_as_text() {
    let (s, p) = prepare_ok(b"a,b\n1,2\n", "export");
    let t = only(&p);
    assert_eq!(t.name, "export");
    assert_eq!(rows(&s, t), vec![row(&["1", "2"])]);
}

#[test]
fn too_many_columns_is_an_error_naming_the_row() {
    let mut csv = b"a\n".to_vec();
    csv.extend(std::iter::repeat_n(b"x,".as_slice(), 16_385).flatten());
    csv.push(b'\n');
    let msg = prepare_err(&csv, "wide.csv");
    assert_eq!(msg, "file \"wide.csv\", row 2: 16385 columns, more than the limit of 16384");
}

#[test]
fn every_row_knows_the_line_it_starts_on() {
    // Blank lines, a blank record and a quoted value spanning two lines.
    let (s, p) = prepare_ok(b"\nid,name\n1,a\n,,\n2,\"b\nc\"\n3,d\n", "x.csv");
    let t = only(&p);
    assert_eq!(rows(&s, t), vec![row(&["1", "a"]), row(&["2", "b\nc"]), row(&["3", "d"])]);
    assert_eq!(lines(&s, t), vec![3, 5, 7]);
    // Blank lines among the data, Windows line ends, no final line end.
    let (s, p) = prepare_ok(b"id,name\r\n\r\n1,\"x\r\ny\"\r\n\r\n\r\n2,b", "y.csv");
    let t = only(&p);
    assert_eq!(rows(&s, t), vec![row(&["1", "x\r\ny"]), row(&["2", "b"])]);
    assert_eq!(lines(&s, t), vec![3, 7]);
}
