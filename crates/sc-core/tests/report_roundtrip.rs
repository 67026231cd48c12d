//! Report round trip: write an execution report, read it back with calamine, compare.

mod common;

use common::Scratch;
use std::io::Read;
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::{NaiveDate, NaiveDateTime};
use sc_core::report::{Cell, ReportWriter, SheetInfo, SUMMARY_SHEET};

fn read_sheets(path: &Path) -> Vec<String> {
    let workbook: Xlsx<_> = open_workbook(path).expect("open report");
    workbook.sheet_names()
}

/// All cells of a sheet, from A1, as rows.
fn read_rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = open_workbook(path).expect("open report");
    let range = workbook.worksheet_range(sheet).expect("sheet");
    assert_eq!(range.start(), Some((0, 0)), "sheet {sheet} starts at A1");
    range.rows().map(<[Data]>::to_vec).collect()
}

fn text(value: &str) -> Data {
    Data::String(value.to_owned())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn stamp(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32, milli: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_milli_opt(h, min, s, milli).expect("valid time")
}

/// Excel's serial number of a date from 1900-03-01 on.
fn serial(value: NaiveDate) -> f64 {
    (value - date(1899, 12, 30)).num_days() as f64
}

fn facts() -> Vec<(String, String)> {
    [
        ("Execution id", "42"),
        ("Connector", "products"),
        ("Status", "partial_success"),
        ("Trigger", "manual"),
        ("Engine version", "chdb 3.1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// A report with three groups filled in interleaved order.
fn write_sample(path: &Path) -> Vec<SheetInfo> {
    let mut report = ReportWriter::create(path).expect("create");
    let sql = report
        .begin_sheet("SQL Output (products)", &["sku", "price", "qty", "active", "added", "seen"])
        .expect("sql sheet");
    let vars = report.begin_sheet("Extracted Variables (products)", &["sku", "name"]).expect("vars sheet");
    let load = report
        .begin_sheet("products Upload (products)", &["Row", "Status", "Record id", "Errors", "Warnings"])
        .expect("load sheet");

    report
        .push_row(
            &sql,
            &[
                Cell::from("A-1"),
                Cell::Number(9.5),
                Cell::Int(3),
                Cell::Bool(true),
                Cell::Date(date(2024, 2, 29)),
                Cell::DateTime(stamp(2024, 3, 1, 13, 45, 30, 250)),
            ],
        )
        .expect("row");
    report.push_row(&vars, &[Cell::from("A-1"), Cell::from("Kettle")]).expect("row");
    // A short row: the missing trailing cells stay empty; Null is empty too.
    report.push_row(&sql, &[Cell::from("B-2"), Cell::Null, Cell::Int(-7)]).expect("row");
    report
        .push_row(
            &load,
            &[Cell::Int(1), Cell::from("inserted"), Cell::from("rec_001"), Cell::Null, Cell::from("price rounded")],
        )
        .expect("row");
    report
        .push_row(&load, &[Cell::Int(2), Cell::from("failed"), Cell::Null, Cell::from("sku is required")])
        .expect("row");

    let counts = vec![
        ("products Upload".to_owned(), "inserted".to_owned(), 1),
        ("products Upload".to_owned(), "failed".to_owned(), 1),
    ];
    report.summary(&facts(), &counts).expect("summary");
    report.finish().expect("finish")
}

#[test]
fn sheets_come_back_in_order_with_summary_first() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let infos = write_sample(&path);
    assert_eq!(
        read_sheets(&path),
        [SUMMARY_SHEET, "SQL Output (products)", "Extracted Variables (products)", "products Upload (products)"]
    );
    let rows: Vec<u64> = infos.iter().map(|info| info.rows).collect();
    assert_eq!(rows, [2, 1, 2]);
    assert!(infos.iter().all(|info| info.part == 1 && info.name == info.title));
}

#[test]
fn values_and_types_round_trip() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    write_sample(&path);

    let rows = read_rows(&path, "SQL Output (products)");
    assert_eq!(rows.len(), 3);
    let headers = ["sku", "price", "qty", "active", "added", "seen"].map(text);
    assert_eq!(rows[0], headers);
    assert_eq!(rows[1][..4], [text("A-1"), Data::Float(9.5), Data::Float(3.0), Data::Bool(true)]);
    assert_eq!(rows[2][..3], [text("B-2"), Data::Empty, Data::Float(-7.0)]);
    assert_eq!(rows[2][3..], [Data::Empty, Data::Empty, Data::Empty]);

    // Dates are real Excel dates with a date format, not text or bare numbers.
    let Data::DateTime(added) = &rows[1][4] else {
        panic!("date cell came back as {:?}", rows[1][4]);
    };
    assert!(added.is_datetime());
    assert_eq!(added.as_f64(), serial(date(2024, 2, 29)));
    let Data::DateTime(seen) = &rows[1][5] else {
        panic!("timestamp cell came back as {:?}", rows[1][5]);
    };
    assert_eq!(seen.to_ymd_hms_milli(), (2024, 3, 1, 13, 45, 30, 250));

    let vars = read_rows(&path, "Extracted Variables (products)");
    assert_eq!(vars, [[text("sku"), text("name")], [text("A-1"), text("Kettle")]]);

    let load = read_rows(&path, "products Upload (products)");
    assert_eq!(load[0], ["Row", "Status", "Record id", "Errors", "Warnings"].map(text));
    assert_eq!(load[1], [Data::Float(1.0), text("inserted"), text("rec_001"), Data::Empty, text("price rounded")]);
    assert_eq!(load[2], [Data::Float(2.0), text("failed"), Data::Empty, text("sku is required"), Data::Empty]);
}

#[test]
fn summary_lists_facts_counts_and_sheets() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    write_sample(&path);
    let rows = read_rows(&path, SUMMARY_SHEET);
    let row = |cells: &[&str]| -> Vec<Data> {
        let mut out: Vec<Data> = cells.iter().map(|c| text(c)).collect();
        out.resize(4, Data::Empty);
        out
    };
    let mut expected = vec![row(&["Field", "Value"])];
    for (field, value) in facts() {
        expected.push(row(&[&field, &value]));
    }
    expected.push(row(&[]));
    expected.push(row(&["Step", "Outcome", "Rows"]));
    let count = |outcome: &str| {
        let mut r = row(&["products Upload", outcome]);
        r[2] = Data::Float(1.0);
        r
    };
    expected.push(count("inserted"));
    expected.push(count("failed"));
    expected.push(row(&[]));
    expected.push(row(&["Sheet", "Title", "Part", "Rows"]));
    for (title, rows) in
        [("SQL Output (products)", 2.0), ("Extracted Variables (products)", 1.0), ("products Upload (products)", 2.0)]
    {
        let mut r = row(&[title, title]);
        r[2] = Data::Float(1.0);
        r[3] = Data::Float(rows);
        expected.push(r);
    }
    assert_eq!(rows, expected);
}

/// The text of one part of the xlsx zip container.
fn zip_entry(path: &Path, entry: &str) -> String {
    let file = std::fs::File::open(path).expect("open zip");
    let mut archive = zip::ZipArchive::new(file).expect("zip");
    let mut xml = String::new();
    archive.by_name(entry).expect("entry").read_to_string(&mut xml).expect("read entry");
    xml
}

#[test]
fn header_rows_are_frozen_and_bold() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    write_sample(&path);
    // sheet1 is the Summary, sheet2 the first data sheet.
    for entry in ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"] {
        let xml = zip_entry(&path, entry);
        assert!(xml.contains(r#"<pane ySplit="1" topLeftCell="A2""#), "{entry}: {xml:.600}");
        // Header cells carry a style; the first data cell does not.
        assert!(xml.contains(r#"<c r="A1" s="1""#), "{entry}");
        assert!(xml.contains(r#"<c r="A2" t="#), "{entry}");
    }
    // Sheets stream, so strings are inline: there is no shared-strings table.
    assert!(zip_entry(&path, "xl/worksheets/sheet3.xml").contains(r#"t="inlineStr""#));
    assert!(zip_entry(&path, "xl/worksheets/sheet1.xml").contains(r#"t="inlineStr""#));
    assert!(!zip_entry(&path, "[Content_Types].xml").contains("sharedStrings"));
    // The Summary is the sheet a reader opens on.
    assert!(zip_entry(&path, "xl/worksheets/sheet1.xml").contains(r#"tabSelected="1""#));
    assert!(!zip_entry(&path, "xl/worksheets/sheet2.xml").contains("tabSelected"));
    let styles = zip_entry(&path, "xl/styles.xml");
    assert!(styles.contains("<b/>"), "a bold font exists");
    assert!(styles.contains(r#"formatCode="yyyy-mm-dd""#));
}

#[test]
fn an_empty_report_still_has_its_summary() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let infos = ReportWriter::create(&path).expect("create").finish().expect("finish");
    assert!(infos.is_empty());
    assert_eq!(read_sheets(&path), [SUMMARY_SHEET]);
    let rows = read_rows(&path, SUMMARY_SHEET);
    assert_eq!(rows[0][..2], [text("Field"), text("Value")]);
    assert_eq!(rows.len(), 1, "no empty sheets table: {rows:?}");
}

#[test]
fn a_sheet_without_rows_keeps_its_header() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create(&path).expect("create");
    report.begin_sheet("SQL Output (empty)", &["id", "name"]).expect("sheet");
    report.finish().expect("finish");
    assert_eq!(read_rows(&path, "SQL Output (empty)"), [[text("id"), text("name")]]);
}

#[test]
fn characters_xml_forbids_still_give_a_readable_workbook() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create(&path).expect("create");
    let sheet = report.begin_sheet("Upload", &["value"]).expect("sheet");
    let hostile = "a\u{FFFF}b\u{FFFE}c\u{1}d\u{B}e";
    report.push_row(&sheet, &[Cell::Text(hostile.into())]).expect("row");
    report.finish().expect("finish");
    // Every part is well-formed XML 1.0 (Excel refuses the file otherwise;
    // calamine is more lenient, so this is checked on the text itself) ...
    let xml = zip_entry(&path, "xl/worksheets/sheet2.xml");
    let is_xml_char =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    assert!(xml.chars().all(is_xml_char), "{xml}");
    // ... and calamine (like Excel) reads the characters back.
    assert_eq!(read_rows(&path, "Upload"), [[text("value")], [text(hostile)]]);
}

#[test]
fn a_summary_only_report_has_no_empty_tables() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create(&path).expect("create");
    report.summary(&facts(), &[]).expect("summary");
    report.finish().expect("finish");
    let rows = read_rows(&path, SUMMARY_SHEET);
    // The facts only: no counts header, no sheets header, no blank rows after them.
    assert_eq!(rows.len(), facts().len() + 1, "{rows:?}");
    assert!(rows.iter().all(|r| r.iter().any(|c| *c != Data::Empty)), "{rows:?}");
}

#[test]
fn the_summary_carries_full_names_that_sheet_names_cut() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create(&path).expect("create");
    let title = "customer_accounts_with_plans Upload (customer_accounts_with_plans)";
    let sheet = report.begin_sheet(title, &["Row", "Status"]).expect("sheet");
    report.push_row(&sheet, &[Cell::Int(1), Cell::from("created")]).expect("row");
    report.summary(&facts(), &[]).expect("summary");
    report.finish().expect("finish");
    let names = read_sheets(&path);
    assert!(names[1].chars().count() <= 31 && names[1] != title, "{names:?}");
    let rows = read_rows(&path, SUMMARY_SHEET);
    let listed = rows.iter().find(|r| r[0] == Data::String(names[1].clone())).expect("the sheet is listed");
    assert_eq!(listed[1], Data::String(title.to_owned()), "the full title beside the cut name");
}
