//! Tests of the variables stage: planning errors, outcomes, counts, report sheets, stopping.

use super::*;
use crate::document::VariableType;
use crate::report::{CellRef, ReportWriter};
use crate::rowbinary::RowBinaryWriter;
use calamine::{open_workbook, Data, Reader, Xlsx};

fn table(dir: &tempfile::TempDir, name: &str, columns: &[(&str, &str)], rows: &[Vec<Option<&str>>]) -> OutputTable {
    let path = dir.path().join(format!("{name}.rowbinary"));
    let mut w = RowBinaryWriter::new(File::create(&path).expect("create"), columns.len());
    for r in rows {
        w.write_row(r).expect("row");
    }
    w.finish().expect("finish");
    OutputTable {
        name: name.into(),
        columns: columns.iter().map(|(c, t)| (c.to_string(), t.to_string())).collect(),
        rows: rows.len() as u64,
        values_path: Some(dir.path().join(format!("{name}.values"))),
        path,
        source: None,
    }
}

fn var(name: &str, t: VariableType, required: bool) -> Variable {
    Variable {
        name: name.into(),
        source: None,
        scope: None,
        var_type: t,
        required,
        array: false,
        delimiter: None,
        input_format: None,
        output_format: None,
        value: None,
    }
}

/// (scope, row number, valid, errors, warnings) of one observed row.
type Observed = (String, u64, bool, Vec<String>, Vec<String>);

#[derive(Default)]
struct Collect {
    rows: Vec<Observed>,
    progress: Vec<(String, u64, u64)>,
    stop_after: Option<u64>,
}

impl Observer for Collect {
    fn row(&mut self, o: &RowOutcome<'_>) -> Result<(), String> {
        self.rows.push((o.scope.into(), o.row_number, o.valid, o.errors.to_vec(), o.warnings.to_vec()));
        Ok(())
    }
    fn progress(&mut self, scope: &str, done: u64, total: u64) -> Flow {
        self.progress.push((scope.into(), done, total));
        match self.stop_after {
            Some(n) if done >= n => Flow::Stop,
            _ => Flow::Continue,
        }
    }
}

fn sheet(path: &std::path::Path, name: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook(path).expect("open report");
    wb.worksheet_range(name).expect("sheet").rows().map(|r| r.to_vec()).collect()
}

#[test]
fn rows_are_validated_counted_and_reported() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let t = table(
        &dir,
        "products",
        &[("sku", "Nullable(String)"), ("price", "Nullable(String)"), ("qty", "Nullable(Int64)")],
        &[
            vec![Some("A1"), Some("$16.99 USD"), Some("3")],
            vec![None, Some("41 Apples"), Some("4")],
            vec![Some("A3"), Some("n/a"), None],
        ],
    );
    let vars = vec![var("sku", VariableType::String, true), var("price", VariableType::Number, false)];
    let report_path = dir.path().join("report.xlsx");
    let mut report = ReportWriter::create(&report_path).expect("report");
    let mut obs = Collect::default();
    let counts = run(&vars, &[t], &Context::default(), &mut report, &mut obs).expect("stage");
    report.finish().expect("finish");

    assert_eq!(
        counts,
        vec![ScopeCounts {
            scope: "products".into(),
            variables: vec!["sku".into(), "price".into()],
            rows: 3,
            valid: 2,
            invalid: 1,
            unchanged: 0,
            with_warnings: 1
        }]
    );
    let values = crate::rowbinary::read_rows(&std::fs::read(dir.path().join("products.values")).unwrap(), 6).unwrap();
    assert_eq!(values[0][0].as_deref(), Some("valid"));
    assert_eq!(&values[0][2..4], &[None, None], "no lines without a _line column");
    assert_eq!(&values[0][4..], &[Some("A1".to_string()), Some("16.99".to_string())]);
    assert_eq!(values[1][0].as_deref(), Some("invalid"));
    assert!(values[1][1].as_deref().is_some_and(|e| e.contains("\"sku\"")));
    assert_eq!(values[2][5], None, "an invalid optional value is NULL");
    let hashes = std::fs::read(dir.path().join("products.hashes")).unwrap();
    assert_eq!(hashes.len(), 3 * HASH_RECORD, "one record per row");
    assert_eq!(hashes[0], 1, "valid");
    assert_eq!(hashes[1..17], row_hash_of("", [Some("A1"), Some("$16.99 USD")]), "the cells as the SQL wrote them");
    assert_eq!(hashes[HASH_RECORD], 0, "the second row is invalid");
    assert_eq!(obs.rows.len(), 3);
    assert!(obs.rows[0].2 && obs.rows[0].3.is_empty());
    assert_eq!(obs.rows[1].1, 2);
    assert!(!obs.rows[1].2, "blank required sku fails the row");
    assert!(obs.rows[1].3[0].contains("\"sku\""), "{:?}", obs.rows[1].3);
    assert!(obs.rows[2].2, "an invalid optional number only warns");
    assert!(obs.rows[2].4[0].contains("\"price\""), "{:?}", obs.rows[2].4);
    assert_eq!(obs.progress, vec![("products".into(), 3, 3)]);

    let sql = sheet(&report_path, "SQL Output (products)");
    assert_eq!(sql[0], vec![Data::String("sku".into()), Data::String("price".into()), Data::String("qty".into())]);
    assert_eq!(sql[1][2], Data::Float(3.0), "Int64 output shows as a number");
    let vars_sheet = sheet(&report_path, "Extracted Variables (products)");
    assert_eq!(
        vars_sheet[0],
        ["sku", "price", "Errors", "Warnings", "Status"].map(|h| Data::String(h.into())).to_vec()
    );
    assert_eq!(vars_sheet[1][1], Data::Float(16.99));
    assert_eq!(vars_sheet[2][4], Data::String("invalid".into()));
    assert_eq!(vars_sheet[3][4], Data::String("valid".into()));
    assert!(matches!(&vars_sheet[3][3], Data::String(w) if w.contains("price")));
}

