//! Scheduled connectors (SPEC §10): one pg_cron job per scheduled connector,
//! in step with every save; ticks that run, ticks that are skipped, and the
//! view that shows them.
use postgres::Client;
use sc_integration::*;
use serde_json::{json, Value};
use std::time::Duration;

const OWNER: &str = "itest_sched_owner";

/// pg_cron in the launcher's database, and an owner pg_cron can run jobs as
/// (a login role, not a superuser) with a table to write ticks into.
fn setup(c: &mut Client) {
    c.batch_execute(&format!(
        "CREATE EXTENSION IF NOT EXISTS pg_cron;
         DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER}') THEN CREATE ROLE {OWNER} LOGIN; END IF;
         END $$;
         GRANT sc_admin TO {OWNER};
         CREATE TABLE IF NOT EXISTS public.itest_ticks (id serial PRIMARY KEY, at timestamptz, kind text);
         GRANT SELECT, INSERT, UPDATE ON public.itest_ticks TO {OWNER};
         GRANT USAGE ON SEQUENCE public.itest_ticks_id_seq TO {OWNER};"
    ))
    .unwrap();
}

/// A scheduler connector without SQL: its one-row input table is the scope,
/// each run inserts the time the schedule fired.
fn tick_doc(api_name: &str, schedule: &str, status: &str) -> Value {
    json!({
        "api_name": api_name, "name": api_name, "type": "scheduler", "status": status,
        "variables": [{"name": "schedule_trigger_time", "type": "datetime"},
                      {"name": "kind", "type": "string", "value": api_name}],
        "load_steps": [{"name": "ticks", "table": "public.itest_ticks",
                        "map": [{"column": "at", "variable": "schedule_trigger_time"},
                                {"column": "kind", "variable": "kind"}]}],
        "settings": {"schedule": schedule}
    })
}

/// Saves `doc` as the schedule owner (who becomes the connector's owner).
fn save_as_owner(c: &mut Client, doc: &Value) -> Result<Value, postgres::Error> {
    c.batch_execute(&format!("SET ROLE {OWNER}")).unwrap();
    let r = c.query_one("SELECT sc_import_connector($1, 'replace')", &[doc]).map(|r| r.get::<_, Value>(0));
    c.batch_execute("RESET ROLE").unwrap();
    r
}

/// The connector's pg_cron job: (schedule, command, database, username, active).
fn job(c: &mut Client, api_name: &str) -> Option<(String, String, String, String, bool)> {
    c.query_opt(
        "SELECT schedule, command, database, username, active FROM cron.job WHERE jobname = $1",
        &[&format!("sc:{api_name}")],
    )
    .unwrap()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
}

fn error_text(e: &postgres::Error) -> String {
    let db = e.as_db_error().expect("a database error");
    format!("{} {} {}", db.message(), db.detail().unwrap_or_default(), db.hint().unwrap_or_default())
}

