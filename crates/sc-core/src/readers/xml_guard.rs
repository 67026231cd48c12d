//! Memory guards for XML workbooks (ODS, XLSX), run before calamine sees
//! the file: counts in the XML that calamine would allocate for up front.
//!
//! XLSX: calamine reserves room for `uniqueCount` shared strings as declared
//! in `xl/sharedStrings.xml`. A crafted count asks for terabytes, and a
//! failed allocation aborts the process, so a count above
//! [`XLSX_MAX_SHARED_STRINGS`] or above what the part's size could hold is
//! rejected.
//!
//! ODS: calamine parses every sheet of an ODS file when it opens it. In ODS XML a
//! cell or row can carry `number-columns-repeated` / `number-rows-repeated`,
//! so a few compressed bytes can stand for billions of cells; calamine caps
//! a sheet's final grid at 100 million cells but not the cells it collects
//! while reading rows, nor the sum over sheets, and an allocation that fails
//! aborts the process (no panic to catch). This module streams
//! `content.xml` with the XML settings calamine uses and estimates what it
//! would hold: per sheet, the cells collected row by row (empty cells only
//! count when a non-empty cell follows in the row; at most 16,384 per row)
//! plus the dense grid from the first to the last non-empty row and column.
//! A workbook above [`ODS_MAX_CELLS`] in total is rejected. LibreOffice's
//! usual padding (a repeated empty cell to the last column, a repeated empty
//! row to the last row) holds no value, so it costs nothing here.
//!
//! Anything the guard cannot parse is left to calamine to report.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

use super::xls_guard::XLS_MAX_CELLS;
use super::ReadError;

/// Most cells all sheets of an ODS file may expand to (the same budget as
/// one full XLS sheet).
pub(crate) const ODS_MAX_CELLS: u64 = XLS_MAX_CELLS;

const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;
const CALAMINE_MAX_CELLS: u64 = 100_000_000;

/// Attributes that give a cell a value (or a formula).
const VALUE_ATTRS: [&str; 8] = [
    "office:value-type",
    "office:value",
    "office:string-value",
    "office:date-value",
    "office:time-value",
    "office:boolean-value",
    "table:formula",
    "calcext:value-type",
];

/// Most shared strings an XLSX may declare (about 800 MB of reservation).
pub(crate) const XLSX_MAX_SHARED_STRINGS: u64 = 1 << 25;

/// Rejects an XLSX whose declared shared-string count is implausible: above
/// [`XLSX_MAX_SHARED_STRINGS`], or above one string per 5 bytes of the part
/// (`<si/>` is the shortest entry).
pub(crate) fn check_xlsx(path: &Path, file: &str) -> Result<(), ReadError> {
    let Ok(handle) = File::open(path) else { return Ok(()) };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(handle)) else { return Ok(()) };
    let Ok(part) = zip.by_name("xl/sharedStrings.xml") else { return Ok(()) };
    let size = part.size();
    let Some(count) = unique_count(BufReader::new(part)) else { return Ok(()) };
    if count > XLSX_MAX_SHARED_STRINGS || count > size / 5 + 1 {
        return Err(ReadError::Workbook {
            file: file.to_owned(),
            kind: "XLSX",
            detail: format!("its shared string table declares {count} strings, which its size cannot hold"),
        });
    }
    Ok(())
}

/// The `uniqueCount` attribute of the `<sst>` element, if present.
fn unique_count(input: impl BufRead) -> Option<u64> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "sst" => {
                let attr = e.try_get_attribute("uniqueCount").ok()??;
                // A value calamine cannot parse as a number is not reserved.
                return attr.value.trim_start_matches('+').parse().ok();
            }
            Event::Eof => return None,
            _ => {}
        }
        buf.clear();
    }
}

/// Rejects ODS files whose sheets would expand past [`ODS_MAX_CELLS`].
pub(crate) fn check_ods(path: &Path, file: &str) -> Result<(), ReadError> {
    let Ok(handle) = File::open(path) else { return Ok(()) };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(handle)) else { return Ok(()) };
    let Ok(content) = zip.by_name("content.xml") else { return Ok(()) };
    if estimate(BufReader::new(content)) > ODS_MAX_CELLS {
        return Err(ReadError::Workbook {
            file: file.to_owned(),
            kind: "ODS",
            detail: format!("its sheets expand to more than {ODS_MAX_CELLS} cells"),
        });
    }
    Ok(())
}

fn repeats(e: &BytesStart<'_>, attr: &str) -> Option<u64> {
    match e.try_get_attribute(attr).ok()? {
        Some(a) => a.value.trim().parse().ok(),
        None => Some(1),
    }
}

fn has_value(e: &BytesStart<'_>) -> bool {
    e.attributes().with_checks(false).flatten().any(|a| VALUE_ATTRS.contains(&a.key.as_ref()))
}

/// Running totals for one sheet.
#[derive(Default)]
struct Sheet {
    collected: u64,
    total_rows: u64,
    span_rows: u64,
    rows_after_last: u64,
    cols: Option<(u64, u64)>,
}

impl Sheet {
    fn cost(&self) -> u64 {
        let dense = match self.cols {
            Some((lo, hi)) => self.span_rows.saturating_mul(hi - lo),
            None => 0,
        };
        self.collected.saturating_add(dense.min(CALAMINE_MAX_CELLS))
    }
}