#[test]
fn variables_that_do_not_fit_the_output_are_definition_errors() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let a = table(&dir, "a", &[("x", "String")], &[]);
    let b = table(&dir, "b", &[("y", "String")], &[]);
    let report_path = dir.path().join("report.xlsx");
    let cases: Vec<(Variable, &str)> = vec![
        (var("x", VariableType::String, false), "has no scope, but the SQL produced 2 output tables (a, b)"),
        (
            Variable { scope: Some("c".into()), ..var("x", VariableType::String, false) },
            "scope \"c\" is not an output table of the SQL (output tables: a, b)",
        ),
        (
            Variable { scope: Some("a".into()), source: Some("nope".into()), ..var("x", VariableType::String, false) },
            "column \"nope\" is not in output table \"a\" (columns: x)",
        ),
    ];
    for (v, expected) in cases {
        let mut report = ReportWriter::create(&report_path).expect("report");
        let err = run(&[v], &[a.clone(), b.clone()], &Context::default(), &mut report, &mut Collect::default())
            .expect_err("must fail");
        assert!(matches!(&err, StageError::Definition(m) if m.contains(expected)), "{err}");
    }
    // Every variable that does not fit is named at once, one line each.
    let vars = [
        Variable { scope: Some("a".into()), source: Some("nope".into()), ..var("p", VariableType::String, false) },
        Variable { scope: Some("a".into()), ..var("x", VariableType::String, false) },
        Variable { scope: Some("b".into()), source: Some("zip".into()), ..var("q", VariableType::String, false) },
    ];
    let mut report = ReportWriter::create(&report_path).expect("report");
    let err = run(&vars, &[a, b], &Context::default(), &mut report, &mut Collect::default()).expect_err("must fail");
    let StageError::Definition(message) = err else { panic!("a definition error") };
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "{message}");
    assert!(
        lines[0].contains("variable \"p\": column \"nope\"") && lines[1].contains("variable \"q\": column \"zip\"")
    );
}

#[test]
fn static_values_need_no_column_and_scopes_without_variables_still_report() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let a = table(&dir, "a", &[("x", "String")], &[vec![Some("1")], vec![Some("2")]]);
    let b = table(&dir, "b", &[("y", "String")], &[vec![Some("z")]]);
    let v = Variable {
        scope: Some("a".into()),
        value: Some(serde_json::json!("weekly")),
        ..var("origin", VariableType::String, true)
    };
    let report_path = dir.path().join("report.xlsx");
    let mut report = ReportWriter::create(&report_path).expect("report");
    let mut obs = Collect::default();
    let counts = run(&[v], &[a, b], &Context::default(), &mut report, &mut obs).expect("stage");
    report.finish().expect("finish");
    assert_eq!(counts.iter().map(|c| (c.rows, c.valid)).collect::<Vec<_>>(), vec![(2, 2), (1, 1)]);
    assert_eq!(sheet(&report_path, "Extracted Variables (a)")[2][0], Data::String("weekly".into()));
    assert_eq!(sheet(&report_path, "Extracted Variables (b)")[1][2], Data::String("valid".into()));
}

