//! The engine process end to end: inputs, SQL, parameters, meta tables, export and errors.

mod common;

use common::*;
use sc_engine::job::{Input, JobMeta, Limits};
use sc_engine::Outcome;

#[test]
fn pass_through_exports_the_single_input_table() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let m = ok(run(dir.path(), &job(None, vec![t])));
    assert_eq!(m.scopes.len(), 1);
    let s = &m.scopes[0];
    assert_eq!(s.name, "sales");
    assert_eq!(s.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["sku", "region", "amount"]);
    assert!(s.columns.iter().all(|c| c.ch_type == "Nullable(String)"));
    assert_eq!(
        rows(dir.path(), &m, "sales"),
        strs(&[
            &[Some("a"), Some("EU"), Some("1.5")],
            &[Some("b"), Some("US"), None],
            &[Some("c"), Some("EU"), Some("3")]
        ])
    );
    assert!(m.engine_version.starts_with("26."), "{}", m.engine_version);
    assert!(!dir.path().join("engine").exists(), "engine data directory removed");
    assert_eq!(m.statements, 0);
}

#[test]
fn transform_with_two_outputs_and_typed_columns() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let sql = "
        -- scratch table in the current database `connector`
        CREATE TABLE totals ENGINE = Memory AS
            SELECT region, sum(toDecimal64OrNull(amount, 2)) AS total, count() AS n FROM input.sales GROUP BY region;
        CREATE TABLE output.regions ENGINE = Memory AS SELECT * FROM totals ORDER BY region;
        CREATE TABLE output.skus ENGINE = MergeTree ORDER BY tuple() AS
            SELECT sku, [sku, region] AS tags, toDate('2024-05-01') AS d FROM input.sales ORDER BY sku;";
    let m = ok(run(dir.path(), &job(Some(sql), vec![t])));
    assert_eq!(m.scopes.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["regions", "skus"]);
    assert_eq!(m.statements, 3);
    let regions = &m.scopes[0];
    assert_eq!(regions.columns[1].ch_type, "Nullable(Decimal(38, 2))");
    assert_eq!(
        rows(dir.path(), &m, "regions"),
        strs(&[&[Some("EU"), Some("4.5"), Some("2")], &[Some("US"), None, Some("1")]])
    );
    let skus = rows(dir.path(), &m, "skus");
    assert_eq!(skus[0], vec![Some("a".into()), Some(r#"["a","EU"]"#.into()), Some("2024-05-01".into())]);
}

#[test]
fn parameters_meta_tables_and_page_alias() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let mut j = job(
        Some(
            "CREATE TABLE output.eu ENGINE = Memory AS SELECT sku FROM input.page_idx_0 WHERE region = {region:String} ORDER BY sku;
             CREATE TABLE output.params ENGINE = Memory AS SELECT * FROM meta.parameters ORDER BY name;
             CREATE TABLE output.exec ENGINE = Memory AS SELECT * FROM meta.current_execution;
             CREATE TABLE output.inputs ENGINE = Memory AS SELECT * FROM meta.inputs",
        ),
        vec![t],
    );
    j.parameters.insert("region".into(), "EU".into());
    j.parameters.insert("note".into(), "tab\there, back\\slash".into());
    j.meta = JobMeta {
        execution_id: "e-1".into(),
        connector: "sales_import".into(),
        connector_type: "spreadsheet".into(),
        trigger: "manual".into(),
        dry_run: true,
        file_name: Some("sales.csv".into()),
        file_size: Some(42),
        trigger_time: Some("2024-05-01T10:00:00Z".into()),
        started_by: Some("etl".into()),
    };
    let m = ok(run(dir.path(), &j));
    assert_eq!(rows(dir.path(), &m, "eu"), strs(&[&[Some("a")], &[Some("c")]]));
    assert_eq!(
        rows(dir.path(), &m, "params"),
        strs(&[&[Some("note"), Some("tab\there, back\\slash")], &[Some("region"), Some("EU")]])
    );
    // Kizen's runtime's columns first (business_id … activity_object_id), then ours.
    let exec = rows(dir.path(), &m, "exec");
    assert_eq!(
        exec[0],
        strs(&[&[
            None,
            Some("sales_import"),
            Some("e-1"),
            Some("manual"),
            Some("etl"),
            Some("etl"),
            None,
            Some("42"),
            Some("sales.csv"),
            None,
            Some("1"),
            None,
            Some("1714557600"),
            None,
            None,
            None,
            Some("sales_import"),
            Some("spreadsheet"),
            Some("manual"),
            Some("true"),
            Some("sales.csv"),
            Some("42"),
            Some("2024-05-01 10:00:00.000")
        ]])[0]
    );
    assert_eq!(
        rows(dir.path(), &m, "inputs"),
        strs(&[&[Some("input"), Some("sales"), Some("sales.csv"), Some("sales.csv")]])
    );
}

#[test]
fn a_file_input_goes_through_the_readers() {
    let dir = exec_dir();
    std::fs::write(dir.path().join("upload.bin"), "Name,Qty\nwidget,3\ngadget,\n").unwrap();
    let mut j = job(Some("CREATE TABLE output.o ENGINE = Memory AS SELECT * FROM input.carrier_weekly_csv"), vec![]);
    j.input = Input::File { path: "upload.bin".into(), file_name: "Carrier Weekly.csv".into() };
    let m = ok(run(dir.path(), &j));
    assert_eq!(m.inputs[0].name, "carrier_weekly_csv");
    assert_eq!(rows(dir.path(), &m, "o"), strs(&[&[Some("widget"), Some("3")], &[Some("gadget"), None]]));
}

#[test]
fn sql_errors_are_reported_and_cut() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let msg = user_error(run(dir.path(), &job(Some("SELECT 1; SELECT * FROM input.nope"), vec![t.clone()])));
    assert!(msg.starts_with("SQL error: ") && msg.contains("nope"), "{msg}");
    assert!(!msg.contains("DB::Exception"), "{msg}");
    // An unknown input table: the error lists the ones there are, with their page_idx names.
    assert!(msg.ends_with("; input tables: input.sales (also input.page_idx_0)"), "{msg}");

    let long = "x".repeat(5000);
    let msg = user_error(run(dir.path(), &job(Some(&format!("SELECT throwIf(1, '{long}')")), vec![t])));
    assert!(msg.contains(" chars cut] … "), "{msg}");
    assert!(msg.chars().count() < 2100, "{}", msg.len());
    let report: sc_engine::job::ErrorReport =
        sc_engine::job::read_json(&dir.path().join("error.json")).expect("error.json");
    assert_eq!(report.message, msg);
}

