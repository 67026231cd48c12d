//! Executions end to end on a preloaded cluster: run → wait → inspect,
//! failures with their input kept, cancel, concurrency, reference data.
use calamine::{Data, Reader};
use sc_integration::*;
use std::time::Duration;

#[test]
fn a_workbook_runs_to_validated_variables_with_a_report() {
    let mut c = connect_ready();
    let doc: serde_json::Value = serde_json::from_str(DOC).unwrap();
    save(&mut c, &doc);
    let id = run_file(&mut c, "vendor_products", WORKBOOK, "products.xlsx");
    assert_eq!(wait(&mut c, id), "succeeded", "error: {:?}", field(&mut c, id, "error"));

    let row = c
        .query_one(
            "SELECT trigger, started_by::text, engine_version, stage_times ? 'sql', stage_times ? 'variables',
                    progress::text, counts #>> '{variables (products),valid}',
                    counts #>> '{variables (vendors),valid}'
             FROM sc.executions WHERE id = $1",
            &[&id],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "manual");
    assert_eq!(row.get::<_, String>(1), "postgres");
    assert!(row.get::<_, Option<String>>(2).is_some_and(|v| v.starts_with("26.")), "engine version recorded");
    assert!(row.get::<_, bool>(3) && row.get::<_, bool>(4), "times per stage");
    assert_eq!(row.get::<_, Option<String>>(5).as_deref(), Some("{}"), "no stage is running: no progress left");
    assert_eq!(
        row.get::<_, Option<String>>(6).as_deref(),
        Some("5"),
        "5 products (the row without sku is filtered by the SQL)"
    );
    assert_eq!(row.get::<_, Option<String>>(7).as_deref(), Some("3"), "3 distinct vendors");

    // The row whose price and date are not valid keeps going, with warnings recorded.
    let warnings: Vec<String> = c
        .query_one(
            "SELECT warnings FROM sc.execution_rows WHERE execution_id = $1 AND scope = 'products' AND outcome = 'valid' AND warnings IS NOT NULL",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert!(warnings.iter().any(|w| w.contains("\"price\"") && w.contains("n/a")), "{warnings:?}");

    for kind in ["input", "sql_output", "report"] {
        assert!(has_file(&mut c, id, kind), "artifact {kind} kept");
    }
    let mut wb = report_sheets(&mut c, id);
    let names = wb.sheet_names();
    for sheet in ["Summary", "SQL Output (products)", "Extracted Variables (products)", "SQL Output (vendors)"] {
        assert!(names.iter().any(|n| n == sheet), "sheet {sheet} in {names:?}");
    }
    let vars = wb.worksheet_range("Extracted Variables (products)").unwrap();
    let header: Vec<String> = vars.rows().next().unwrap().iter().map(|d| d.to_string()).collect();
    assert_eq!(&header[header.len() - 3..], ["Errors", "Warnings", "Status"]);
    let price_col = header.iter().position(|h| h == "price").unwrap();
    let first = vars.rows().nth(1).unwrap();
    assert_eq!(first[price_col], Data::Float(16.99), "$16.99 USD became a number");
}

#[test]
fn a_sql_error_fails_the_run_and_keeps_the_input() {
    let mut c = connect_ready();
    let mut doc = passthrough_doc("itest_sql_error", "x");
    doc["sql"] = "CREATE TABLE output.t ENGINE = Memory AS SELECT no_such_column FROM input.page_idx_0".into();
    save(&mut c, &doc);
    let id = run_file(&mut c, "itest_sql_error", b"a,b\n1,2\n", "data.csv");
    assert_eq!(wait(&mut c, id), "failed");
    let error = field(&mut c, id, "error").unwrap();
    assert!(error.starts_with("SQL error:") && error.contains("no_such_column"), "{error}");
    assert!(has_file(&mut c, id, "input"), "a failed run keeps its input");
    assert!(report_sheets(&mut c, id).sheet_names().contains(&"Summary".to_string()));
}

#[test]
fn bad_files_fail_with_a_message_naming_the_file() {
    let mut c = connect_ready();
    save(&mut c, &passthrough_doc("itest_bad_files", "a"));
    let cases: [(&[u8], &str, &str); 3] = [
        (b"PK\x03\x04 this is not really a workbook", "broken.xlsx", "broken.xlsx"),
        (b"", "empty.csv", "empty.csv"),
        (b"name,value\n\x01\x81\x8d,\x90\x9d\xfe\n", "latin.csv", "latin.csv"),
    ];
    for (bytes, name, expected) in cases {
        let id = run_file(&mut c, "itest_bad_files", bytes, name);
        assert_eq!(wait(&mut c, id), "failed", "{name}");
        let error = field(&mut c, id, "error").unwrap();
        assert!(error.contains(expected), "{name}: {error}");
        assert!(has_file(&mut c, id, "input"), "{name}: input kept");
    }
}

#[test]
fn cancel_stops_a_running_and_a_queued_execution() {
    let mut c = connect_ready();
    let slow = "CREATE TABLE output.t ENGINE = Memory AS SELECT toString(sum(number)) AS x FROM numbers(100000000000)";
    save(&mut c, &scheduler_doc("itest_cancel", slow, 1));
    let running = run(&mut c, "itest_cancel");
    let queued = run(&mut c, "itest_cancel");
    poll(Duration::from_secs(30), || (field(&mut c, running, "stage").as_deref() == Some("sql")).then_some(()))
        .expect("the first run reaches the SQL stage");
    assert_eq!(field(&mut c, queued, "status").as_deref(), Some("queued"), "max_concurrency 1 keeps the second queued");
    // A DBA sees which connector and execution a worker runs.
    let named: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND pid = (SELECT worker_pid FROM sc.executions WHERE id = $2)",
            &[&format!("smartconnector itest_cancel #{running}"), &running],
        )
        .unwrap()
        .get(0);
    assert_eq!(named, 1, "the worker's application_name names the connector and the execution");

    let ok: bool = c.query_one("SELECT sc_cancel($1)", &[&queued]).unwrap().get(0);
    assert!(ok);
    assert_eq!(field(&mut c, queued, "status").as_deref(), Some("cancelled"), "a queued run ends at once");

    let ok: bool = c.query_one("SELECT sc_cancel($1)", &[&running]).unwrap().get(0);
    assert!(ok);
    let status: String = c.query_one("SELECT sc_wait($1, '20 seconds')", &[&running]).unwrap().get(0);
    assert_eq!(status, "cancelled");
    let again: bool = c.query_one("SELECT sc_cancel($1)", &[&running]).unwrap().get(0);
    assert!(!again, "cancelling an ended run answers false");
}

