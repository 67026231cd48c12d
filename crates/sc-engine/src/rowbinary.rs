//! The `RowBinary` contract with every column `Nullable(String)`: writing and reading values.
//!
//! Per value: one byte null flag (1 = NULL); otherwise `0`, the LEB128 length
//! and the bytes. Inputs, reference tables and SQL outputs all use this one
//! layout, so one reader serves the whole pipeline.

use std::io::{self, BufRead, Read, Write};

/// Append one value to `out`.
pub fn put_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(1),
        Some(v) => {
            out.push(0);
            put_leb128(out, v.len() as u64);
            out.extend_from_slice(v);
        }
    }
}

/// Append one non-nullable `String` value to `out`.
pub fn put_str(out: &mut Vec<u8>, value: &str) {
    put_leb128(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

/// Append one row of text values to `out`.
pub fn put_row<S: AsRef<str>>(out: &mut Vec<u8>, row: &[Option<S>]) {
    for v in row {
        put_value(out, v.as_ref().map(|s| s.as_ref().as_bytes()));
    }
}

fn put_leb128(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Read one LEB128 number; `Ok(None)` at a clean end of input.
fn read_leb128(r: &mut impl Read, raw: &mut Vec<u8>) -> io::Result<u64> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        raw.push(b[0]);
        n |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err(bad("LEB128 length too long"))
}

/// Iterate rows of a `Nullable(String)` RowBinary stream.
pub struct RowReader<R> {
    input: R,
    columns: usize,
}

impl<R: BufRead> RowReader<R> {
    /// Read rows of `columns` values each.
    pub fn new(input: R, columns: usize) -> Self {
        RowReader { input, columns }
    }

    /// The next row, `Ok(None)` at the end.
    pub fn next_row(&mut self) -> io::Result<Option<Vec<Option<String>>>> {
        if self.columns == 0 || self.input.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut row = Vec::with_capacity(self.columns);
        let mut scratch = Vec::new();
        for _ in 0..self.columns {
            let mut flag = [0u8; 1];
            self.input.read_exact(&mut flag)?;
            match flag[0] {
                1 => row.push(None),
                0 => {
                    let len = read_leb128(&mut self.input, &mut scratch)?;
                    let len = usize::try_from(len).map_err(|_| bad("value too long"))?;
                    let mut v = vec![0u8; len];
                    self.input.read_exact(&mut v)?;
                    row.push(Some(String::from_utf8_lossy(&v).into_owned()));
                }
                _ => return Err(bad("invalid null flag")),
            }
        }
        Ok(Some(row))
    }
}

/// Write a whole table of text rows to `w` (tests and small tables).
pub fn write_rows<S: AsRef<str>>(w: &mut impl Write, rows: &[Vec<Option<S>>]) -> io::Result<()> {
    let mut buf = Vec::new();
    for r in rows {
        put_row(&mut buf, r);
    }
    w.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let long = "x".repeat(300);
        let rows = vec![
            vec![Some("a"), None],
            vec![Some(""), Some(long.as_str())],
            vec![None, Some("é")],
        ];
        let mut data = Vec::new();
        write_rows(&mut data, &rows).unwrap();
        let mut r = RowReader::new(&data[..], 2);
        let mut got = Vec::new();
        while let Some(row) = r.next_row().unwrap() {
            got.push(row);
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[1][1].as_deref(), Some(long.as_str()));
        assert_eq!(got[2][0], None);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let mut data = Vec::new();
        put_row(&mut data, &[Some("abc")]);
        data.pop();
        assert!(RowReader::new(&data[..], 1).next_row().is_err());
        assert!(RowReader::new(&[7u8][..], 1).next_row().is_err());
    }
}