/// One row being read: cells collected so far, deferred empty cells, and
/// the column span of its non-empty cells.
#[derive(Default)]
struct Row {
    repeats: u64,
    at: u64,
    pending_empty: u64,
    span: Option<(u64, u64)>,
    /// The cell being read: (repeat count, has a value).
    cell: Option<(u64, bool)>,
}

impl Row {
    fn end_cell(&mut self) {
        let Some((n, has_value)) = self.cell.take() else { return };
        if !has_value {
            self.pending_empty = self.pending_empty.saturating_add(n);
            return;
        }
        self.at += self.pending_empty.min(MAX_COLUMNS - self.at);
        self.pending_empty = 0;
        let first = self.at;
        self.at += n.min(MAX_COLUMNS - self.at);
        self.span = Some(self.span.map_or((first, self.at), |(lo, _)| (lo, self.at)));
    }
}

/// Estimated cells calamine would hold for this `content.xml`; stops early
/// once past the limit or at the first XML error.
fn estimate(input: impl BufRead) -> u64 {
    let mut reader = quick_xml::Reader::from_reader(input);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    let mut sheet: Option<Sheet> = None;
    let mut row: Option<Row> = None;
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match event {
            Event::Start(e) => match (e.name().as_ref(), sheet.as_mut(), row.as_mut()) {
                ("table:table", None, _) if e.try_get_attribute("table:name").ok().flatten().is_some() => {
                    sheet = Some(Sheet::default());
                }
                ("table:table-row", Some(s), None) => {
                    let Some(n) = repeats(&e, "table:number-rows-repeated") else { break };
                    let n = n.min(MAX_ROWS - s.total_rows);
                    s.total_rows += n;
                    row = Some(Row { repeats: n, ..Row::default() });
                }
                ("table:table-cell" | "table:covered-table-cell", Some(_), Some(r)) if r.cell.is_none() => {
                    let Some(n) = repeats(&e, "table:number-columns-repeated") else { break };
                    r.cell = Some((n, has_value(&e)));
                }
                // Content inside a cell (text:p, annotations…) makes it non-empty.
                (_, Some(_), Some(Row { cell: Some((_, has_value)), .. })) => *has_value = true,
                _ => {}
            },
            Event::End(e) => match (e.name().as_ref(), sheet.as_mut(), row.as_mut()) {
                ("table:table-cell" | "table:covered-table-cell", Some(_), Some(r)) => r.end_cell(),
                ("table:table-row", Some(s), Some(r)) => {
                    r.end_cell();
                    s.collected = s.collected.saturating_add(r.at);
                    if let Some((lo, hi)) = r.span {
                        s.cols = Some(s.cols.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                        s.span_rows = s.span_rows.saturating_add(s.rows_after_last + r.repeats);
                        s.rows_after_last = 0;
                    } else if s.cols.is_some() {
                        s.rows_after_last = s.rows_after_last.saturating_add(r.repeats);
                    }
                    row = None;
                    if total.saturating_add(s.cost()) > ODS_MAX_CELLS {
                        return total.saturating_add(s.cost());
                    }
                }
                ("table:table", Some(s), None) => {
                    total = total.saturating_add(s.cost());
                    sheet = None;
                }
                _ => {}
            },
            _ => {}
        }
        buf.clear();
    }
    total.saturating_add(sheet.map_or(0, |s| s.cost()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(tables: &str) -> String {
        format!("<office:document-content><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>")
    }

    const VALUE: &str = r#"<table:table-cell office:value-type="float" office:value="1"/>"#;

    #[test]
    fn shared_string_count_is_read() {
        let sst = |attrs: &str| format!(r#"<?xml version="1.0"?><sst xmlns="x" {attrs}><si><t>a</t></si></sst>"#);
        assert_eq!(unique_count(sst(r#"count="3" uniqueCount="2""#).as_bytes()), Some(2));
        assert_eq!(unique_count(sst("").as_bytes()), None);
        assert_eq!(unique_count(sst(r#"uniqueCount="9999999999999""#).as_bytes()), Some(9_999_999_999_999));
        assert_eq!(unique_count(sst(r#"uniqueCount="lots""#).as_bytes()), None);
    }

    #[test]
    fn counts_values_and_their_grid() {
        let t = format!(
            r#"<table:table table:name="A"><table:table-row>{VALUE}{VALUE}</table:table-row><table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row><table:table-row><table:table-cell/>{VALUE}</table:table-row></table:table>"#
        );
        // Collected: 2 + 0 + 2; grid: 5 rows × 2 columns.
        assert_eq!(estimate(content(&t).as_bytes()), 4 + 10);
    }

    #[test]
    fn libreoffice_padding_costs_nothing() {
        let t = format!(
            r#"<table:table table:name="A"><table:table-row>{VALUE}<table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row></table:table>"#
        );
        assert_eq!(estimate(content(&t).as_bytes()), 1 + 1);
    }

    #[test]
    fn repeated_values_expand() {
        let wide = r#"<table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell>"#;
        let t = format!(
            r#"<table:table table:name="A"><table:table-row table:number-rows-repeated="1000000">{wide}</table:table-row></table:table>"#
        );
        assert!(estimate(content(&t).as_bytes()) > ODS_MAX_CELLS);
    }

    #[test]
    fn many_physical_rows_count_even_when_each_is_small() {
        let row = r#"<table:table-row><table:table-cell table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell></table:table-row>"#;
        let t = format!(r#"<table:table table:name="A">{}</table:table>"#, row.repeat(1100));
        assert!(estimate(content(&t).as_bytes()) > ODS_MAX_CELLS);
    }
}
