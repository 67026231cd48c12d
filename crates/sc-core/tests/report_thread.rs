//! A report written through a `ReportThread` is the report `ReportWriter`
//! writes in place; mistakes and failures reach the caller.

mod common;

use common::Scratch;
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::NaiveDate;
use sc_core::report::{
    CellRef, ReportError, ReportOptions, ReportThread, ReportWriter, RowSink, SheetInfo, BATCH_ROWS, EXCEL_MAX_COLUMNS,
};

fn options(rows: u32) -> ReportOptions {
    ReportOptions { max_rows_per_sheet: rows, ..ReportOptions::default() }
}

/// Two interleaved groups, more rows than one batch and than one sheet
/// holds, every kind of cell.
fn fill(report: &mut impl RowSink) {
    let numbers =
        report.begin_sheet("SQL Output (items)", &["n", "label", "flag", "when", "stamp", "x"]).expect("sheet");
    let notes = report.begin_sheet("items Upload (items)", &["n", "note"]).expect("sheet");
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
    for n in 0..(2 * BATCH_ROWS as i64 + 37) {
        let label = format!("row {n} & <more>");
        let label = if n % 5 == 0 { CellRef::Null } else { CellRef::Text(&label) };
        let when = day + chrono::Days::new(n as u64);
        let stamp = when.and_hms_milli_opt(13, 45, 7, (n % 1000) as u32).expect("time");
        let row = [
            CellRef::Int(n),
            label,
            CellRef::Bool(n % 2 == 0),
            CellRef::Date(when),
            CellRef::DateTime(stamp),
            CellRef::Number(n as f64 / 8.0),
        ];
        report.push(&numbers, &row).expect("row");
        if n % 3 == 0 {
            let note = "x".repeat(n as usize % 7);
            report.push(&notes, &[CellRef::Int(n), CellRef::Text(&note)]).expect("row");
        }
    }
}

fn facts() -> Vec<(String, String)> {
    vec![("Execution".into(), "7".into()), ("Status".into(), "succeeded".into())]
}

fn counts() -> Vec<(String, String, u64)> {
    vec![("items".into(), "created".into(), 2085)]
}

fn every_sheet(path: &Path) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut workbook: Xlsx<_> = open_workbook(path).expect("open report");
    workbook
        .sheet_names()
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).expect("sheet");
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (name, rows)
        })
        .collect()
}

#[test]
fn a_report_written_on_a_thread_is_the_one_written_in_place() {
    let scratch = Scratch::new();
    let (here, there) = (scratch.file("here.xlsx"), scratch.file("there.xlsx"));

    let mut writer = ReportWriter::create_with(&here, options(1000)).expect("create");
    fill(&mut writer);
    writer.summary(&facts(), &counts()).expect("summary");
    let in_place: Vec<SheetInfo> = writer.finish().expect("finish");

    let mut thread =
        ReportThread::start(ReportWriter::create_with(&there, options(1000)).expect("create")).expect("start");
    fill(&mut thread);
    let threaded = thread.finish(facts(), counts()).expect("finish").wait().expect("saved");

    assert_eq!(threaded, in_place);
    assert_eq!(in_place.len(), 4, "2,085 rows at 999 a sheet take three sheets, plus the Upload sheet: {in_place:?}");
    let (a, b) = (every_sheet(&here), every_sheet(&there));
    assert_eq!(a.len(), 5, "Summary and four data sheets");
    assert_eq!(a, b);
    assert_eq!(b[1].1[1][..3], [Data::Float(0.0), Data::Empty, Data::Bool(true)]);
    assert_eq!(b[1].1[2][1], Data::String("row 1 & <more>".into()));
    assert!(matches!(b[1].1[2][3], Data::DateTime(_)), "{:?}", b[1].1[2][3]);
    assert_eq!(b[1].1[2][5], Data::Float(0.125));
}

#[test]
fn mistakes_are_reported_at_once() {
    let scratch = Scratch::new();
    let mut thread =
        ReportThread::start(ReportWriter::create(&scratch.file("r.xlsx")).expect("create")).expect("start");
    let mut other = ReportWriter::create(&scratch.file("other.xlsx")).expect("create");
    let sheet = thread.begin_sheet("Narrow", &["only"]).expect("sheet");
    let foreign = RowSink::begin_sheet(&mut other, "Other", &["x"]).expect("sheet");

    let wide = thread.push(&sheet, &[CellRef::Int(1), CellRef::Int(2)]);
    assert!(
        matches!(&wide, Err(ReportError::RowTooWide { title, cells: 2, headers: 1 }) if title == "Narrow"),
        "{wide:?}"
    );
    assert!(matches!(thread.push(&foreign, &[CellRef::Int(1)]), Err(ReportError::ForeignHandle)));
    let headers = vec!["h"; EXCEL_MAX_COLUMNS + 1];
    assert!(matches!(
        thread.begin_sheet("Too wide", &headers),
        Err(ReportError::TooManyColumns { count, .. }) if count == EXCEL_MAX_COLUMNS + 1
    ));
    // The mistakes did not stop the report.
    thread.push(&sheet, &[CellRef::Int(1)]).expect("row");
    let sheets = thread.finish(facts(), counts()).expect("finish").wait().expect("saved");
    assert_eq!(sheets.iter().map(|s| (s.name.as_str(), s.rows)).collect::<Vec<_>>(), [("Narrow", 1)]);
}

#[test]
fn a_failure_on_the_thread_reaches_the_caller() {
    let scratch = Scratch::new();
    let temp = scratch.file("rows");
    std::fs::create_dir_all(&temp).expect("temp dir");
    let options = ReportOptions { temp_dir: Some(temp.clone()), ..ReportOptions::default() };
    let mut thread = ReportThread::start(ReportWriter::create_with(&scratch.file("r.xlsx"), options).expect("create"))
        .expect("start");
    // The sheets' temporary files cannot be created: the thread fails on the first sheet.
    std::fs::remove_dir_all(&temp).expect("remove temp dir");
    let sheet = thread.begin_sheet("Rows", &["n"]).expect("queued, not yet written");
    let mut failure = None;
    for n in 0..(BATCH_ROWS as i64 * 4) {
        if let Err(e) = thread.push(&sheet, &[CellRef::Int(n)]) {
            failure = Some(e);
            break;
        }
    }
    let failure = match failure {
        Some(e) => e,
        None => match thread.finish(facts(), counts()) {
            Err(e) => e,
            Ok(saving) => saving.wait().expect_err("the report cannot be saved"),
        },
    };
    assert!(matches!(failure, ReportError::Xlsx { context: "creating a sheet's temporary file", .. }), "{failure:?}");
}