#[test]
fn runs_of_a_connector_with_max_concurrency_1_do_not_overlap() {
    let mut c = connect_ready();
    let sql = "CREATE TABLE output.t ENGINE = Memory AS SELECT toString(sleepEachRow(1)) AS x FROM numbers(1)";
    save(&mut c, &scheduler_doc("itest_serial", sql, 1));
    let ids: Vec<i64> = (0..3).map(|_| run(&mut c, "itest_serial")).collect();
    for id in &ids {
        assert_eq!(wait(&mut c, *id), "succeeded", "{:?}", field(&mut c, *id, "error"));
    }
    let rows = c
        .query("SELECT started_at, ended_at FROM sc.executions WHERE id = ANY($1) ORDER BY started_at", &[&ids])
        .unwrap();
    for pair in rows.windows(2) {
        let ended: std::time::SystemTime = pair[0].get(1);
        let next_started: std::time::SystemTime = pair[1].get(0);
        assert!(ended <= next_started, "runs overlapped");
    }
}

#[test]
fn reference_data_reaches_the_sql_and_an_unreadable_one_is_named() {
    let mut c = connect_ready();
    c.batch_execute(
        "DROP TABLE IF EXISTS public.itest_ref, public.itest_secret;
         CREATE TABLE public.itest_ref (code text, n int); INSERT INTO public.itest_ref VALUES ('a', 1), ('b', NULL);
         -- More rows than one fetch of the reference cursor (5,000): every batch arrives.
         INSERT INTO public.itest_ref SELECT 'r' || i, i FROM generate_series(1, 12000) i;
         CREATE TABLE public.itest_secret (v text);
         DROP ROLE IF EXISTS itest_owner; CREATE ROLE itest_owner; GRANT sc_admin TO itest_owner;
         GRANT SELECT ON public.itest_ref TO itest_owner;",
    )
    .unwrap();
    let mut doc = scheduler_doc(
        "itest_reference",
        "CREATE TABLE output.t ENGINE = Memory AS SELECT code AS x, n FROM pg.refs
         WHERE code IN ('a', 'b') AND (SELECT count() FROM pg.refs) = 12002 AND (SELECT sum(toInt64OrZero(n)) FROM pg.refs) = 72006001",
        1,
    );
    doc["reference"] = serde_json::json!([{"name": "refs", "table": "public.itest_ref"}]);
    c.batch_execute("SET ROLE itest_owner").unwrap();
    save(&mut c, &doc);
    doc["api_name"] = "itest_reference_denied".into();
    doc["reference"] = serde_json::json!([{"name": "hidden", "query": "SELECT v FROM public.itest_secret"}]);
    doc["sql"] = "CREATE TABLE output.t ENGINE = Memory AS SELECT v AS x FROM pg.hidden".into();
    // Saving checks what it can; the query's privileges are only known when it runs.
    let _ = c.query_one("SELECT sc_import_connector($1, 'replace')", &[&doc]).unwrap();
    c.batch_execute("RESET ROLE; SELECT sc_set_status('itest_reference_denied', 'operational')").unwrap();

    let id = run(&mut c, "itest_reference");
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    assert_eq!(field(&mut c, id, "run_as").as_deref(), Some("itest_owner"));
    assert_eq!(field(&mut c, id, "counts->'variables (t)'->>'valid'").as_deref(), Some("2"));

    let id = run(&mut c, "itest_reference_denied");
    assert_eq!(wait(&mut c, id), "failed");
    let error = field(&mut c, id, "error").unwrap();
    assert!(
        error.contains("reference \"hidden\" cannot be read as role \"itest_owner\"")
            && error.contains("permission denied"),
        "{error}"
    );
}

