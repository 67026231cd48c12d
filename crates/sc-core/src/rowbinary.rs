//! ClickHouse `RowBinary` for tables whose every column is `Nullable(String)`:
//! the one codec of the pipeline (inputs, reference tables, SQL outputs): a
//! buffered writer, byte-level `put_*` helpers, a streaming reader and a
//! whole-buffer decoder for tests.
//!
//! Encoding of one value: one byte `1` for NULL; otherwise one byte `0`, the
//! byte length as an unsigned LEB128 varint, then the UTF-8 bytes. A row is
//! its values in column order, with no row separator and no header.

use std::io::{self, BufRead, BufWriter, Read, Write};

/// Writes rows of `Option<&str>` as `RowBinary` with `ncols` columns.
pub struct RowBinaryWriter<W: Write> {
    out: BufWriter<W>,
    ncols: usize,
    rows: u64,
}

impl<W: Write> RowBinaryWriter<W> {
    /// Starts a writer for rows of exactly `ncols` values; output is buffered.
    pub fn new(out: W, ncols: usize) -> Self {
        RowBinaryWriter { out: BufWriter::with_capacity(64 * 1024, out), ncols, rows: 0 }
    }

    /// Number of columns every row must have.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one row. `None` is NULL; `Some("")` is written as an empty
    /// string (readers turn empty cells into `None` before calling this).
    /// A row with the wrong number of values is an `InvalidInput` error and
    /// nothing is written.
    pub fn write_row(&mut self, row: &[Option<&str>]) -> io::Result<()> {
        if row.len() != self.ncols {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("RowBinary row has {} values, expected {}", row.len(), self.ncols),
            ));
        }
        for value in row {
            match value {
                None => self.out.write_all(&[1])?,
                Some(s) => {
                    let mut head = [0u8; 11];
                    let n = encode_varint(s.len() as u64, &mut head[1..]);
                    self.out.write_all(&head[..=n])?;
                    self.out.write_all(s.as_bytes())?;
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes the buffer and returns the number of rows written.
    pub fn finish(self) -> io::Result<u64> {
        let rows = self.rows;
        let mut inner = self.out.into_inner().map_err(|e| e.into_error())?;
        inner.flush()?;
        Ok(rows)
    }
}

/// Writes `v` as unsigned LEB128 into `buf` (at least 10 bytes) and returns
/// the number of bytes used.
fn encode_varint(mut v: u64, buf: &mut [u8]) -> usize {
    let mut i = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf[i] = byte;
            return i + 1;
        }
        buf[i] = byte | 0x80;
        i += 1;
    }
}

/// Appends one value to `out` (`None` is NULL).
pub fn put_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(1),
        Some(v) => {
            out.push(0);
            put_varint(out, v.len() as u64);
            out.extend_from_slice(v);
        }
    }
}

