//! Workbooks through `prepare_inputs`: XLSX written with rust_xlsxwriter at
//! test time, a hand-made ODS, sheet naming and skipping, cell rendering,
//! formula errors, and format/extension mismatches.

mod common;

use common::*;
use rust_xlsxwriter::{Chart, ChartType, ExcelDateTime, Format, Formula, Workbook};

fn date(y: u16, m: u8, d: u8) -> ExcelDateTime {
    ExcelDateTime::from_ymd(y, m, d).expect("valid date")
}

/// Products (typed cells), Empty, Order Lines / Order-Lines (names that
/// collide after cleaning; one with a #DIV/0! formula).
fn multi_sheet() -> Vec<u8> {
    let mut wb = Workbook::new();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let dt_fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let dur_fmt = Format::new().set_num_format("[h]:mm:ss");
    let ws = wb.add_worksheet().set_name("Products").expect("name");
    for (c, h) in ["SKU", "Price", "Qty", "Active", "Launched", "Updated", "Runtime"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("header");
    }
    ws.write_string(1, 0, "A-1").expect("cell");
    ws.write_number(1, 1, 16.99).expect("cell");
    ws.write_number(1, 2, 41.0).expect("cell");
    ws.write_boolean(1, 3, true).expect("cell");
    ws.write_datetime_with_format(1, 4, date(2024, 5, 4), &date_fmt).expect("cell");
    let dt = date(2024, 5, 4).and_hms(13, 45, 0).expect("time");
    ws.write_datetime_with_format(1, 5, dt, &dt_fmt).expect("cell");
    ws.write_number_with_format(1, 6, 1.5, &dur_fmt).expect("cell");
    ws.write_string(2, 0, "B-2").expect("cell");
    ws.write_boolean(2, 3, false).expect("cell");
    wb.add_worksheet().set_name("Empty").expect("name");
    let ws = wb.add_worksheet().set_name("Order Lines").expect("name");
    ws.write_string(0, 0, "order").expect("cell");
    ws.write_string(0, 1, "qty").expect("cell");
    ws.write_string(0, 2, "ratio").expect("cell");
    ws.write_number(1, 0, 1.0).expect("cell");
    ws.write_number(1, 1, 0.0).expect("cell");
    ws.write_number(2, 0, 2.0).expect("cell");
    ws.write_number(2, 1, 4.0).expect("cell");
    ws.write_formula(2, 2, Formula::new("=1/B3").set_result("#DIV/0!")).expect("cell");
    let ws = wb.add_worksheet().set_name("Order-Lines").expect("name");
    ws.write_string(0, 0, "x").expect("cell");
    wb.save_to_buffer().expect("xlsx")
}

#[test]
fn every_sheet_in_order_with_positional_index() {
    let (s, p) = prepare_ok(&multi_sheet(), "Vendor Book.xlsx");
    let names: Vec<_> = p.tables.iter().map(|t| (t.index, t.name.as_str(), t.source.as_str())).collect();
    assert_eq!(
        names,
        vec![
            (0, "products", "Vendor Book.xlsx!Products"),
            (1, "empty", "Vendor Book.xlsx!Empty"),
            (2, "order_lines", "Vendor Book.xlsx!Order Lines"),
            (3, "order_lines__duplicate_1__", "Vendor Book.xlsx!Order-Lines"),
        ]
    );
    // An empty sheet is still a table, as in Kizen's runtime: one column `_1`, no rows.
    assert_eq!((p.tables[1].columns.clone(), p.tables[1].rows), (vec!["_1".to_owned()], 0));
    assert_eq!(p.tables[2].file, "input_2.rowbinary");
    // A header-only sheet is a table with zero rows.
    assert_eq!(p.tables[3].rows, 0);
    assert!(rows(&s, &p.tables[3]).is_empty());
}

