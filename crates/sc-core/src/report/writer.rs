//! The streaming report writer: sheet groups, row pushing, row-limit overflow, saving.
//!
//! Every data sheet is a standalone constant-memory worksheet owned by its
//! group: a pushed row is kept only until the next row of the same sheet
//! starts, then it goes to that sheet's temporary file (one open file per
//! sheet, so a report with hundreds of sheets holds hundreds of handles).
//! Because each sheet streams on its own, groups may be filled in any
//! interleaving. At [`ReportWriter::finish`] the sheets are put in order
//! (Summary, then each group's parts in the order the groups were begun) and
//! the workbook is zipped into the file opened by [`ReportWriter::create`].
//!
//! A writer dropped without `finish` leaves an empty file behind; its
//! temporary files are removed by the operating system as they are unnamed.

use std::fs::File;
use std::io::BufWriter;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rust_xlsxwriter::{Workbook, Worksheet};

use super::cell::{write_cell, write_text, Cell, Formats};
use super::names::SheetNames;
use super::summary::{self, SummaryData};
use super::{ReportError, EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS, SUMMARY_SHEET};

/// Above this many (estimated) bytes of sheet XML the zip container is
/// written with ZIP64 extensions, which it needs past 4 GiB. The estimate is
/// rough, hence the margin.
const ZIP64_THRESHOLD: u64 = 2 << 30;

/// Rough XML bytes of a header cell or a row element.
const ROW_OVERHEAD: u64 = 32;

/// Data column widths are the header's length plus 2, within these bounds.
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 50;

/// A workbook zipped at deflate level 1: reports are mostly repetitive XML,
/// level 1 keeps most of the size gain at a fraction of the default's time.
fn new_workbook() -> Workbook {
    let mut wb = Workbook::new();
    wb.set_zip_compression_level(1);
    wb
}

/// Tells handles of different writers apart.
static NEXT_REPORT_ID: AtomicU64 = AtomicU64::new(1);

/// How a report is written.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Most rows of one sheet, header row included; a group with more data
    /// continues on further sheets. Between 2 and [`EXCEL_MAX_ROWS`] (the
    /// default); smaller values exist for tests.
    pub max_rows_per_sheet: u32,
    /// Where sheets keep their rows until the report is finished; the
    /// system temporary directory when `None`. It needs room for about the
    /// uncompressed size of the report.
    pub temp_dir: Option<PathBuf>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            max_rows_per_sheet: EXCEL_MAX_ROWS,
            temp_dir: None,
        }
    }
}

/// Names one sheet group of one [`ReportWriter`]; rows are pushed through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetHandle {
    pub(super) report: u64,
    pub(super) group: usize,
}

/// One worksheet of a finished report, as listed on the Summary sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetInfo {
    /// The worksheet's name in the workbook.
    pub name: String,
    /// The full title the group was begun with.
    pub title: String,
    /// 1 for a group's first sheet, 2, 3, … for its continuations.
    pub part: u32,
    /// Data rows on this sheet, header row excluded.
    pub rows: u64,
}

/// One worksheet being filled.
struct Part {
    info: SheetInfo,
    sheet: Worksheet,
    /// Index of the next row to write (0 is the header).
    next_row: u32,
}

/// The sheets begun with one title.
struct Group {
    /// Name of the first sheet; continuations are named after it.
    first: String,
    headers: Vec<String>,
    /// Parts already full, in order.
    full: Vec<Part>,
    current: Part,
}

/// Writes one execution report, streaming rows to disk as they come.
pub struct ReportWriter {
    id: u64,
    path: PathBuf,
    file: File,
    workbook: Workbook,
    rows_per_sheet: u32,
    names: SheetNames,
    formats: Formats,
    summary: SummaryData,
    groups: Vec<Group>,
    xml_bytes: u64,
}

