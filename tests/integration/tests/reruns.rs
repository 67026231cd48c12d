//! `sc_rerun`: a new execution on the stored input of an ended one.
use sc_integration::*;

fn count(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

fn error_text(e: &postgres::Error) -> String {
    let db = e.as_db_error().expect("a database error");
    format!("{} {}", db.message(), db.hint().unwrap_or_default())
}

#[test]
fn a_file_run_is_run_again_on_its_stored_file() {
    let mut c = connect_ready();
    c.batch_execute("DROP TABLE IF EXISTS public.products, public.vendors CASCADE").unwrap();
    c.batch_execute(SCHEMA).unwrap();
    let doc: serde_json::Value = serde_json::from_str(DOC).unwrap();
    save(&mut c, &doc);
    let first = run_file(&mut c, "vendor_products", WORKBOOK, "products.xlsx");
    assert_eq!(wait(&mut c, first), "succeeded", "{:?}", field(&mut c, first, "error"));
    c.batch_execute("DELETE FROM public.products").unwrap();

    let again: i64 = c.query_one("SELECT sc_rerun($1)", &[&first]).unwrap().get(0);
    assert_eq!(wait(&mut c, again), "succeeded", "{:?}", field(&mut c, again, "error"));
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.products"), 5, "the same file loaded again");
    let (rerun_of, file): (Option<i64>, Option<String>) = c
        .query_one("SELECT rerun_of, file_name FROM sc.executions WHERE id = $1", &[&again])
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((rerun_of, file.as_deref()), (Some(first), Some("products.xlsx")));
    // A re-run of the re-run still names the execution whose input it runs.
    let third: i64 = c.query_one("SELECT sc_rerun($1, dry_run => true)", &[&again]).unwrap().get(0);
    assert_eq!(wait(&mut c, third), "succeeded");
    assert_eq!(field(&mut c, third, "rerun_of").as_deref(), Some(first.to_string().as_str()));

    // What it cannot do says so.
    let err = c.query_one("SELECT sc_rerun($1, only_failed => true)", &[&first]).unwrap_err();
    assert!(error_text(&err).contains("has no failed rows to re-run"), "{}", error_text(&err));
    let err = c.query_one("SELECT sc_rerun(-1)", &[]).unwrap_err();
    assert!(error_text(&err).contains("execution -1 does not exist"), "{}", error_text(&err));
    c.execute("DELETE FROM sc.execution_files WHERE execution_id = $1 AND kind = 'input'", &[&first]).unwrap();
    let err = c.query_one("SELECT sc_rerun($1)", &[&first]).unwrap_err();
    assert!(error_text(&err).contains("its stored input is gone"), "{}", error_text(&err));
}

#[test]
fn a_running_execution_is_not_re_run() {
    let mut c = connect_ready();
    let slow = "CREATE TABLE output.t ENGINE = Memory AS SELECT toString(sum(number)) AS x FROM numbers(100000000000)";
    save(&mut c, &scheduler_doc("itest_rerun_busy", slow, 1));
    let id = run(&mut c, "itest_rerun_busy");
    let err = c.query_one("SELECT sc_rerun($1)", &[&id]).unwrap_err();
    assert!(error_text(&err).contains("is still"), "{}", error_text(&err));
    c.execute("SELECT sc_cancel($1)", &[&id]).unwrap();
    wait(&mut c, id);
}

/// `id:xmin` of every product: what changes when a row is written again.
fn product_versions(c: &mut postgres::Client) -> String {
    c.query_one("SELECT string_agg(sku || ':' || xmin::text, ',' ORDER BY sku) FROM public.products", &[])
        .unwrap()
        .get(0)
}

#[test]
fn only_the_failed_rows_are_run_again_once_their_cause_is_fixed() {
    let mut c = connect_ready();
    c.batch_execute("DROP TABLE IF EXISTS public.products, public.vendors CASCADE").unwrap();
    c.batch_execute(SCHEMA).unwrap();
    // Rocket skates cost 1,234.50: the database refuses that row.
    c.batch_execute("ALTER TABLE public.products ADD CONSTRAINT itest_price_below_1000 CHECK (price < 1000)").unwrap();
    let doc: serde_json::Value = serde_json::from_str(DOC).unwrap();
    c.batch_execute(
        "SET client_min_messages = warning; SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'vendor_products'",
    )
    .unwrap();
    save(&mut c, &doc);
    let first = run_file(&mut c, "vendor_products", WORKBOOK, "products.xlsx");
    assert_eq!(wait(&mut c, first), "partial_success", "{:?}", field(&mut c, first, "error"));
    let failed: Vec<(i64, String)> = c
        .query(
            "SELECT row_number, match_key FROM sc.execution_rows WHERE execution_id = $1 AND step = 'products' AND outcome = 'failed'",
            &[&first],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].1, "sku = \"A-101\"");
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.products"), 4);
    let before = product_versions(&mut c);

    // Fixed: the constraint goes. Only the failed row runs again, and loads.
    c.batch_execute("ALTER TABLE public.products DROP CONSTRAINT itest_price_below_1000").unwrap();
    let again: i64 = c.query_one("SELECT sc_rerun($1, only_failed => true)", &[&first]).unwrap().get(0);
    assert_eq!(wait(&mut c, again), "succeeded", "{:?}", field(&mut c, again, "error"));
    let (rerun_of, only_failed): (Option<i64>, bool) = c
        .query_one("SELECT rerun_of, only_failed FROM sc.executions WHERE id = $1", &[&again])
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((rerun_of, only_failed), (Some(first), true));
    let outcomes: Vec<(String, String, Option<String>)> = c
        .query(
            "SELECT step, outcome, match_key FROM sc.execution_rows WHERE execution_id = $1 AND step <> '' ORDER BY step, row_number",
            &[&again],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(outcomes, [("products".to_string(), "created".to_string(), Some("sku = \"A-101\"".to_string()))]);
    assert_eq!(count(&mut c, "SELECT count(*) FROM public.products"), 5);
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM public.products WHERE sku = 'A-101' AND price = 1234.50 AND vendor_id IS NOT NULL"
        ),
        1
    );
    // Nothing else was written again.
    let after = product_versions(&mut c);
    let untouched: Vec<&str> = after.split(',').filter(|v| !v.starts_with("A-101:")).collect();
    assert_eq!(untouched, before.split(',').collect::<Vec<_>>(), "the four loaded rows keep their row versions");
    // The failed row keeps its number in the first execution.
    let bytes: Vec<u8> = c.query_one("SELECT sc_report($1)", &[&again]).unwrap().get(0);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    let sql = book.worksheet_range("SQL Output (products)").unwrap();
    let header: Vec<String> = sql.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let at = header.iter().position(|h| h == "_row").expect("a _row column");
    assert_eq!(sql.rows().nth(1).unwrap()[at].to_string(), failed[0].0.to_string());

    // Nothing failed this time: nothing to re-run.
    let err = c.query_one("SELECT sc_rerun($1, only_failed => true)", &[&again]).unwrap_err();
    assert!(error_text(&err).contains("has no failed rows to re-run"), "{}", error_text(&err));
}