#[test]
fn cells_render_as_iso_text() {
    let (s, p) = prepare_ok(&multi_sheet(), "book.xlsx");
    let t = &p.tables[0];
    assert_eq!(t.columns, vec!["sku", "price", "qty", "active", "launched", "updated", "runtime"]);
    assert_eq!(
        rows(&s, t),
        vec![
            row(&["A-1", "16.99", "41", "True", "2024-05-04", "2024-05-04 13:45:00", "36:00:00"]),
            row(&["B-2", NULL, NULL, "False", NULL, NULL, NULL]),
        ]
    );
}

#[test]
fn formula_error_becomes_null_with_a_warning() {
    let (s, p) = prepare_ok(&multi_sheet(), "book.xlsx");
    let t = &p.tables[2];
    assert_eq!(rows(&s, t), vec![row(&["1", "0", NULL]), row(&["2", "4", NULL])]);
    let w = p.warnings.iter().find(|w| w.contains("#DIV/0!")).expect("warning for the error cell");
    assert_eq!(w, "file \"book.xlsx\", sheet \"Order Lines\", cell C3: formula error #DIV/0! was read as NULL");
}

#[test]
fn single_sheet_workbook_is_named_from_the_file() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "id").expect("cell");
    ws.write_number(1, 0, 7.0).expect("cell");
    let (s, p) = prepare_ok(&wb.save_to_buffer().expect("xlsx"), "Carrier Weekly.xlsx");
    let t = only(&p);
    assert_eq!((t.name.as_str(), t.source.as_str()), ("carrier_weekly_xlsx", "Carrier Weekly.xlsx!Sheet1"));
    assert_eq!(rows(&s, t), vec![row(&["7"])]);
}

#[test]
fn table_starts_at_first_used_column_and_long_rows_add_columns() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Report title").expect("cell");
    ws.write_string(2, 2, "Name").expect("cell");
    ws.write_string(2, 3, "Name").expect("cell");
    ws.write_string(3, 2, "a").expect("cell");
    ws.write_string(3, 5, "extra").expect("cell");
    ws.write_string(5, 3, "b").expect("cell");
    let (s, p) = prepare_ok(&wb.save_to_buffer().expect("xlsx"), "r.xlsx");
    let t = only(&p);
    // "Report title" (A1) is the first non-blank row, so it is the header;
    // the table spans A..F.
    assert_eq!(t.columns, vec!["report_title", "_1", "_2", "_3", "_4", "_5"]);
    assert_eq!(
        rows(&s, t),
        vec![
            row(&[NULL, NULL, "Name", "Name", NULL, NULL]),
            row(&[NULL, NULL, "a", NULL, NULL, "extra"]),
            row(&[NULL, NULL, NULL, "b", NULL, NULL]),
        ]
    );
}

#[test]
fn offset_table_drops_leading_empty_columns() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(2, 2, "Name").expect("cell");
    ws.write_string(2, 3, "Name").expect("cell");
    ws.write_string(3, 2, "a").expect("cell");
    let (s, p) = prepare_ok(&wb.save_to_buffer().expect("xlsx"), "o.xlsx");
    let t = only(&p);
    assert_eq!(t.columns, vec!["name", "name__duplicate_1__"]);
    assert_eq!(rows(&s, t), vec![row(&["a", NULL])]);
}

#[test]
fn chart_sheets_are_skipped_but_keep_their_position() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Data").expect("name");
    ws.write_string(0, 0, "v").expect("cell");
    ws.write_number(1, 0, 1.0).expect("cell");
    let mut chart = Chart::new(ChartType::Column);
    chart.add_series().set_values("Data!$A$2:$A$2");
    wb.add_chartsheet().insert_chart(0, 0, &chart).expect("chart");
    let ws = wb.add_worksheet().set_name("More").expect("name");
    ws.write_string(0, 0, "w").expect("cell");
    let (_s, p) = prepare_ok(&wb.save_to_buffer().expect("xlsx"), "c.xlsx");
    let idx: Vec<_> = p.tables.iter().map(|t| (t.index, t.name.as_str())).collect();
    assert_eq!(idx, vec![(0, "data"), (2, "more")]);
    assert!(p.warnings.iter().any(|w| w.contains("not a worksheet")), "{:?}", p.warnings);
}

