//! Shared table shaping for all readers: which row is the header, how wide a
//! table is, and writing its rows to one RowBinary file.
//!
//! Decisions (the same for CSV, ZIP entries and every sheet):
//! * A cell is *blank* when it is empty or only whitespace. A row is blank
//!   when all its cells are; blank rows are skipped everywhere (the first
//!   non-blank row is the header, and blank rows among the data carry no data).
//! * The table's width is the header's cells up to its last non-blank cell,
//!   widened to the right as far as any data row has a non-blank cell. Cells
//!   past the header therefore become columns with blank-header names, `_k`
//!   numbered after the header's own blank cells (SPEC §2). Trailing columns
//!   that are blank in the header and in every row are dropped (the trailing
//!   `,,,` that spreadsheet exports add).
//! * Rows shorter than the width are padded with NULL. Values lose leading
//!   and trailing spaces and tabs, and a cell that is empty or only spaces
//!   and tabs is NULL, as Kizen's runtime reads them (ClickHouse's CSV
//!   defaults); inner whitespace and line breaks inside a value are kept.
//! * A table has at most [`MAX_COLUMNS`] (16,384) columns; a wider row is an
//!   error naming the row.
//! * Every row also carries the line it was read from (the text line where a
//!   CSV record starts, the sheet's row number in a workbook), written as a
//!   last column [`LINE_COLUMN`] after the table's own columns, so an outcome
//!   can name the place in the uploaded file (`TableMeta::lines`).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::ReadError;
use crate::input::TableMeta;
use crate::input_names::clean_headers;
use crate::rowbinary::RowBinaryWriter;

/// The column after a table's own ones holding each row's line in the file.
pub const LINE_COLUMN: &str = "_line";

/// Most columns a table may have (Excel's limit). Cell positions in a
/// workbook come from the file, so this also bounds what one row allocates.
pub(crate) const MAX_COLUMNS: usize = 16_384;

/// True if the cell carries no data for width and row-emptiness purposes.
pub(crate) fn is_blank(cell: &str) -> bool {
    cell.trim().is_empty()
}

/// Index of the last non-blank cell plus one (0 for a blank row).
pub(crate) fn used_width<I: IntoIterator<Item = bool>>(non_blank: I) -> usize {
    let mut width = 0;
    for (i, nb) in non_blank.into_iter().enumerate() {
        if nb {
            width = i + 1;
        }
    }
    width
}

/// Column names for a header row at the final table width.
pub(crate) fn header_columns(mut header: Vec<Option<String>>, width: usize) -> Vec<String> {
    header.resize(width, None);
    clean_headers(&header)
}

/// File name of the RowBinary data of the table at `index`.
pub(crate) fn data_file_name(index: usize) -> String {
    format!("input_{index}.rowbinary")
}

/// Collects warnings up to a cap; the rest are counted, not kept.
pub(crate) struct Warnings {
    list: Vec<String>,
    max: usize,
    dropped: u64,
}

impl Warnings {
    pub(crate) fn new(max: usize) -> Self {
        Warnings { list: Vec::new(), max, dropped: 0 }
    }

    pub(crate) fn push(&mut self, message: String) {
        if self.list.len() < self.max {
            self.list.push(message);
        } else {
            self.dropped += 1;
        }
    }

    /// The kept warnings, plus one line counting those left out.
    pub(crate) fn into_vec(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list.push(format!("… and {} more warnings", self.dropped));
        }
        self.list
    }
}

/// One table being written to `<out_dir>/input_<index>.rowbinary`.
pub(crate) struct TableOut {
    writer: RowBinaryWriter<File>,
    path: PathBuf,
    file: String,
    index: usize,
    columns: Vec<String>,
}

impl TableOut {
    /// Creates the data file. `file` is the user-facing name for errors.
    pub(crate) fn create(out_dir: &Path, index: usize, file: &str, columns: Vec<String>) -> Result<Self, ReadError> {
        let path = out_dir.join(data_file_name(index));
        let handle = File::create(&path).map_err(|source| ReadError::Output {
            file: file.to_owned(),
            path: path.display().to_string(),
            source,
        })?;
        Ok(TableOut {
            writer: RowBinaryWriter::new(handle, columns.len() + 1),
            path,
            file: file.to_owned(),
            index,
            columns,
        })
    }

    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    /// Writes one row of exactly `width()` values, each trimmed (see the
    /// module docs), read from `line` of the file (1-based).
    pub(crate) fn write(&mut self, row: &[Option<&str>], line: u64) -> Result<(), ReadError> {
        let line = line.to_string();
        let mut trimmed: Vec<Option<&str>> = row.iter().map(|v| v.and_then(trim_value)).collect();
        trimmed.push(Some(&line));
        let (file, path) = (&self.file, &self.path);
        self.writer.write_row(&trimmed).map_err(|source| ReadError::Output {
            file: file.clone(),
            path: path.display().to_string(),
            source,
        })
    }

    /// Flushes the data and describes the table.
    pub(crate) fn finish(self, name: String, source: String) -> Result<TableMeta, ReadError> {
        let TableOut { writer, path, file, index, columns } = self;
        let rows =
            writer.finish().map_err(|source| ReadError::Output { file, path: path.display().to_string(), source })?;
        Ok(TableMeta { name, source, index, columns, rows, file: data_file_name(index), lines: true })
    }
}

/// A value without leading and trailing spaces and tabs; None when nothing is left.
pub(crate) fn trim_value(value: &str) -> Option<&str> {
    Some(value.trim_matches([' ', '\t'])).filter(|v| !v.is_empty())
}

/// Spreadsheet-style column letters for a 0-based column index: A, Z, AA, …
pub(crate) fn column_letters(mut col: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_width_ignores_trailing_blanks() {
        assert_eq!(used_width([true, false, true, false, false]), 3);
        assert_eq!(used_width([false, false]), 0);
        assert_eq!(used_width(Vec::<bool>::new()), 0);
    }

    #[test]
    fn header_is_padded_with_blank_names() {
        let header = vec![Some("a".to_owned()), None, Some("b".to_owned())];
        assert_eq!(header_columns(header, 5), vec!["a", "_1", "b", "_2", "_3"]);
    }

    #[test]
    fn values_lose_surrounding_spaces_and_tabs_only() {
        assert_eq!(trim_value("  a b\t"), Some("a b"));
        assert_eq!(trim_value(" \t "), None);
        assert_eq!(trim_value(""), None);
        assert_eq!(trim_value("\nx\n"), Some("\nx\n"), "line breaks are not trimmed");
        assert_eq!(trim_value("\u{a0}x"), Some("\u{a0}x"), "nor non-breaking spaces");
    }

    #[test]
    fn column_letters_like_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(column_letters(16_383), "XFD");
    }

    #[test]
    fn warnings_are_capped_with_a_count() {
        let mut w = Warnings::new(2);
        for i in 0..5 {
            w.push(format!("w{i}"));
        }
        assert_eq!(w.into_vec(), vec!["w0", "w1", "… and 3 more warnings"]);
    }
}
