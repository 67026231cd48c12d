//! The streaming report writer: sheet groups, row pushing, row-limit overflow, saving.
//!
//! Every data sheet is streamed on its own as SpreadsheetML, deflated into
//! an unnamed temporary file as its rows come (`xlsx.rs`; one open file and
//! one compressor per sheet being filled, so a report with hundreds of
//! sheets holds hundreds of handles). Because each sheet streams on its own,
//! groups may be filled in any interleaving. At [`ReportWriter::finish`] the
//! sheets are put in order (Summary, then each group's parts in the order
//! the groups were begun) and copied, still compressed, into the workbook
//! file opened by [`ReportWriter::create`].
//!
//! A writer dropped without `finish` leaves an empty file behind; its
//! temporary files are removed by the operating system as they are unnamed.

use std::fs::File;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::cell::{Cell, CellRef};
use super::sheet::SheetInfo;
use super::sheet_names::SheetNames;
use super::summary::{self, SummaryData};
use super::xlsx::{self, SheetXml, Style};
use super::{ReportError, EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS, SUMMARY_SHEET};

/// Data column widths are the header's length plus 2, within these bounds.
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 50;

/// Tells handles of different writers apart.
static NEXT_REPORT_ID: AtomicU64 = AtomicU64::new(1);

/// How a report is written.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Most rows of one sheet, header row included; a group with more data
    /// continues on further sheets. Between 2 and [`EXCEL_MAX_ROWS`] (the
    /// default); smaller values exist for tests.
    pub max_rows_per_sheet: u32,
    /// Where sheets keep their rows (compressed) until the report is
    /// finished; the system temporary directory when `None`. It needs room
    /// for about the size of the report.
    pub temp_dir: Option<PathBuf>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { max_rows_per_sheet: EXCEL_MAX_ROWS, temp_dir: None }
    }
}

/// Names one sheet group of one [`ReportWriter`]; rows are pushed through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetHandle {
    pub(super) report: u64,
    pub(super) group: usize,
}

/// One worksheet being filled.
struct Part {
    info: SheetInfo,
    sheet: SheetXml,
    /// Index of the next row to write (0 is the header).
    next_row: u32,
}

/// The sheets begun with one title.
struct Group {
    /// Name of the first sheet; continuations are named after it.
    first: String,
    headers: Vec<String>,
    /// Parts already full, in order, closed (compressed in their temporary files).
    full: Vec<(SheetInfo, File)>,
    current: Part,
}

