//! The report writer against rust_xlsxwriter, in one run (docs/benchmarks.md,
//! "Report writer"). Never a test.
//!
//! Both write the same rows into one data sheet of a workbook and save it:
//! (A) rust_xlsxwriter's constant-memory worksheet, cell by cell, as the
//! report was written up to session 3 (bold frozen header, date format);
//! (B) `sc_core::report::ReportWriter` (rows pushed as borrowed cells).
//! Rows look like a validated row of the load benchmark: integers, decimals,
//! short and longer text, a date, a boolean, empty cells.
//!
//! `cargo run --release -p sc-bench --bin report-bench -- [--rows N] [--runs N]`

use std::path::PathBuf;
use std::time::Instant;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use sc_core::report::{CellRef, ReportWriter, RowSink};

const HEADERS: [&str; 12] =
    ["sku", "vendor", "name", "price", "qty", "created", "city", "code", "note", "active", "Errors", "Status"];
const CITIES: [&str; 4] = ["Amsterdam", "Berlin", "Lisbon", "Madrid"];

/// Row `i`'s texts (owned here so both writers borrow the same strings).
fn texts(i: u64) -> [String; 4] {
    [format!("SKU-{i:08}"), format!("V{:04}", i % 1000), format!("Item {i} & co"), format!("note {i}, with a comma")]
}

fn date(i: u64) -> (u16, u8, u8) {
    (2020 + (i % 5) as u16, 1 + (i % 12) as u8, 1 + (i % 28) as u8)
}

fn with_rust_xlsxwriter(path: &PathBuf, rows: u64) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = Workbook::new();
    wb.set_zip_compression_level(1);
    let bold = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = wb.add_worksheet_with_constant_memory()?;
    sheet.set_freeze_panes(1, 0)?;
    for (c, h) in (0u16..).zip(HEADERS) {
        sheet.write_string_with_format(0, c, h, &bold)?;
    }
    for i in 0..rows {
        let r = (i + 1) as u32;
        let [sku, vendor, name, note] = texts(i);
        let (y, m, d) = date(i);
        sheet.write_string(r, 0, sku)?;
        sheet.write_string(r, 1, vendor)?;
        sheet.write_string(r, 2, name)?;
        sheet.write_number(r, 3, (i % 10_000) as f64 / 100.0)?;
        if i % 17 != 0 {
            sheet.write_number(r, 4, (i % 50) as f64)?;
        }
        sheet.write_datetime_with_format(r, 5, &ExcelDateTime::from_ymd(y, m, d)?, &day)?;
        sheet.write_string(r, 6, CITIES[(i % 4) as usize])?;
        sheet.write_string(r, 7, format!("C{}", i % 97))?;
        sheet.write_string(r, 8, note)?;
        sheet.write_boolean(r, 9, i % 2 == 0)?;
        sheet.write_string(r, 11, "valid")?;
    }
    wb.save(path)
}

fn with_report_writer(path: &std::path::Path, rows: u64) -> Result<(), sc_core::report::ReportError> {
    let mut report = ReportWriter::create(path)?;
    let sheet = RowSink::begin_sheet(&mut report, "Extracted Variables (items)", &HEADERS)?;
    for i in 0..rows {
        let [sku, vendor, name, note] = texts(i);
        let (y, m, d) = date(i);
        let day = chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d)).expect("date");
        let code = format!("C{}", i % 97);
        let qty = if i % 17 != 0 { CellRef::Number((i % 50) as f64) } else { CellRef::Null };
        let cells = [
            CellRef::Text(&sku),
            CellRef::Text(&vendor),
            CellRef::Text(&name),
            CellRef::Number((i % 10_000) as f64 / 100.0),
            qty,
            CellRef::Date(day),
            CellRef::Text(CITIES[(i % 4) as usize]),
            CellRef::Text(&code),
            CellRef::Text(&note),
            CellRef::Bool(i % 2 == 0),
            CellRef::Null,
            CellRef::Text("valid"),
        ];
        report.push(&sheet, &cells)?;
    }
    report.finish().map(|_| ())
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} needs a number")))
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (rows, runs) = (arg(&args, "--rows", 1_000_000), arg(&args, "--runs", 3).max(1));
    let dir = std::env::temp_dir().join(format!("sc-report-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (a_path, b_path) = (dir.join("a.xlsx"), dir.join("b.xlsx"));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        with_rust_xlsxwriter(&a_path, rows).expect("rust_xlsxwriter");
        a.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        with_report_writer(&b_path, rows).expect("report writer");
        b.push(t.elapsed().as_secs_f64());
    }
    let size = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len() >> 20).unwrap_or(0);
    let (a, b) = (median(a), median(b));
    println!("{rows} rows x {} columns, one sheet, median of {runs} runs", HEADERS.len());
    println!("| writer | seconds | rows/s | file |");
    println!("|---|---|---|---|");
    println!(
        "| A rust_xlsxwriter constant memory (baseline) | {a:.2} | {:.0} | {} MiB |",
        rows as f64 / a,
        size(&a_path)
    );
    println!("| B sc_core ReportWriter | {b:.2} | {:.0} | {} MiB |", rows as f64 / b, size(&b_path));
    println!("B takes {:.2}x the time of A ({:.1}x faster)", b / a, a / b);
    let _ = std::fs::remove_dir_all(&dir);
}