/// Appends one non-nullable `String` value to `out`.
pub fn put_str(out: &mut Vec<u8>, value: &str) {
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

/// Appends one row of text values to `out`.
pub fn put_row<S: AsRef<str>>(out: &mut Vec<u8>, row: &[Option<S>]) {
    for v in row {
        put_value(out, v.as_ref().map(|s| s.as_ref().as_bytes()));
    }
}

/// Writes a whole table of text rows to `w` (tests and small tables).
pub fn write_rows<S: AsRef<str>>(w: &mut impl Write, rows: &[Vec<Option<S>>]) -> io::Result<()> {
    let mut buf = Vec::new();
    for r in rows {
        put_row(&mut buf, r);
    }
    w.write_all(&buf)
}

fn put_varint(out: &mut Vec<u8>, v: u64) {
    let mut head = [0u8; 10];
    let n = encode_varint(v, &mut head);
    out.extend_from_slice(&head[..n]);
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Reads one LEB128 varint from a stream.
fn read_varint(r: &mut impl Read) -> io::Result<u64> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        n |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err(bad("LEB128 length too long"))
}

/// Iterates the rows of a `Nullable(String)` RowBinary stream without
/// loading it (SQL outputs can be millions of rows).
pub struct RowReader<R> {
    input: R,
    columns: usize,
    /// One value's bytes, reused from value to value.
    scratch: Vec<u8>,
}

impl<R: BufRead> RowReader<R> {
    /// Reads rows of `columns` values each.
    pub fn new(input: R, columns: usize) -> Self {
        RowReader { input, columns, scratch: Vec::new() }
    }

    /// The next row, `Ok(None)` at the end. Invalid UTF-8 is replaced.
    pub fn next_row(&mut self) -> io::Result<Option<Vec<Option<String>>>> {
        let mut row = Vec::with_capacity(self.columns);
        if self.next_into(&mut row)? {
            Ok(Some(row))
        } else {
            Ok(None)
        }
    }

    /// Reads the next row into `row`; `false` (and `row` empty) at the end.
    /// The strings already in `row` are reused, so reading a row allocates
    /// nothing once values stop growing.
    pub fn next_into(&mut self, row: &mut Vec<Option<String>>) -> io::Result<bool> {
        if self.columns == 0 || self.input.fill_buf()?.is_empty() {
            row.clear();
            return Ok(false);
        }
        row.resize(self.columns, None);
        for slot in row.iter_mut() {
            let mut flag = [0u8; 1];
            self.input.read_exact(&mut flag)?;
            match flag[0] {
                1 => *slot = None,
                0 => {
                    let len = read_varint(&mut self.input)?;
                    let len = usize::try_from(len).map_err(|_| bad("value too long"))?;
                    self.scratch.resize(len, 0);
                    self.input.read_exact(&mut self.scratch)?;
                    let value = slot.get_or_insert_with(String::new);
                    value.clear();
                    match std::str::from_utf8(&self.scratch) {
                        Ok(text) => value.push_str(text),
                        Err(_) => value.push_str(&String::from_utf8_lossy(&self.scratch)),
                    }
                }
                _ => return Err(bad("invalid null flag")),
            }
        }
        Ok(true)
    }
}

/// Errors of [`read_rows`]: the data does not match the format.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RowBinaryError {
    /// The data ends inside a row.
    #[error("RowBinary data ends inside row {row} at byte {offset}")]
    Truncated { row: u64, offset: usize },
    /// A NULL marker other than 0 or 1.
    #[error("invalid NULL marker {marker} at byte {offset}")]
    BadMarker { marker: u8, offset: usize },
    /// A varint longer than 10 bytes.
    #[error("invalid length varint at byte {offset}")]
    BadVarint { offset: usize },
    /// A string that is not UTF-8.
    #[error("string at byte {offset} is not UTF-8")]
    NotUtf8 { offset: usize },
}