#[test]
fn the_observer_can_stop_the_stage() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let rows: Vec<Vec<Option<&str>>> = (0..(PROGRESS_EVERY * 2 + 5)).map(|_| vec![Some("v")]).collect();
    let t = table(&dir, "t", &[("x", "String")], &rows);
    let mut report = ReportWriter::create(&dir.path().join("r.xlsx")).expect("report");
    let mut obs = Collect { stop_after: Some(PROGRESS_EVERY), ..Collect::default() };
    let err = run(&[], &[t], &Context::default(), &mut report, &mut obs).expect_err("stopped");
    assert!(matches!(err, StageError::Stopped));
    assert_eq!(obs.rows.len() as u64, PROGRESS_EVERY);
}

#[test]
fn a_truncated_output_file_names_its_scope() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let t = table(&dir, "t", &[("x", "String")], &[vec![Some("hello")]]);
    let bytes = std::fs::read(&t.path).expect("read");
    std::fs::write(&t.path, &bytes[..bytes.len() - 2]).expect("write");
    let mut report = ReportWriter::create(&dir.path().join("r.xlsx")).expect("report");
    let err = run(&[], &[t], &Context::default(), &mut report, &mut Collect::default()).expect_err("fails");
    assert!(err.to_string().starts_with("cannot read the SQL output of scope \"t\""), "{err}");
}

#[test]
fn column_kinds_follow_clickhouse_types() {
    assert_eq!(CellKind::of("Nullable(Decimal(10, 2))"), CellKind::Number);
    assert_eq!(CellKind::of("LowCardinality(Nullable(String))"), CellKind::Text);
    assert_eq!(CellKind::of("Nullable(DateTime64(3))"), CellKind::DateTime);
    assert_eq!(CellKind::of("Date32"), CellKind::Date);
    assert_eq!(CellKind::Number.cell(Some("abc")), CellRef::Text("abc"));
    assert_eq!(
        CellKind::Date.cell(Some("2024-05-04")),
        CellRef::Date(chrono::NaiveDate::from_ymd_opt(2024, 5, 4).unwrap())
    );
}

#[test]
fn a_scope_with_lines_gives_each_outcome_its_place_in_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let mut t = table(
        &dir,
        "contacts",
        &[("email", "Nullable(String)"), ("_line", "Nullable(String)"), ("_sheet", "Nullable(String)")],
        &[
            vec![Some("a@x.io"), Some("2"), None],
            vec![None, Some("7"), Some("book.xlsx!Other")],
            vec![Some("c@x.io"), None, None],
        ],
    );
    t.source = Some("book.xlsx!Contacts".into());
    let vars = vec![var("email", VariableType::Email, true)];
    let mut report = ReportWriter::create(&dir.path().join("r.xlsx")).expect("report");
    let mut seen: Vec<(Option<String>, Option<i64>)> = Vec::new();
    struct Places<'a>(&'a mut Vec<(Option<String>, Option<i64>)>);
    impl Observer for Places<'_> {
        fn row(&mut self, o: &RowOutcome<'_>) -> Result<(), String> {
            self.0.push((o.source.map(str::to_owned), o.line));
            Ok(())
        }
        fn progress(&mut self, _: &str, _: u64, _: u64) -> Flow {
            Flow::Continue
        }
    }
    run(&vars, &[t], &Context::default(), &mut report, &mut Places(&mut seen)).expect("stage");
    assert_eq!(
        seen,
        vec![(Some("book.xlsx!Contacts".into()), Some(2)), (Some("book.xlsx!Other".into()), Some(7)), (None, None),],
        "the scope's source unless the row names its own; nothing without a line"
    );
    let values = crate::rowbinary::read_rows(&std::fs::read(dir.path().join("contacts.values")).unwrap(), 5).unwrap();
    assert_eq!(values[1][2..4], [Some("book.xlsx!Other".to_string()), Some("7".to_string())]);
}

