//! Load steps end to end: two steps into the demo tables, re-runs with and
//! without diff checking, dry runs, the after-load hook, privileges, and
//! idempotence after a worker is killed in the middle of a load.
use calamine::Reader;
use sc_integration::*;
use serde_json::json;
use std::time::Duration;

/// Fresh demo tables (dropped and recreated) and the demo connector with `edit` applied.
fn demo(c: &mut postgres::Client, edit: impl FnOnce(&mut serde_json::Value)) {
    c.batch_execute(
        "DROP TABLE IF EXISTS public.products, public.vendors CASCADE; DROP TABLE IF EXISTS public.hook_calls;
         CREATE TABLE public.hook_calls (execution_id bigint, step text, created bigint[], updated bigint[]);",
    )
    .unwrap();
    c.batch_execute(SCHEMA).unwrap();
    c.batch_execute(
        "CREATE OR REPLACE FUNCTION public.on_products_loaded(execution_id bigint, step text, created bigint[], updated bigint[])
         RETURNS void LANGUAGE sql AS $$ INSERT INTO public.hook_calls VALUES ($1, $2, $3, $4) $$;",
    )
    .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(DOC).unwrap();
    edit(&mut doc);
    // Dropping the tables does not tell the diff store: start this test's connector afresh.
    c.batch_execute("SET client_min_messages = warning; SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'vendor_products'")
        .unwrap();
    save(c, &doc);
}

fn counts(c: &mut postgres::Client, id: i64, step: &str) -> serde_json::Value {
    c.query_one("SELECT counts -> $2 FROM sc.executions WHERE id = $1", &[&id, &step]).unwrap().get(0)
}

fn count(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn two_steps_create_then_match_and_diff_check_skips_unchanged_rows() {
    let mut c = connect_ready();
    demo(&mut c, |d| {
        d["settings"]["diff_check"] = true.into();
        d["settings"]["chunk_size"] = 2.into();
    });
    let first = run_file(&mut c, "vendor_products", WORKBOOK, "products.xlsx");
    assert_eq!(wait(&mut c, first), "succeeded", "{:?}", field(&mut c, first, "error"));
    assert_eq!(counts(&mut c, first, "vendors")["created"], 3);
    assert_eq!(counts(&mut c, first, "products")["created"], 5);
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.products WHERE vendor_id IS NOT NULL"), 5, "lookups filled");
    // chunk_size 2: five products load in three chunks, each calling the hook once.
    assert_eq!(count(&mut c, &format!("SELECT count(*) FROM public.hook_calls WHERE execution_id = {first}")), 3);
    assert_eq!(
        count(
            &mut c,
            &format!("SELECT sum(cardinality(created))::bigint FROM public.hook_calls WHERE execution_id = {first}")
        ),
        5
    );
    let bytes: Vec<u8> = c.query_one("SELECT sc_report($1)", &[&first]).unwrap().get(0);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheets = book.sheet_names();
    // Sheet names stop at Excel's 31 characters; the Summary lists the full titles.
    let upload = sheets.iter().find(|s| s.starts_with("public.products Upload (")).expect("the products upload sheet");
    let range = book.worksheet_range(upload).unwrap();
    let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header, ["Row", "Source", "Line", "Outcome", "Record Id", "Match key", "Errors", "Warnings"]);
    let first_row: Vec<String> = range.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
    assert!(first_row[5].starts_with("sku = \""), "the row's match key: {first_row:?}");
    // The demo's SQL selects `_sheet` and `_line`: each product row names its place in the workbook.
    assert_eq!(first_row[1], "products.xlsx!Products", "{first_row:?}");
    let placed: Vec<(String, Option<String>, Option<i64>)> = c
        .query(
            "SELECT step, source, line FROM sc.execution_rows WHERE execution_id = $1 AND step = 'products' ORDER BY row_number",
            &[&first],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let lines: Vec<i64> = placed.iter().map(|p| p.2.expect("every product row has its line")).collect();
    assert_eq!(first_row[2], lines[0].to_string());
    // The workbook's data rows with a SKU (column A), as Excel numbers them.
    let range0 =
        calamine::Xlsx::new(std::io::Cursor::new(WORKBOOK.to_vec())).unwrap().worksheet_range("Products").unwrap();
    let first_row_number = i64::from(range0.start().map_or(0, |s| s.0)) + 1;
    let expected: Vec<i64> = range0
        .rows()
        .enumerate()
        .skip(1)
        .filter(|(_, r)| r[0] != calamine::Data::Empty)
        .map(|(i, _)| i as i64 + first_row_number)
        .collect();
    assert_eq!(lines, expected, "the sheet's own row numbers of the rows with a SKU");
    assert!(placed.iter().all(|p| p.1.as_deref() == Some("products.xlsx!Products")), "{placed:?}");
    // The vendors scope (SELECT DISTINCT) has no single row of the file.
    let vendor_lines: i64 = count(
        &mut c,
        &format!("SELECT count(line) FROM sc.execution_rows WHERE execution_id = {first} AND step = 'vendors'"),
    );
    assert_eq!(vendor_lines, 0);
    let summary = book.worksheet_range("Summary").unwrap();
    assert!(summary.rows().any(|r| r[1] == "public.products Upload (products)"), "the Summary gives the full title");

    // Same file, diff check on: every row is unchanged and nothing is written.
    let second = run_file(&mut c, "vendor_products", WORKBOOK, "products.xlsx");
    assert_eq!(wait(&mut c, second), "succeeded");
    assert_eq!(counts(&mut c, second, "products")["unchanged"], 5);
    assert_eq!(counts(&mut c, second, "vendors")["unchanged"], 3);

    // Diff check off for one run: rows are matched again; nothing new is created.
    c.batch_execute("UPDATE public.products SET name = 'edited' WHERE sku = 'A-100'").unwrap();
    let third: i64 = c
        .query_one("SELECT sc_run('vendor_products', $1, 'products.xlsx', diff_check => false)", &[&WORKBOOK])
        .unwrap()
        .get(0);
    assert_eq!(wait(&mut c, third), "succeeded");
    let p = counts(&mut c, third, "products");
    assert_eq!(
        (p["created"].as_u64(), p["updated"].as_u64(), p["unchanged"].as_u64()),
        (Some(0), Some(1), Some(4)),
        "{p}"
    );
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.products"), 5);
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM public.products WHERE name = 'Anvil'"),
        1,
        "overwrite restored the name"
    );
}