impl ReportWriter {
    /// Creates (or truncates) the report file at `path` with default options.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        Self::create_with(path, ReportOptions::default())
    }

    /// Creates (or truncates) the report file at `path`. The file is opened
    /// at once, so an unwritable path fails here, before any work is done.
    pub fn create_with(path: &Path, options: ReportOptions) -> Result<Self, ReportError> {
        if !(2..=EXCEL_MAX_ROWS).contains(&options.max_rows_per_sheet) {
            return Err(ReportError::InvalidRowLimit(options.max_rows_per_sheet));
        }
        let mut workbook = new_workbook();
        if let Some(dir) = &options.temp_dir {
            workbook
                .set_tempdir(dir)
                .map_err(ReportError::xlsx("setting the temporary directory"))?;
        }
        let file = File::create(path).map_err(|source| ReportError::File {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ReportWriter {
            id: NEXT_REPORT_ID.fetch_add(1, Ordering::Relaxed),
            path: path.to_path_buf(),
            file,
            workbook,
            rows_per_sheet: options.max_rows_per_sheet,
            names: SheetNames::with_reserved(&[SUMMARY_SHEET]),
            formats: Formats::new(),
            summary: SummaryData::default(),
            groups: Vec::new(),
            xml_bytes: 0,
        })
    }

    /// Tells this writer's handles from other writers'.
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    /// Sets what the Summary sheet shows: `facts` as field/value rows in the
    /// given order (execution id, connector, status, trigger, times, error,
    /// engine version, …) and `counts` as (step, outcome, rows). May be
    /// called at any time before [`finish`](Self::finish); a later call
    /// replaces an earlier one. The Summary is always the first sheet.
    pub fn summary(
        &mut self,
        facts: &[(String, String)],
        counts: &[(String, String, u64)],
    ) -> Result<(), ReportError> {
        self.summary = SummaryData {
            facts: facts.to_vec(),
            counts: counts.to_vec(),
        };
        Ok(())
    }

    /// Begins a sheet group titled e.g. `SQL Output (products)`, writing
    /// `headers` as its bold, frozen first row. The sheet's name is derived
    /// from the title; the full title is listed on the Summary sheet.
    pub fn begin_sheet<S: AsRef<str>>(
        &mut self,
        title: &str,
        headers: &[S],
    ) -> Result<SheetHandle, ReportError> {
        if headers.len() > EXCEL_MAX_COLUMNS {
            return Err(ReportError::TooManyColumns {
                title: title.to_owned(),
                count: headers.len(),
            });
        }
        let headers: Vec<String> = headers.iter().map(|h| h.as_ref().to_owned()).collect();
        let name = self.names.claim(title);
        let info = SheetInfo {
            name,
            title: title.to_owned(),
            part: 1,
            rows: 0,
        };
        let mut sink = Sink {
            workbook: &mut self.workbook,
            formats: &self.formats,
            xml_bytes: &mut self.xml_bytes,
        };
        let current = sink.new_part(info, &headers)?;
        self.groups.push(Group {
            first: current.info.name.clone(),
            headers,
            full: Vec::new(),
            current,
        });
        Ok(SheetHandle {
            report: self.id,
            group: self.groups.len() - 1,
        })
    }

    /// Appends one row to the group of `sheet`. Missing trailing cells are
    /// empty; more cells than headers is an error. When the current sheet is
    /// full the group continues on a new sheet that repeats the header.
    pub fn push_row(&mut self, sheet: &SheetHandle, cells: &[Cell]) -> Result<(), ReportError> {
        self.push_cells(sheet, cells.len(), cells.iter().cloned())
    }

    /// [`push_row`](Self::push_row) taking the cells by value, so their text
    /// is handed to the sheet without a copy.
    pub fn push_owned(&mut self, sheet: &SheetHandle, cells: Vec<Cell>) -> Result<(), ReportError> {
        self.push_cells(sheet, cells.len(), cells.into_iter())
    }

    fn push_cells(
        &mut self,
        sheet: &SheetHandle,
        count: usize,
        cells: impl Iterator<Item = Cell>,
    ) -> Result<(), ReportError> {
        if sheet.report != self.id {
            return Err(ReportError::ForeignHandle);
        }
        let rows_per_sheet = self.rows_per_sheet;
        let group = self
            .groups
            .get(sheet.group)
            .ok_or(ReportError::ForeignHandle)?;
        if count > group.headers.len() {
            return Err(ReportError::RowTooWide {
                title: group.current.info.title.clone(),
                cells: count,
                headers: group.headers.len(),
            });
        }
        if group.current.next_row >= rows_per_sheet {
            self.roll_over(sheet.group)?;
        }
        let Some(group) = self.groups.get_mut(sheet.group) else {
            return Err(ReportError::ForeignHandle);
        };
        let part = &mut group.current;
        let row = part.next_row;
        let mut bytes = ROW_OVERHEAD;
        for (col, cell) in (0u16..).zip(cells) {
            bytes += write_cell(&mut part.sheet, row, col, cell, &self.formats)
                .map_err(ReportError::xlsx("writing a row"))?;
        }
        part.next_row += 1;
        part.info.rows += 1;
        self.xml_bytes += bytes;
        Ok(())
    }

    /// Writes the Summary, orders the sheets and saves the workbook. Returns
    /// the data sheets in workbook order (after the Summary).
    pub fn finish(mut self) -> Result<Vec<SheetInfo>, ReportError> {
        let mut parts = Vec::new();
        for group in mem::take(&mut self.groups) {
            parts.extend(group.full);
            parts.push(group.current);
        }
        let infos: Vec<SheetInfo> = parts.iter().map(|part| part.info.clone()).collect();
        let summary = summary::build(&self.summary, &infos, &self.formats)?;
        self.workbook.push_worksheet(summary);
        for part in parts {
            self.workbook.push_worksheet(part.sheet);
        }
        if self.xml_bytes > ZIP64_THRESHOLD {
            self.workbook.use_zip_large_file(true);
        }

        let path = self.path;
        let file_error = |source| ReportError::File {
            path: path.clone(),
            source,
        };
        let mut out = BufWriter::new(self.file);
        self.workbook
            .save_to_writer(&mut out)
            .map_err(ReportError::xlsx("saving the workbook"))?;
        let file = out
            .into_inner()
            .map_err(|error| file_error(error.into_error()))?;
        file.sync_all().map_err(file_error)?;
        Ok(infos)
    }

    /// Moves the current part of a group to its full parts and starts the next.
    fn roll_over(&mut self, index: usize) -> Result<(), ReportError> {
        let Some(group) = self.groups.get_mut(index) else {
            return Err(ReportError::ForeignHandle);
        };
        let part = group.current.info.part + 1;
        let info = SheetInfo {
            name: self.names.claim_part(&group.first, part),
            title: group.current.info.title.clone(),
            part,
            rows: 0,
        };
        let mut sink = Sink {
            workbook: &mut self.workbook,
            formats: &self.formats,
            xml_bytes: &mut self.xml_bytes,
        };
        let next = sink.new_part(info, &group.headers)?;
        let previous = mem::replace(&mut group.current, next);
        group.full.push(previous);
        Ok(())
    }
}