#[test]
fn a_scheduled_connector_has_one_cron_job_in_step_with_every_save() {
    let mut c = connect_ready();
    setup(&mut c);
    let r = save_as_owner(&mut c, &tick_doc("itest_nightly", "0 3 * * *", "operational")).unwrap();
    assert_eq!(r["problems"], json!([]), "{r}");
    let (schedule, command, database, username, active) = job(&mut c, "itest_nightly").expect("a job");
    assert_eq!(schedule, "0 3 * * *");
    assert_eq!(command, "SELECT sc.run_scheduled('itest_nightly')");
    assert_eq!(database, "postgres", "smartconnector.database");
    assert_eq!(username, OWNER, "runs as the owner, never as a superuser");
    assert!(active);

    // Status: only live connectors have an active job.
    for (status, expected) in [("inactive", false), ("setup", false), ("needs_attention", true), ("operational", true)]
    {
        c.execute("SELECT sc_set_status('itest_nightly', $1)", &[&status]).unwrap();
        assert_eq!(job(&mut c, "itest_nightly").unwrap().4, expected, "{status}");
    }
    // A changed schedule changes the job; a rolled-back change leaves it as it was.
    save_as_owner(&mut c, &tick_doc("itest_nightly", "@hourly", "operational")).unwrap();
    assert_eq!(job(&mut c, "itest_nightly").unwrap().0, "@hourly");
    c.batch_execute("BEGIN").unwrap();
    save_as_owner(&mut c, &tick_doc("itest_nightly", "*/5 * * * *", "operational")).unwrap();
    c.batch_execute("ROLLBACK").unwrap();
    assert_eq!(job(&mut c, "itest_nightly").unwrap().0, "@hourly");
    // A duplicate is in setup: its job exists, paused.
    c.batch_execute(&format!(
        "SET ROLE {OWNER}; SELECT sc_duplicate_connector('itest_nightly', 'itest_nightly_copy'); RESET ROLE"
    ))
    .unwrap();
    let copy = job(&mut c, "itest_nightly_copy").expect("the copy's job");
    assert_eq!(
        (copy.0.as_str(), copy.1.as_str(), copy.4),
        ("@hourly", "SELECT sc.run_scheduled('itest_nightly_copy')", false)
    );

    // One place to look.
    let row = c
        .query_one(
            "SELECT schedule, overlap, active, next_fire_at = date_trunc('hour', now()) + interval '1 hour', jobid IS NOT NULL
               FROM sc.schedules WHERE api_name = 'itest_nightly'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "@hourly");
    assert_eq!(row.get::<_, String>(1), "skip");
    assert!(row.get::<_, bool>(2));
    assert!(row.get::<_, bool>(3), "next fire time is the next full hour");
    assert!(row.get::<_, bool>(4));

    // Removing the schedule, or dropping the connector, removes the job.
    let mut unscheduled = tick_doc("itest_nightly_copy", "@hourly", "setup");
    unscheduled.as_object_mut().unwrap().remove("settings");
    save_as_owner(&mut c, &unscheduled).unwrap();
    assert!(job(&mut c, "itest_nightly_copy").is_none());
    c.batch_execute(&format!(
        "SET ROLE {OWNER}; SELECT sc_drop_connector('itest_nightly'), sc_drop_connector('itest_nightly_copy'); RESET ROLE"
    ))
    .unwrap();
    assert!(job(&mut c, "itest_nightly").is_none());
}

#[test]
fn a_schedule_pg_cron_cannot_run_is_refused_at_save() {
    let mut c = connect_ready();
    setup(&mut c);
    // This server's pg_cron (1.4) has no `N seconds` yet: a problem at the schedule's path.
    let err = save_as_owner(&mut c, &tick_doc("itest_seconds", "30 seconds", "operational")).unwrap_err();
    let text = error_text(&err);
    assert!(text.contains("settings.schedule") && text.contains("30 seconds"), "{text}");
    // A superuser's connector is not scheduled: the job would run as a superuser.
    let err = c
        .query_one("SELECT sc_import_connector($1, 'replace')", &[&tick_doc("itest_su", "0 3 * * *", "operational")])
        .unwrap_err();
    let text = error_text(&err);
    assert!(text.contains("is a superuser"), "{text}");
    // Nothing was saved or scheduled by either.
    let saved: i64 = c
        .query_one("SELECT count(*) FROM sc.connectors WHERE api_name IN ('itest_seconds', 'itest_su')", &[])
        .unwrap()
        .get(0);
    assert_eq!(saved, 0);
    assert!(job(&mut c, "itest_seconds").is_none() && job(&mut c, "itest_su").is_none());
    // A schedule on a spreadsheet connector is a document problem.
    let mut doc = passthrough_doc("itest_sheet_sched", "x");
    doc["settings"] = json!({"schedule": "0 3 * * *"});
    let err = c.query_one("SELECT sc_create_connector($1)", &[&doc]).unwrap_err();
    assert!(error_text(&err).contains("settings.schedule"), "{}", error_text(&err));
}

