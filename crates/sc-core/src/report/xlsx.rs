//! The XLSX container, written directly: SpreadsheetML sheets streamed
//! already compressed, then packaged.
//!
//! Why not rust_xlsxwriter for the report: its constant-memory sheets copy
//! every string twice, keep each row in a map and look formats up per cell;
//! for a 1,000,000-row run (about 30 million cells) that was the largest
//! single cost of the execution worker. Writing the same sheet takes 0.38x
//! the time here (`report-bench`, docs/benchmarks.md). Here a cell is
//! appended to a buffer as XML, and each sheet is deflated into a temporary
//! single-entry zip as it fills, so saving the report only copies the
//! compressed sheets into the workbook's zip (`raw_copy_file_rename`).
//!
//! The parts and their markup follow what rust_xlsxwriter writes (Excel's
//! own minimal layout): inline strings, numbers, booleans, four cell styles
//! (default, bold header, date, date-time), a frozen header row and column
//! widths. Strings are escaped as Excel does: `& < >`, control characters as
//! `_xHHHH_`, and a literal `_xHHHH_` as `_x005F_xHHHH_`.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::cell::{fit_text, CellRef, MAX_EXACT_INT};

/// Cell styles, as indices into `cellXfs` of [`STYLES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain = 0,
    Header = 1,
    Date = 2,
    DateTime = 3,
}

/// Row XML is gathered in a buffer of about this size before it goes to the compressor.
const FLUSH_AT: usize = 64 * 1024;

/// A sheet whose XML has grown past this many bytes is ended and its rows
/// continue on the next part, so no zip entry needs ZIP64 (4 GiB).
pub(crate) const MAX_SHEET_XML: u64 = 3 << 30;

/// Deflate level of sheets: level 1 keeps most of the size gain of the
/// default at a fraction of its time (reports are repetitive XML).
const LEVEL: i64 = 1;

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#;
const TAIL: &str = r#"</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#;

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).compression_level(Some(LEVEL))
}

/// One worksheet being written, deflated into a temporary file as it goes.
pub(crate) struct SheetXml {
    zip: ZipWriter<File>,
    buf: Vec<u8>,
    /// XML bytes written so far (before compression).
    bytes: u64,
    /// Column letters, by column index, for the columns used so far.
    columns: Vec<Vec<u8>>,
}

