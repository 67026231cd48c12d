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
//!        Sheet  | Title   | Part | Rows     (bold; only when there are data sheets)
//!        one row per data sheet, in workbook order: its name (cut to
//!        Excel's 31 characters) and the full scope or step title
//! ```
//!
//! The Summary is small, so it is an ordinary (in-memory) worksheet built
//! when the report is finished.

use std::fs::File;
use std::path::Path;

use super::cell::CellRef;
use super::sheet::SheetInfo;
use super::xlsx::{SheetXml, Style};
use super::ReportError;

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

/// Builds the Summary worksheet (the workbook's selected sheet) into a
/// temporary file in `dir`.
pub(crate) fn build(data: &SummaryData, sheets: &[SheetInfo], dir: Option<&Path>) -> Result<File, ReportError> {
    let mut sheet = SheetXml::begin(dir, &WIDTHS, true).map_err(ReportError::xlsx("creating the Summary sheet"))?;
    fill(&mut sheet, data, sheets).map_err(ReportError::xlsx("writing the Summary sheet"))?;
    sheet.close().map_err(ReportError::xlsx("writing the Summary sheet"))
}

fn fill(sheet: &mut SheetXml, data: &SummaryData, sheets: &[SheetInfo]) -> std::io::Result<()> {
    let header = |titles: &'static [&'static str]| titles.iter().map(|t| CellRef::Text(t));
    let mut row = 0u32;
    sheet.row(row, header(&FACTS_HEADER), Style::Header)?;
    for (field, value) in &data.facts {
        row += 1;
        sheet.row(row, [CellRef::Text(field), CellRef::Text(value)], Style::Plain)?;
    }

    if !data.counts.is_empty() {
        row += 2;
        sheet.row(row, header(&COUNTS_HEADER), Style::Header)?;
        for (step, outcome, rows) in &data.counts {
            row += 1;
            sheet.row(row, [CellRef::Text(step), CellRef::Text(outcome), count(*rows)], Style::Plain)?;
        }
    }

    // A report that is only the Summary (a failed or cancelled run) lists no sheets.
    if sheets.is_empty() {
        return Ok(());
    }
    row += 2;
    sheet.row(row, header(&SHEETS_HEADER), Style::Header)?;
    for info in sheets {
        row += 1;
        let cells =
            [CellRef::Text(&info.name), CellRef::Text(&info.title), count(u64::from(info.part)), count(info.rows)];
        sheet.row(row, cells, Style::Plain)?;
    }
    Ok(())
}

/// A row count as a number cell (counts stay far below Excel's exact range).
fn count(n: u64) -> CellRef<'static> {
    CellRef::Int(i64::try_from(n).unwrap_or(i64::MAX))
}