#[test]
fn workbook_with_only_empty_sheets_is_empty() {
    let mut wb = Workbook::new();
    wb.add_worksheet();
    wb.add_worksheet();
    let msg = prepare_err(&wb.save_to_buffer().expect("xlsx"), "e.xlsx");
    assert_eq!(msg, "file \"e.xlsx\" is empty");
}

#[test]
fn xlsx_named_csv_is_read_as_xlsx_with_a_warning() {
    let (_s, p) = prepare_ok(&multi_sheet(), "export.csv");
    assert_eq!(p.tables.len(), 4);
    assert!(
        p.warnings
            .iter()
            .any(|w| w == "file \"export.csv\" is an XLSX workbook despite its .csv extension; it was read as such"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn text_named_xlsx_is_rejected() {
    let msg = prepare_err(b"a,b\n1,2\n", "b.xlsx");
    assert_eq!(
        msg,
        "file \"b.xlsx\": not a valid XLSX workbook (the content is plain text, not a workbook; if it is CSV, name the file .csv)"
    );
}

#[test]
fn broken_workbooks_name_the_format() {
    let msg = prepare_err(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 not really", "old.xls");
    assert!(msg.starts_with("file \"old.xls\": not a valid XLS workbook ("), "{msg}");
    let plain_zip = zip_of(&[("readme.md", b"hi")]);
    let msg = prepare_err(&plain_zip, "b.xlsx");
    assert_eq!(msg, "file \"b.xlsx\": not a valid XLSX workbook (a ZIP archive without the parts of a workbook)");
}

fn ods(sheets: &[(&str, &str)]) -> Vec<u8> {
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>"#,
    );
    for (name, rows) in sheets {
        content.push_str(&format!(r#"<table:table table:name="{name}">{rows}</table:table>"#));
    }
    content.push_str("</office:spreadsheet></office:body></office:document-content>");
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest.as_bytes()),
        ("content.xml", content.as_bytes()),
    ])
}

fn s(v: &str) -> String {
    format!(r#"<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>"#)
}

#[test]
fn ods_sheets_dates_and_numbers() {
    let r1 = format!("<table:table-row>{}{}{}</table:table-row>", s("Id"), s("When"), s("Took"));
    let r2 = concat!(
        "<table:table-row>",
        r#"<table:table-cell office:value-type="float" office:value="41"><text:p>41</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="date" office:date-value="2024-05-04T13:45:00"><text:p>x</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="time" office:time-value="PT01H30M00S"><text:p>x</text:p></table:table-cell>"#,
        "</table:table-row>"
    );
    let r3 = concat!(
        "<table:table-row>",
        r#"<table:table-cell office:value-type="float" office:value="16.99"><text:p>16.99</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="date" office:date-value="2024-05-04"><text:p>x</text:p></table:table-cell>"#,
        "</table:table-row>"
    );
    let other = format!("<table:table-row>{}</table:table-row>", s("k"));
    let bytes = ods(&[("Sheet One", &format!("{r1}{r2}{r3}")), ("2nd", &other)]);
    let (sc, p) = prepare_ok(&bytes, "book.ods");
    let names: Vec<_> = p.tables.iter().map(|t| (t.index, t.name.as_str())).collect();
    // A sheet name's leading digit stays (Kizen quotes such names: input."2nd").
    assert_eq!(names, vec![(0, "sheet_one"), (1, "2nd")]);
    assert_eq!(p.tables[0].columns, vec!["id", "when", "took"]);
    assert_eq!(
        rows(&sc, &p.tables[0]),
        vec![row(&["41", "2024-05-04 13:45:00", "01:30:00"]), row(&["16.99", "2024-05-04", NULL])]
    );
}

#[test]
fn hand_made_xlsx_with_inline_strings_reads() {
    let data = format!(
        r#"<row r="1">{}{}</row><row r="2">{}<c r="B2"><v>2.5</v></c></row>"#,
        inline_cell("A1", "Key"),
        inline_cell("B1", "Val"),
        inline_cell("A2", "k")
    );
    let (s, p) = prepare_ok(&xlsx_with_sheet_data(&data), "h.xlsx");
    assert_eq!(rows(&s, only(&p)), vec![row(&["k", "2.5"])]);
}

#[test]
fn cells_beyond_the_column_limit_are_rejected() {
    // A reference past Excel's last column (XFD).
    let far = format!(r#"<row r="1">{}{}</row>"#, inline_cell("A1", "a"), inline_cell("XFE1", "b"));
    let msg = prepare_err(&xlsx_with_sheet_data(&far), "far.xlsx");
    assert!(msg.starts_with("file \"far.xlsx\", sheet \"Data\": "), "{msg}");
    // Cells without references, counted past the limit.
    let many: String = (0..16_390).map(|_| inline_cell("", "x")).collect();
    let msg = prepare_err(&xlsx_with_sheet_data(&format!("<row>{many}</row>")), "wide.xlsx");
    assert!(msg.starts_with("file \"wide.xlsx\", sheet \"Data\": "), "{msg}");
    // A reference whose column number overflows.
    let huge = format!(r#"<row r="1">{}</row>"#, inline_cell("ZZZZZZZZZZ1", "z"));
    let msg = prepare_err(&xlsx_with_sheet_data(&huge), "huge.xlsx");
    assert!(msg.starts_with("file \"huge.xlsx\""), "{msg}");
}

#[test]
fn cells_out_of_order_are_rejected_with_a_clear_message() {
    let data =
        format!(r#"<row r="2">{}</row><row r="1">{}</row>"#, inline_cell("A2", "late"), inline_cell("A1", "early"));
    let msg = prepare_err(&xlsx_with_sheet_data(&data), "o.xlsx");
    assert_eq!(
        msg,
        "file \"o.xlsx\", sheet \"Data\": cells are stored out of order (cell A1); open and re-save the file"
    );
}

#[test]
fn xls_sheet_reads() {
    let cells = [
        biff_cell(0, 0, Ok("Name")),
        biff_cell(0, 1, Ok("Qty")),
        biff_cell(1, 0, Ok("pear")),
        biff_cell(1, 1, Err(41.0)),
        biff_cell(2, 1, Err(2.5)),
    ];
    let (s, p) = prepare_ok(&xls("Stock", &cells), "Old Stock.xls");
    let t = only(&p);
    assert_eq!((t.name.as_str(), t.source.as_str()), ("old_stock_xls", "Old Stock.xls!Stock"));
    assert_eq!(t.columns, vec!["name", "qty"]);
    assert_eq!(rows(&s, t), vec![row(&["pear", "41"]), row(&[NULL, "2.5"])]);
}

#[test]
fn xls_whose_grid_would_exhaust_memory_is_rejected_before_reading() {
    // Two cells in opposite corners: calamine would allocate a dense
    // 65,536 × 65,536 grid (about 137 GB) and abort the process.
    let cells = [biff_cell(0, 0, Ok("a")), biff_cell(65_535, 65_535, Err(1.0))];
    let msg = prepare_err(&xls("Bomb", &cells), "bomb.xls");
    assert_eq!(
        msg,
        "file \"bomb.xls\": not a valid XLS workbook (its sheets span more than 16777216 cells (65,536 rows × 256 columns))"
    );
}

#[test]
fn ods_whose_repeats_would_exhaust_memory_is_rejected_before_reading() {
    // 1,100 rows, each one cell repeated across all 16,384 columns: a few
    // kilobytes compressed, 18 million cells once expanded.
    let row = r#"<table:table-row><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#;
    let bytes = ods(&[("Bomb", &row.repeat(1100))]);
    assert!(bytes.len() < 64 * 1024, "the fixture is small: {} bytes", bytes.len());
    let msg = prepare_err(&bytes, "bomb.ods");
    assert_eq!(msg, "file \"bomb.ods\": not a valid ODS workbook (its sheets expand to more than 16777216 cells)");
}

#[test]
fn ods_padding_to_the_last_row_and_column_is_fine() {
    let rows = format!(
        "<table:table-row>{}{}<table:table-cell table:number-columns-repeated=\"16382\"/></table:table-row>\
         <table:table-row table:number-rows-repeated=\"1048575\"><table:table-cell table:number-columns-repeated=\"16384\"/></table:table-row>",
        s("a"),
        s("b")
    );
    let (_s, p) = prepare_ok(&ods(&[("Padded", &rows)]), "p.ods");
    assert_eq!(only(&p).columns, vec!["a", "b"]);
}

#[test]
fn xlsx_declaring_absurd_shared_strings_is_rejected_before_reading() {
    // calamine reserves room for `uniqueCount` strings up front: 10^12 of
    // them would be a 24 TB allocation, which aborts the process.
    let sst = br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1000000000000"><si><t>a</t></si></sst>"#;
    let data = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;
    let bytes = xlsx_with_parts(data, &[("xl/sharedStrings.xml", sst)]);
    let msg = prepare_err(&bytes, "sst.xlsx");
    assert_eq!(
        msg,
        "file \"sst.xlsx\": not a valid XLSX workbook (its shared string table declares 1000000000000 strings, which its size cannot hold)"
    );
    // An honest count reads.
    let honest = String::from_utf8_lossy(sst).replace("1000000000000", "1");
    let (s, p) = prepare_ok(&xlsx_with_parts(data, &[("xl/sharedStrings.xml", honest.as_bytes())]), "ok.xlsx");
    assert_eq!(only(&p).columns, vec!["a"]);
    assert!(rows(&s, only(&p)).is_empty());
}

#[test]
fn workbook_cells_are_trimmed_and_keep_fractional_seconds_as_in_kizen() {
    let mut wb = Workbook::new();
    let dt_fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000");
    let ws = wb.add_worksheet();
    for (c, h) in ["name", "note", "at"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("header");
    }
    ws.write_string(1, 0, "  Ann Lee\t").expect("cell");
    ws.write_string(1, 1, " \t ").expect("cell");
    let at = date(2024, 5, 4).and_hms_milli(13, 45, 0, 250).expect("time");
    ws.write_datetime_with_format(1, 2, at, &dt_fmt).expect("cell");
    let (s, p) = prepare_ok(&wb.save_to_buffer().expect("xlsx"), "people.xlsx");
    assert_eq!(rows(&s, only(&p)), vec![row(&["Ann Lee", NULL, "2024-05-04 13:45:00.250000"])]);
}

#[test]
fn every_row_knows_its_row_number_in_the_sheet() {
    // Header on row 2, a blank row 4, data on rows 3, 5 and 9.
    let data = format!(
        r#"<row r="2">{}</row><row r="3">{}</row><row r="5">{}</row><row r="9">{}</row>"#,
        inline_cell("B2", "name"),
        inline_cell("B3", "a"),
        inline_cell("B5", "b"),
        inline_cell("B9", "c")
    );
    let (s, p) = prepare_ok(&xlsx_with_sheet_data(&data), "rows.xlsx");
    let t = only(&p);
    assert_eq!(rows(&s, t), vec![row(&["a"]), row(&["b"]), row(&["c"])]);
    assert_eq!(lines(&s, t), vec![3, 5, 9]);
    assert_eq!(t.source, "rows.xlsx!Data");
}
