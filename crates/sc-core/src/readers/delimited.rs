//! Delimited text (CSV, TSV, TXT): delimiter sniffing and a streaming
//! two-pass read into one RowBinary table.
//!
//! Decisions:
//! * The delimiter is one of `,` `;` tab `|`, chosen on the first 64 KiB of
//!   decoded text (at most 50 records, parsed with quotes respected). The
//!   header row decides: a candidate that does not split the header (first
//!   non-blank record) into more than one field is out, however often the
//!   values contain it; among the rest, the one whose records most often
//!   have the header's field count wins; on a tie, the larger field count,
//!   then the order above. `.tsv` files use tab whenever tab splits the sample, and another
//!   delimiter only if it splits every sampled record alike; a file no
//!   candidate splits is one column.
//! * Double-quoted fields may hold delimiters, doubled quotes and newlines.
//! * The file is read twice, streaming both times: the first pass finds the
//!   header and the table width (a longer row anywhere widens the table), the
//!   second writes the rows. Memory stays bounded by the longest record.

use std::io::Read;
use std::path::Path;

use super::table::{header_columns, is_blank, used_width, TableOut, Warnings, MAX_COLUMNS};
use super::text::{detect_encoding, invalid_text, malformed, open_text, TextEncoding};
use super::ReadError;

const SNIFF_BYTES: u64 = 64 * 1024;
const SNIFF_RECORDS: usize = 50;
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Reads the text file at `path` (named `file` in messages) into a new table
/// at `index` in `out_dir`, detecting its encoding first (a detected encoding
/// is reported in `warnings`). `Err(ReadError::Empty)` when no row has data.
/// The caller names the table and finishes it.
pub(crate) fn read_text_table(
    path: &Path,
    file: &str,
    prefer_tab: bool,
    out_dir: &Path,
    index: usize,
    warnings: &mut Warnings,
) -> Result<TableOut, ReadError> {
    let (enc, warning) = detect_encoding(path, file)?;
    let delimiter = sniff_file(path, file, enc, prefer_tab)?;
    if let Some(w) = warning {
        warnings.push(w);
    }
    if let Some(out) = read_in_one_pass(path, file, enc, delimiter, out_dir, index)? {
        return Ok(out);
    }
    // A row is wider than the header: find the widest, then write again.
    let shape = scan(path, file, enc, delimiter)?;
    let columns = header_columns(shape.header, shape.width);
    let mut out = TableOut::create(out_dir, index, file, columns)?;
    write_rows(path, file, enc, delimiter, &mut out)?;
    Ok(out)
}

fn reader(source: Box<dyn Read>, delimiter: u8) -> csv::Reader<Box<dyn Read>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(64 * 1024)
        .from_reader(source)
}

/// Maps a csv error (I/O, including a decoding failure) to a `ReadError`.
fn csv_error(file: &str, err: csv::Error) -> ReadError {
    let line = err.position().map(|p| p.line());
    match err.into_kind() {
        csv::ErrorKind::Io(e) => match malformed(&e) {
            Some(m) => invalid_text(file, m.encoding, m.offset),
            None => ReadError::io(file, e),
        },
        other => ReadError::Row { file: file.to_owned(), row: line.unwrap_or(0), detail: format!("{other:?}") },
    }
}

fn sniff_file(path: &Path, file: &str, enc: TextEncoding, prefer_tab: bool) -> Result<u8, ReadError> {
    let source = open_text(path, enc).map_err(|e| ReadError::io(file, e))?;
    let mut sample = Vec::new();
    let read = source.take(SNIFF_BYTES).read_to_end(&mut sample);
    match read {
        Ok(_) => {}
        // A decoding error inside the sample: sniff on what decoded; the
        // scan pass reports the error with its offset.
        Err(e) if malformed(&e).is_some() => {}
        Err(e) => return Err(ReadError::io(file, e)),
    }
    let complete = (sample.len() as u64) < SNIFF_BYTES;
    Ok(sniff(&sample, complete, prefer_tab))
}

/// Chooses the delimiter for a sample of UTF-8 text. `complete` says the
/// sample is the whole file (else its last record may be cut and is ignored).
pub(crate) fn sniff(sample: &[u8], complete: bool, prefer_tab: bool) -> u8 {
    let mut best: Option<((usize, usize), u8)> = None;
    for delimiter in CANDIDATES {
        let Some(score) = score(sample, complete, delimiter) else { continue };
        if prefer_tab && delimiter == b'\t' {
            return b'\t';
        }
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, delimiter));
        }
    }
    match best {
        // A .tsv file that tab does not split is one column, unless another
        // delimiter splits every sampled record the same way.
        Some(((consistency, _), d)) if !prefer_tab || consistency == 20 => d,
        _ if prefer_tab => b'\t',
        _ => b',',
    }
}

