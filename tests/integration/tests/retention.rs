//! Retention: ended executions older than `smartconnector.retention` (or
//! `sc_purge`'s age) lose their files, per-row outcomes and processed
//! webhook calls; their row and counts stay.
use sc_integration::*;
use std::time::Duration;

fn count(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

fn error_text(e: &postgres::Error) -> String {
    let db = e.as_db_error().expect("a database error");
    format!("{} {}", db.message(), db.hint().unwrap_or_default())
}

/// An ended execution of a pass-through connector with one invalid row,
/// made to look `days` old.
fn old_execution(c: &mut postgres::Client, days: i32) -> i64 {
    let id = run_file(c, "itest_retention", b"email\nann@x.io\nnot an email\n", "people.csv");
    wait(c, id);
    c.execute("UPDATE sc.executions SET ended_at = now() - make_interval(days => $2) WHERE id = $1", &[&id, &days])
        .unwrap();
    id
}

/// What retention removes and keeps of execution `id`: (files, row outcome batches, purged).
fn kept(c: &mut postgres::Client, id: i64) -> (i64, i64, bool) {
    (
        count(c, &format!("SELECT count(*) FROM sc.execution_files WHERE execution_id = {id}")),
        count(c, &format!("SELECT count(*) FROM sc.execution_row_batches WHERE execution_id = {id}")),
        c.query_one("SELECT purged_at IS NOT NULL FROM sc.executions WHERE id = $1", &[&id]).unwrap().get(0),
    )
}

#[test]
fn purging_removes_files_outcomes_and_calls_and_keeps_the_summary() {
    let mut c = connect_ready();
    c.batch_execute(
        "SET client_min_messages = warning;
         SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'itest_retention';",
    )
    .unwrap();
    save(
        &mut c,
        &serde_json::json!({
            "api_name": "itest_retention", "name": "itest_retention", "type": "spreadsheet", "status": "operational",
            "variables": [{"name": "email", "type": "email", "required": true}]
        }),
    );
    let old = old_execution(&mut c, 40);
    let recent = old_execution(&mut c, 1);
    let (files, batches, purged) = kept(&mut c, old);
    assert!(files >= 2 && batches >= 1 && !purged, "input, report and the invalid row's outcome: {files} {batches}");
    // A processed webhook call attached to the old execution goes with it; a pending one stays.
    c.execute(
        "INSERT INTO sc.webhook_events (connector_id, sender, body, execution_id) VALUES (-1, 'itest', 'done', $1), (-1, 'itest', 'pending', NULL)",
        &[&old],
    )
    .unwrap();
    let counts_before: serde_json::Value =
        c.query_one("SELECT counts FROM sc.executions WHERE id = $1", &[&old]).unwrap().get(0);

    // Only a DBA (sc_admin) may purge.
    c.batch_execute("DROP ROLE IF EXISTS itest_retention_op; CREATE ROLE itest_retention_op IN ROLE sc_operator")
        .unwrap();
    c.batch_execute("SET ROLE itest_retention_op").unwrap();
    let err = c.batch_execute("CALL sc_purge(interval '30 days')").unwrap_err();
    assert!(error_text(&err).contains("permission denied"), "{}", error_text(&err));
    c.batch_execute("RESET ROLE").unwrap();

    let purged: i64 = c.query_one("CALL sc_purge(interval '30 days')", &[]).unwrap().get(0);
    assert!(purged >= 1, "{purged}");
    assert_eq!(kept(&mut c, old), (0, 0, true), "files and row outcomes gone");
    let (files, batches, purged) = kept(&mut c, recent);
    assert!(files >= 2 && batches >= 1 && !purged, "a recent execution keeps everything");
    assert_eq!(count(&mut c, "SELECT count(*) FROM sc.webhook_events WHERE sender = 'itest' AND body = 'done'"), 0);
    assert_eq!(count(&mut c, "SELECT count(*) FROM sc.webhook_events WHERE sender = 'itest' AND body = 'pending'"), 1);
    c.batch_execute("DELETE FROM sc.webhook_events WHERE sender = 'itest'").unwrap();
    let (status, counts_after): (String, serde_json::Value) = c
        .query_one("SELECT status, counts FROM sc.executions WHERE id = $1", &[&old])
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert!(!status.is_empty());
    assert_eq!(counts_after, counts_before, "the summary stays");

    // What needs the files says they were purged.
    let err = c.query_one("SELECT sc_rerun($1)", &[&old]).unwrap_err();
    assert!(error_text(&err).contains("retention removed the stored input"), "{}", error_text(&err));
    let err = c.query_one("SELECT sc_report($1)", &[&old]).unwrap_err();
    assert!(error_text(&err).contains("retention removed its files"), "{}", error_text(&err));

    // The launcher applies smartconnector.retention by itself (at once when it changes).
    let aged = old_execution(&mut c, 20);
    set_setting(&mut c, "smartconnector.retention", Some("10 days"));
    let done = poll(Duration::from_secs(30), || kept(&mut c, aged).2.then_some(()));
    set_setting(&mut c, "smartconnector.retention", None);
    assert!(done.is_some(), "the launcher purged an execution older than smartconnector.retention");
    assert_eq!(kept(&mut c, aged), (0, 0, true));
    assert!(!kept(&mut c, recent).2, "and left the recent one");
    c.batch_execute("DROP ROLE itest_retention_op").unwrap();
}