#[test]
fn no_output_tables_is_an_error() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let msg = user_error(run(dir.path(), &job(Some("SELECT count() FROM input.sales"), vec![t])));
    assert_eq!(msg, "SQL produced no output tables");
}

#[test]
fn output_row_limit() {
    let dir = exec_dir();
    let mut j = job(
        Some("CREATE TABLE output.a ENGINE = Memory AS SELECT number FROM numbers(4); CREATE TABLE output.b ENGINE = Memory AS SELECT number FROM numbers(4)"),
        vec![],
    );
    j.limits = Limits { max_output_rows: 7, ..j.limits };
    assert_eq!(user_error(run(dir.path(), &j)), "SQL output exceeds 7 rows");
    j.limits.max_output_rows = 8;
    assert_eq!(ok(run(dir.path(), &j)).scopes.len(), 2);
}

#[test]
fn memory_limit() {
    let dir = exec_dir();
    let mut j = job(
        Some(
            "CREATE TABLE output.a ENGINE = Memory AS SELECT groupArray(toString(number)) AS g FROM numbers(50000000)",
        ),
        vec![],
    );
    j.limits.memory_bytes = Some(300 << 20);
    let msg = user_error(run(dir.path(), &j));
    assert_eq!(msg, "SQL memory limit of 300.0 MiB exceeded");
}

#[test]
fn limits_cannot_be_raised_from_sql() {
    let dir = exec_dir();
    let t = sales(dir.path());
    let msg = user_error(run(dir.path(), &job(Some("SET max_execution_time = 100000"), vec![t])));
    assert!(msg.contains("should not be changed"), "{msg}");
}