/// (consistency in twentieths, header field count): how many records have
/// the header's field count; `None` when the delimiter does not split the
/// header.
fn score(sample: &[u8], complete: bool, delimiter: u8) -> Option<(usize, usize)> {
    let mut rdr = reader(Box::new(std::io::Cursor::new(sample.to_vec())), delimiter);
    let mut counts = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while counts.len() <= SNIFF_RECORDS {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) if rec.iter().any(|f| !is_blank_bytes(f)) => counts.push(rec.len()),
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
    }
    if !complete && counts.len() > 1 && counts.len() <= SNIFF_RECORDS {
        counts.pop();
    }
    counts.truncate(SNIFF_RECORDS);
    let header = *counts.first()?;
    let alike = counts.iter().filter(|&&c| c == header).count();
    (header > 1).then(|| (alike * 20 / counts.len(), header))
}

/// [`is_blank`] on raw field bytes (ASCII fast path first).
fn is_blank_bytes(field: &[u8]) -> bool {
    field.iter().all(u8::is_ascii_whitespace) || std::str::from_utf8(field).is_ok_and(is_blank)
}

/// Header cells and the table width (see `table` for the rule).
struct Shape {
    header: Vec<Option<String>>,
    width: usize,
}

fn field_str<'a>(file: &str, rec: &csv::ByteRecord, field: &'a [u8]) -> Result<&'a str, ReadError> {
    std::str::from_utf8(field).map_err(|_| ReadError::Row {
        file: file.to_owned(),
        row: rec.position().map_or(0, |p| p.line()),
        detail: "a field is not valid UTF-8".to_owned(),
    })
}

/// The first `used` fields of the header record.
fn header_cells(file: &str, rec: &csv::ByteRecord, used: usize) -> Result<Vec<Option<String>>, ReadError> {
    rec.iter().take(used).map(|f| Ok(Some(field_str(file, rec, f)?.to_owned()))).collect()
}

/// A data reader that knows each record's line in the file.
///
/// A record's own position counts the blank lines skipped before it, so the
/// line is counted back from where the record ended: the line breaks read so
/// far, less its terminator when that was a line feed (a CR or CRLF ends a
/// record at the CR), less the line breaks inside its quoted values. The
/// source gets a final line feed (one more blank line when it has one) so
/// every record has a terminator, and the offsets of its CRs are kept for
/// the records not yet read (bounded by the parser's read-ahead).
struct Lines {
    rdr: csv::Reader<Box<dyn Read>>,
    crs: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
}

/// Passes bytes through, noting where each CR is.
struct NoteCrs {
    inner: Box<dyn Read>,
    offset: u64,
    crs: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
}

