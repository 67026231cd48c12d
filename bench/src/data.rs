//! Deterministic benchmark inputs: a 10-column CSV and a 10-column XLSX (constant memory).
//!
//! Both files hold the same kind of row (ints, decimals, text, dates, a
//! quoted text with a comma, and an empty `qty` every 17th row so that a
//! `WHERE qty IS NOT NULL` filter has something to drop). Content depends
//! only on the row number, so two runs of the benchmark read identical
//! bytes. A file that already exists is reused: it is written under a
//! temporary name and renamed only when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// The header shared by both files (also the engine's column names).
pub const COLUMNS: [&str; 10] = ["id", "name", "amount", "qty", "created", "city", "price", "code", "note", "active"];

const CITIES: [&str; 8] = ["Amsterdam", "Berlin", "Lisbon", "Madrid", "Oslo", "Paris", "Rome", "Vienna"];

/// One generated row, before it is rendered as CSV text or XLSX cells.
struct Row {
    id: u64,
    name: String,
    amount_cents: u64,
    qty: Option<u64>,
    created: (u16, u8, u8),
    city: &'static str,
    price_milli: u64,
    code: String,
    note: String,
    active: bool,
}

/// A 64-bit mix of the row number (splitmix64), the only source of variety.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn row(i: u64) -> Row {
    let h = mix(i);
    Row {
        id: i + 1,
        name: format!("Customer {}", h % 50_000),
        amount_cents: (h >> 7) % 10_000_000,
        qty: if i.is_multiple_of(17) { None } else { Some((h >> 13) % 1000) },
        created: (2020 + ((h >> 20) % 5) as u16, 1 + ((h >> 24) % 12) as u8, 1 + ((h >> 28) % 28) as u8),
        city: CITIES[((h >> 33) % CITIES.len() as u64) as usize],
        price_milli: (h >> 36) % 1_000_000,
        code: format!("SKU-{:06}", (h >> 40) % 1_000_000),
        note: format!("note {i}, batch {}", (h >> 50) % 100),
        active: (h >> 60) & 1 == 1,
    }
}

/// Paths of the generated inputs.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The CSV (`CSVWithNames`, comma, `"` quoting, `\n`).
    pub csv: PathBuf,
    /// Rows in the CSV, header excluded.
    pub csv_rows: u64,
    /// The XLSX (one sheet).
    pub xlsx: PathBuf,
    /// Rows in the XLSX, header excluded.
    pub xlsx_rows: u64,
}

/// Write (or reuse) both inputs in `dir`.
pub fn ensure(dir: &Path, csv_rows: u64, xlsx_rows: u64) -> Result<Inputs, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let csv = dir.join(format!("bench_{csv_rows}.csv"));
    let xlsx = dir.join(format!("bench_{xlsx_rows}.xlsx"));
    if !csv.exists() {
        let t = Instant::now();
        let tmp = dir.join("bench.csv.part");
        write_csv(&tmp, csv_rows).map_err(|e| format!("write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &csv).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
        eprintln!("generated {} in {:.1} s", csv.display(), t.elapsed().as_secs_f64());
    }
    if !xlsx.exists() {
        let t = Instant::now();
        let tmp = dir.join("bench.xlsx.part");
        write_xlsx(&tmp, xlsx_rows).map_err(|e| format!("write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &xlsx).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
        eprintln!("generated {} in {:.1} s", xlsx.display(), t.elapsed().as_secs_f64());
    }
    Ok(Inputs { csv, csv_rows, xlsx, xlsx_rows })
}

fn write_csv(path: &Path, rows: u64) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(w, "{}", COLUMNS.join(","))?;
    for i in 0..rows {
        let r = row(i);
        let qty = r.qty.map(|q| q.to_string()).unwrap_or_default();
        let (y, m, d) = r.created;
        writeln!(
            w,
            "{},{},{}.{:02},{},{:04}-{:02}-{:02},{},{}.{:03},{},\"{}\",{}",
            r.id,
            r.name,
            r.amount_cents / 100,
            r.amount_cents % 100,
            qty,
            y,
            m,
            d,
            r.city,
            r.price_milli / 1000,
            r.price_milli % 1000,
            r.code,
            r.note,
            r.active
        )?;
    }
    w.flush()
}

fn write_xlsx(path: &Path, rows: u64) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name("data")?;
    for (c, name) in COLUMNS.iter().enumerate() {
        ws.write_string(0, c as u16, *name)?;
    }
    for i in 0..rows {
        let r = row(i);
        let x = (i + 1) as u32;
        ws.write_number(x, 0, r.id as f64)?;
        ws.write_string(x, 1, r.name)?;
        ws.write_number(x, 2, r.amount_cents as f64 / 100.0)?;
        if let Some(q) = r.qty {
            ws.write_number(x, 3, q as f64)?;
        }
        let (y, m, d) = r.created;
        ws.write_datetime_with_format(x, 4, &ExcelDateTime::from_ymd(y, m, d)?, &date)?;
        ws.write_string(x, 5, r.city)?;
        ws.write_number(x, 6, r.price_milli as f64 / 1000.0)?;
        ws.write_string(x, 7, r.code)?;
        ws.write_string(x, 8, r.note)?;
        ws.write_string(x, 9, if r.active { "true" } else { "false" })?;
    }
    wb.save(path)
}
