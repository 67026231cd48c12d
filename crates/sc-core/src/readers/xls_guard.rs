//! Memory guard for legacy XLS (BIFF) workbooks, run before calamine sees
//! the file.
//!
//! calamine parses every sheet of an XLS file when it opens it and stores
//! each sheet as a dense grid sized from the cell positions and the sheet's
//! DIMENSIONS record. Both come from the file, so a tiny crafted file could
//! ask for hundreds of gigabytes; an allocation that large aborts the process
//! (it is not a panic and cannot be caught). This module reads the BIFF
//! record stream itself (via the `cfb` crate) and rejects a workbook whose
//! grids would together exceed [`XLS_MAX_CELLS`] cells, which is the size of
//! one completely full XLS sheet (65,536 rows × 256 columns). Real files are
//! far below it.
//!
//! When the compound file or its record stream cannot be read, the guard
//! lets the file through: calamine then reports the damage in its own words.

use std::io::Read;
use std::path::Path;

use super::ReadError;

/// Most grid cells all sheets of an XLS workbook may span together.
pub(crate) const XLS_MAX_CELLS: u64 = 65_536 * 256;

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const DIMENSIONS: u16 = 0x0200;
const BOUNDSHEET: u16 = 0x0085;
/// Value records calamine stores, each starting with a row (u16) and a
/// column (u16): FORMULA, RSTRING, LABELSST, NUMBER, LABEL, BOOLERR, RK.
/// (Blank cells are not stored, so BLANK and MULBLANK do not count.)
const CELL_RECORDS: [u16; 7] = [0x0006, 0x00D6, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E];
/// MULRK: row, first column, …, last column (u16 at the end).
const MULRK: u16 = 0x00BD;

/// Rejects XLS files whose sheets would need more than [`XLS_MAX_CELLS`].
pub(crate) fn check_xls(path: &Path, file: &str) -> Result<(), ReadError> {
    let Ok(mut book) = cfb::open(path) else { return Ok(()) };
    let mut stream = Vec::new();
    let read = match book.open_stream("/Workbook") {
        Ok(mut s) => s.read_to_end(&mut stream),
        Err(_) => match book.open_stream("/Book") {
            Ok(mut s) => s.read_to_end(&mut stream),
            Err(_) => return Ok(()),
        },
    };
    if read.is_err() {
        return Ok(());
    }
    if grid_cells(&stream) > XLS_MAX_CELLS {
        return Err(ReadError::Workbook {
            file: file.to_owned(),
            kind: "XLS",
            detail: format!("its sheets span more than {XLS_MAX_CELLS} cells (65,536 rows × 256 columns)"),
        });
    }
    Ok(())
}

/// Bounding box of the cells of one sheet.
#[derive(Default)]
struct Bounds {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
}

impl Bounds {
    fn add(&mut self, row: u32, col: u32) {
        let widen = |b: Option<(u32, u32)>, v: u32| Some(b.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
        self.rows = widen(self.rows, row);
        self.cols = widen(self.cols, col);
    }

    fn cells(&self) -> u64 {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1),
            _ => 0,
        }
    }
}

/// One BIFF record: type and body, or `None` at the end of the data (a
/// record running past the end also ends it, as calamine stops there too).
fn next_record<'a>(stream: &mut &'a [u8]) -> Option<(u16, &'a [u8])> {
    let head = stream.get(..4)?;
    let typ = u16::from_le_bytes([head[0], head[1]]);
    let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
    let body = stream.get(4..4 + len)?;
    *stream = &stream[4 + len..];
    Some((typ, body))
}

