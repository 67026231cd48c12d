//! sc_run / sc_wait / sc_cancel / sc_report: what is checked before a run is
//! queued, what the queued row holds, and the error contract. (Workers cannot
//! see a test's uncommitted rows: running executions are integration tests.)

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use super::super::{count, demo_tables, doc_with, expect_error};
    use pgrx::prelude::*;
    use pgrx::PgSqlErrorCode;
    use serde_json::json;

    const WORKBOOK: &[u8] = include_bytes!("../../examples/vendor_products/products.xlsx");

    fn create(status: &str) {
        demo_tables();
        let doc = doc_with(|v| v["status"] = json!(status));
        Spi::run_with_args("SELECT sc_create_connector($1)", &[doc.into()]).unwrap();
    }

    fn run_sql(sql: &str) -> i64 {
        Spi::get_one_with_args::<i64>(sql, &[WORKBOOK.into()]).unwrap().unwrap()
    }

    #[pg_test]
    fn sc_run_queues_an_execution_with_its_input_and_definition() {
        create("operational");
        let id = run_sql("SELECT sc_run('vendor_products', $1, 'products.xlsx', '{\"region\": \"US\"}')");
        let (status, trigger) = Spi::get_two_with_args::<String, String>(
            "SELECT status, trigger FROM sc.executions WHERE id = $1",
            &[id.into()],
        )
        .unwrap();
        assert_eq!(status.as_deref(), Some("queued"));
        assert_eq!(trigger.as_deref(), Some("manual"));
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM sc.executions WHERE id = {id} AND definition ->> 'api_name' = 'vendor_products'
                   AND params ->> 'region' = 'US' AND file_name = 'products.xlsx' AND file_size = {} AND run_as = current_user",
                WORKBOOK.len()
            )),
            1
        );
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM sc.execution_files WHERE execution_id = {id} AND kind = 'input' AND size = {}",
                WORKBOOK.len()
            )),
            1
        );
    }

    #[pg_test]
    fn a_connector_not_live_runs_only_dry() {
        create("setup");
        let err = expect_error(|| run_sql("SELECT sc_run('vendor_products', $1, 'products.xlsx')"));
        assert_eq!(err.sql_error_code(), PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);
        assert!(err.message().contains("is in status \"setup\""), "{}", err.message());
        assert!(err.hint().unwrap_or_default().contains("dry_run => true"));
        let id = run_sql("SELECT sc_run('vendor_products', $1, 'products.xlsx', dry_run => true)");
        assert_eq!(count(&format!("SELECT count(*) FROM sc.executions WHERE id = {id} AND dry_run")), 1);
    }

    #[pg_test(error = "connector \"vendor_products\" reads a spreadsheet, but no input was given")]
    fn a_spreadsheet_connector_needs_input() {
        create("operational");
        Spi::run("SELECT sc_run('vendor_products')").unwrap();
    }

    #[pg_test(error = "params: connector \"vendor_products\" has no parameter \"regoin\"")]
    fn unknown_parameters_are_refused() {
        create("operational");
        run_sql("SELECT sc_run('vendor_products', $1, 'p.xlsx', '{\"regoin\": \"US\"}')");
    }

    #[pg_test(error = "connector \"nope\" does not exist")]
    fn running_an_unknown_connector_names_it() {
        demo_tables();
        Spi::run("SELECT sc_run('nope')").unwrap();
    }

    #[pg_test]
    fn without_a_file_name_the_format_is_guessed_from_the_bytes() {
        create("operational");
        let id = run_sql("SELECT sc_run('vendor_products', $1)");
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM sc.executions WHERE id = {id} AND file_name = 'vendor_products.xlsx'"
            )),
            1
        );
    }

    #[pg_test]
    fn an_operator_runs_and_cancels_without_write_access_to_the_catalog() {
        create("operational");
        Spi::run("CREATE ROLE sc_t_runner NOLOGIN IN ROLE sc_operator").unwrap();
        Spi::run("SET LOCAL ROLE sc_t_runner").unwrap();
        let id = run_sql("SELECT sc_run('vendor_products', $1, 'products.xlsx')");
        assert_eq!(
            count(&format!("SELECT count(*) FROM sc.executions WHERE id = {id} AND started_by = 'sc_t_runner'")),
            1
        );
        assert_eq!(Spi::get_one::<bool>(&format!("SELECT sc_cancel({id})")).unwrap(), Some(true));
        assert_eq!(Spi::get_one::<String>(&format!("SELECT sc_wait({id})")).unwrap().as_deref(), Some("cancelled"));
        assert_eq!(Spi::get_one::<bool>(&format!("SELECT sc_cancel({id})")).unwrap(), Some(false));
        let err = expect_error(|| {
            Spi::run("INSERT INTO sc.executions (connector_api_name, definition, trigger, run_as) VALUES ('x', '{}', 'manual', 'postgres')")
        });
        assert!(err.message().contains("permission denied"), "{}", err.message());
    }

    #[pg_test(error = "permission denied for function sc_run")]
    fn a_role_without_sc_operator_cannot_run() {
        create("operational");
        Spi::run("CREATE ROLE sc_t_nobody NOLOGIN").unwrap();
        Spi::run("SET LOCAL ROLE sc_t_nobody").unwrap();
        run_sql("SELECT sc_run('vendor_products', $1, 'products.xlsx')");
    }

    #[pg_test]
    fn wait_and_report_name_what_is_missing() {
        let err = expect_error(|| Spi::run("SELECT sc_wait(424242)"));
        assert_eq!(err.message(), "execution 424242 does not exist");
        create("operational");
        let id = run_sql("SELECT sc_run('vendor_products', $1, 'products.xlsx')");
        let err = expect_error(|| Spi::run(&format!("SELECT sc_report({id})")));
        assert_eq!(err.message(), format!("execution {id} has no report yet (it is queued)"));
        let err = expect_error(|| Spi::run(&format!("SELECT sc_wait({id}, '0.2 seconds')")));
        assert_eq!(err.sql_error_code(), PgSqlErrorCode::ERRCODE_QUERY_CANCELED);
        assert!(err.message().contains("is still queued"), "{}", err.message());
    }

    #[pg_test]
    fn row_outcomes_read_back_one_row_per_row_and_step() {
        use crate::catalog::executions::{insert_rows, RowRecord};
        create("operational");
        let id = run_sql("SELECT sc_run('vendor_products', $1, 'products.xlsx')");
        let rec =
            |step: &str, n: i64, outcome: &'static str, record: Option<&str>, errors: &[&str], warnings: &[&str]| {
                RowRecord {
                    scope: "products".into(),
                    step: step.into(),
                    row_number: n,
                    outcome,
                    record_id: record.map(str::to_owned),
                    errors: errors.iter().map(|e| e.to_string()).collect(),
                    warnings: warnings.iter().map(|e| e.to_string()).collect(),
                    match_key: (!step.is_empty()).then(|| format!("sku = \"S-{n}\"")),
                    source: Some("products.xlsx!Products".into()),
                    line: Some(n + 1),
                }
            };
        insert_rows(
            id,
            &[
                rec("", 2, "invalid", None, &["sku: required", "price: not a number"], &[]),
                rec("products", 1, "created", Some("10"), &[], &[]),
                rec("products", 2, "failed", None, &["duplicate key"], &["name: blank"]),
                rec("products", 3, "unchanged", Some("12"), &[], &[]),
            ],
        )
        .unwrap();
        // Batches without any id or message store no array for them.
        insert_rows(id, &[rec("products", 4, "skipped", None, &[], &[])]).unwrap();
        let rows: Vec<String> = Spi::connect(|c| {
            c.select(
                &format!(
                    "SELECT concat_ws('|', step, row_number, outcome, record_id, errors::text, warnings::text, match_key)
                     FROM sc.execution_rows WHERE execution_id = {id} ORDER BY step, row_number"
                ),
                None,
                &[],
            )
            .unwrap()
            .map(|r| r.get::<String>(1).unwrap().unwrap())
            .collect()
        });
        assert_eq!(
            rows,
            [
                "|2|invalid|{\"sku: required\",\"price: not a number\"}",
                "products|1|created|10|sku = \"S-1\"",
                "products|2|failed|{\"duplicate key\"}|{\"name: blank\"}|sku = \"S-2\"",
                "products|3|unchanged|12|sku = \"S-3\"",
                "products|4|skipped|sku = \"S-4\"",
            ]
        );
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM sc.execution_row_batches WHERE execution_id = {id} AND record_ids IS NULL"
            )),
            2
        );
    }

    #[pg_test]
    fn deleting_a_connector_forgets_its_row_hashes() {
        use crate::catalog::loads::{has_hashes, store_hashes};
        create("operational");
        let connector =
            Spi::get_one::<i64>("SELECT id FROM sc.connectors WHERE api_name = 'vendor_products'").unwrap().unwrap();
        let hash = vec![7u8; 16];
        assert!(!has_hashes(connector, "s").unwrap(), "nothing stored yet");
        store_hashes(connector, "s", 1, vec![hash.clone()]).unwrap();
        store_hashes(-1, "s", 1, vec![hash.clone()]).unwrap();
        assert!(has_hashes(connector, "s").unwrap());
        assert!(!has_hashes(connector, "other").unwrap(), "per scope");
        Spi::run("SELECT sc_drop_connector('vendor_products')").unwrap();
        assert_eq!(count("SELECT count(*) FROM sc.row_hashes WHERE connector_id > 0"), 0);
        assert!(!has_hashes(connector, "s").unwrap(), "the scope is forgotten with its hashes");
        assert_eq!(count("SELECT count(*) FROM sc.row_hashes"), 1, "other connectors' hashes stay");
        assert!(has_hashes(-1, "s").unwrap());
    }

    #[pg_test]
    fn a_changed_definition_forgets_row_hashes_but_a_status_change_does_not() {
        use crate::catalog::loads::{has_hashes, store_hashes};
        create("operational");
        let connector =
            Spi::get_one::<i64>("SELECT id FROM sc.connectors WHERE api_name = 'vendor_products'").unwrap().unwrap();
        store_hashes(connector, "s", 1, vec![vec![7u8; 16]]).unwrap();
        let update = |edit: &dyn Fn(&mut serde_json::Value)| {
            let doc = doc_with(|v| edit(v));
            Spi::run_with_args("SELECT sc_update_connector('vendor_products', $1)", &[doc.into()]).unwrap();
        };
        update(&|v| v["status"] = json!("inactive"));
        assert!(has_hashes(connector, "s").unwrap(), "a status change keeps the store");
        assert_eq!(count("SELECT count(*) FROM sc.row_hashes WHERE connector_id > 0"), 1);
        update(&|v| v["description"] = json!("another definition"));
        assert!(!has_hashes(connector, "s").unwrap(), "a new definition empties the store");
        assert_eq!(count("SELECT count(*) FROM sc.row_hashes WHERE connector_id > 0"), 0);
    }
}
