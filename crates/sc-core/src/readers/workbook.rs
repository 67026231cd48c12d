//! Workbooks (XLSX/XLSM, XLSB, XLS, ODS) via calamine: one table per sheet,
//! in workbook order.
//!
//! Decisions:
//! * `index` is the sheet's position in the workbook (0-based), so
//!   `input.page_idx_<n>` always means the n-th sheet. Sheets that are not
//!   worksheets (chart, dialog, macro sheets) are skipped with a warning;
//!   their index is then unused (no table has it). A sheet with no data is
//!   still a table, one column `_1` and no rows (as in Kizen's runtime); a
//!   workbook with no data on any sheet is an error.
//! * A workbook with exactly one sheet names its table from the file name
//!   (SPEC §2, like a CSV); with more sheets each table is named from its
//!   sheet name. Hidden sheets are read like visible ones.
//! * The table spans from the leftmost to the rightmost column holding data
//!   in any row, so a table that starts in column C starts there.
//! * XLSX and XLSB sheets are streamed cell by cell, so memory does not grow
//!   with the sheet: once when no data lies outside the header row's columns
//!   (the usual case), else twice (shape, then rows); XLS and ODS sheets are
//!   loaded one at a time by calamine. Streamed cells must come in row order
//!   (as every spreadsheet program writes them); a file that stores them out
//!   of order is rejected with a message asking to re-save it.
//! * A ZIP-based workbook whose parts uncompress to more than the configured
//!   limit is rejected before reading (zip bomb guard). XLS and ODS files,
//!   which calamine loads whole, are rejected when their sheets would need
//!   more cells than one full XLS sheet (16,777,216), and an XLSX whose
//!   shared-string count is implausible, before calamine allocates for them
//!   (`xls_guard`, `xml_guard`): a failed allocation aborts the process.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Ods, Reader, SheetType, Xls, Xlsb, Xlsx};

use super::cells::{from_data, from_data_ref, CellValue};
use super::detect::WorkbookKind;
use super::table::{column_letters, header_columns, TableOut, Warnings, MAX_COLUMNS};
use super::ReadError;
use super::ReadOptions;
use crate::input::TableMeta;
use crate::input_names::{table_name_from_file, table_name_from_sheet};

type Source = BufReader<File>;

enum Book {
    Xlsx(Xlsx<Source>),
    Xlsb(Xlsb<Source>),
    Xls(Xls<Source>),
    Ods(Ods<Source>),
}

/// Reads every sheet of the workbook at `path` into `out_dir`.
pub(crate) fn read_workbook(
    path: &Path,
    file: &str,
    kind: WorkbookKind,
    out_dir: &Path,
    opts: &ReadOptions,
    warnings: &mut Warnings,
) -> Result<Vec<TableMeta>, ReadError> {
    if kind == WorkbookKind::Xls {
        super::xls_guard::check_xls(path, file)?;
    } else {
        super::archive::check_total_size(path, file, opts.max_uncompressed_bytes)?;
    }
    match kind {
        WorkbookKind::Xlsx => super::xml_guard::check_xlsx(path, file)?,
        WorkbookKind::Ods => super::xml_guard::check_ods(path, file)?,
        WorkbookKind::Xlsb | WorkbookKind::Xls => {}
    }
    let mut book = open(path, file, kind)?;
    let sheets = match &book {
        Book::Xlsx(b) => b.sheets_metadata().to_vec(),
        Book::Xlsb(b) => b.sheets_metadata().to_vec(),
        Book::Xls(b) => b.sheets_metadata().to_vec(),
        Book::Ods(b) => b.sheets_metadata().to_vec(),
    };
    let single = sheets.len() == 1;
    let mut tables = Vec::new();
    let mut empty_sheets = 0usize;
    for (index, sheet) in sheets.iter().enumerate() {
        let at = SheetRef { file, sheet: &sheet.name };
        if sheet.typ != SheetType::WorkSheet {
            warnings.push(format!("{at}: skipped, it is not a worksheet ({:?})", sheet.typ));
            continue;
        }
        let out = match read_in_one_pass(&mut book, &at, out_dir, index, warnings)? {
            OnePass::Done(out) => out,
            OnePass::Empty => {
                // Still a table, as in Kizen's runtime: one column `_1`, no rows.
                empty_sheets += 1;
                TableOut::create(out_dir, index, file, vec!["_1".to_owned()])?
            }
            OnePass::Wider => {
                // Data outside the header's columns: measure the sheet, then write it.
                let Some(shape) = shape(&mut book, &at)? else { continue };
                let columns = header_columns(shape.header.clone(), shape.width());
                let mut out = TableOut::create(out_dir, index, file, columns)?;
                write_rows(&mut book, &at, &shape, &mut out, warnings)?;
                out
            }
        };
        let name = if single { table_name_from_file(file) } else { table_name_from_sheet(&sheet.name, index) };
        tables.push(out.finish(name, format!("{file}!{}", sheet.name))?);
    }
    // A workbook with no data at all is a mistaken upload, not a set of empty tables.
    if tables.len() == empty_sheets {
        return Err(ReadError::Empty { file: file.to_owned() });
    }
    Ok(tables)
}