#[test]
fn a_dry_run_changes_neither_entity_tables_nor_the_diff_store() {
    let mut c = connect_ready();
    demo(&mut c, |d| d["settings"]["diff_check"] = true.into());
    let before = count(&mut c, "SELECT count(*) FROM sc.row_hashes");
    let id: i64 = c
        .query_one("SELECT sc_run('vendor_products', $1, 'products.xlsx', dry_run => true)", &[&WORKBOOK])
        .unwrap()
        .get(0);
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    assert_eq!(counts(&mut c, id, "vendors")["created"], 3, "it reports what each row would become");
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.vendors"), 0);
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.products"), 0);
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.hook_calls"), 0);
    assert_eq!(count(&mut c, "SELECT count(*) FROM sc.row_hashes"), before);
    // Products depend on vendors this run would create: they are predicted as created, as live.
    assert_eq!(counts(&mut c, id, "products")["created"], 5, "{}", counts(&mut c, id, "products"));
}

/// Every load step's outcome per row: (step, scope, row, outcome).
fn outcomes(c: &mut postgres::Client, id: i64) -> Vec<(String, String, i64, String)> {
    c.query(
        "SELECT step, scope, row_number, outcome FROM sc.execution_rows WHERE execution_id = $1 AND step <> ''
          ORDER BY step, scope, row_number",
        &[&id],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

#[test]
fn a_dry_run_predicts_the_live_run_row_for_row() {
    let mut c = connect_ready();
    // Two steps, the second linking to records the first creates; chunks of 2 rows.
    demo(&mut c, |d| d["settings"]["chunk_size"] = 2.into());
    let dry: i64 = c
        .query_one("SELECT sc_run('vendor_products', $1, 'products.xlsx', dry_run => true)", &[&WORKBOOK])
        .unwrap()
        .get(0);
    assert_eq!(wait(&mut c, dry), "succeeded", "{:?}", field(&mut c, dry, "error"));
    let live = run_file(&mut c, "vendor_products", WORKBOOK, "products.xlsx");
    assert_eq!(wait(&mut c, live), "succeeded", "{:?}", field(&mut c, live, "error"));
    let predicted = outcomes(&mut c, dry);
    assert!(!predicted.is_empty());
    assert_eq!(predicted, outcomes(&mut c, live));

    // A file that repeats a key: the later row updates what the earlier one created, in both.
    c.batch_execute(
        "DROP TABLE IF EXISTS public.itest_people;
         CREATE TABLE public.itest_people (id serial PRIMARY KEY, email text UNIQUE, name text);",
    )
    .unwrap();
    save(
        &mut c,
        &json!({
            "api_name": "itest_people", "name": "people", "type": "spreadsheet", "status": "operational",
            "variables": [{"name": "email", "type": "email", "required": true, "output_format": "lower"},
                          {"name": "name", "type": "string"}],
            "load_steps": [{"name": "people", "table": "itest_people", "match": [{"columns": {"email": "email"}}],
                            "map": [{"column": "email", "variable": "email"},
                                    {"column": "name", "variable": "name", "conflict": "overwrite"}]}]
        }),
    );
    let csv = b"email,name\nann@x.io,Ann\nbob@x.io,Bob\nANN@x.io,Annie\n";
    let dry: i64 = c
        .query_one("SELECT sc_run('itest_people', $1, 'people.csv', dry_run => true)", &[&csv.as_slice()])
        .unwrap()
        .get(0);
    assert_eq!(wait(&mut c, dry), "succeeded", "{:?}", field(&mut c, dry, "error"));
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.itest_people"), 0, "a dry run writes nothing");
    let live = run_file(&mut c, "itest_people", csv, "people.csv");
    assert_eq!(wait(&mut c, live), "succeeded", "{:?}", field(&mut c, live, "error"));
    let got: Vec<(i64, String)> = outcomes(&mut c, live).into_iter().map(|(_, _, rn, o)| (rn, o)).collect();
    assert_eq!(got, [(1, "created".into()), (2, "created".into()), (3, "updated".into())]);
    assert_eq!(outcomes(&mut c, dry), outcomes(&mut c, live));
    // The later row says which earlier row carried its key, in both runs.
    for id in [dry, live] {
        let w: Vec<String> = c
            .query_one(
                "SELECT warnings FROM sc.execution_rows WHERE execution_id = $1 AND step = 'people' AND row_number = 3",
                &[&id],
            )
            .unwrap()
            .get(0);
        assert!(w.iter().any(|w| w.contains("same match key as row 1") && w.contains("ann@x.io")), "{w:?}");
    }
    let name: String =
        c.query_one("SELECT name FROM public.itest_people WHERE email = 'ann@x.io'", &[]).unwrap().get(0);
    assert_eq!(name, "Annie");
}

#[test]
fn a_step_the_owner_cannot_write_fails_the_run_saying_so() {
    let mut c = connect_ready();
    demo(&mut c, |_| {});
    c.batch_execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'itest_reader') THEN
             DROP OWNED BY itest_reader; DROP ROLE itest_reader; END IF; END $$;
         CREATE ROLE itest_reader; GRANT sc_admin TO itest_reader;
         GRANT SELECT ON public.vendors, public.products TO itest_reader;
         GRANT EXECUTE ON FUNCTION public.on_products_loaded(bigint, text, bigint[], bigint[]) TO itest_reader;
         SET ROLE itest_reader;",
    )
    .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(DOC).unwrap();
    doc["api_name"] = "itest_readonly".into();
    let r: serde_json::Value = c.query_one("SELECT sc_import_connector($1, 'replace')", &[&doc]).unwrap().get(0);
    c.batch_execute("RESET ROLE").unwrap();
    assert_eq!(r["status"], "needs_attention", "saving already names the missing privilege: {r}");
    let id = run_file(&mut c, "itest_readonly", WORKBOOK, "products.xlsx");
    assert_eq!(wait(&mut c, id), "failed");
    let error = field(&mut c, id, "error").unwrap();
    assert!(error.contains("role \"itest_reader\" may not INSERT into table public.vendors"), "{error}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.vendors"), 0);
}