/// The parts of a writer that make sheets, borrowed apart from its groups.
struct Sink<'a> {
    workbook: &'a mut Workbook,
    formats: &'a Formats,
    xml_bytes: &'a mut u64,
}

impl Sink<'_> {
    /// Creates a constant-memory sheet with the header row written.
    fn new_part(&mut self, info: SheetInfo, headers: &[String]) -> Result<Part, ReportError> {
        let mut sheet = self
            .workbook
            .new_worksheet_with_constant_memory()
            .map_err(ReportError::xlsx("creating a sheet's temporary file"))?;
        sheet
            .set_name(&info.name)
            .map_err(ReportError::xlsx("naming a sheet"))?;
        sheet
            .set_freeze_panes(1, 0)
            .map_err(ReportError::xlsx("freezing a header row"))?;
        for (col, header) in (0u16..).zip(headers) {
            let width = (header.encode_utf16().count() + 2).clamp(MIN_WIDTH, MAX_WIDTH);
            sheet
                .set_column_width(col, width as f64)
                .map_err(ReportError::xlsx("sizing a column"))?;
            write_text(&mut sheet, 0, col, header.clone(), Some(&self.formats.header))
                .map_err(ReportError::xlsx("writing a header row"))?;
            *self.xml_bytes += ROW_OVERHEAD + header.len() as u64;
        }
        Ok(Part {
            info,
            sheet,
            next_row: 1,
        })
    }
}