impl Read for NoteCrs {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut crs = self.crs.borrow_mut();
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\r') {
            crs.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl Lines {
    fn new(source: Box<dyn Read>, delimiter: u8) -> Lines {
        let crs = std::rc::Rc::default();
        let source = NoteCrs { inner: Box::new(source.chain(&b"\n"[..])), offset: 0, crs: std::rc::Rc::clone(&crs) };
        Lines { rdr: reader(Box::new(source), delimiter), crs }
    }

    /// The line where the record just read starts (1-based).
    fn of(&self, rec: &csv::ByteRecord) -> u64 {
        let end = self.rdr.position();
        let mut crs = self.crs.borrow_mut();
        while crs.front().is_some_and(|&o| o + 1 < end.byte()) {
            crs.pop_front();
        }
        let ended_at_cr = crs.front().is_some_and(|&o| o + 1 == end.byte());
        let breaks_before_end = end.line() - 1 - u64::from(!ended_at_cr);
        let inside: u64 = rec.iter().map(|f| f.iter().filter(|b| **b == b'\n').count() as u64).sum();
        (breaks_before_end + 1).saturating_sub(inside).max(1)
    }
}

/// Writes one data record at the table's width (missing and empty fields are NULL).
fn write_record(file: &str, rec: &csv::ByteRecord, line: u64, out: &mut TableOut) -> Result<(), ReadError> {
    let width = out.width();
    let mut row: Vec<Option<&str>> = Vec::with_capacity(width);
    for i in 0..width {
        match rec.get(i) {
            Some(f) if !f.is_empty() => row.push(Some(field_str(file, rec, f)?)),
            _ => row.push(None),
        }
    }
    out.write(&row, line)
}

fn too_wide(file: &str, rec: &csv::ByteRecord, used: usize) -> ReadError {
    ReadError::Row {
        file: file.to_owned(),
        row: rec.position().map_or(0, |p| p.line()),
        detail: format!("{used} columns, more than the limit of {MAX_COLUMNS}"),
    }
}

/// The usual case in one pass: the table is as wide as its header, rows are
/// written as they are parsed. `None` (nothing kept) as soon as a row turns
/// out wider than the header; the caller then measures the widest row first.
fn read_in_one_pass(
    path: &Path,
    file: &str,
    enc: TextEncoding,
    delimiter: u8,
    out_dir: &Path,
    index: usize,
) -> Result<Option<TableOut>, ReadError> {
    let source = open_text(path, enc).map_err(|e| ReadError::io(file, e))?;
    let mut lines = Lines::new(source, delimiter);
    let mut rec = csv::ByteRecord::new();
    let mut out: Option<TableOut> = None;
    while lines.rdr.read_byte_record(&mut rec).map_err(|e| csv_error(file, e))? {
        let used = used_width(rec.iter().map(|f| !is_blank_bytes(f)));
        if used == 0 {
            continue;
        }
        if used > MAX_COLUMNS {
            return Err(too_wide(file, &rec, used));
        }
        let Some(o) = out.as_mut() else {
            let header = header_cells(file, &rec, used)?;
            out = Some(TableOut::create(out_dir, index, file, header_columns(header, used))?);
            continue;
        };
        if used > o.width() {
            return Ok(None);
        }
        write_record(file, &rec, lines.of(&rec), o)?;
    }
    match out {
        Some(o) => Ok(Some(o)),
        None => Err(ReadError::Empty { file: file.to_owned() }),
    }
}

fn scan(path: &Path, file: &str, enc: TextEncoding, delimiter: u8) -> Result<Shape, ReadError> {
    let source = open_text(path, enc).map_err(|e| ReadError::io(file, e))?;
    let mut rdr = reader(source, delimiter);
    let mut rec = csv::ByteRecord::new();
    let mut header: Option<Vec<Option<String>>> = None;
    let mut width = 0;
    while rdr.read_byte_record(&mut rec).map_err(|e| csv_error(file, e))? {
        let used = used_width(rec.iter().map(|f| !is_blank_bytes(f)));
        if used == 0 {
            continue;
        }
        if used > MAX_COLUMNS {
            return Err(too_wide(file, &rec, used));
        }
        if header.is_none() {
            header = Some(header_cells(file, &rec, used)?);
        }
        width = width.max(used);
    }
    match header {
        Some(header) => Ok(Shape { header, width }),
        None => Err(ReadError::Empty { file: file.to_owned() }),
    }
}

fn write_rows(path: &Path, file: &str, enc: TextEncoding, delimiter: u8, out: &mut TableOut) -> Result<(), ReadError> {
    let source = open_text(path, enc).map_err(|e| ReadError::io(file, e))?;
    let mut lines = Lines::new(source, delimiter);
    let mut rec = csv::ByteRecord::new();
    let mut seen_header = false;
    while lines.rdr.read_byte_record(&mut rec).map_err(|e| csv_error(file, e))? {
        if rec.iter().all(is_blank_bytes) {
            continue;
        }
        if !seen_header {
            seen_header = true;
            continue;
        }
        write_record(file, &rec, lines.of(&rec), out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{score, sniff};

    #[test]
    fn sniffs_common_delimiters() {
        assert_eq!(sniff(b"a,b,c\n1,2,3\n", true, false), b',');
        assert_eq!(sniff(b"a;b;c\n1,5;2,5;3\n", true, false), b';');
        assert_eq!(sniff(b"a\tb\n1\t2\n", true, false), b'\t');
        assert_eq!(sniff(b"a|b\n1|2\n", true, false), b'|');
    }

    #[test]
    fn sniff_respects_quotes() {
        assert_eq!(sniff(b"\"x,y\";b\n\"1,2,3\";4\n\"5,6\";7\n", true, false), b';');
    }

    #[test]
    fn single_column_defaults() {
        assert_eq!(sniff(b"name\nann\nbob\n", true, false), b',');
        assert_eq!(sniff(b"name\nann\nbob\n", true, true), b'\t');
    }

    #[test]
    fn tsv_keeps_tab_unless_another_delimiter_is_fully_consistent() {
        assert_eq!(sniff(b"note\nhello, world\n", true, true), b'\t');
        assert_eq!(sniff(b"a,b\n1,2\n", true, true), b',');
    }

    #[test]
    fn tsv_prefers_tab_when_it_splits() {
        assert_eq!(sniff(b"a,b\tc\n1,2\t3\n", true, true), b'\t');
        assert_eq!(sniff(b"a,b\tc\n1,2\t3\n", true, false), b',');
    }

    #[test]
    fn the_header_decides_not_the_values() {
        // `;` in every value, none in the header: comma-separated.
        let sample = b"name,note\nann,a;b;c\nbob,d;e;f\ncid,g;h;i\n";
        assert_eq!(sniff(sample, true, false), b',');
        assert_eq!(score(sample, true, b';'), None);
        // A one-column file whose values hold `;` and `|` stays one column.
        assert_eq!(sniff(b"note\na;b\nc;d\ne|f|g\n", true, false), b',');
        assert_eq!(score(b"note\na;b\nc;d\n", true, b';'), None);
        // Tabs inside values of a semicolon file.
        assert_eq!(sniff(b"a;b\nx\ty\tz;1\nu\tv\tw;2\n", true, false), b';');
    }

    #[test]
    fn cut_last_record_is_ignored() {
        assert_eq!(score(b"a;b;c\n1;2;3\n4;5", false, b';'), Some((20, 3)));
        assert_eq!(score(b"a;b;c\n1;2;3\n4;5", true, b';'), Some((13, 3)));
        assert_eq!(score(b"a;b;c\n1;2;3\n", true, b','), None);
    }
}
