//! Large inputs stream through `prepare_inputs` in bounded memory: a
//! 1,000,000-row CSV and a 100,000-row XLSX. The tests take a lock so that
//! the peak-memory reading of one is not inflated by the other.

mod common;

use std::io::Write;
use std::sync::Mutex;

use common::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak-RSS counter (Linux) and returns the current RSS in KiB.
fn reset_peak() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kib("VmRSS:")
}

/// MiB the peak RSS rose above `base` since [`reset_peak`].
fn peak_growth_mib(base: Option<u64>) -> Option<u64> {
    Some(status_kib("VmHWM:")?.saturating_sub(base?) / 1024)
}

#[test]
fn million_row_csv_streams_in_bounded_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const ROWS: u64 = 1_000_000;
    let s = Scratch::new();
    let input = s.file("big.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input).expect("create"));
        writeln!(w, "id,name,amount,note").expect("write");
        for i in 0..ROWS {
            writeln!(w, "{i},customer {i},{}.{:02},\"quoted, text {i}\"", i % 1000, i % 100).expect("write");
        }
        w.flush().expect("flush");
    }
    let input_size = std::fs::metadata(&input).expect("size").len();
    let base = reset_peak();
    let out = s.out();
    let p = sc_core::readers::prepare_inputs(&input, "big.csv", &out).expect("read");
    let grown = peak_growth_mib(base);
    let t = only(&p);
    assert_eq!(t.rows, ROWS);
    assert_eq!(t.columns, vec!["id", "name", "amount", "note"]);
    // Every value is present: 4 markers + 4 one-byte lengths per row, plus the
    // text of the fields (the input minus header, delimiters, quotes, newlines),
    // plus each row's line (2 to ROWS + 1) as a fifth value.
    let data_size = std::fs::metadata(out.join(&t.file)).expect("size").len();
    let header = "id,name,amount,note\n".len() as u64;
    let text = input_size - header - ROWS * (3 + 2 + 1);
    let line_digits: u64 = (2..=ROWS + 1).map(|l| l.to_string().len() as u64).sum();
    assert_eq!(data_size, ROWS * 10 + text + line_digits);
    if let Some(grown) = grown {
        assert!(grown < 32, "peak memory grew by {grown} MiB reading a {} MiB file", input_size >> 20);
    }
}

/// Writes a one-sheet XLSX of `rows` data rows straight into a stored ZIP,
/// row by row (inline strings), so making the fixture needs no memory.
fn write_big_xlsx(path: &std::path::Path, rows: u32) {
    use zip::write::SimpleFileOptions;
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut z = zip::ZipWriter::new(file);
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let parts = XLSX_PARTS;
    for (name, body) in parts {
        z.start_file(name, opts).expect("part");
        z.write_all(body.as_bytes()).expect("part");
    }
    z.start_file("xl/worksheets/sheet1.xml", opts).expect("sheet");
    let head = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
    z.write_all(head.as_bytes()).expect("sheet");
    let s = |r: u32, c: char, v: &str| format!(r#"<c r="{c}{r}" t="inlineStr"><is><t>{v}</t></is></c>"#);
    writeln!(z, r#"<row r="1">{}{}{}</row>"#, s(1, 'A', "id"), s(1, 'B', "label"), s(1, 'C', "amount")).expect("row");
    for r in 1..=rows {
        let n = r + 1;
        let amount = f64::from(r) / 4.0;
        writeln!(
            z,
            r#"<row r="{n}"><c r="A{n}"><v>{r}</v></c>{}<c r="C{n}"><v>{amount}</v></c></row>"#,
            s(n, 'B', &format!("row number {r}"))
        )
        .expect("row");
    }
    z.write_all(b"</sheetData></worksheet>").expect("sheet");
    z.finish().expect("zip");
}

#[test]
fn large_xlsx_streams_row_by_row() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const ROWS: u32 = 100_000;
    let s = Scratch::new();
    let input = s.file("big.xlsx");
    write_big_xlsx(&input, ROWS);
    let base = reset_peak();
    let out = s.out();
    let p = sc_core::readers::prepare_inputs(&input, "big.xlsx", &out).expect("read");
    let grown = peak_growth_mib(base);
    let t = only(&p);
    assert_eq!(t.rows, u64::from(ROWS));
    assert_eq!(t.columns, vec!["id", "label", "amount"]);
    let data = std::fs::read(out.join(&t.file)).expect("data");
    let all = sc_core::rowbinary::read_rows(&data, 4).expect("rowbinary");
    assert_eq!(all[0], row(&["1", "row number 1", "0.25", "2"]), "the last value is the sheet's row number");
    assert_eq!(all[ROWS as usize - 1], row(&["100000", "row number 100000", "25000", "100001"]));
    if let Some(grown) = grown {
        assert!(grown < 32, "peak memory grew by {grown} MiB reading a {ROWS}-row workbook");
    }
}