#[test]
fn a_rerun_after_a_worker_is_killed_mid_load_leaves_no_duplicates() {
    let mut c = connect_ready();
    c.batch_execute(
        "DROP TABLE IF EXISTS public.bulk; CREATE TABLE public.bulk (id bigserial PRIMARY KEY, sku text, qty int)",
    )
    .unwrap();
    let doc = serde_json::json!({
        "api_name": "itest_bulk", "name": "bulk", "type": "spreadsheet", "status": "operational",
        "variables": [{"name": "sku", "type": "string", "required": true}, {"name": "qty", "type": "number"}],
        "load_steps": [{"name": "bulk", "table": "public.bulk", "match": [{"columns": {"sku": "sku"}}],
                        "map": [{"column": "sku", "variable": "sku"}, {"column": "qty", "variable": "qty"}]}],
        "settings": {"chunk_size": 500}
    });
    save(&mut c, &doc);
    let rows = 60_000;
    let mut csv = String::from("sku,qty\n");
    for i in 0..rows {
        csv.push_str(&format!("S{i},{}\n", i % 97));
    }
    let id = run_file(&mut c, "itest_bulk", csv.as_bytes(), "bulk.csv");
    let pid = poll(Duration::from_secs(60), || {
        let done: Option<String> = field(&mut c, id, "progress #>> '{steps,bulk,done}'");
        done.and_then(|d| d.parse::<i64>().ok()).filter(|d| *d >= 1000).and(field(&mut c, id, "worker_pid"))
    })
    .expect("the load gets going");
    // SAFETY: signalling the test cluster's worker.
    assert_eq!(unsafe { libc::kill(pid.parse().unwrap(), libc::SIGKILL) }, 0);
    await_crash_restart(c);
    let mut c = reconnect(Duration::from_secs(60));
    poll(Duration::from_secs(60), || (field(&mut c, id, "status").as_deref() == Some("failed")).then_some(()))
        .expect("the killed run ends failed");
    let partial = count(&mut c, "SELECT count(*) FROM public.bulk");
    assert!(partial > 0 && partial < rows, "committed chunks stay: {partial}");

    let again = run_file(&mut c, "itest_bulk", csv.as_bytes(), "bulk.csv");
    assert_eq!(wait(&mut c, again), "succeeded", "{:?}", field(&mut c, again, "error"));
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.bulk"), rows);
    assert_eq!(count(&mut c, "SELECT count(DISTINCT sku) FROM public.bulk"), rows, "no duplicates");
    let b = counts(&mut c, again, "bulk");
    assert_eq!(b["created"].as_i64().unwrap() + b["unchanged"].as_i64().unwrap(), rows, "{b}");
    assert_eq!(b["created"].as_i64().unwrap(), rows - partial, "only the missing rows are created");
}

