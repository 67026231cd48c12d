//! XLSX execution report (SPEC §7): a streaming workbook writer with a Summary sheet first.
//!
//! A report is one `.xlsx` file: a **Summary** sheet (the execution's
//! key/value facts, the counts per step and outcome, and the list of every
//! other sheet with its full title and row count), then one sheet group per
//! [`ReportWriter::begin_sheet`] call, e.g. `SQL Output (products)`,
//! `Extracted Variables (products)`, `products Upload (products)`.
//!
//! Rows are pushed one at a time and never held in memory: every data sheet
//! streams its rows as SpreadsheetML, compressed, to its own temporary file
//! (`xlsx.rs` says why the XML is written here and not by rust_xlsxwriter),
//! so several groups may be filled
//! in any interleaving as long as each one receives its rows in order (which
//! a push API guarantees). The Summary is small and built at
//! [`ReportWriter::finish`], so it can carry counts that are only known at
//! the end, and still comes first in the workbook.
//!
//! Excel limits are handled here, not by the caller:
//!
//! * sheet names are cleaned, shortened and made unique (rules in `names.rs`);
//! * a group longer than the per-sheet row limit (header row included,
//!   [`EXCEL_MAX_ROWS`] by default) continues on `… (2)`, `… (3)` sheets
//!   that repeat the header row;
//! * text longer than [`MAX_TEXT_UNITS`] is cut, ending with a marker that
//!   says how long it was ([`fit_text`]);
//! * dates before 1900 or after 9999, and integers Excel would round, are
//!   written as text rather than as a wrong value ([`Cell`]).
//!
//! The caller masks secrets before a value reaches this module.

mod cell;
mod sheet;
mod sheet_names;
mod summary;
mod threaded;
mod writer;
mod xlsx;

pub use cell::{fit_text, Cell, CellRef, MAX_EXACT_INT, MAX_TEXT_UNITS};
pub use sheet::SheetInfo;
pub use sheet_names::MAX_SHEET_NAME_UNITS;
pub use threaded::{Finishing, ReportThread, RowSink, BATCHES_IN_FLIGHT, BATCH_ROWS};
pub use writer::{ReportOptions, ReportWriter, SheetHandle};

use std::path::PathBuf;

/// Excel's row limit per worksheet, header row included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;

/// Excel's column limit per worksheet.
pub const EXCEL_MAX_COLUMNS: usize = 16_384;

/// Name of the first sheet; no data sheet can take it.
pub const SUMMARY_SHEET: &str = "Summary";

/// Everything that can go wrong while writing a report. Bad *data* never
/// ends up here: oversized text, out-of-range dates and the like are written
/// in a degraded but honest form instead.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report file could not be created or written.
    #[error("cannot write the report file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// [`ReportOptions::max_rows_per_sheet`] is outside what a sheet can hold.
    #[error("the per-sheet row limit {0} is invalid: it must be between 2 (header and one row) and {EXCEL_MAX_ROWS}")]
    InvalidRowLimit(u32),

    /// A sheet was begun with more headers than Excel has columns.
    #[error("sheet \"{title}\" has {count} columns; Excel allows at most {EXCEL_MAX_COLUMNS}")]
    TooManyColumns { title: String, count: usize },

    /// A row has more cells than its sheet has headers.
    #[error("a row for sheet \"{title}\" has {cells} cells but the sheet has {headers} columns")]
    RowTooWide { title: String, cells: usize, headers: usize },

    /// The thread of a [`ReportThread`] could not start or stopped.
    #[error("cannot write the report: {0}")]
    Thread(String),

    /// The handle was made by another [`ReportWriter`].
    #[error("this sheet handle belongs to another report")]
    ForeignHandle,

    /// A sheet's temporary file, or the workbook, could not be written.
    #[error("cannot write the report ({context}): {source}")]
    Xlsx {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    /// Wraps an error of writing the workbook with what was being done.
    pub(crate) fn xlsx(context: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| ReportError::Xlsx { context, source }
    }

    /// A hint for the user, where one can act on the problem.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ReportError::File { .. } => Some("check that the report directory exists, is writable and has free space"),
            ReportError::Xlsx { .. } => {
                Some("check that the temporary directory is writable and has room for the report's rows")
            }
            _ => None,
        }
    }
}
