//! Connector SQL written for Kizen's runtime runs unchanged: input tables and
//! values as Kizen builds them (docs/decisions.md, "Kizen compatibility"),
//! end to end through `sc_run`.
use sc_integration::*;
use serde_json::json;
use std::io::Write;

/// A ZIP as "compress folder" makes it: the CSVs inside a folder named like the archive.
fn compressed_folder() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default();
    zip.add_directory("exports/", opts).unwrap();
    // Values padded with spaces and tabs, a blank cell of spaces, `;` inside values only.
    zip.start_file("exports/2024 Sales.csv", opts).unwrap();
    zip.write_all(b"Region,Note\n  EU ,   \n US\t,a;b;c\nAPAC,\" x \"\n").unwrap();
    zip.start_file("__MACOSX/exports/._2024 Sales.csv", opts).unwrap();
    zip.write_all(b"\x00\x05\x16\x07junk").unwrap();
    zip.start_file("exports/readme.txt", opts).unwrap();
    zip.write_all(b"not a table").unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

#[test]
fn kizen_sql_runs_unchanged_on_a_compressed_folder() {
    let mut c = connect_ready();
    c.batch_execute(
        "DROP TABLE IF EXISTS public.itest_kizen;
         CREATE TABLE public.itest_kizen (region text PRIMARY KEY, note text, listed text, via_alias text, trigger_type text);",
    )
    .unwrap();
    // SQL as a Kizen user writes it: the table named from the entry without extension, quoted
    // for its leading digit; IS NULL on a cell of spaces; meta tables by Kizen's column names.
    let sql = r#"CREATE TABLE output.sales ENGINE = Memory AS
        SELECT s.region AS region, s.note AS note,
               toString((SELECT count() FROM meta.inputs WHERE database = 'input' AND table = '2024_sales' AND file_path != '')) AS listed,
               toString((SELECT count() FROM input.page_idx_0)) AS via_alias,
               (SELECT any(trigger_type) FROM meta.current_execution WHERE is_dry_run = 0) AS trigger_type
          FROM input."2024_sales" AS s
         WHERE s.note IS NULL OR s.region = 'APAC'"#;
    save(
        &mut c,
        &json!({
            "api_name": "itest_kizen", "name": "kizen", "type": "spreadsheet", "status": "operational",
            "sql": sql,
            "variables": [{"name": "region", "type": "string", "required": true},
                          {"name": "note", "type": "string", "output_format": "raw"},
                          {"name": "listed", "type": "string"}, {"name": "via_alias", "type": "string"},
                          {"name": "trigger_type", "type": "string"}],
            "load_steps": [{"name": "sales", "table": "itest_kizen",
                            "match": [{"columns": {"region": "region"}}],
                            "map": [{"column": "region", "variable": "region"}, {"column": "note", "variable": "note"},
                                    {"column": "listed", "variable": "listed"}, {"column": "via_alias", "variable": "via_alias"},
                                    {"column": "trigger_type", "variable": "trigger_type"}]}]
        }),
    );
    let id = run_file(&mut c, "itest_kizen", &compressed_folder(), "exports.zip");
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    let got: Vec<(String, Option<String>, String, String, String)> = c
        .query("SELECT region, note, listed, via_alias, trigger_type FROM public.itest_kizen ORDER BY region", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        got,
        [
            // A quoted value is trimmed as well (raw keeps only inner whitespace).
            ("APAC".into(), Some("x".into()), "1".into(), "3".into(), "manual".into()),
            ("EU".into(), None, "1".into(), "3".into(), "manual".into()),
        ]
    );
}
