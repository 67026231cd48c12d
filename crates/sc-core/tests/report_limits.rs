//! Report writer at Excel's limits: row overflow, sheet names, long text, odd values, errors.

mod common;

use common::Scratch;
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::NaiveDate;
use sc_core::report::{
    Cell, ReportError, ReportOptions, ReportWriter, EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS, MAX_TEXT_UNITS, SUMMARY_SHEET,
};

fn with_limit(rows: u32) -> ReportOptions {
    ReportOptions { max_rows_per_sheet: rows, ..ReportOptions::default() }
}

fn sheet_names(path: &Path) -> Vec<String> {
    let workbook: Xlsx<_> = open_workbook(path).expect("open report");
    workbook.sheet_names()
}

fn read_rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = open_workbook(path).expect("open report");
    let range = workbook.worksheet_range(sheet).expect("sheet");
    range.rows().map(<[Data]>::to_vec).collect()
}

fn text(value: &str) -> Data {
    Data::String(value.to_owned())
}

#[test]
fn the_default_row_limit_is_excels() {
    assert_eq!(EXCEL_MAX_ROWS, 1_048_576);
    assert_eq!(ReportOptions::default().max_rows_per_sheet, EXCEL_MAX_ROWS);
}

#[test]
fn a_long_group_continues_on_numbered_sheets_repeating_the_header() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create_with(&path, with_limit(10)).expect("create");
    let big = report.begin_sheet("SQL Output (products)", &["n", "label"]).expect("sheet");
    let small = report.begin_sheet("Extracted Variables (products)", &["n"]).expect("sheet");
    // 25 data rows at 9 per sheet: 9 + 9 + 7. The other group is filled in
    // between and must still come after all parts of the first.
    for n in 0..25i64 {
        report.push_row(&big, &[Cell::Int(n), Cell::Text(format!("row {n}"))]).expect("row");
        if n % 10 == 0 {
            report.push_row(&small, &[Cell::Int(n)]).expect("row");
        }
    }
    let infos = report.finish().expect("finish");

    let names = [
        "SQL Output (products)",
        "SQL Output (products) (2)",
        "SQL Output (products) (3)",
        "Extracted Variables (products)",
    ];
    assert_eq!(sheet_names(&path), [SUMMARY_SHEET, names[0], names[1], names[2], names[3]]);
    let summary: Vec<(&str, u32, u64)> = infos.iter().map(|i| (i.name.as_str(), i.part, i.rows)).collect();
    assert_eq!(summary, [(names[0], 1, 9), (names[1], 2, 9), (names[2], 3, 7), (names[3], 1, 3)]);
    assert!(infos[..3].iter().all(|i| i.title == "SQL Output (products)"));

    let mut next = 0.0;
    for (name, data_rows) in [(names[0], 9), (names[1], 9), (names[2], 7)] {
        let rows = read_rows(&path, name);
        assert_eq!(rows.len(), data_rows + 1, "{name}: header and data, within the limit");
        assert_eq!(rows[0], [text("n"), text("label")], "{name} repeats the header");
        for row in &rows[1..] {
            assert_eq!(row[0], Data::Float(next), "{name}: rows stay in order");
            next += 1.0;
        }
    }
    assert_eq!(next, 25.0);

    // The Summary's sheet list names every part and its full title.
    let listed: Vec<Vec<Data>> =
        read_rows(&path, SUMMARY_SHEET).into_iter().skip_while(|row| row[0] != text("Sheet")).skip(1).collect();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[1], [text(names[1]), text("SQL Output (products)"), Data::Float(2.0), Data::Float(9.0)]);
}

#[test]
fn a_group_exactly_at_the_limit_needs_no_second_sheet() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create_with(&path, with_limit(3)).expect("create");
    let sheet = report.begin_sheet("Rows", &["n"]).expect("sheet");
    for n in 0..2i64 {
        report.push_row(&sheet, &[Cell::Int(n)]).expect("row");
    }
    report.finish().expect("finish");
    assert_eq!(sheet_names(&path), [SUMMARY_SHEET, "Rows"]);
}

#[test]
fn sheet_names_are_sanitised_shortened_and_unique() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create(&path).expect("create");
    let titles = [
        "SQL Output (a/b: c*d?)",
        "Extracted Variables (warehouse_locations_east)",
        "Extracted Variables (warehouse_locations_west)",
        "summary",
        "[History]",
    ];
    for title in titles {
        let sheet = report.begin_sheet(title, &["x"]).expect("sheet");
        report.push_row(&sheet, &[Cell::from(title)]).expect("row");
    }
    let infos = report.finish().expect("finish");
    let expected = [
        "SQL Output (a_b_ c_d_)",
        "Extracted Variables (warehous…)",
        "Extracted Variables (wareho…)~2",
        "summary~2",
        "_History_",
    ];
    assert_eq!(sheet_names(&path)[1..], expected);
    for ((info, title), name) in infos.iter().zip(titles).zip(expected) {
        assert_eq!((info.title.as_str(), info.name.as_str()), (title, name));
        // Each sheet holds the rows of its own title.
        assert_eq!(read_rows(&path, name)[1], [text(title)]);
    }
}