fn open(path: &Path, file: &str, kind: WorkbookKind) -> Result<Book, ReadError> {
    let source = BufReader::new(File::open(path).map_err(|e| ReadError::io(file, e))?);
    let bad = |detail: String| ReadError::Workbook { file: file.to_owned(), kind: kind.label(), detail };
    Ok(match kind {
        WorkbookKind::Xlsx => Book::Xlsx(Xlsx::new(source).map_err(|e| bad(e.to_string()))?),
        WorkbookKind::Xlsb => Book::Xlsb(Xlsb::new(source).map_err(|e| bad(e.to_string()))?),
        WorkbookKind::Ods => Book::Ods(Ods::new(source).map_err(|e| bad(e.to_string()))?),
        WorkbookKind::Xls => Book::Xls(Xls::new(source).map_err(|e| {
            let lower = file.to_ascii_lowercase();
            let hint = if lower.ends_with(".xlsx") || lower.ends_with(".xlsm") {
                "; an .xlsx file stored in the old format is usually password-protected, which is not supported"
            } else {
                ""
            };
            bad(format!("{e}{hint}"))
        })?),
    })
}

/// Where a message points: a sheet of a file.
struct SheetRef<'a> {
    file: &'a str,
    sheet: &'a str,
}

impl std::fmt::Display for SheetRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "file \"{}\", sheet \"{}\"", self.file, self.sheet)
    }
}

impl SheetRef<'_> {
    fn error(&self, detail: impl std::fmt::Display) -> ReadError {
        ReadError::Sheet { file: self.file.to_owned(), sheet: self.sheet.to_owned(), detail: detail.to_string() }
    }
}