#[test]
fn pg_cron_runs_the_connector_at_the_minute_it_fires() {
    let mut c = connect_ready();
    setup(&mut c);
    c.batch_execute("DELETE FROM public.itest_ticks WHERE kind = 'itest_every_minute'").unwrap();
    let before: i64 = c.query_one("SELECT coalesce(max(id), 0) FROM sc.executions", &[]).unwrap().get(0);
    save_as_owner(&mut c, &tick_doc("itest_every_minute", "* * * * *", "operational")).unwrap();
    let id: i64 = poll(Duration::from_secs(90), || {
        c.query_opt(
            "SELECT id FROM sc.executions WHERE connector_api_name = 'itest_every_minute' AND id > $1 ORDER BY id LIMIT 1",
            &[&before],
        )
        .unwrap()
        .map(|r| r.get(0))
    })
    .expect("pg_cron starts a run within a minute and a half");
    // Stop ticking before checking, so the test leaves nothing running.
    c.batch_execute(&format!("SET ROLE {OWNER}; SELECT sc_set_status('itest_every_minute', 'inactive'); RESET ROLE"))
        .unwrap();
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    let row = c
        .query_one(
            "SELECT trigger, started_by::text, run_as::text, fired_at = date_trunc('minute', fired_at), fired_at <= queued_at,
                    (SELECT at FROM public.itest_ticks WHERE kind = 'itest_every_minute' ORDER BY id LIMIT 1) = fired_at
               FROM sc.executions WHERE id = $1",
            &[&id],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "schedule");
    assert_eq!(row.get::<_, String>(1), OWNER);
    assert_eq!(row.get::<_, String>(2), OWNER);
    assert!(row.get::<_, bool>(3), "fired at a whole minute");
    assert!(row.get::<_, bool>(4));
    assert!(row.get::<_, bool>(5), "the run saw the minute the schedule fired as schedule_trigger_time");
}

/// Calls the connector's tick as its pg_cron job does: as the owner.
fn tick(c: &mut Client, api_name: &str) -> Option<i64> {
    c.batch_execute(&format!("SET ROLE {OWNER}")).unwrap();
    let id = c.query_one("SELECT sc.run_scheduled($1)", &[&api_name]).unwrap().get(0);
    c.batch_execute("RESET ROLE").unwrap();
    id
}

