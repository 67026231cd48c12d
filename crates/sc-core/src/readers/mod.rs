//! Input readers: turn a user's file (CSV, TSV, XLSX, XLSM, XLSB, XLS, ODS or
//! a ZIP of CSV files) into input tables written as RowBinary (SPEC §2).
//!
//! Entry point: [`prepare_inputs`]. The decisions each reader makes are
//! documented in its module: `detect` (format from extension and magic
//! bytes), `text` (encodings), `delimited` (CSV/TSV), `workbook` (sheets),
//! `cells` (how cell values become text), `archive` (ZIPs), `table`
//! (header, width, blank rows) and `xls_guard` / `xml_guard` (memory limits
//! checked before calamine allocates). In short:
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
//! * Every [`ReadError`] message names the file as the user called it (an
//!   entry of a ZIP as `archive.zip!entry.csv`) and, where it applies, the
//!   sheet, the 1-based row and the column.

mod archive;
mod cells;
mod delimited;
mod detect;
mod table;
pub use table::LINE_COLUMN;
mod text;
mod workbook;
mod xls_guard;
mod xml_guard;

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::input::TableMeta;
use crate::input_names::{make_unique, table_name_from_file};
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
    guarded(file_name, || read_any(input, file_name, out_dir, opts))
}

/// Runs `f`, turning a panic (from a third-party reader on malformed input)
/// into [`ReadError::Panic`] naming `file`.
fn guarded<T>(file: &str, f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_owned()
            };
            Err(ReadError::Panic { file: file.to_owned(), detail })
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

/// Why an input file could not be turned into input tables.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file has no bytes, or no row with any non-empty cell.
    #[error("file \"{file}\" is empty")]
    Empty { file: String },

    /// Not UTF-8 (no BOM) and no other encoding decodes it plausibly.
    #[error("file \"{file}\": invalid UTF-8 at byte {offset} and encoding could not be detected")]
    UndetectedEncoding { file: String, offset: u64 },

    /// Declared (BOM) or detected encoding, but a byte sequence is malformed.
    #[error("file \"{file}\": invalid {encoding} text at byte {offset}")]
    InvalidText { file: String, encoding: String, offset: u64 },

    /// NUL bytes in what should be text, and it is not UTF-16.
    #[error("file \"{file}\" is not a text file (NUL byte at byte {offset}); expected CSV, TSV, a spreadsheet or a ZIP of CSV files")]
    Binary { file: String, offset: u64 },

    /// The workbook container or its parts could not be read.
    #[error("file \"{file}\": not a valid {kind} workbook ({detail})")]
    Workbook { file: String, kind: &'static str, detail: String },

    /// One sheet of an otherwise readable workbook could not be read.
    #[error("file \"{file}\", sheet \"{sheet}\": {detail}")]
    Sheet { file: String, sheet: String, detail: String },

    /// The file is not a readable ZIP archive, or an entry cannot be read.
    #[error("file \"{file}\": not a valid ZIP archive ({detail})")]
    Zip { file: String, detail: String },

    /// A ZIP holds no `.csv` file where tables are read (`detail` says where).
    #[error("file \"{file}\": the ZIP archive has no .csv file{detail}")]
    NoTables { file: String, detail: String },

    /// Uncompressed content above the configured cap (zip bomb guard).
    #[error("file \"{file}\": uncompressed content exceeds the limit of {limit} bytes")]
    TooLarge { file: String, limit: u64 },

    /// A delimited-text problem at a given row (1-based line of the file).
    #[error("file \"{file}\", row {row}: {detail}")]
    Row { file: String, row: u64, detail: String },

    /// The extension promises one format and the bytes are something else
    /// that cannot be read as such.
    #[error("file \"{file}\": {detail}")]
    Unsupported { file: String, detail: String },

    /// Reading the input failed at the operating-system level.
    #[error("file \"{file}\": read error: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },

    /// Writing a prepared table into the execution directory failed.
    #[error("file \"{file}\": cannot write prepared table {path}: {source}")]
    Output {
        file: String,
        path: String,
        #[source]
        source: io::Error,
    },

    /// A third-party reader panicked on malformed input; caught at the
    /// reader boundary so the worker survives.
    #[error("file \"{file}\": the file is damaged or not supported (reader failure: {detail})")]
    Panic { file: String, detail: String },
}

impl ReadError {
    /// The file (or `archive!entry`) the error is about.
    pub fn file(&self) -> &str {
        match self {
            ReadError::Empty { file }
            | ReadError::UndetectedEncoding { file, .. }
            | ReadError::InvalidText { file, .. }
            | ReadError::Binary { file, .. }
            | ReadError::Workbook { file, .. }
            | ReadError::Sheet { file, .. }
            | ReadError::Zip { file, .. }
            | ReadError::NoTables { file, .. }
            | ReadError::TooLarge { file, .. }
            | ReadError::Row { file, .. }
            | ReadError::Unsupported { file, .. }
            | ReadError::Io { file, .. }
            | ReadError::Output { file, .. }
            | ReadError::Panic { file, .. } => file,
        }
    }

    /// True when the problem is in the user's file (fix the file and re-run);
    /// false for server-side I/O problems (disk, permissions).
    pub fn is_input_problem(&self) -> bool {
        !matches!(self, ReadError::Io { .. } | ReadError::Output { .. })
    }

    pub(crate) fn io(file: &str, source: io::Error) -> Self {
        ReadError::Io { file: file.to_owned(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_naming_the_file() {
        let err = guarded::<()>("w.xlsx", || panic!("index out of bounds")).expect_err("caught");
        assert_eq!(err.file(), "w.xlsx");
        assert_eq!(
            err.to_string(),
            "file \"w.xlsx\": the file is damaged or not supported (reader failure: index out of bounds)"
        );
        assert!(err.is_input_problem());
    }

    #[test]
    fn io_errors_are_not_input_problems() {
        let err = ReadError::io("a.csv", io::Error::other("disk on fire"));
        assert!(!err.is_input_problem());
        assert_eq!(err.to_string(), "file \"a.csv\": read error: disk on fire");
    }
}