#[test]
fn every_row_of_a_many_chunk_file_is_counted_recorded_and_reported() {
    let mut c = connect_ready();
    c.batch_execute("DROP TABLE IF EXISTS public.piped; CREATE TABLE public.piped (id bigserial PRIMARY KEY, sku text UNIQUE, qty int)")
        .unwrap();
    c.batch_execute("SET client_min_messages = warning; SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'itest_piped'")
        .unwrap();
    let doc = serde_json::json!({
        "api_name": "itest_piped", "name": "piped", "type": "spreadsheet", "status": "operational",
        "variables": [{"name": "sku", "type": "string", "required": true}, {"name": "qty", "type": "number"}],
        "load_steps": [{"name": "piped", "table": "public.piped", "match": [{"columns": {"sku": "sku"}}],
                        "map": [{"column": "sku", "variable": "sku"}, {"column": "qty", "variable": "qty"}]}],
        "settings": {"chunk_size": 700, "diff_check": true}
    });
    save(&mut c, &doc);
    // Several validation progress reports (every 10,000 rows), many chunks, and report
    // rows crossing to the report's thread in many batches. Every 1,000th row has no sku
    // (invalid), every 777th a quantity that is not a number (a warning).
    let rows = 25_000i64;
    let mut csv = String::from("sku,qty\n");
    for i in 0..rows {
        let sku = if i % 1000 == 0 { String::new() } else { format!("P{i}") };
        let qty = if i % 777 == 0 { "x".to_string() } else { (i % 50).to_string() };
        csv.push_str(&format!("{sku},{qty}\n"));
    }
    let (invalid, warned) =
        ((0..rows).filter(|i| i % 1000 == 0).count() as i64, (0..rows).filter(|i| i % 777 == 0).count() as i64);
    let both = (0..rows).filter(|i| i % 1000 == 0 && i % 777 == 0).count() as i64;

    let id = run_file(&mut c, "itest_piped", csv.as_bytes(), "piped.csv");
    assert_eq!(wait(&mut c, id), "partial_success", "{:?}", field(&mut c, id, "error"));
    let all: serde_json::Value = c.query_one("SELECT counts FROM sc.executions WHERE id = $1", &[&id]).unwrap().get(0);
    let variables =
        all.as_object().unwrap().iter().find(|(k, _)| k.starts_with("variables (")).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(variables["invalid"], invalid, "{all}");
    assert_eq!(variables["valid"], rows - invalid, "{all}");
    assert_eq!(variables["with_warnings"], warned, "{all}");
    let step = counts(&mut c, id, "piped");
    assert_eq!((step["created"].as_i64(), step["failed"].as_i64()), (Some(rows - invalid), Some(invalid)), "{step}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.piped"), rows - invalid);
    // Variables-stage outcomes: one per row with an error or a warning.
    let recorded: i64 = c
        .query_one("SELECT count(*) FROM sc.execution_rows WHERE execution_id = $1 AND step = ''", &[&id])
        .unwrap()
        .get(0);
    assert_eq!(recorded, invalid + warned - both);
    let loaded: i64 = c
        .query_one("SELECT count(*) FROM sc.execution_rows WHERE execution_id = $1 AND step = 'piped'", &[&id])
        .unwrap()
        .get(0);
    assert_eq!(loaded, rows);
    // The report holds every row in each of its three sheets (header row besides).
    let mut report = report_sheets(&mut c, id);
    for name in report.sheet_names() {
        if name == "Summary" {
            continue;
        }
        let range = report.worksheet_range(&name).expect("sheet");
        assert_eq!(range.height() as i64, rows + 1, "sheet {name}");
    }
    assert_eq!(report.sheet_names().len(), 4, "{:?}", report.sheet_names());

    // The same file again: valid rows are unchanged, invalid ones fail again.
    let again = run_file(&mut c, "itest_piped", csv.as_bytes(), "piped.csv");
    assert_eq!(wait(&mut c, again), "partial_success", "{:?}", field(&mut c, again, "error"));
    let step = counts(&mut c, again, "piped");
    assert_eq!((step["unchanged"].as_i64(), step["failed"].as_i64()), (Some(rows - invalid), Some(invalid)), "{step}");
}