#[test]
fn the_memo_changes_nothing_the_stage_produces() {
    // Repeating and unique values, valid and invalid, blanks, over more rows than the memo's trial.
    let rows: Vec<Vec<Option<String>>> = (0..10_000u32)
        .map(|i| {
            vec![
                Some(format!("SKU-{i}")),
                [Some("2024-03-05"), Some("03/05/2024"), Some("not a date"), None][(i % 4) as usize].map(str::to_owned),
                Some(format!("{}.5", i % 7)),
                (i % 11 != 0).then(|| ["yes", "No", "maybe"][(i % 3) as usize].to_owned()),
                Some(format!("{i}.25")),
            ]
        })
        .collect();
    let columns = [
        ("sku", "Nullable(String)"),
        ("d", "Nullable(String)"),
        ("n", "Nullable(String)"),
        ("b", "Nullable(String)"),
        ("u", "Nullable(String)"),
    ];
    let vars = vec![
        var("sku", VariableType::String, true),
        Variable { source: Some("d".into()), ..var("when", VariableType::Date, true) },
        Variable { source: Some("n".into()), ..var("amount", VariableType::Number, false) },
        Variable { source: Some("b".into()), ..var("flag", VariableType::Boolean, false) },
        Variable { source: Some("u".into()), ..var("unique", VariableType::Number, false) },
    ];
    let outcome = |memo: bool| {
        let dir = tempfile::tempdir().expect("dir");
        let refs: Vec<Vec<Option<&str>>> = rows.iter().map(|r| r.iter().map(|c| c.as_deref()).collect()).collect();
        let t = table(&dir, "t", &columns, &refs);
        let mut report = ReportWriter::create(&dir.path().join("r.xlsx")).expect("report");
        let mut obs = Collect::default();
        let counts =
            run_with(&vars, &[t], &Context::default(), &mut report, &mut obs, &Options { memo, ..Options::default() })
                .expect("stage");
        let values = std::fs::read(dir.path().join("t.values")).expect("values");
        let hashes = std::fs::read(dir.path().join("t.hashes")).expect("hashes");
        (counts, obs.rows, values, hashes)
    };
    let (with, without) = (outcome(true), outcome(false));
    assert!(with.0[0].invalid > 0 && with.0[0].with_warnings > 0, "the data has invalid rows and warnings");
    assert_eq!(with, without);
}

#[test]
fn rows_an_earlier_run_loaded_are_counted_not_validated_or_reported() {
    let dir = tempfile::tempdir().expect("dir");
    let t = table(
        &dir,
        "items",
        &[("sku", "Nullable(String)"), ("price", "Nullable(String)"), ("_line", "Nullable(String)")],
        &[
            vec![Some("A1"), Some("1"), Some("2")],
            vec![None, Some("2"), Some("3")],
            vec![Some("A3"), Some("3"), Some("4")],
        ],
    );
    let vars = vec![var("sku", VariableType::String, true), var("price", VariableType::Number, false)];
    // The second row (blank required sku: invalid if validated) and the third were loaded before,
    // the third at another line of the file: the line is not part of the hash.
    let loaded = [row_hash_of("fp", [None, Some("2")]), row_hash_of("fp", [Some("A3"), Some("3")])];
    let known = |scope: &str, h: &[u8; 16]| scope == "items" && loaded.contains(h);
    let mut report = ReportWriter::create(&dir.path().join("r.xlsx")).expect("report");
    let mut obs = Collect::default();
    let options = Options { fingerprint: "fp", known: Some(&known), ..Options::default() };
    let counts = run_with(&vars, &[t], &Context::default(), &mut report, &mut obs, &options).expect("stage");
    assert_eq!((counts[0].rows, counts[0].valid, counts[0].invalid, counts[0].unchanged), (3, 1, 0, 2));
    assert_eq!(obs.rows.len(), 1, "only the changed row is an outcome");
    let hashes = std::fs::read(dir.path().join("items.hashes")).unwrap();
    assert_eq!([hashes[0], hashes[HASH_RECORD], hashes[2 * HASH_RECORD]], [HASH_VALID, HASH_UNCHANGED, HASH_UNCHANGED]);
    let values = crate::rowbinary::read_rows(&std::fs::read(dir.path().join("items.values")).unwrap(), 6).unwrap();
    assert_eq!(values.len(), 3, "a values row for every row, in order");
    assert_eq!(values[1][0].as_deref(), Some("unchanged"));
    // A different fingerprint (the connector changed) finds nothing.
    let options = Options { fingerprint: "other", known: Some(&known), ..Options::default() };
    let t = table(
        &dir,
        "items",
        &[("sku", "Nullable(String)"), ("price", "Nullable(String)")],
        &[vec![Some("A3"), Some("3")]],
    );
    let mut report = ReportWriter::create(&dir.path().join("r2.xlsx")).expect("report");
    let counts =
        run_with(&vars, &[t], &Context::default(), &mut report, &mut Collect::default(), &options).expect("stage");
    assert_eq!(counts[0].unchanged, 0);
}