/// Restores smartconnector.max_workers when dropped.
struct MaxWorkers;

impl MaxWorkers {
    fn set(c: &mut postgres::Client, n: i32) -> MaxWorkers {
        set_setting(c, "smartconnector.max_workers", Some(&n.to_string()));
        MaxWorkers
    }
}

impl Drop for MaxWorkers {
    fn drop(&mut self) {
        let mut c = connect();
        // Not set_setting: a drop during a failing test's unwinding must not panic.
        let _ = c.batch_execute("ALTER SYSTEM RESET smartconnector.max_workers");
        let _ = c.batch_execute("SELECT pg_reload_conf()");
    }
}

#[test]
fn with_every_worker_busy_a_run_waits_queued_and_starts_later() {
    let mut c = connect_ready();
    let slow = "CREATE TABLE output.t ENGINE = Memory AS SELECT toString(sum(number)) AS x FROM numbers(100000000000)";
    save(&mut c, &scheduler_doc("itest_busy_slow", slow, 1));
    save(&mut c, &scheduler_doc("itest_busy_fast", "CREATE TABLE output.t ENGINE = Memory AS SELECT '1' AS x", 1));
    let _restore = MaxWorkers::set(&mut c, 1);
    poll(Duration::from_secs(10), || {
        let v: String = c.query_one("SHOW smartconnector.max_workers", &[]).unwrap().get(0);
        (v == "1").then_some(())
    })
    .expect("the setting is reloaded");
    let slow_id = run(&mut c, "itest_busy_slow");
    poll(Duration::from_secs(30), || (field(&mut c, slow_id, "stage").as_deref() == Some("sql")).then_some(()))
        .expect("the slow run holds the only worker");
    let fast_id = run(&mut c, "itest_busy_fast");
    // For two seconds (launcher wake-ups included) the second run must stay queued, never fail.
    let left_queue =
        poll(Duration::from_secs(2), || (field(&mut c, fast_id, "status").as_deref() != Some("queued")).then_some(()));
    assert!(left_queue.is_none(), "status became {:?}", field(&mut c, fast_id, "status"));
    let _: bool = c.query_one("SELECT sc_cancel($1)", &[&slow_id]).unwrap().get(0);
    assert_eq!(wait(&mut c, fast_id), "succeeded", "it starts once the worker is free");
}