impl SheetXml {
    /// Starts a sheet in a new unnamed temporary file in `dir` (the system's
    /// when `None`): the view (header row frozen, `selected` for the first
    /// sheet), column widths in Excel character units, and `<sheetData>`.
    pub fn begin(dir: Option<&Path>, widths: &[f64], selected: bool) -> io::Result<SheetXml> {
        let file = match dir {
            Some(d) => tempfile::tempfile_in(d)?,
            None => tempfile::tempfile()?,
        };
        let mut zip = ZipWriter::new(file);
        zip.start_file("sheet.xml", options()).map_err(io::Error::other)?;
        let mut sheet = SheetXml { zip, buf: Vec::with_capacity(FLUSH_AT * 2), bytes: 0, columns: Vec::new() };
        let tab = if selected { r#" tabSelected="1""# } else { "" };
        sheet.buf.extend_from_slice(HEAD.as_bytes());
        write!(
            sheet.buf,
            r#"<sheetViews><sheetView{tab} workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>"#
        )?;
        if !widths.is_empty() {
            sheet.buf.extend_from_slice(b"<cols>");
            for (i, w) in widths.iter().enumerate() {
                let n = i + 1;
                write!(sheet.buf, r#"<col min="{n}" max="{n}" width="{}" customWidth="1"/>"#, stored_width(*w))?;
            }
            sheet.buf.extend_from_slice(b"</cols>");
        }
        sheet.buf.extend_from_slice(b"<sheetData>");
        Ok(sheet)
    }

    /// XML bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes + self.buf.len() as u64
    }

    /// Writes row `row` (0-based) with `cells` from column A; `Null` cells
    /// are left out, and a `Header` style applies to every cell of the row.
    pub fn row<'a, I: IntoIterator<Item = CellRef<'a>>>(&mut self, row: u32, cells: I, style: Style) -> io::Result<()> {
        let mut digits = [0u8; 10];
        let digits = decimal(u64::from(row) + 1, &mut digits);
        self.buf.extend_from_slice(b"<row r=\"");
        self.buf.extend_from_slice(digits);
        self.buf.extend_from_slice(b"\">");
        for (col, cell) in cells.into_iter().enumerate() {
            if matches!(cell, CellRef::Null) {
                continue;
            }
            while self.columns.len() <= col {
                self.columns.push(column_name(self.columns.len()));
            }
            let reference = (&self.columns[col], digits);
            write_cell(&mut self.buf, reference, cell, style);
        }
        self.buf.extend_from_slice(b"</row>");
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.zip.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Ends the sheet and returns its temporary zip, ready to be copied.
    pub fn close(mut self) -> io::Result<File> {
        self.buf.extend_from_slice(TAIL.as_bytes());
        self.flush()?;
        let mut file = self.zip.finish().map_err(io::Error::other)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    }
}

/// Excel's stored column width for a width of `w` characters (of a 7-pixel digit).
fn stored_width(w: f64) -> f64 {
    if w <= 1.0 {
        return w;
    }
    ((w * 7.0 + 5.0) / 7.0 * 256.0).trunc() / 256.0
}

/// `n` in decimal, into the end of `out`.
fn decimal(mut n: u64, out: &mut [u8; 10]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    &out[at..]
}

/// Column letters of 0-based column `col`: A … Z, AA … XFD.
pub(crate) fn column_name(col: usize) -> Vec<u8> {
    let mut n = col + 1;
    let mut out = Vec::with_capacity(3);
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    out
}

fn open_cell(buf: &mut Vec<u8>, (col, row): (&Vec<u8>, &[u8]), style: u8, kind: &str) {
    buf.extend_from_slice(b"<c r=\"");
    buf.extend_from_slice(col);
    buf.extend_from_slice(row);
    buf.push(b'"');
    if style != 0 {
        buf.extend_from_slice(b" s=\"");
        buf.push(b'0' + style);
        buf.push(b'"');
    }
    buf.extend_from_slice(kind.as_bytes());
    buf.push(b'>');
}

fn number_cell(buf: &mut Vec<u8>, at: (&Vec<u8>, &[u8]), style: u8, value: impl std::fmt::Display) {
    open_cell(buf, at, style, "");
    // Writing into a Vec cannot fail.
    let _ = write!(buf, "<v>{value}</v></c>");
}

fn text_cell(buf: &mut Vec<u8>, at: (&Vec<u8>, &[u8]), style: u8, text: &str) {
    if text.is_empty() {
        // Excel has no empty string cell; an empty unstyled value is no cell.
        if style != 0 {
            open_cell(buf, at, style, "");
            buf.truncate(buf.len() - 1);
            buf.extend_from_slice(b"/>");
        }
        return;
    }
    let text = fit_text(text);
    open_cell(buf, at, style, " t=\"inlineStr\"");
    let edge = [' ', '\t', '\n'];
    if text.starts_with(edge) || text.ends_with(edge) {
        buf.extend_from_slice(b"<is><t xml:space=\"preserve\">");
    } else {
        buf.extend_from_slice(b"<is><t>");
    }
    escape(buf, &text);
    buf.extend_from_slice(b"</t></is></c>");
}

/// Appends `cell` as XML; `Null` writes nothing.
fn write_cell(buf: &mut Vec<u8>, at: (&Vec<u8>, &[u8]), cell: CellRef<'_>, style: Style) {
    let own = style as u8;
    match cell {
        CellRef::Null => {}
        CellRef::Text(text) => text_cell(buf, at, own, text),
        CellRef::Number(n) if n.is_finite() => number_cell(buf, at, own, n),
        CellRef::Number(n) => text_cell(buf, at, own, non_finite_label(n)),
        CellRef::Int(i) if i.unsigned_abs() <= MAX_EXACT_INT.unsigned_abs() => number_cell(buf, at, own, i),
        CellRef::Int(i) => text_cell(buf, at, own, &i.to_string()),
        CellRef::Bool(b) => {
            open_cell(buf, at, own, " t=\"b\"");
            buf.extend_from_slice(if b { b"<v>1</v></c>" } else { b"<v>0</v></c>" });
        }
        CellRef::Date(d) => match excel_date(d) {
            Some(serial) => number_cell(buf, at, date_style(style, Style::Date), serial),
            None => text_cell(buf, at, own, &d.format("%Y-%m-%d").to_string()),
        },
        CellRef::DateTime(t) => match excel_datetime(t) {
            Some(serial) => number_cell(buf, at, date_style(style, Style::DateTime), serial),
            None => text_cell(buf, at, own, &t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        },
    }
}

/// A header row keeps its bold style; elsewhere a date takes its number format.
fn date_style(row: Style, date: Style) -> u8 {
    if row == Style::Header {
        row as u8
    } else {
        date as u8
    }
}

fn non_finite_label(number: f64) -> &'static str {
    if number.is_nan() {
        "NaN"
    } else if number > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Excel's serial day of `date` (1900 date system, with its phantom
/// 1900-02-29), or `None` outside 1900-01-01 … 9999-12-31.
pub(crate) fn excel_date(date: NaiveDate) -> Option<i64> {
    if !(1900..=9999).contains(&date.year()) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let days = (date - epoch).num_days();
    // Excel counts a 29 February 1900 that never was: serials before 1 March 1900 are one less.
    Some(if days < 61 { days - 1 } else { days })
}

/// The serial date-time of `stamp` to the millisecond, or `None` outside
/// Excel's range (including chrono's leap-second representation).
pub(crate) fn excel_datetime(stamp: NaiveDateTime) -> Option<f64> {
    let day = excel_date(stamp.date())?;
    let milli = stamp.nanosecond() / 1_000_000;
    if milli >= 1000 {
        return None;
    }
    let seconds = f64::from(stamp.num_seconds_from_midnight()) + f64::from(milli) / 1000.0;
    Some(day as f64 + seconds / 86_400.0)
}

/// Bytes that may need escaping in a text node: `& < > _`, control
/// characters other than tab and newline, and 0xEF (which starts U+FFFE and
/// U+FFFF, characters XML forbids).
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'_' as usize] = true;
    table[0xEF] = true;
    table
};

/// Appends `text` escaped for an XML text node the way Excel reads it.
/// Characters XML 1.0 forbids (controls, U+FFFE, U+FFFF) become `_xHHHH_`,
/// which Excel and calamine read back as the character.
fn escape(buf: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| SPECIAL[usize::from(b)]) {
        buf.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let mut width = 1;
        let replacement: Option<&[u8]> = match b {
            _ if !SPECIAL[usize::from(b)] => None,
            b'&' => Some(b"&amp;"),
            b'<' => Some(b"&lt;"),
            b'>' => Some(b"&gt;"),
            b'_' if is_escape_sequence(&bytes[i..]) => Some(b"_x005F_"),
            b'_' => None,
            0xEF => match bytes.get(i + 1..i + 3) {
                Some([0xBF, 0xBE]) => Some(b"_xFFFE_"),
                Some([0xBF, 0xBF]) => Some(b"_xFFFF_"),
                _ => None,
            },
            _ => {
                buf.extend_from_slice(&bytes[start..i]);
                let _ = write!(buf, "_x{b:04X}_");
                start = i + 1;
                i += 1;
                continue;
            }
        };
        if let Some(r) = replacement {
            if b == 0xEF {
                width = 3;
            }
            buf.extend_from_slice(&bytes[start..i]);
            buf.extend_from_slice(r);
            start = i + width;
        }
        i += width;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// Whether `s` starts with `_xHHHH_`, which Excel would read as an escaped character.
fn is_escape_sequence(s: &[u8]) -> bool {
    s.len() >= 7 && s[1] == b'x' && s[2..6].iter().all(u8::is_ascii_hexdigit) && s[6] == b'_'
}

/// Escapes an attribute value.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles><dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/></styleSheet>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>"#;

/// Writes the workbook to `out`: the package parts, then each sheet (in
/// workbook order, with its name) copied compressed from its temporary zip.
pub(crate) fn package(out: File, sheets: Vec<(String, File)>) -> io::Result<File> {
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, out));
    let part = |zip: &mut ZipWriter<BufWriter<File>>, name: &str, xml: &str| -> io::Result<()> {
        zip.start_file(name, options()).map_err(io::Error::other)?;
        zip.write_all(xml.as_bytes())
    };
    let n = sheets.len();
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    for i in 1..=n {
        types.push_str(&format!(
            r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        ));
    }
    types.push_str("</Types>");
    part(&mut zip, "[Content_Types].xml", &types)?;
    part(&mut zip, "_rels/.rels", ROOT_RELS)?;

