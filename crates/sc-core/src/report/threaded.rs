//! Writing a report on a thread of its own.
//!
//! Turning rows into sheet XML costs about as much as validating them, and
//! it depends on nothing but the rows, so the execution worker hands its
//! report rows to a [`ReportThread`] and goes on: the variables stage
//! validates while the thread writes, and the load steps write to the
//! database while the thread writes their Upload sheets.
//!
//! Rows travel in batches through a bounded channel, so at most
//! [`BATCHES_IN_FLIGHT`] × [`BATCH_ROWS`] rows are in memory: when the
//! thread falls behind, the caller waits. Mistakes the caller can make (too
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

use super::writer::{ReportWriter, SheetHandle, SheetInfo};
use super::{Cell, ReportError, EXCEL_MAX_COLUMNS};

/// Rows sent to the thread at a time.
pub const BATCH_ROWS: usize = 1024;
/// Batches waiting for the thread before the caller blocks.
pub const BATCHES_IN_FLIGHT: usize = 8;

/// Where report rows go: a [`ReportWriter`] on the caller's thread, or a
/// [`ReportThread`].
pub trait RowSink {
    /// Begins a sheet group (see [`ReportWriter::begin_sheet`]).
    fn begin_sheet(&mut self, title: &str, headers: &[&str]) -> Result<SheetHandle, ReportError>;
    /// Appends one row to the group of `sheet` (see [`ReportWriter::push_row`]).
    fn push(&mut self, sheet: &SheetHandle, cells: Vec<Cell>) -> Result<(), ReportError>;
}

impl RowSink for ReportWriter {
    fn begin_sheet(&mut self, title: &str, headers: &[&str]) -> Result<SheetHandle, ReportError> {
        ReportWriter::begin_sheet(self, title, headers)
    }

    fn push(&mut self, sheet: &SheetHandle, cells: Vec<Cell>) -> Result<(), ReportError> {
        self.push_owned(sheet, cells)
    }
}

enum Msg {
    Begin(String, Vec<String>),
    Row(usize, Vec<Cell>),
    Finish(Vec<(String, String)>, Vec<(String, String, u64)>),
}

/// A [`ReportWriter`] working on a thread of its own.
pub struct ReportThread {
    report: u64,
    /// Header count of each group begun, by group index.
    widths: Vec<usize>,
    titles: Vec<String>,
    pending: Vec<Msg>,
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
            pending: Vec::with_capacity(BATCH_ROWS),
            sender: Some(sender),
            handle: Some(handle),
        })
    }

    /// Sends the rows gathered so far; if the thread has stopped, returns why.
    fn send(&mut self) -> Result<(), ReportError> {
        let batch = mem::replace(&mut self.pending, Vec::with_capacity(BATCH_ROWS));
        let sent = self.sender.as_ref().map(|s| s.send(batch).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        // The thread returned (an error) and dropped its receiver.
        self.sender = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(panicked()),
            Some(Ok(Ok(_))) | None => Err(ReportError::Thread("the report's thread has stopped".into())),
        }
    }

    fn queue(&mut self, msg: Msg) -> Result<(), ReportError> {
        self.pending.push(msg);
        if self.pending.len() >= BATCH_ROWS {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the Summary's content and every row still held, and lets the
    /// thread save the report while the caller goes on.
    pub fn finish(
        mut self,
        facts: Vec<(String, String)>,
        counts: Vec<(String, String, u64)>,
    ) -> Result<Finishing, ReportError> {
        self.pending.push(Msg::Finish(facts, counts));
        self.send()?;
        self.sender = None;
        let handle = self.handle.take().ok_or_else(|| ReportError::Thread("the report's thread has stopped".into()))?;
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
        self.queue(Msg::Begin(title.to_owned(), headers))?;
        Ok(SheetHandle { report: self.report, group: self.widths.len() - 1 })
    }

    fn push(&mut self, sheet: &SheetHandle, cells: Vec<Cell>) -> Result<(), ReportError> {
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
        self.queue(Msg::Row(sheet.group, cells))
    }
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
                Msg::Row(group, cells) => {
                    let handle = handles.get(group).ok_or(ReportError::ForeignHandle)?;
                    writer.push_owned(handle, cells)?
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