/// Writes one execution report, streaming rows to disk as they come.
pub struct ReportWriter {
    id: u64,
    path: PathBuf,
    file: File,
    temp_dir: Option<PathBuf>,
    rows_per_sheet: u32,
    names: SheetNames,
    summary: SummaryData,
    groups: Vec<Group>,
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
        if let Some(dir) = &options.temp_dir {
            if !dir.is_dir() {
                let missing =
                    std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} is not a directory", dir.display()));
                return Err(ReportError::xlsx("setting the temporary directory")(missing));
            }
        }
        let file = File::create(path).map_err(|source| ReportError::File { path: path.to_path_buf(), source })?;
        Ok(ReportWriter {
            id: NEXT_REPORT_ID.fetch_add(1, Ordering::Relaxed),
            path: path.to_path_buf(),
            file,
            temp_dir: options.temp_dir,
            rows_per_sheet: options.max_rows_per_sheet,
            names: SheetNames::with_reserved(&[SUMMARY_SHEET]),
            summary: SummaryData::default(),
            groups: Vec::new(),
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
    pub fn summary(&mut self, facts: &[(String, String)], counts: &[(String, String, u64)]) -> Result<(), ReportError> {
        self.summary = SummaryData { facts: facts.to_vec(), counts: counts.to_vec() };
        Ok(())
    }

    /// Begins a sheet group titled e.g. `SQL Output (products)`, writing
    /// `headers` as its bold, frozen first row. The sheet's name is derived
    /// from the title; the full title is listed on the Summary sheet.
    pub fn begin_sheet<S: AsRef<str>>(&mut self, title: &str, headers: &[S]) -> Result<SheetHandle, ReportError> {
        if headers.len() > EXCEL_MAX_COLUMNS {
            return Err(ReportError::TooManyColumns { title: title.to_owned(), count: headers.len() });
        }
        let headers: Vec<String> = headers.iter().map(|h| h.as_ref().to_owned()).collect();
        let name = self.names.claim(title);
        let info = SheetInfo { name, title: title.to_owned(), part: 1, rows: 0 };
        let current = new_part(self.temp_dir.as_deref(), info, &headers)?;
        self.groups.push(Group { first: current.info.name.clone(), headers, full: Vec::new(), current });
        Ok(SheetHandle { report: self.id, group: self.groups.len() - 1 })
    }

    /// Appends one row to the group of `sheet`. Missing trailing cells are
    /// empty; more cells than headers is an error. When the current sheet is
    /// full the group continues on a new sheet that repeats the header.
    pub fn push_row(&mut self, sheet: &SheetHandle, cells: &[Cell]) -> Result<(), ReportError> {
        self.push_refs(sheet, cells.len(), cells.iter().map(Cell::borrowed))
    }

    /// [`push_row`](Self::push_row) with borrowed values: `count` cells from `cells`.
    pub fn push_refs<'a>(
        &mut self,
        sheet: &SheetHandle,
        count: usize,
        cells: impl IntoIterator<Item = CellRef<'a>>,
    ) -> Result<(), ReportError> {
        if sheet.report != self.id {
            return Err(ReportError::ForeignHandle);
        }
        let group = self.groups.get(sheet.group).ok_or(ReportError::ForeignHandle)?;
        if count > group.headers.len() {
            return Err(ReportError::RowTooWide {
                title: group.current.info.title.clone(),
                cells: count,
                headers: group.headers.len(),
            });
        }
        if group.current.next_row >= self.rows_per_sheet || group.current.sheet.bytes() > xlsx::MAX_SHEET_XML {
            self.roll_over(sheet.group)?;
        }
        let Some(group) = self.groups.get_mut(sheet.group) else {
            return Err(ReportError::ForeignHandle);
        };
        let part = &mut group.current;
        part.sheet.row(part.next_row, cells, Style::Plain).map_err(ReportError::xlsx("writing a row"))?;
        part.next_row += 1;
        part.info.rows += 1;
        Ok(())
    }

    /// Writes the Summary, orders the sheets and saves the workbook. Returns
    /// the data sheets in workbook order (after the Summary).
    pub fn finish(mut self) -> Result<Vec<SheetInfo>, ReportError> {
        let mut parts = Vec::new();
        for group in mem::take(&mut self.groups) {
            parts.extend(group.full);
            parts.push(close(group.current)?);
        }
        let infos: Vec<SheetInfo> = parts.iter().map(|(info, _)| info.clone()).collect();
        let summary = summary::build(&self.summary, &infos, self.temp_dir.as_deref())?;
        let mut sheets = vec![(SUMMARY_SHEET.to_owned(), summary)];
        sheets.extend(parts.into_iter().map(|(info, file)| (info.name, file)));

        let path = self.path;
        let file = xlsx::package(self.file, sheets).map_err(ReportError::xlsx("saving the workbook"))?;
        file.sync_all().map_err(|source| ReportError::File { path, source })?;
        Ok(infos)
    }

    /// Closes the current part of a group and starts the next.
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
        let next = new_part(self.temp_dir.as_deref(), info, &group.headers)?;
        let previous = mem::replace(&mut group.current, next);
        group.full.push(close(previous)?);
        Ok(())
    }
}

/// Starts a sheet with the header row written.
fn new_part(dir: Option<&Path>, info: SheetInfo, headers: &[String]) -> Result<Part, ReportError> {
    let widths: Vec<f64> =
        headers.iter().map(|h| (h.encode_utf16().count() + 2).clamp(MIN_WIDTH, MAX_WIDTH) as f64).collect();
    let mut sheet =
        SheetXml::begin(dir, &widths, false).map_err(ReportError::xlsx("creating a sheet's temporary file"))?;
    sheet
        .row(0, headers.iter().map(|h| CellRef::Text(h)), Style::Header)
        .map_err(ReportError::xlsx("writing a header row"))?;
    Ok(Part { info, sheet, next_row: 1 })
}

fn close(part: Part) -> Result<(SheetInfo, File), ReportError> {
    let file = part.sheet.close().map_err(ReportError::xlsx("finishing a sheet"))?;
    Ok((part.info, file))
}