    let names: Vec<String> = sheets.iter().map(|(name, _)| attribute(name)).collect();
    let titles: String = names.iter().map(|t| format!("<vt:lpstr>{t}</vt:lpstr>")).collect();
    part(
        &mut zip,
        "docProps/app.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>{n}</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="{n}" baseType="lpstr">{titles}</vt:vector></TitlesOfParts><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion></Properties>"#
        ),
    )?;
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    part(
        &mut zip,
        "docProps/core.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>smartconnector</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>"#
        ),
    )?;

    let mut workbook = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><fileVersion appName="xl" lastEdited="4" lowestEdited="4" rupBuild="4505"/><workbookPr defaultThemeVersion="124226"/><bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (i, name) in names.iter().enumerate() {
        let id = i + 1;
        workbook.push_str(&format!(r#"<sheet name="{name}" sheetId="{id}" r:id="rId{id}"/>"#));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{id}.xml"/>"#
        ));
    }
    workbook.push_str(r#"</sheets><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>"#);
    rels.push_str(&format!(
        r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
        n + 1
    ));
    part(&mut zip, "xl/workbook.xml", &workbook)?;
    part(&mut zip, "xl/_rels/workbook.xml.rels", &rels)?;
    part(&mut zip, "xl/styles.xml", STYLES)?;

    for (i, (_, file)) in sheets.into_iter().enumerate() {
        let mut archive = ZipArchive::new(file).map_err(io::Error::other)?;
        let entry = archive.by_index_raw(0).map_err(io::Error::other)?;
        zip.raw_copy_file_rename(entry, format!("xl/worksheets/sheet{}.xml", i + 1)).map_err(io::Error::other)?;
    }
    let out = zip.finish().map_err(io::Error::other)?;
    out.into_inner().map_err(|e| e.into_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report::Cell;

    fn xml(cell: Cell, style: Style) -> String {
        let mut buf = Vec::new();
        write_cell(&mut buf, (&b"B".to_vec(), b"7"), cell.borrowed(), style);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn cells_are_written_as_excel_writes_them() {
        assert_eq!(xml(Cell::Int(-7), Style::Plain), r#"<c r="B7"><v>-7</v></c>"#);
        assert_eq!(xml(Cell::Number(1.5), Style::Plain), r#"<c r="B7"><v>1.5</v></c>"#);
        assert_eq!(xml(Cell::Number(1e21), Style::Plain), r#"<c r="B7"><v>1000000000000000000000</v></c>"#);
        assert_eq!(xml(Cell::Bool(true), Style::Plain), r#"<c r="B7" t="b"><v>1</v></c>"#);
        assert_eq!(xml(Cell::Null, Style::Plain), "");
        assert_eq!(xml(Cell::Text(String::new()), Style::Plain), "");
        assert_eq!(
            xml(Cell::Text("id".into()), Style::Header),
            r#"<c r="B7" s="1" t="inlineStr"><is><t>id</t></is></c>"#
        );
        assert_eq!(
            xml(Cell::Text(" a & <b> ".into()), Style::Plain),
            r#"<c r="B7" t="inlineStr"><is><t xml:space="preserve"> a &amp; &lt;b&gt; </t></is></c>"#
        );
        assert_eq!(
            xml(Cell::Text("x\u{1}y\nz\r_x0041_ _xyz_".into()), Style::Plain),
            "<c r=\"B7\" t=\"inlineStr\"><is><t>x_x0001_y\nz_x000D__x005F_x0041_ _xyz_</t></is></c>"
        );
        assert_eq!(
            xml(Cell::Text("a\u{FFFF}b\u{FFFE}c\u{FFFD}é".into()), Style::Plain),
            "<c r=\"B7\" t=\"inlineStr\"><is><t>a_xFFFF_b_xFFFE_c\u{FFFD}é</t></is></c>"
        );
        let date = NaiveDate::from_ymd_opt(2024, 5, 4).unwrap();
        assert_eq!(xml(Cell::Date(date), Style::Plain), r#"<c r="B7" s="2"><v>45416</v></c>"#);
        let stamp = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap().and_hms_milli_opt(13, 45, 0, 5).unwrap();
        assert_eq!(xml(Cell::DateTime(stamp), Style::Plain), r#"<c r="B7" s="3"><v>1.572916724537037</v></c>"#);
    }

    #[test]
    fn serial_dates_count_excels_phantom_leap_day() {
        let serial = |y, m, d| excel_date(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(serial(1900, 1, 1), Some(1));
        assert_eq!(serial(1900, 2, 28), Some(59));
        assert_eq!(serial(1900, 3, 1), Some(61));
        assert_eq!(serial(9999, 12, 31), Some(2_958_465));
        assert_eq!(serial(1899, 12, 31), None);
        assert_eq!(serial(10_000, 1, 1), None);
    }

    #[test]
    fn column_names_run_from_a_to_xfd() {
        assert_eq!(column_name(0), b"A");
        assert_eq!(column_name(25), b"Z");
        assert_eq!(column_name(26), b"AA");
        assert_eq!(column_name(701), b"ZZ");
        assert_eq!(column_name(702), b"AAA");
        assert_eq!(column_name(16_383), b"XFD");
    }

    #[test]
    fn widths_are_stored_as_excel_stores_them() {
        assert_eq!(stored_width(8.0), 8.7109375);
        assert_eq!(stored_width(30.0), 30.7109375);
    }
}
