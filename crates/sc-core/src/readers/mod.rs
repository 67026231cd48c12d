//! Input readers: turn a user's file (CSV, TSV, XLSX, XLSM, XLSB, XLS, ODS or
//! a ZIP of CSV files) into input tables written as RowBinary (SPEC §2).
//!
//! Entry point: [`prepare_inputs`]. The decisions each reader makes are
//! documented in its module: `detect` (format from extension and magic
//! bytes), `text` (encodings), `delimited` (CSV/TSV), `workbook` (sheets),
//! `cells` (how cell values become text), `archive` (ZIPs) and `table`
//! (header, width, blank rows). In short:
//!
//! * The first non-blank row is the header; blank rows are skipped; short rows
//!   are padded with NULL; cells past the header become `_k` columns.
//! * An empty cell is NULL. Every other value is text.
//! * An empty file (or one without a non-blank row) is an error; a file with
//!   only a header is a table with zero rows.
//! * Problems that do not stop the read (a formula error cell, a detected
//!   encoding, a skipped sheet, an extension that lied) come back as
//!   [`Prepared::warnings`], each naming the file and, where it applies, the
//!   sheet and cell.
//! * Table names are unique within one input (duplicate rule of SPEC §2).
//! * A panic inside a third-party reader is caught here and returned as
//!   [`ReadError::Panic`], so a malformed file can never take the worker down.

mod archive;
mod cells;
mod delimited;
mod detect;
mod error;
mod table;
mod text;
mod workbook;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

pub use error::ReadError;

use crate::input::TableMeta;
use crate::naming::{make_unique, table_name_from_file};
use detect::Format;
use table::Warnings;

/// Default cap on the uncompressed size of a ZIP or a ZIP-based workbook.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 4 << 30;

/// Default cap on the number of warnings kept (the rest are counted).
pub const MAX_WARNINGS: usize = 1000;

/// Limits for one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Zip bomb guard: most bytes a ZIP (or ZIP-based workbook) may inflate to.
    pub max_uncompressed_bytes: u64,
    /// Most warnings returned; further ones are summarised in one line.
    pub max_warnings: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_uncompressed_bytes: MAX_UNCOMPRESSED_BYTES, max_warnings: MAX_WARNINGS }
    }
}

/// The result of reading one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The tables written, in workbook / archive order. `index` is the
    /// position in the workbook or among the archive's eligible files, so
    /// it can have gaps where a sheet or entry was skipped.
    pub tables: Vec<TableMeta>,
    /// Things the user should know that did not stop the read.
    pub warnings: Vec<String>,
}

/// Reads the file at `input`, whose user-facing name is `file_name` (it
/// decides the extension and the table name), and writes one RowBinary file
/// per table into `out_dir` (`input_<index>.rowbinary`).
pub fn prepare_inputs(input: &Path, file_name: &str, out_dir: &Path) -> Result<Prepared, ReadError> {
    prepare_inputs_with(input, file_name, out_dir, &ReadOptions::default())
}

/// [`prepare_inputs`] with explicit limits.
pub fn prepare_inputs_with(
    input: &Path,
    file_name: &str,
    out_dir: &Path,
    opts: &ReadOptions,
) -> Result<Prepared, ReadError> {
    match catch_unwind(AssertUnwindSafe(|| read_any(input, file_name, out_dir, opts))) {
        Ok(result) => result,
        Err(payload) => {
            let detail = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_owned()
            };
            Err(ReadError::Panic { file: file_name.to_owned(), detail })
        }
    }
}

fn read_any(input: &Path, file: &str, out_dir: &Path, opts: &ReadOptions) -> Result<Prepared, ReadError> {
    let mut warnings = Warnings::new(opts.max_warnings);
    let (format, warning) = detect::detect(input, file)?;
    if let Some(w) = warning {
        warnings.push(w);
    }
    let mut tables = match format {
        Format::Text { prefer_tab } => {
            let out = delimited::read_text_table(input, file, prefer_tab, out_dir, 0, &mut warnings)?;
            vec![out.finish(table_name_from_file(file), file.to_owned())?]
        }
        Format::Workbook(kind) => workbook::read_workbook(input, file, kind, out_dir, opts, &mut warnings)?,
        Format::Zip => archive::read_zip(input, file, out_dir, opts, &mut warnings)?,
    };
    let names = make_unique(tables.iter().map(|t| t.name.clone()).collect());
    for (table, name) in tables.iter_mut().zip(names) {
        table.name = name;
    }
    Ok(Prepared { tables, warnings: warnings.into_vec() })
}
