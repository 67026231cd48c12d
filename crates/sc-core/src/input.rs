//! The contract between input readers and the engine: one prepared input table on disk.
//!
//! Readers turn a user's file into one or more tables, each written to the
//! execution directory as ClickHouse `RowBinary` with every column
//! `Nullable(String)` (an empty cell is NULL). The engine process creates
//! `input.<name>` and `input.page_idx_<index>` from these files.

use serde::{Deserialize, Serialize};

/// One prepared input table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    /// Cleaned table name (SPEC §2), e.g. `carrier_weekly_csv`.
    pub name: String,
    /// Where it came from, for messages and `meta.inputs.source`: the file
    /// name, or `file.xlsx!Sheet 1`, or `archive.zip!inner.csv`.
    pub source: String,
    /// 0-based position: `input.page_idx_<index>`.
    pub index: usize,
    /// Cleaned column names in order; every column is `Nullable(String)`.
    pub columns: Vec<String>,
    /// Number of data rows written.
    pub rows: u64,
    /// File name of the RowBinary data, relative to the execution directory.
    pub file: String,
    /// The data has one more column after `columns`: each row's line in the
    /// uploaded file (`_line`, see `readers::table`). Tables the readers did
    /// not write (a webhook batch) have none.
    #[serde(default)]
    pub lines: bool,
}
