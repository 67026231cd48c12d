//! The Summary sheet: execution facts, counts per step and outcome, and the list of sheets.
//!
//! Layout (row numbers as Excel shows them):
//!
//! ```text
//! 1      Field  | Value                      (bold, frozen)
//! 2…     one row per fact, in the order given
//!        (blank row)
//!        Step   | Outcome | Rows            (bold; only when there are counts)
//!        one row per count
//!        (blank row)
//!        Sheet  | Title   | Part | Rows     (bold)
//!        one row per data sheet, in workbook order
//! ```
//!
//! The Summary is small, so it is an ordinary (in-memory) worksheet built
//! when the report is finished.

use rust_xlsxwriter::Worksheet;

use super::cell::{write_text, Formats};
use super::writer::SheetInfo;
use super::{ReportError, SUMMARY_SHEET};

/// Column widths of the Summary sheet, in Excel character units.
const WIDTHS: [f64; 4] = [30.0, 48.0, 14.0, 12.0];

/// Header of the facts table.
pub(crate) const FACTS_HEADER: [&str; 2] = ["Field", "Value"];
/// Header of the counts table.
pub(crate) const COUNTS_HEADER: [&str; 3] = ["Step", "Outcome", "Rows"];
/// Header of the sheets table.
pub(crate) const SHEETS_HEADER: [&str; 4] = ["Sheet", "Title", "Part", "Rows"];

/// What the Summary shows besides the list of sheets.
#[derive(Debug, Default)]
pub(crate) struct SummaryData {
    pub facts: Vec<(String, String)>,
    pub counts: Vec<(String, String, u64)>,
}

/// Builds the Summary worksheet.
pub(crate) fn build(
    data: &SummaryData,
    sheets: &[SheetInfo],
    formats: &Formats,
) -> Result<Worksheet, ReportError> {
    let mut sheet = Worksheet::new();
    sheet
        .set_name(SUMMARY_SHEET)
        .map_err(ReportError::xlsx("naming the Summary sheet"))?;
    for (col, width) in (0u16..).zip(WIDTHS) {
        sheet
            .set_column_width(col, width)
            .map_err(ReportError::xlsx("sizing the Summary columns"))?;
    }
    sheet
        .set_freeze_panes(1, 0)
        .map_err(ReportError::xlsx("freezing the Summary header"))?;
    fill(&mut sheet, data, sheets, formats).map_err(ReportError::xlsx("writing the Summary sheet"))?;
    Ok(sheet)
}

fn fill(
    sheet: &mut Worksheet,
    data: &SummaryData,
    sheets: &[SheetInfo],
    formats: &Formats,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut row = 0u32;
    header(sheet, row, &FACTS_HEADER, formats)?;
    for (field, value) in &data.facts {
        row += 1;
        write_text(sheet, row, 0, field.clone(), None)?;
        write_text(sheet, row, 1, value.clone(), None)?;
    }

    if !data.counts.is_empty() {
        row += 2;
        header(sheet, row, &COUNTS_HEADER, formats)?;
        for (step, outcome, rows) in &data.counts {
            row += 1;
            write_text(sheet, row, 0, step.clone(), None)?;
            write_text(sheet, row, 1, outcome.clone(), None)?;
            // Exact: a row count stays far below 2^53.
            sheet.write_number(row, 2, *rows as f64)?;
        }
    }

    row += 2;
    header(sheet, row, &SHEETS_HEADER, formats)?;
    for info in sheets {
        row += 1;
        write_text(sheet, row, 0, info.name.clone(), None)?;
        write_text(sheet, row, 1, info.title.clone(), None)?;
        sheet.write_number(row, 2, info.part)?;
        sheet.write_number(row, 3, info.rows as f64)?;
    }
    Ok(())
}

fn header(
    sheet: &mut Worksheet,
    row: u32,
    titles: &[&str],
    formats: &Formats,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (col, title) in (0u16..).zip(titles) {
        sheet.write_string_with_format(row, col, *title, &formats.header)?;
    }
    Ok(())
}