/// Cancels what an earlier, failed run of a test left queued or running, and
/// drops its connector (with its skipped ticks).
fn cancel_leftovers(c: &mut Client, api_name: &str) {
    let ids: Vec<i64> = c
        .query(
            "SELECT id FROM sc.executions WHERE connector_api_name = $1 AND status IN ('queued', 'running')",
            &[&api_name],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for id in ids {
        c.execute("SELECT sc_cancel($1)", &[&id]).unwrap();
        wait(c, id);
    }
    c.execute("SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = $1", &[&api_name]).unwrap();
}

fn slow_doc(api_name: &str, overlap: &str) -> Value {
    json!({
        "api_name": api_name, "name": api_name, "type": "scheduler", "status": "operational",
        "sql": "CREATE TABLE output.t ENGINE = Memory AS SELECT toString(count()) AS x FROM numbers(100000000000)",
        "variables": [{"name": "x", "type": "string"}],
        "settings": {"schedule": "0 3 * * *", "overlap": overlap}
    })
}

/// Moves a run's fire time a minute back, as if pg_cron had started it at the
/// previous tick (a tick's own minute runs once: the next test tick would be skipped for that).
fn fired_a_minute_earlier(c: &mut Client, id: i64) {
    c.execute("UPDATE sc.executions SET fired_at = fired_at - interval '1 minute' WHERE id = $1", &[&id]).unwrap();
}

fn until_running(c: &mut Client, id: i64) {
    poll(Duration::from_secs(60), || (field(c, id, "status").as_deref() == Some("running")).then_some(()))
        .expect("the run starts");
}

#[test]
fn a_tick_while_the_previous_run_is_busy_is_skipped_and_says_why() {
    let mut c = connect_ready();
    setup(&mut c);
    cancel_leftovers(&mut c, "itest_overlap_skip");
    save_as_owner(&mut c, &slow_doc("itest_overlap_skip", "skip")).unwrap();
    let first = tick(&mut c, "itest_overlap_skip").expect("the first tick queues a run");
    fired_a_minute_earlier(&mut c, first);
    assert_eq!(tick(&mut c, "itest_overlap_skip"), None, "skipped while the first is queued (or already running)");
    until_running(&mut c, first);
    assert_eq!(tick(&mut c, "itest_overlap_skip"), None, "skipped while the first runs");
    let reasons: Vec<(String, Option<i64>)> = c
        .query(
            "SELECT t.reason, t.execution_id FROM sc.skipped_ticks t JOIN sc.connectors k ON k.id = t.connector_id
              WHERE k.api_name = 'itest_overlap_skip' ORDER BY t.id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // The first skip saw it queued or, if the worker was already quick to start it, running.
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        [format!("execution {first} is still queued"), format!("execution {first} is still running")]
            .contains(&reasons[0].0),
        "{reasons:?}"
    );
    assert_eq!(reasons[1], (format!("execution {first} is still running"), Some(first)));
    assert!(reasons.iter().all(|r| r.1 == Some(first)));
    let (skipped, last_id): (i64, i64) = c
        .query_one(
            "SELECT skipped_ticks, last_execution_id FROM sc.schedules WHERE api_name = 'itest_overlap_skip'",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((skipped, last_id), (2, first));
    c.execute("SELECT sc_cancel($1)", &[&first]).unwrap();
    wait(&mut c, first);
    c.batch_execute(&format!("SET ROLE {OWNER}; SELECT sc_drop_connector('itest_overlap_skip'); RESET ROLE")).unwrap();
}

#[test]
fn with_overlap_queue_one_run_waits_behind_a_running_one_never_more() {
    let mut c = connect_ready();
    setup(&mut c);
    cancel_leftovers(&mut c, "itest_overlap_queue");
    save_as_owner(&mut c, &slow_doc("itest_overlap_queue", "queue")).unwrap();
    let first = tick(&mut c, "itest_overlap_queue").expect("queued");
    fired_a_minute_earlier(&mut c, first);
    until_running(&mut c, first);
    let second = tick(&mut c, "itest_overlap_queue").expect("queued behind the running one");
    fired_a_minute_earlier(&mut c, second);
    assert_eq!(tick(&mut c, "itest_overlap_queue"), None, "a third does not pile up");
    let reason: String = c
        .query_one(
            "SELECT t.reason FROM sc.skipped_ticks t JOIN sc.connectors k ON k.id = t.connector_id
              WHERE k.api_name = 'itest_overlap_queue'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(reason, format!("execution {second} is still queued"));
    // pg_cron and the launcher's catch-up may both start one fire time: it runs once.
    c.execute("UPDATE sc.executions SET fired_at = date_trunc('minute', now()) WHERE id = $1", &[&second]).unwrap();
    c.execute("SELECT sc_cancel($1)", &[&second]).unwrap();
    wait(&mut c, second);
    assert_eq!(tick(&mut c, "itest_overlap_queue"), None, "this minute's tick already ran");
    let reason: String = c
        .query_one(
            "SELECT t.reason FROM sc.skipped_ticks t JOIN sc.connectors k ON k.id = t.connector_id
              WHERE k.api_name = 'itest_overlap_queue' ORDER BY t.id DESC LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(reason, format!("execution {second} already ran for this time"));
    for id in [second, first] {
        c.execute("SELECT sc_cancel($1)", &[&id]).unwrap();
        wait(&mut c, id);
    }
    c.batch_execute(&format!("SET ROLE {OWNER}; SELECT sc_drop_connector('itest_overlap_queue'); RESET ROLE")).unwrap();
}

#[test]
fn only_the_owner_ticks_its_connector() {
    let mut c = connect_ready();
    setup(&mut c);
    save_as_owner(&mut c, &tick_doc("itest_tick_owner", "0 3 * * *", "inactive")).unwrap();
    c.batch_execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'itest_other_op') THEN
           CREATE ROLE itest_other_op; END IF; END $$;
         GRANT sc_operator TO itest_other_op; SET ROLE itest_other_op;",
    )
    .unwrap();
    let err = c.query_one("SELECT sc.run_scheduled('itest_tick_owner')", &[]).unwrap_err();
    c.batch_execute("RESET ROLE").unwrap();
    assert!(error_text(&err).contains("needs the rights of its owner"), "{}", error_text(&err));
    c.batch_execute(&format!("SET ROLE {OWNER}; SELECT sc_drop_connector('itest_tick_owner'); RESET ROLE")).unwrap();
}

#[test]
fn ticks_missed_while_the_server_was_down_run_once_after_it() {
    let mut c = connect_ready();
    setup(&mut c);
    save_as_owner(&mut c, &tick_doc("itest_catch_up", "0 3 * * *", "operational")).unwrap();
    // Its last tick was three days ago: three 03:00 ticks were missed since.
    c.batch_execute(
        "DELETE FROM public.itest_ticks WHERE kind = 'itest_catch_up';
         INSERT INTO sc.skipped_ticks (connector_id, fired_at, reason)
         SELECT id, now() - interval '3 days', 'the last tick before the downtime' FROM sc.connectors
          WHERE api_name = 'itest_catch_up';",
    )
    .unwrap();
    let before: i64 = c.query_one("SELECT coalesce(max(id), 0) FROM sc.executions", &[]).unwrap().get(0);
    drop(c);
    restart_server(&std::env::var("SC_TEST_PGDATA").expect("SC_TEST_PGDATA"));
    let mut c = reconnect(Duration::from_secs(60));
    let id: i64 = poll(Duration::from_secs(60), || {
        c.query_opt("SELECT id FROM sc.executions WHERE connector_api_name = 'itest_catch_up' AND id > $1", &[&before])
            .unwrap()
            .map(|r| r.get(0))
    })
    .expect("the launcher runs the missed schedule once");
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    let (runs, latest): (i64, bool) = c
        .query_one(
            "SELECT count(*),
                    bool_and(fired_at = (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '3 hours'
                       - CASE WHEN (now() AT TIME ZONE 'UTC')::time < '03:00' THEN interval '1 day' ELSE interval '0' END)
                       AT TIME ZONE 'UTC' AND trigger = 'schedule')
               FROM sc.executions WHERE connector_api_name = 'itest_catch_up' AND id > $1",
            &[&before],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(runs, 1, "once, not once per missed tick");
    assert!(latest, "for the latest missed time");
    c.batch_execute(&format!("SET ROLE {OWNER}; SELECT sc_drop_connector('itest_catch_up'); RESET ROLE")).unwrap();
}

#[test]
fn a_manual_run_sees_the_time_of_the_call_and_a_file_is_refused() {
    let mut c = connect_ready();
    setup(&mut c);
    cancel_leftovers(&mut c, "itest_manual_tick");
    c.batch_execute("DELETE FROM public.itest_ticks WHERE kind = 'itest_manual_tick'").unwrap();
    save_as_owner(&mut c, &tick_doc("itest_manual_tick", "0 3 * * *", "operational")).unwrap();
    let id = run(&mut c, "itest_manual_tick");
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    let row = c
        .query_one(
            "SELECT trigger, fired_at IS NULL,
                    (SELECT at FROM public.itest_ticks WHERE kind = 'itest_manual_tick') = date_trunc('second', queued_at)
               FROM sc.executions WHERE id = $1",
            &[&id],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "manual");
    assert!(row.get::<_, bool>(1), "no schedule fired it");
    assert!(row.get::<_, bool>(2), "schedule_trigger_time is the time of the call");
    // An input file for a scheduler connector is a mistake, and the error says so.
    let err = c.query_one("SELECT sc_run('itest_manual_tick', '\\x00'::bytea, 'x.csv')", &[]).unwrap_err();
    assert!(error_text(&err).contains("is a scheduler connector and takes no input file"), "{}", error_text(&err));
    c.batch_execute(&format!("SET ROLE {OWNER}; SELECT sc_drop_connector('itest_manual_tick'); RESET ROLE")).unwrap();
}