#[test]
fn a_row_skipped_for_a_missing_related_record_loads_once_the_record_exists() {
    let mut c = connect_ready();
    customers_with_plans(&mut c, "itest", "itest_rerun_related", false);
    let first = run_file(&mut c, "itest_rerun_related", b"sku,plan\na,basic\nb,gold\nc,basic\n", "customers.csv");
    wait(&mut c, first);
    let outcomes = |c: &mut postgres::Client, id: i64| -> Vec<(i64, String)> {
        c.query(
            "SELECT row_number, outcome FROM sc.execution_rows WHERE execution_id = $1 AND step = 'customers' ORDER BY row_number",
            &[&id],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    assert_eq!(
        outcomes(&mut c, first),
        [(1, "created".to_string()), (2, "skipped".to_string()), (3, "created".to_string())]
    );
    let versions = |c: &mut postgres::Client| -> String {
        c.query_one("SELECT string_agg(sku || ':' || xmin::text, ',' ORDER BY sku) FROM public.itest_customers", &[])
            .unwrap()
            .get(0)
    };
    let before = versions(&mut c);

    // The related record appears; only the skipped row runs again, and loads.
    c.batch_execute("INSERT INTO public.itest_plans (code) VALUES ('gold')").unwrap();
    let again: i64 = c.query_one("SELECT sc_rerun($1, only_failed => true)", &[&first]).unwrap().get(0);
    assert_eq!(wait(&mut c, again), "succeeded", "{:?}", field(&mut c, again, "error"));
    assert_eq!(outcomes(&mut c, again), [(1, "created".to_string())]);
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM public.itest_customers c JOIN public.itest_plans p ON p.id = c.plan_id WHERE c.sku = 'b' AND p.code = 'gold'"),
        1
    );
    let after = versions(&mut c);
    assert_eq!(
        after.split(',').filter(|v| !v.starts_with("b:")).collect::<Vec<_>>(),
        before.split(',').collect::<Vec<_>>(),
        "rows a and c were not written again"
    );
    c.batch_execute(
        "SELECT sc_drop_connector('itest_rerun_related'); DROP TABLE public.itest_customers, public.itest_plans",
    )
    .unwrap();
}