#[test]
fn text_over_excels_cell_limit_is_cut_with_a_marker() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create(&path).expect("create");
    let sheet = report.begin_sheet("Long", &["payload"]).expect("sheet");
    let long = "é".repeat(40_000);
    report.push_row(&sheet, &[Cell::Text(long)]).expect("row");
    let long_fact = vec![("Error".to_owned(), "x".repeat(50_000))];
    report.summary(&long_fact, &[]).expect("summary");
    report.finish().expect("finish");

    let rows = read_rows(&path, "Long");
    let Data::String(cut) = &rows[1][0] else {
        panic!("text came back as {:?}", rows[1][0]);
    };
    assert_eq!(cut.encode_utf16().count(), MAX_TEXT_UNITS);
    assert!(cut.starts_with("éééé"));
    assert!(cut.ends_with(" …[cut: 40000 characters in all]"), "{}", &cut[cut.len() - 60..]);

    let summary = read_rows(&path, SUMMARY_SHEET);
    let Data::String(error) = &summary[1][1] else {
        panic!("summary value came back as {:?}", summary[1][1]);
    };
    assert!(error.ends_with("[cut: 50000 characters in all]"));
    assert!(error.encode_utf16().count() <= MAX_TEXT_UNITS);
}

#[test]
fn values_excel_cannot_hold_are_written_as_text() {
    let scratch = Scratch::new();
    let path = scratch.file("report.xlsx");
    let mut report = ReportWriter::create(&path).expect("create");
    let sheet = report.begin_sheet("Odd", &["a", "b", "c", "d", "e", "f"]).expect("sheet");
    let old = NaiveDate::from_ymd_opt(1850, 7, 1).expect("date");
    let old_stamp = old.and_hms_opt(8, 0, 0).expect("time");
    let cells = [
        Cell::Int(9_007_199_254_740_993),
        Cell::Int(-999_999_999_999_999),
        Cell::Number(f64::NAN),
        Cell::Number(f64::NEG_INFINITY),
        Cell::Date(old),
        Cell::DateTime(old_stamp),
    ];
    report.push_row(&sheet, &cells).expect("row");
    report.finish().expect("finish");
    assert_eq!(
        read_rows(&path, "Odd")[1],
        [
            text("9007199254740993"),
            Data::Float(-999_999_999_999_999.0),
            text("NaN"),
            text("-Infinity"),
            text("1850-07-01"),
            text("1850-07-01T08:00:00"),
        ]
    );
}

#[test]
fn invalid_row_limits_are_refused() {
    let scratch = Scratch::new();
    for limit in [0, 1, EXCEL_MAX_ROWS + 1] {
        let result = ReportWriter::create_with(&scratch.file("r.xlsx"), with_limit(limit));
        assert!(matches!(result, Err(ReportError::InvalidRowLimit(l)) if l == limit), "{limit}");
    }
    assert!(ReportWriter::create_with(&scratch.file("r.xlsx"), with_limit(2)).is_ok());
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let scratch = Scratch::new();
    let mut report = ReportWriter::create(&scratch.file("a.xlsx")).expect("create");
    let mut other = ReportWriter::create(&scratch.file("b.xlsx")).expect("create");
    let sheet = report.begin_sheet("Narrow", &["only"]).expect("sheet");
    let foreign = other.begin_sheet("Other", &["x"]).expect("sheet");

    let wide = report.push_row(&sheet, &[Cell::Int(1), Cell::Int(2)]);
    assert!(matches!(wide, Err(ReportError::RowTooWide { cells: 2, headers: 1, .. })));
    assert!(matches!(report.push_row(&foreign, &[Cell::Int(1)]), Err(ReportError::ForeignHandle)));
    let headers = vec!["h"; EXCEL_MAX_COLUMNS + 1];
    assert!(matches!(
        report.begin_sheet("Too wide", &headers),
        Err(ReportError::TooManyColumns { count, .. }) if count == EXCEL_MAX_COLUMNS + 1
    ));
    // The report is still usable after refused calls.
    report.push_row(&sheet, &[Cell::Int(1)]).expect("row");
    report.finish().expect("finish");
}

#[test]
fn an_unwritable_path_fails_at_create() {
    let scratch = Scratch::new();
    let missing = scratch.file("no/such/dir/report.xlsx");
    let result = ReportWriter::create(&missing);
    let Err(error @ ReportError::File { .. }) = result else {
        panic!("expected a file error");
    };
    assert!(error.to_string().contains("no/such/dir"), "{error}");
    assert!(error.hint().is_some());
}

#[test]
fn a_custom_temp_dir_is_used_and_must_exist() {
    let scratch = Scratch::new();
    let options = ReportOptions { temp_dir: Some(scratch.file("missing")), ..ReportOptions::default() };
    let result = ReportWriter::create_with(&scratch.file("r.xlsx"), options);
    assert!(matches!(result, Err(ReportError::Xlsx { .. })));

    let options = ReportOptions { temp_dir: Some(scratch.dir().to_path_buf()), ..ReportOptions::default() };
    let path = scratch.file("ok.xlsx");
    let mut report = ReportWriter::create_with(&path, options).expect("create");
    let sheet = report.begin_sheet("T", &["x"]).expect("sheet");
    report.push_row(&sheet, &[Cell::Int(5)]).expect("row");
    report.finish().expect("finish");
    assert_eq!(read_rows(&path, "T")[1], [Data::Float(5.0)]);
}
