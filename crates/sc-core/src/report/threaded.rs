//! Writing a report on a thread of its own.
//!
//! Turning rows into sheet XML costs about as much as validating them, and
//! it depends on nothing but the rows, so the execution worker hands its
//! report rows to a [`ReportThread`] and goes on: the variables stage
//! validates while the thread writes, and the load steps write to the
//! database while the thread writes their Upload sheets.
//!
//! Rows travel encoded, in batches of at most [`BATCH_ROWS`] rows (a batch
//! is sent early once it holds 1 MiB), through a channel that holds
//! [`BATCHES_IN_FLIGHT`] batches: when the thread falls behind, the caller
//! waits, so what waits in memory stays bounded. Mistakes the caller can make (too
//! many headers, a row wider than its sheet) are reported at once, as
//! [`ReportWriter`] does; a failure of the writer itself (disk full) ends
//! the thread and is returned by the next call.
//!
//! The thread is a plain `std::thread`: a caller that must control the
//! thread's signal mask (a PostgreSQL backend) sets it around
//! [`ReportThread::start`], which the new thread inherits.

use std::mem;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};

use super::sheet::SheetInfo;
use super::writer::{ReportWriter, SheetHandle};
use super::{CellRef, ReportError, EXCEL_MAX_COLUMNS};

/// Rows sent to the thread at a time (fewer when their bytes pass [`BATCH_BYTES`]).
pub const BATCH_ROWS: usize = 1024;
/// Encoded bytes after which a batch is sent whatever its row count.
const BATCH_BYTES: usize = 1 << 20;
/// Batches waiting for the thread before the caller blocks.
pub const BATCHES_IN_FLIGHT: usize = 8;