#[test]
fn time_limit_from_the_engine() {
    let dir = exec_dir();
    let mut j = job(
        Some("CREATE TABLE output.x ENGINE = Memory AS SELECT sum(sipHash64(number)) AS s FROM numbers(1000000000000)"),
        vec![],
    );
    j.limits.time_s = 1;
    let t = std::time::Instant::now();
    assert_eq!(run(dir.path(), &j), Outcome::TimedOut("SQL time limit of 1 s exceeded".into()));
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
}

#[test]
fn time_limit_when_a_call_ignores_it() {
    // sleep() blocks for its whole duration; the engine's watchdog ends the run.
    let dir = exec_dir();
    let mut j = job(Some("SELECT sleep(3); SELECT sleep(3); SELECT sleep(3)"), vec![]);
    j.limits.time_s = 1;
    let t = std::time::Instant::now();
    assert_eq!(run(dir.path(), &j), Outcome::TimedOut("SQL time limit of 1 s exceeded".into()));
    assert!(t.elapsed().as_millis() < 2900, "{:?}", t.elapsed());
}

#[test]
fn a_file_without_sql_passes_through_without_starting_the_engine() {
    let dir = exec_dir();
    std::fs::write(dir.path().join("Carrier Weekly.csv"), "SKU,Amount\na,1.5\nb,\n").unwrap();
    let mut j = job(None, vec![]);
    j.input = Input::File { path: "Carrier Weekly.csv".into(), file_name: "Carrier Weekly.csv".into() };
    let m = ok(run(dir.path(), &j));
    assert_eq!(m.engine_version, sc_engine::run::PASS_THROUGH_VERSION);
    assert_eq!(m.scopes.len(), 1);
    assert_eq!(m.scopes[0].name, "carrier_weekly_csv");
    // The readers' line of each row comes along as a last column.
    assert_eq!(m.scopes[0].columns.last().map(|c| c.name.as_str()), Some("_line"));
    assert_eq!(
        rows(dir.path(), &m, "carrier_weekly_csv"),
        strs(&[&[Some("a"), Some("1.5"), Some("2")], &[Some("b"), None, Some("3")]])
    );
    assert!(!dir.path().join("engine").exists(), "chDB never started");
    // The output-rows limit still applies.
    let mut j = j.clone();
    j.limits.max_output_rows = 1;
    match run(dir.path(), &j) {
        Outcome::UserError(m) => assert_eq!(m, "SQL output exceeds 1 rows"),
        other => panic!("expected the limit, got {other:?}"),
    }
}

#[test]
fn sql_sees_each_input_rows_line_and_sheet_only_when_it_names_them() {
    let dir = exec_dir();
    std::fs::write(dir.path().join("upload.bin"), "Name,Qty\n\nwidget,3\ngadget,\n").unwrap();
    let mut j = job(
        Some(
            "CREATE TABLE output.star ENGINE = Memory AS SELECT * FROM input.stock_csv;
             CREATE TABLE output.placed ENGINE = Memory AS SELECT name, _line, _sheet FROM input.page_idx_0 ORDER BY _line",
        ),
        vec![],
    );
    j.input = Input::File { path: "upload.bin".into(), file_name: "stock.csv".into() };
    let m = ok(run(dir.path(), &j));
    assert_eq!(rows(dir.path(), &m, "star"), strs(&[&[Some("widget"), Some("3")], &[Some("gadget"), None]]));
    assert_eq!(
        rows(dir.path(), &m, "placed"),
        strs(&[&[Some("widget"), Some("3"), Some("stock.csv")], &[Some("gadget"), Some("4"), Some("stock.csv")]])
    );
}

#[test]
fn an_own_column_named_line_wins_over_the_hidden_one() {
    let dir = exec_dir();
    std::fs::write(dir.path().join("upload.bin"), "_line,_sheet\nmine,also mine\n").unwrap();
    let mut j = job(Some("CREATE TABLE output.o ENGINE = Memory AS SELECT _line, _sheet FROM input.own_csv"), vec![]);
    j.input = Input::File { path: "upload.bin".into(), file_name: "own.csv".into() };
    let m = ok(run(dir.path(), &j));
    assert_eq!(rows(dir.path(), &m, "o"), strs(&[&[Some("mine"), Some("also mine")]]));
}