/// Decodes a whole `RowBinary` buffer of `ncols` `Nullable(String)` columns.
/// Meant for tests and diagnostics; readers never load their output back.
/// With `ncols == 0` the result is empty (such rows have no bytes).
pub fn read_rows(data: &[u8], ncols: usize) -> Result<Vec<Vec<Option<String>>>, RowBinaryError> {
    let mut rows = Vec::new();
    if ncols == 0 {
        return Ok(rows);
    }
    let mut pos = 0usize;
    while pos < data.len() {
        let row_no = rows.len() as u64 + 1;
        let truncated = |offset| RowBinaryError::Truncated { row: row_no, offset };
        let mut row = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            let marker = *data.get(pos).ok_or(truncated(pos))?;
            pos += 1;
            match marker {
                1 => row.push(None),
                0 => {
                    let (len, used) = decode_varint(&data[pos..]).map_err(|bad| {
                        if bad {
                            RowBinaryError::BadVarint { offset: pos }
                        } else {
                            truncated(pos)
                        }
                    })?;
                    pos += used;
                    let end = usize::try_from(len)
                        .ok()
                        .and_then(|l| pos.checked_add(l))
                        .filter(|end| *end <= data.len())
                        .ok_or(truncated(pos))?;
                    let s =
                        std::str::from_utf8(&data[pos..end]).map_err(|_| RowBinaryError::NotUtf8 { offset: pos })?;
                    row.push(Some(s.to_owned()));
                    pos = end;
                }
                marker => return Err(RowBinaryError::BadMarker { marker, offset: pos - 1 }),
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Decodes an unsigned LEB128 varint; `Err(true)` if it is too long,
/// `Err(false)` if the data ends inside it.
fn decode_varint(data: &[u8]) -> Result<(u64, usize), bool> {
    let mut v: u64 = 0;
    for (i, byte) in data.iter().enumerate() {
        if i >= 10 {
            return Err(true);
        }
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(data.len() >= 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(rows: &[Vec<Option<&str>>], ncols: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = RowBinaryWriter::new(&mut buf, ncols);
        for r in rows {
            w.write_row(r).expect("write");
        }
        assert_eq!(w.rows(), rows.len() as u64);
        assert_eq!(w.finish().expect("finish"), rows.len() as u64);
        buf
    }

    #[test]
    fn encodes_null_and_strings_exactly() {
        let bytes = write(&[vec![None, Some("ab"), Some("")]], 3);
        assert_eq!(bytes, vec![1, 0, 2, b'a', b'b', 0, 0]);
    }

    #[test]
    fn long_strings_use_multi_byte_varints() {
        let long = "x".repeat(300);
        let bytes = write(&[vec![Some(long.as_str())]], 1);
        assert_eq!(&bytes[..3], &[0, 0xac, 0x02]);
        assert_eq!(bytes.len(), 3 + 300);
        let back = read_rows(&bytes, 1).expect("read");
        assert_eq!(back, vec![vec![Some(long)]]);
    }

    #[test]
    fn round_trips_unicode_and_many_rows() {
        let rows: Vec<Vec<Option<&str>>> =
            (0..100).map(|i| vec![Some("Zürich"), if i % 2 == 0 { None } else { Some("名前") }]).collect();
        let back = read_rows(&write(&rows, 2), 2).expect("read");
        assert_eq!(back.len(), 100);
        assert_eq!(back[1], vec![Some("Zürich".to_owned()), Some("名前".to_owned())]);
        assert_eq!(back[0][1], None);
    }

    #[test]
    fn wrong_width_is_rejected() {
        let mut w = RowBinaryWriter::new(Vec::new(), 2);
        let err = w.write_row(&[None]).expect_err("must fail");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(w.rows(), 0);
    }

    #[test]
    fn reader_reports_truncation_and_bad_markers() {
        assert_eq!(read_rows(&[0, 5, b'a'], 1), Err(RowBinaryError::Truncated { row: 1, offset: 2 }));
        assert_eq!(read_rows(&[1, 7], 2), Err(RowBinaryError::BadMarker { marker: 7, offset: 1 }));
        assert_eq!(read_rows(&[1], 2), Err(RowBinaryError::Truncated { row: 1, offset: 1 }));
        assert_eq!(read_rows(&[0, 0xff, 0xff], 1), Err(RowBinaryError::Truncated { row: 1, offset: 1 }));
    }

    #[test]
    fn streaming_reader_matches_the_writer() {
        let long = "x".repeat(300);
        let rows = vec![vec![Some("a"), None], vec![Some(""), Some(long.as_str())], vec![None, Some("é")]];
        let mut data = Vec::new();
        write_rows(&mut data, &rows).expect("write");
        assert_eq!(data, write(&rows, 2));
        let mut r = RowReader::new(&data[..], 2);
        let mut got = Vec::new();
        while let Some(row) = r.next_row().expect("row") {
            got.push(row);
        }
        assert_eq!(got, read_rows(&data, 2).expect("read"));
        let mut truncated = RowReader::new(&data[..data.len() - 1], 2);
        let err = std::iter::from_fn(|| truncated.next_row().transpose()).find_map(|r| r.err());
        assert!(err.is_some(), "a truncated stream is an error");
    }

    #[test]
    fn varint_boundaries() {
        let mut buf = [0u8; 10];
        for v in [0u64, 127, 128, 16_383, 16_384, u64::MAX] {
            let n = encode_varint(v, &mut buf);
            assert_eq!(decode_varint(&buf[..n]), Ok((v, n)));
        }
    }
}
