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
    assert!(error_text(&err).contains("not built yet"), "{}", error_text(&err));
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
