//! Operations in one transaction: what `sc_rerun` refuses and what it queues
//! (a whole re-run, only the failed rows), and retention's batch
//! (`sc.purge_batch`). Runs that execute are integration tests.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use super::super::{count, demo_tables, doc_with, expect_error};
    use pgrx::prelude::*;
    use serde_json::json;

    const WORKBOOK: &[u8] = include_bytes!("../../examples/vendor_products/products.xlsx");

    /// An execution of the demo connector, ended `days` ago with `status`.
    fn ended(status: &str, days: i32) -> i64 {
        demo_tables();
        if count("SELECT count(*) FROM sc.connectors WHERE api_name = 'vendor_products'") == 0 {
            let doc = doc_with(|v| v["status"] = json!("operational"));
            Spi::run_with_args("SELECT sc_create_connector($1)", &[doc.into()]).unwrap();
        }
        let id =
            Spi::get_one_with_args::<i64>("SELECT sc_run('vendor_products', $1, 'products.xlsx')", &[WORKBOOK.into()])
                .unwrap()
                .unwrap();
        Spi::run_with_args(
            "UPDATE sc.executions SET status = $2, started_at = now() - make_interval(days => $3),
                    ended_at = now() - make_interval(days => $3) WHERE id = $1",
            &[id.into(), status.into(), days.into()],
        )
        .unwrap();
        id
    }

    fn rerun(sql: &str, id: i64) -> i64 {
        Spi::get_one_with_args::<i64>(sql, &[id.into()]).unwrap().unwrap()
    }

    #[pg_test]
    fn a_whole_rerun_copies_the_input_and_names_the_original() {
        let first = ended("succeeded", 1);
        let again = rerun("SELECT sc_rerun($1)", first);
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM sc.executions WHERE id = {again} AND rerun_of = {first} AND NOT only_failed
                   AND status = 'queued' AND trigger = 'manual' AND file_name = 'products.xlsx'"
            )),
            1
        );
        assert_eq!(
            count(&format!("SELECT count(*) FROM sc.execution_files WHERE execution_id = {again} AND kind = 'input'")),
            1
        );
    }

    #[pg_test]
    fn only_failed_needs_the_failed_rows_of_that_execution() {
        let first = ended("partial_success", 1);
        let err = expect_error(|| rerun("SELECT sc_rerun($1, only_failed => true)", first));
        assert!(err.message().contains("has no failed rows to re-run"), "{}", err.message());
        assert!(err.hint().unwrap_or_default().contains(&format!("sc_rerun({first})")));
        // With its failed rows kept: queued, without an input of its own (it reads those rows).
        Spi::run_with_args(
            "INSERT INTO sc.execution_files (execution_id, kind, name, content, size)
             VALUES ($1, 'failed_rows', 'failed_rows.zip', '\\x00', 1)",
            &[first.into()],
        )
        .unwrap();
        let again = rerun("SELECT sc_rerun($1, only_failed => true)", first);
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM sc.executions WHERE id = {again} AND rerun_of = {first} AND only_failed AND status = 'queued'"
            )),
            1
        );
        assert_eq!(count(&format!("SELECT count(*) FROM sc.execution_files WHERE execution_id = {again}")), 0);
        // A queued execution is not re-run.
        let err = expect_error(|| rerun("SELECT sc_rerun($1, only_failed => true)", again));
        assert!(err.message().contains("is still queued"), "{}", err.message());
    }

    #[pg_test]
    fn a_purge_batch_removes_files_outcomes_and_calls_of_old_executions_only() {
        let old = ended("failed", 40);
        let recent = ended("succeeded", 2);
        let running = ended("running", 40);
        Spi::run(&format!("UPDATE sc.executions SET ended_at = NULL WHERE id = {running}")).unwrap();
        for id in [old, recent, running] {
            Spi::run(&format!(
                "INSERT INTO sc.execution_row_batches (execution_id, scope, step, first_row, last_row, row_numbers, outcomes)
                 VALUES ({id}, 'products', '', 1, 1, '{{1}}', '{{invalid}}');
                 INSERT INTO sc.webhook_events (connector_id, sender, body, execution_id) VALUES (-7, 't', 'b', {id});
                 INSERT INTO sc.ended_webhook_deliveries (execution_id, url, body, next_attempt_at, delivered_at)
                 VALUES ({id}, 'http://x/', '{{}}', NULL, now())"
            ))
            .unwrap();
        }
        let purged = Spi::get_one::<i32>("SELECT sc.purge_batch(now() - interval '30 days', 20)").unwrap();
        assert_eq!(purged, Some(1), "only the execution that ended 40 days ago");
        let left = |id: i64, table: &str| count(&format!("SELECT count(*) FROM {table} WHERE execution_id = {id}"));
        for table in
            ["sc.execution_files", "sc.execution_row_batches", "sc.webhook_events", "sc.ended_webhook_deliveries"]
        {
            assert_eq!(left(old, table), 0, "{table} of the old execution");
            assert!(left(recent, table) > 0, "{table} of the recent one stays");
            assert!(left(running, table) > 0, "{table} of the running one stays");
        }
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM sc.executions WHERE id = {old} AND purged_at IS NOT NULL AND status = 'failed'"
            )),
            1
        );
        assert_eq!(
            Spi::get_one::<i32>("SELECT sc.purge_batch(now() - interval '30 days', 20)").unwrap(),
            Some(0),
            "nothing twice"
        );
        // What needs the files says why they are gone.
        let err = expect_error(|| rerun("SELECT sc_rerun($1)", old));
        assert!(err.message().contains("retention removed the stored input"), "{}", err.message());
        let err = expect_error(|| Spi::get_one_with_args::<Vec<u8>>("SELECT sc_report($1)", &[old.into()]));
        assert!(err.message().contains("retention removed its files"), "{}", err.message());
    }
}