/// Where report rows go: a [`ReportWriter`] on the caller's thread, or a
/// [`ReportThread`].
pub trait RowSink {
    /// Begins a sheet group (see [`ReportWriter::begin_sheet`]).
    fn begin_sheet(&mut self, title: &str, headers: &[&str]) -> Result<SheetHandle, ReportError>;
    /// Appends one row to the group of `sheet` (see [`ReportWriter::push_row`]).
    fn push(&mut self, sheet: &SheetHandle, cells: &[CellRef<'_>]) -> Result<(), ReportError>;
}

impl RowSink for ReportWriter {
    fn begin_sheet(&mut self, title: &str, headers: &[&str]) -> Result<SheetHandle, ReportError> {
        ReportWriter::begin_sheet(self, title, headers)
    }

    fn push(&mut self, sheet: &SheetHandle, cells: &[CellRef<'_>]) -> Result<(), ReportError> {
        self.push_refs(sheet, cells.len(), cells.iter().copied())
    }
}

enum Msg {
    Begin(String, Vec<String>),
    /// Rows encoded by [`encode_row`], back to back.
    Rows(Vec<u8>),
    Finish(Vec<(String, String)>, Vec<(String, String, u64)>),
}

/// A [`ReportWriter`] working on a thread of its own.
///
/// Rows cross to the thread encoded in one byte buffer per batch rather
/// than as cells owning their text: freeing, on the writing thread, strings
/// the caller's thread allocated cost more than writing them.
pub struct ReportThread {
    report: u64,
    /// Header count of each group begun, by group index.
    widths: Vec<usize>,
    titles: Vec<String>,
    pending: Vec<Msg>,
    rows: Vec<u8>,
    row_count: usize,
    sender: Option<SyncSender<Vec<Msg>>>,
    handle: Option<JoinHandle<Result<Vec<SheetInfo>, ReportError>>>,
}

/// A report whose last rows and Summary are being written and saved.
pub struct Finishing {
    handle: JoinHandle<Result<Vec<SheetInfo>, ReportError>>,
}

impl Finishing {
    /// Waits until the report is saved; returns its data sheets as
    /// [`ReportWriter::finish`] does.
    pub fn wait(self) -> Result<Vec<SheetInfo>, ReportError> {
        self.handle.join().unwrap_or_else(|_| Err(panicked()))
    }
}

fn panicked() -> ReportError {
    ReportError::Thread("the report's thread panicked".into())
}

fn stopped() -> ReportError {
    ReportError::Thread("the report's thread has stopped".into())
}

impl ReportThread {
    /// Moves `writer` to a new thread named `report`.
    pub fn start(writer: ReportWriter) -> Result<ReportThread, ReportError> {
        let report = writer.id();
        let (sender, receiver) = sync_channel(BATCHES_IN_FLIGHT);
        let handle = std::thread::Builder::new()
            .name("report".into())
            .spawn(move || serve(writer, receiver))
            .map_err(|e| ReportError::Thread(format!("cannot start the report's thread: {e}")))?;
        Ok(ReportThread {
            report,
            widths: Vec::new(),
            titles: Vec::new(),
            pending: Vec::new(),
            rows: Vec::with_capacity(BATCH_BYTES),
            row_count: 0,
            sender: Some(sender),
            handle: Some(handle),
        })
    }

    /// Moves the rows gathered so far into the pending messages.
    fn seal_rows(&mut self) {
        if self.row_count > 0 {
            let rows = mem::replace(&mut self.rows, Vec::with_capacity(BATCH_BYTES));
            self.pending.push(Msg::Rows(rows));
            self.row_count = 0;
        }
    }

    /// Sends the pending messages; if the thread has stopped, returns why.
    fn send(&mut self) -> Result<(), ReportError> {
        self.seal_rows();
        let batch = mem::take(&mut self.pending);
        let sent = self.sender.as_ref().map(|s| s.send(batch).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        // The thread returned (an error) and dropped its receiver.
        self.sender = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(panicked()),
            Some(Ok(Ok(_))) | None => Err(stopped()),
        }
    }

    /// Sends the Summary's content and every row still held, and lets the
    /// thread save the report while the caller goes on.
    pub fn finish(
        mut self,
        facts: Vec<(String, String)>,
        counts: Vec<(String, String, u64)>,
    ) -> Result<Finishing, ReportError> {
        self.seal_rows();
        self.pending.push(Msg::Finish(facts, counts));
        self.send()?;
        self.sender = None;
        let handle = self.handle.take().ok_or_else(stopped)?;
        Ok(Finishing { handle })
    }
}

impl RowSink for ReportThread {
    fn begin_sheet(&mut self, title: &str, headers: &[&str]) -> Result<SheetHandle, ReportError> {
        if headers.len() > EXCEL_MAX_COLUMNS {
            return Err(ReportError::TooManyColumns { title: title.to_owned(), count: headers.len() });
        }
        self.widths.push(headers.len());
        self.titles.push(title.to_owned());
        let headers = headers.iter().map(|h| (*h).to_owned()).collect();
        self.seal_rows();
        self.pending.push(Msg::Begin(title.to_owned(), headers));
        Ok(SheetHandle { report: self.report, group: self.widths.len() - 1 })
    }

    fn push(&mut self, sheet: &SheetHandle, cells: &[CellRef<'_>]) -> Result<(), ReportError> {
        let width = match self.widths.get(sheet.group) {
            Some(w) if sheet.report == self.report => *w,
            _ => return Err(ReportError::ForeignHandle),
        };
        if cells.len() > width {
            return Err(ReportError::RowTooWide {
                title: self.titles[sheet.group].clone(),
                cells: cells.len(),
                headers: width,
            });
        }
        encode_row(&mut self.rows, sheet.group, cells);
        self.row_count += 1;
        if self.row_count >= BATCH_ROWS || self.rows.len() >= BATCH_BYTES {
            self.send()?;
        }
        Ok(())
    }
}

/// Appends a row: group (u32), cell count (u32), then per cell a tag byte
/// and its value (little-endian; text as u32 length and UTF-8 bytes).
fn encode_row(buf: &mut Vec<u8>, group: usize, cells: &[CellRef<'_>]) {
    buf.extend_from_slice(&(group as u32).to_le_bytes());
    buf.extend_from_slice(&(cells.len() as u32).to_le_bytes());
    for cell in cells {
        match *cell {
            CellRef::Null => buf.push(0),
            CellRef::Text(t) => {
                buf.push(1);
                buf.extend_from_slice(&(t.len() as u32).to_le_bytes());
                buf.extend_from_slice(t.as_bytes());
            }
            CellRef::Number(n) => {
                buf.push(2);
                buf.extend_from_slice(&n.to_le_bytes());
            }
            CellRef::Int(i) => {
                buf.push(3);
                buf.extend_from_slice(&i.to_le_bytes());
            }
            CellRef::Bool(b) => buf.extend_from_slice(&[4, u8::from(b)]),
            CellRef::Date(d) => {
                buf.push(5);
                buf.extend_from_slice(&d.num_days_from_ce().to_le_bytes());
            }
            CellRef::DateTime(t) => {
                buf.push(6);
                buf.extend_from_slice(&t.date().num_days_from_ce().to_le_bytes());
                buf.extend_from_slice(&t.num_seconds_from_midnight().to_le_bytes());
                buf.extend_from_slice(&t.nanosecond().to_le_bytes());
            }
        }
    }
}

/// Reads what [`encode_row`] wrote.
struct Decoder<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ReportError> {
        let bytes = self.buf.get(self.at..self.at + n).ok_or_else(corrupt)?;
        self.at += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ReportError> {
        self.take(N)?.try_into().map_err(|_| corrupt())
    }

    fn u32(&mut self) -> Result<u32, ReportError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, ReportError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    fn date(&mut self) -> Result<NaiveDate, ReportError> {
        NaiveDate::from_num_days_from_ce_opt(self.i32()?).ok_or_else(corrupt)
    }

    /// The next row's group and cells (into `cells`); `None` at the end.
    fn row(&mut self, cells: &mut Vec<CellRef<'a>>) -> Result<Option<usize>, ReportError> {
        if self.at >= self.buf.len() {
            return Ok(None);
        }
        let group = self.u32()? as usize;
        let count = self.u32()? as usize;
        cells.clear();
        for _ in 0..count {
            let cell = match self.take(1)?[0] {
                0 => CellRef::Null,
                1 => {
                    let len = self.u32()? as usize;
                    CellRef::Text(std::str::from_utf8(self.take(len)?).map_err(|_| corrupt())?)
                }
                2 => CellRef::Number(f64::from_le_bytes(self.array()?)),
                3 => CellRef::Int(i64::from_le_bytes(self.array()?)),
                4 => CellRef::Bool(self.take(1)?[0] != 0),
                5 => CellRef::Date(self.date()?),
                6 => {
                    let date = self.date()?;
                    let (secs, nanos) = (self.u32()?, self.u32()?);
                    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).ok_or_else(corrupt)?;
                    CellRef::DateTime(date.and_time(time))
                }
                _ => return Err(corrupt()),
            };
            cells.push(cell);
        }
        Ok(Some(group))
    }
}

fn corrupt() -> ReportError {
    ReportError::Thread("a batch of report rows could not be read back".into())
}

/// The thread: writes what arrives until it is told to finish. Returning
/// (with an error, or because the caller dropped its end) drops the receiver,
/// which the caller's next send notices.
fn serve(mut writer: ReportWriter, receiver: Receiver<Vec<Msg>>) -> Result<Vec<SheetInfo>, ReportError> {
    let mut handles = Vec::new();
    for batch in receiver.iter() {
        for msg in batch {
            match msg {
                Msg::Begin(title, headers) => handles.push(writer.begin_sheet(&title, &headers)?),
                Msg::Rows(buf) => {
                    let mut decoder = Decoder { buf: &buf, at: 0 };
                    let mut cells = Vec::new();
                    while let Some(group) = decoder.row(&mut cells)? {
                        let handle = handles.get(group).ok_or(ReportError::ForeignHandle)?;
                        writer.push_refs(handle, cells.len(), cells.iter().copied())?;
                    }
                }
                Msg::Finish(facts, counts) => {
                    writer.summary(&facts, &counts)?;
                    return writer.finish();
                }
            }
        }
    }
    Err(ReportError::Thread("the report was dropped before it was finished".into()))
}