#[test]
fn a_pass_through_row_outcome_names_its_line_in_the_csv() {
    let mut c = connect_ready();
    c.batch_execute(
        "SET client_min_messages = warning; SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'lines_csv'",
    )
    .unwrap();
    save(
        &mut c,
        &json!({
            "api_name": "lines_csv", "name": "lines_csv", "type": "spreadsheet", "status": "operational",
            "variables": [{"name": "email", "type": "email", "required": true}, {"name": "name", "type": "string"}]
        }),
    );
    // A blank line, then a record whose quoted name spans two lines.
    let csv = b"email,name\n\nann@x.io,\"Ann\nSmith\"\nnot an email,Bob\n";
    let id = run_file(&mut c, "lines_csv", csv, "contacts.csv");
    let status = wait(&mut c, id);
    assert!(field(&mut c, id, "error").is_none(), "{status}: {:?}", field(&mut c, id, "error"));
    let row = c
        .query_one(
            "SELECT row_number, source, line FROM sc.execution_rows WHERE execution_id = $1 AND step = ''",
            &[&id],
        )
        .unwrap();
    let (rn, source, line): (i64, Option<String>, Option<i64>) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((rn, source.as_deref(), line), (2, Some("contacts.csv"), Some(5)));
}

#[test]
fn diff_check_skips_only_rows_it_loaded_and_counts_them_without_listing() {
    let mut c = connect_ready();
    customers_with_plans(&mut c, "itest_dr", "itest_diff_related", true);
    let file = b"sku,plan\na,basic\nb,gold\nc,basic\n";
    let first = run_file(&mut c, "itest_diff_related", file, "customers.csv");
    wait(&mut c, first);
    assert_eq!(counts(&mut c, first, "customers")["skipped"], 1, "b's plan does not exist yet");

    // b's related record appears; the same file again: a and c are unchanged, b is not.
    c.batch_execute("INSERT INTO public.itest_dr_plans (code) VALUES ('gold')").unwrap();
    let second = run_file(&mut c, "itest_diff_related", file, "customers.csv");
    assert_eq!(wait(&mut c, second), "succeeded", "{:?}", field(&mut c, second, "error"));
    let step = counts(&mut c, second, "customers");
    assert_eq!((step["created"].as_u64(), step["unchanged"].as_u64()), (Some(1), Some(2)), "{step}");
    let variables = counts(&mut c, second, "variables (customers_csv)");
    assert_eq!((variables["valid"].as_u64(), variables["unchanged"].as_u64()), (Some(1), Some(2)), "{variables}");
    // Unchanged rows are counted, not listed: only b has outcomes, in the table and in the report.
    let listed: Vec<i64> = c
        .query("SELECT DISTINCT row_number FROM sc.execution_rows WHERE execution_id = $1", &[&second])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(listed, [2]);
    let bytes: Vec<u8> = c.query_one("SELECT sc_report($1)", &[&second]).unwrap().get(0);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let upload = book.sheet_names().into_iter().find(|s| s.starts_with("public.itest_dr")).expect("an upload sheet");
    assert_eq!(book.worksheet_range(&upload).unwrap().rows().count(), 2, "a header and b's row");
    assert_eq!(book.worksheet_range("SQL Output (customers_csv)").unwrap().rows().count(), 2);
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.itest_dr_customers c JOIN public.itest_dr_plans p ON p.id = c.plan_id WHERE sku = 'b' AND code = 'gold'"), 1);

    // A changed definition makes every row new again: validated and matched (its values are the same).
    let mut doc =
        c.query_one("SELECT sc_export_connector('itest_diff_related')", &[]).unwrap().get::<_, serde_json::Value>(0);
    doc["variables"][1]["output_format"] = json!("lower");
    save(&mut c, &doc);
    let third = run_file(&mut c, "itest_diff_related", file, "customers.csv");
    wait(&mut c, third);
    let variables = counts(&mut c, third, "variables (customers_csv)");
    assert_eq!((variables["valid"].as_u64(), variables["unchanged"].as_u64()), (Some(3), Some(0)), "{variables}");
    let listed = count(
        &mut c,
        &format!("SELECT count(DISTINCT row_number) FROM sc.execution_rows WHERE execution_id = {third}"),
    );
    assert_eq!(listed, 3, "each row went through the step again");
    c.batch_execute(
        "SELECT sc_drop_connector('itest_diff_related'); DROP TABLE public.itest_dr_customers, public.itest_dr_plans",
    )
    .unwrap();
}

