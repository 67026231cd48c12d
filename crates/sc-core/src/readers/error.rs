//! `ReadError`: every way reading an input file can fail, each message naming
//! the file (and, where it applies, the sheet, the 1-based row and the column).
//!
//! `file` is always the name the user gave the file; for an entry of a ZIP it
//! is `archive.zip!entry.csv`, so the message points at the exact text.

use std::io;

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
    #[error("file \"{file}\" is not a text file (it contains NUL bytes at byte {offset}); expected CSV, TSV, a spreadsheet or a ZIP of CSV files")]
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

    /// A ZIP holds no `.csv`, `.tsv` or `.txt` file at its root.
    #[error("file \"{file}\": the ZIP archive has no .csv, .tsv or .txt file at its root{detail}")]
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