#[test]
fn files_larger_than_a_part_round_trip() {
    let mut c = connect_ready();
    save(&mut c, &passthrough_doc("itest_big", "a"));
    // 200,000 rows of hex digits: about 20 MB, poorly compressible, so the
    // input (read back in 8 MiB slices) and the report (stored in 8 MiB parts) span several.
    let mut csv = String::from("a,b,c\n");
    for i in 0u64..200_000 {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        csv.push_str(&format!(
            "{h:016x}{i:016x},{:032x},{:032x}\n",
            h.rotate_left(17) as u128 * 31,
            (h ^ i) as u128 * 7
        ));
    }
    let id = run_file(&mut c, "itest_big", csv.as_bytes(), "big.csv");
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    assert_eq!(field(&mut c, id, "counts #>> '{variables (big_csv),valid}'").as_deref(), Some("200000"));
    let parts: i64 = c
        .query_one("SELECT count(*) FROM sc.execution_files WHERE execution_id = $1 AND kind = 'report'", &[&id])
        .unwrap()
        .get(0);
    assert!(parts > 1, "the report spans {parts} part(s)");
    let mut wb = report_sheets(&mut c, id);
    let sql = wb.worksheet_range("SQL Output (big_csv)").unwrap();
    assert_eq!(sql.height(), 200_001, "every row, plus the header");
    assert_eq!(
        sql.get((1, 0)),
        Some(&Data::String(csv.lines().nth(1).unwrap().split(',').next().unwrap().to_string()))
    );
}

#[test]
fn every_function_says_what_it_is_for_and_ended_stages_leave_no_progress() {
    let mut c = connect_ready();
    let undocumented: Vec<String> = c
        .query(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
               JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'smartconnector'
              WHERE obj_description(p.oid, 'pg_proc') IS NULL ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(undocumented.is_empty(), "functions without a COMMENT: {undocumented:?}");
    save(&mut c, &scheduler_doc("itest_progress", "CREATE TABLE output.t ENGINE = Memory AS SELECT '1' AS x", 1));
    let id = run(&mut c, "itest_progress");
    assert_eq!(wait(&mut c, id), "succeeded");
    let progress: serde_json::Value =
        c.query_one("SELECT progress FROM sc.executions WHERE id = $1", &[&id]).unwrap().get(0);
    assert_eq!(progress, serde_json::json!({}), "every stage has ended: no progress is left");
}

#[test]
fn an_ended_run_is_announced_on_its_notify_channel() {
    let mut listener = connect();
    listener.batch_execute("LISTEN itest_events").unwrap();
    let mut c = connect_ready();
    let mut doc = scheduler_doc("itest_notify", "CREATE TABLE output.t ENGINE = Memory AS SELECT '1' AS x", 1);
    doc["settings"]["notify_channel"] = "itest_events".into();
    save(&mut c, &doc);
    let ok = run(&mut c, "itest_notify");
    assert_eq!(wait(&mut c, ok), "succeeded");
    doc["sql"] = "SELECT * FROM input.nope".into();
    save(&mut c, &doc);
    let failed = run(&mut c, "itest_notify");
    assert_eq!(wait(&mut c, failed), "failed");
    let mut got: Vec<serde_json::Value> = Vec::new();
    let mut notes = listener.notifications();
    let mut iter = notes.timeout_iter(Duration::from_secs(10));
    while got.len() < 2 {
        let Some(n) = postgres::fallible_iterator::FallibleIterator::next(&mut iter).unwrap() else { break };
        assert_eq!(n.channel(), "itest_events");
        got.push(serde_json::from_str(n.payload()).unwrap());
    }
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0],
        serde_json::json!({"execution_id": ok, "connector": "itest_notify", "status": "succeeded", "error": null})
    );
    assert_eq!((got[1]["execution_id"].as_i64(), got[1]["status"].as_str()), (Some(failed), Some("failed")));
    assert!(got[1]["error"].as_str().is_some_and(|e| e.contains("nope")), "{}", got[1]);
}