#[test]
fn the_after_load_function_gets_each_chunks_created_and_updated_ids() {
    let mut c = connect_ready();
    c.batch_execute(
        "SET client_min_messages = warning;
         SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'itest_after_load';
         DROP TABLE IF EXISTS public.itest_al_items, public.itest_al_calls;
         CREATE TABLE public.itest_al_items (id serial PRIMARY KEY, sku text UNIQUE NOT NULL, n text);
         CREATE TABLE public.itest_al_calls (execution_id bigint, step text, created int[], updated int[]);
         CREATE OR REPLACE FUNCTION public.itest_al_hook(e bigint, s text, created int[], updated int[])
           RETURNS void LANGUAGE sql AS $$ INSERT INTO public.itest_al_calls VALUES (e, s, created, updated) $$;",
    )
    .unwrap();
    save(
        &mut c,
        &json!({
            "api_name": "itest_after_load", "name": "itest_after_load", "type": "spreadsheet",
            "status": "operational", "settings": {"chunk_size": 2},
            "variables": [{"name": "sku", "type": "string", "required": true}, {"name": "n", "type": "string"}],
            "load_steps": [{"name": "items", "table": "public.itest_al_items", "after_load": "public.itest_al_hook",
                "match": [{"columns": {"sku": "sku"}}],
                "map": [{"column": "sku", "variable": "sku"}, {"column": "n", "variable": "n", "conflict": "overwrite"}]}]
        }),
    );
    let first = run_file(&mut c, "itest_after_load", b"sku,n\na,1\nb,2\nc,3\n", "items.csv");
    assert_eq!(wait(&mut c, first), "succeeded", "{:?}", field(&mut c, first, "error"));
    // Then: a unchanged, b updated, d created; chunks of two rows, one call per chunk that wrote.
    let second = run_file(&mut c, "itest_after_load", b"sku,n\na,1\nb,20\nd,4\n", "items.csv");
    assert_eq!(wait(&mut c, second), "succeeded", "{:?}", field(&mut c, second, "error"));
    let calls: Vec<(i64, String, Vec<String>, Vec<String>)> = c
        .query(
            "SELECT k.execution_id, k.step,
                    ARRAY(SELECT i.sku FROM public.itest_al_items i WHERE i.id = ANY (k.created) ORDER BY i.sku),
                    ARRAY(SELECT i.sku FROM public.itest_al_items i WHERE i.id = ANY (k.updated) ORDER BY i.sku)
             FROM public.itest_al_calls k ORDER BY k.execution_id, k.created, k.updated",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        calls,
        [
            (first, "items".to_string(), v(&["a", "b"]), v(&[])),
            (first, "items".to_string(), v(&["c"]), v(&[])),
            (second, "items".to_string(), v(&[]), v(&["b"])),
            (second, "items".to_string(), v(&["d"]), v(&[])),
        ]
    );
}