/// Calls `f(row, col, value)` for every stored cell of the sheet, in row
/// order, failing if the file stores cells out of order; `f` returning
/// `Ok(false)` stops the visit early.
fn visit(
    book: &mut Book,
    at: &SheetRef<'_>,
    f: &mut dyn FnMut(u32, u32, CellValue) -> Result<bool, ReadError>,
) -> Result<(), ReadError> {
    let mut last: Option<(u32, u32)> = None;
    let mut ordered = |row: u32, col: u32, value: CellValue| -> Result<bool, ReadError> {
        if last.is_some_and(|prev| prev >= (row, col)) {
            return Err(at.error(format!(
                "cells are stored out of order (cell {}{}); open and re-save the file",
                column_letters(col),
                u64::from(row) + 1
            )));
        }
        last = Some((row, col));
        f(row, col, value)
    };
    match book {
        Book::Xlsx(b) => {
            let mut cells = b.worksheet_cells_reader(at.sheet).map_err(|e| at.error(e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| at.error(e))? {
                let (row, col) = cell.get_position();
                if !ordered(row, col, from_data_ref(cell.get_value()))? {
                    break;
                }
            }
        }
        Book::Xlsb(b) => {
            let mut cells = b.worksheet_cells_reader(at.sheet).map_err(|e| at.error(e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| at.error(e))? {
                let (row, col) = cell.get_position();
                if !ordered(row, col, from_data_ref(cell.get_value()))? {
                    break;
                }
            }
        }
        Book::Xls(b) => visit_range(b.worksheet_range(at.sheet).map_err(|e| at.error(e))?, &mut ordered)?,
        Book::Ods(b) => visit_range(b.worksheet_range(at.sheet).map_err(|e| at.error(e))?, &mut ordered)?,
    }
    Ok(())
}

fn visit_range(
    range: calamine::Range<calamine::Data>,
    f: &mut dyn FnMut(u32, u32, CellValue) -> Result<bool, ReadError>,
) -> Result<(), ReadError> {
    let (row0, col0) = range.start().unwrap_or((0, 0));
    for (r, cells) in range.rows().enumerate() {
        for (c, d) in cells.iter().enumerate() {
            if *d != calamine::Data::Empty && !f(row0 + r as u32, col0 + c as u32, from_data(d))? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The header row and the column span of a sheet.
struct Shape {
    header_row: u32,
    header: Vec<Option<String>>,
    first_col: u32,
    last_col: u32,
}

impl Shape {
    /// The shape of a table whose header is `header_cells` (column, text) on
    /// `header_row` and whose data spans `first_col..=last_col`.
    fn new(
        at: &SheetRef<'_>,
        header_row: u32,
        header_cells: Vec<(u32, String)>,
        first_col: u32,
        last_col: u32,
    ) -> Result<Shape, ReadError> {
        if (last_col - first_col) as usize >= MAX_COLUMNS {
            return Err(at.error(format!(
                "data spans columns {} to {}, more than the limit of {MAX_COLUMNS} columns",
                column_letters(first_col),
                column_letters(last_col)
            )));
        }
        let mut header = vec![None; (last_col - first_col) as usize + 1];
        for (col, s) in header_cells {
            header[(col - first_col) as usize] = Some(s);
        }
        Ok(Shape { header_row, header, first_col, last_col })
    }

    fn width(&self) -> usize {
        (self.last_col - self.first_col) as usize + 1
    }
}

/// First pass: `None` when no cell holds data.
fn shape(book: &mut Book, at: &SheetRef<'_>) -> Result<Option<Shape>, ReadError> {
    let mut header_row: Option<u32> = None;
    let mut header_cells: Vec<(u32, String)> = Vec::new();
    let (mut first_col, mut last_col) = (u32::MAX, 0u32);
    visit(book, at, &mut |row, col, value| {
        if !value.is_data() {
            return Ok(true);
        }
        first_col = first_col.min(col);
        last_col = last_col.max(col);
        if header_row.is_none_or(|h| h == row) {
            header_row = Some(row);
            if let CellValue::Text(s) = value {
                header_cells.push((col, s));
            }
        }
        Ok(true)
    })?;
    let Some(header_row) = header_row else { return Ok(None) };
    Shape::new(at, header_row, header_cells, first_col, last_col).map(Some)
}

/// Assembles the rows below the header from a stream of cells and writes them.
struct RowSink {
    first_col: u32,
    current: Option<u32>,
    cells: Vec<Option<String>>,
    has_data: bool,
}

impl RowSink {
    fn new(shape: &Shape) -> Self {
        RowSink { first_col: shape.first_col, current: None, cells: vec![None; shape.width()], has_data: false }
    }

    fn flush(&mut self, out: &mut TableOut) -> Result<(), ReadError> {
        if std::mem::take(&mut self.has_data) {
            let row: Vec<Option<&str>> = self.cells.iter().map(|c| c.as_deref()).collect();
            // The sheet's own row number, as Excel shows it.
            out.write(&row, self.current.map_or(0, |r| u64::from(r) + 1))?;
        }
        self.cells.iter_mut().for_each(|c| *c = None);
        Ok(())
    }

    /// Takes one cell below the header inside the column span.
    fn cell(&mut self, row: u32, col: u32, value: CellValue, out: &mut TableOut) -> Result<(), ReadError> {
        if self.current != Some(row) {
            self.flush(out)?;
            self.current = Some(row);
        }
        self.has_data |= value.is_data();
        if let CellValue::Text(s) = value {
            self.cells[(col - self.first_col) as usize] = Some(s);
        }
        Ok(())
    }
}

fn formula_error_warning(at: &SheetRef<'_>, row: u32, col: u32, value: &CellValue) -> Option<String> {
    match value {
        CellValue::Error(code) => Some(format!(
            "{at}, cell {}{}: formula error {code} was read as NULL",
            column_letters(col),
            u64::from(row) + 1
        )),
        _ => None,
    }
}

/// Second pass: writes every data row below the header.
fn write_rows(
    book: &mut Book,
    at: &SheetRef<'_>,
    shape: &Shape,
    out: &mut TableOut,
    warnings: &mut Warnings,
) -> Result<(), ReadError> {
    let mut sink = RowSink::new(shape);
    visit(book, at, &mut |row, col, value| {
        if let Some(w) = formula_error_warning(at, row, col, &value) {
            warnings.push(w);
        }
        if row <= shape.header_row || col < shape.first_col || col > shape.last_col {
            return Ok(true);
        }
        sink.cell(row, col, value, out)?;
        Ok(true)
    })?;
    sink.flush(out)
}

/// How the one-pass read of a sheet ended.
enum OnePass {
    Done(TableOut),
    /// No cell holds data.
    Empty,
    /// Data lies outside the header's columns: the two-pass read is needed.
    Wider,
}

/// The usual case in one pass: the table spans the header row's columns and
/// rows are written as they are parsed. As soon as a data cell lies left or
/// right of the header, it gives up (`Wider`) and nothing it wrote is kept;
/// its warnings are only handed over on success.
fn read_in_one_pass(
    book: &mut Book,
    at: &SheetRef<'_>,
    out_dir: &Path,
    index: usize,
    warnings: &mut Warnings,
) -> Result<OnePass, ReadError> {
    let mut header_row: Option<u32> = None;
    let mut header_cells: Vec<(u32, String)> = Vec::new();
    let (mut first_col, mut last_col) = (u32::MAX, 0u32);
    let mut table: Option<(Shape, TableOut, RowSink)> = None;
    let mut wider = false;
    let mut found: Vec<String> = Vec::new();
    let open = |header_row: u32, header_cells: &mut Vec<(u32, String)>, first_col: u32, last_col: u32| {
        let shape = Shape::new(at, header_row, std::mem::take(header_cells), first_col, last_col)?;
        let out = TableOut::create(out_dir, index, at.file, header_columns(shape.header.clone(), shape.width()))?;
        let sink = RowSink::new(&shape);
        Ok::<_, ReadError>((shape, out, sink))
    };
    visit(book, at, &mut |row, col, value| {
        if let Some(w) = formula_error_warning(at, row, col, &value) {
            found.push(w);
        }
        if table.is_none() {
            match header_row {
                None if !value.is_data() => return Ok(true),
                Some(h) if h == row => {}
                None => header_row = Some(row),
                Some(h) => table = Some(open(h, &mut header_cells, first_col, last_col)?),
            }
            if table.is_none() {
                if value.is_data() {
                    first_col = first_col.min(col);
                    last_col = last_col.max(col);
                    if let CellValue::Text(s) = value {
                        header_cells.push((col, s));
                    }
                }
                return Ok(true);
            }
        }
        let (shape, out, sink) = table.as_mut().expect("opened above");
        if col < shape.first_col || col > shape.last_col {
            if value.is_data() {
                wider = true;
                return Ok(false);
            }
            return Ok(true);
        }
        sink.cell(row, col, value, out)?;
        Ok(true)
    })?;
    if wider {
        return Ok(OnePass::Wider);
    }
    let (_, mut out, mut sink) = match (table, header_row) {
        (Some(t), _) => t,
        (None, Some(h)) => open(h, &mut header_cells, first_col, last_col)?,
        (None, None) => return Ok(OnePass::Empty),
    };
    sink.flush(&mut out)?;
    for w in found {
        warnings.push(w);
    }
    Ok(OnePass::Done(out))
}