fn u16_at(body: &[u8], i: usize) -> Option<u32> {
    body.get(i..i + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
}

/// The grid cells calamine would allocate for the workbook stream: for every
/// BoundSheet8 record of the globals (several may point at the same data),
/// the sheet's cell bounding box plus its DIMENSIONS reservation. Stops
/// counting once past the limit.
fn grid_cells(stream: &[u8]) -> u64 {
    let mut globals = stream;
    let mut offsets = Vec::new();
    while let Some((typ, body)) = next_record(&mut globals) {
        match typ {
            EOF => break,
            BOUNDSHEET if body.len() >= 6 => {
                offsets.push(u32::from_le_bytes([body[0], body[1], body[2], body[3]]) as usize)
            }
            _ => {}
        }
    }
    let mut total: u64 = 0;
    for offset in offsets {
        let Some(sheet) = stream.get(offset..) else { continue };
        total = total.saturating_add(sheet_cells(sheet));
        if total > XLS_MAX_CELLS {
            break;
        }
    }
    total
}

/// Grid cells of one sheet substream, skipping nested substreams (embedded
/// charts) the way calamine does.
fn sheet_cells(mut stream: &[u8]) -> u64 {
    let mut bounds = Bounds::default();
    let mut reserved: u64 = 0;
    let (mut seen_bof, mut depth) = (false, 0usize);
    while let Some((typ, body)) = next_record(&mut stream) {
        if depth > 0 {
            match typ {
                BOF => depth += 1,
                EOF => depth -= 1,
                _ => {}
            }
            continue;
        }
        match typ {
            BOF if seen_bof => depth += 1,
            BOF => seen_bof = true,
            EOF => break,
            DIMENSIONS => reserved = reserved.saturating_add(dimensions_cells(body)),
            t if CELL_RECORDS.contains(&t) => {
                if let (Some(row), Some(col)) = (u16_at(body, 0), u16_at(body, 2)) {
                    bounds.add(row, col);
                }
            }
            MULRK if body.len() >= 6 => {
                let last = body.len() - 2;
                if let (Some(row), Some(first), Some(end)) = (u16_at(body, 0), u16_at(body, 2), u16_at(body, last)) {
                    bounds.add(row, first);
                    bounds.add(row, end);
                }
            }
            _ => {}
        }
    }
    reserved.saturating_add(bounds.cells())
}

/// The cells calamine reserves for a DIMENSIONS record, computed the way it
/// reads the record (BIFF8: u32 rows; BIFF5: u16 rows). A record whose
/// first row lies after its last counts as unbounded.
fn dimensions_cells(body: &[u8]) -> u64 {
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([body[i], body[i + 1]]));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]));
    let (rf, rl, mut cf, cl) = match body.len() {
        10 => (u16_at(0), u16_at(2), u16_at(4), u16_at(6)),
        14 | 16 => (u32_at(0), u32_at(4), u16_at(8), u16_at(10)),
        _ => return 0,
    };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    if rl == 0 || cl == 0 {
        return 1;
    }
    match ((rl - 1).checked_sub(rf), (cl - 1).checked_sub(cf)) {
        (Some(rows), Some(cols)) => (rows + 1).saturating_mul(cols + 1),
        _ => u64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u16, body: &[u8]) -> Vec<u8> {
        let mut out = typ.to_le_bytes().to_vec();
        out.extend_from_slice(&(body.len() as u16).to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        let mut body = row.to_le_bytes().to_vec();
        body.extend_from_slice(&col.to_le_bytes());
        body.extend_from_slice(&[0u8; 10]);
        record(0x0203, &body)
    }

    /// A stream: globals with one BoundSheet8 per entry of `sheets` (each
    /// an index into `substreams`), then the substreams.
    fn workbook(sheets: &[usize], substreams: &[Vec<u8>]) -> Vec<u8> {
        let globals_len = 20 + sheets.len() * 10 + 4;
        let mut starts = Vec::new();
        let mut at = globals_len;
        for s in substreams {
            starts.push(at);
            at += s.len();
        }
        let mut out = record(BOF, &[0; 16]);
        for i in sheets {
            let mut body = (starts[*i] as u32).to_le_bytes().to_vec();
            body.extend_from_slice(&[0, 0]);
            out.extend(record(BOUNDSHEET, &body));
        }
        out.extend(record(EOF, &[]));
        assert_eq!(out.len(), globals_len);
        for s in substreams {
            out.extend_from_slice(s);
        }
        out
    }

    fn sheet(cells: &[(u16, u16)], nested: &[(u16, u16)]) -> Vec<u8> {
        let mut s = record(BOF, &[0; 16]);
        for (r, c) in cells {
            s.extend(number(*r, *c));
        }
        s.extend(record(BOF, &[0; 16]));
        for (r, c) in nested {
            s.extend(number(*r, *c));
        }
        s.extend(record(EOF, &[]));
        s.extend(record(EOF, &[]));
        s
    }

    #[test]
    fn sums_sheet_bounding_boxes() {
        let a = sheet(&[(0, 0), (9, 3)], &[(60_000, 200)]);
        let b = sheet(&[(5, 5)], &[]);
        assert_eq!(grid_cells(&workbook(&[0, 1], &[a, b])), 10 * 4 + 1);
    }

    #[test]
    fn corner_cells_span_a_huge_grid() {
        let a = sheet(&[(0, 0), (65_535, 65_535)], &[]);
        assert!(grid_cells(&workbook(&[0], &[a])) > XLS_MAX_CELLS);
    }

    #[test]
    fn sheets_sharing_one_substream_count_each_time() {
        let a = sheet(&[(0, 0), (65_535, 200)], &[]);
        assert_eq!(grid_cells(&workbook(&[0], std::slice::from_ref(&a))), 65_536 * 201);
        assert!(grid_cells(&workbook(&[0, 0], &[a])) > XLS_MAX_CELLS);
    }

    #[test]
    fn dimensions_like_calamine() {
        let mut biff8 = Vec::new();
        biff8.extend_from_slice(&0u32.to_le_bytes());
        biff8.extend_from_slice(&1_000_000u32.to_le_bytes());
        biff8.extend_from_slice(&0u16.to_le_bytes());
        biff8.extend_from_slice(&200u16.to_le_bytes());
        biff8.extend_from_slice(&[0, 0]);
        assert_eq!(dimensions_cells(&biff8), 1_000_000 * 200);
        // First row after the last: calamine's arithmetic would wrap.
        let mut bad = Vec::new();
        bad.extend_from_slice(&10u32.to_le_bytes());
        bad.extend_from_slice(&5u32.to_le_bytes());
        bad.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
        assert_eq!(dimensions_cells(&bad), u64::MAX);
    }
}
