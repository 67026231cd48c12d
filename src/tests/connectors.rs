//! Connector API behaviour and error contract.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use super::super::{count, demo_tables, doc_with, expect_error, DOC};
    use pgrx::prelude::*;
    use pgrx::{JsonB, PgSqlErrorCode};
    use serde_json::{json, Value};

    fn create(doc: JsonB) -> String {
        Spi::get_one_with_args::<String>("SELECT sc_create_connector($1)", &[doc.into()])
            .expect("spi")
            .expect("api_name")
    }

    fn export(api_name: &str) -> Value {
        Spi::get_one_with_args::<JsonB>("SELECT sc_export_connector($1)", &[api_name.into()])
            .expect("spi")
            .expect("document")
            .0
    }

    #[pg_test]
    fn create_saves_the_document_and_export_returns_it() {
        demo_tables();
        assert_eq!(create(doc_with(|_| {})), "vendor_products");
        let (status, owner) = Spi::get_two::<String, String>(
            "SELECT status, owner::text FROM sc.connectors WHERE api_name = 'vendor_products'",
        )
        .unwrap();
        assert_eq!(status.as_deref(), Some("operational"));
        assert_eq!(owner, Spi::get_one::<String>("SELECT current_user::text").unwrap());
        // As written, less the two `null` settings (an omitted setting means the server default).
        let mut original: Value = serde_json::from_str(DOC).unwrap();
        let settings = original["settings"].as_object_mut().unwrap();
        assert_eq!(settings.remove("ended_webhook"), Some(Value::Null));
        assert_eq!(settings.remove("schedule"), Some(Value::Null));
        assert_eq!(export("vendor_products"), original);
    }

    #[pg_test]
    fn an_invalid_document_lists_every_problem_and_saves_nothing() {
        demo_tables();
        let bad = doc_with(|v| {
            v["variables"][0]["type"] = json!("money");
            v["load_steps"][1]["match"][0]["columns"]["sku"] = json!("no_such_variable");
            v["settings"]["chunk_size"] = json!(0);
        });
        let err = expect_error(|| crate::rules::connectors::create(&bad.0).map_err(|e| e.raise()));
        assert_eq!(err.sql_error_code(), PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE);
        assert!(err.message().starts_with("connector document is invalid"), "{}", err.message());
        let detail = err.detail().unwrap_or_default();
        assert!(detail.contains("variables[0].type"), "{detail}");
        assert!(err.hint().is_some());
        assert_eq!(count("SELECT count(*) FROM sc.connectors"), 0);
    }

    #[pg_test]
    fn validation_problems_come_back_together_with_database_problems() {
        demo_tables();
        let bad = doc_with(|v| {
            v["load_steps"][1]["match"][0]["columns"] = json!({"sku": "no_such_variable"});
            v["load_steps"][0]["table"] = json!("public.no_such_table");
        });
        // Document problems are reported first; fix them and the database ones appear.
        let err = expect_error(|| crate::rules::connectors::create(&bad.0).map_err(|e| e.raise()));
        assert!(err.detail().unwrap_or_default().contains("load_steps[1].match[0].columns.sku"));
        let db_bad = doc_with(|v| {
            v["load_steps"][0]["table"] = json!("public.no_such_table");
            v["load_steps"][1]["map"][1]["column"] = json!("no_such_column");
            v["load_steps"][1]["map"][2]["column"] = json!("archived");
            v["load_steps"][1]["after_load"] = json!("public.no_such_function");
        });
        let err = expect_error(|| crate::rules::connectors::create(&db_bad.0).map_err(|e| e.raise()));
        let detail = err.detail().unwrap_or_default();
        for path in [
            "load_steps[0].table",
            "load_steps[1].map[1].column",
            "load_steps[1].map[2].variable",
            "load_steps[1].after_load",
        ] {
            assert!(detail.contains(path), "{path} missing in:\n{detail}");
        }
        assert!(detail.contains("does not fit"), "{detail}");
        assert_eq!(count("SELECT count(*) FROM sc.connectors"), 0);
    }

    #[pg_test]
    fn an_unmapped_not_null_column_and_a_missing_privilege_are_problems() {
        demo_tables();
        Spi::run("ALTER TABLE public.products ADD COLUMN region text NOT NULL").unwrap();
        Spi::run("CREATE ROLE sc_t_owner NOLOGIN IN ROLE sc_admin; GRANT SELECT, UPDATE ON public.products, public.vendors TO sc_t_owner").unwrap();
        Spi::run("SET LOCAL ROLE sc_t_owner").unwrap();
        let err = expect_error(|| crate::rules::connectors::create(&doc_with(|_| {}).0).map_err(|e| e.raise()));
        Spi::run("RESET ROLE").unwrap();
        let detail = err.detail().unwrap_or_default();
        assert!(detail.contains("column \"region\""), "{detail}");
        assert!(detail.contains("lacks INSERT on products"), "{detail}");
        assert!(detail.contains("GRANT INSERT ON products TO sc_t_owner"), "{detail}");
    }

    #[pg_test(error = "connector \"vendor_products\" already exists")]
    fn creating_twice_is_an_error() {
        demo_tables();
        create(doc_with(|_| {}));
        create(doc_with(|_| {}));
    }

    #[pg_test]
    fn update_replaces_the_document_and_keeps_the_api_name() {
        demo_tables();
        create(doc_with(|_| {}));
        let changed = doc_with(|v| {
            v["name"] = json!("Renamed");
            v.as_object_mut().unwrap().remove("status");
        });
        Spi::run_with_args("SELECT sc_update_connector('vendor_products', $1)", &[changed.into()]).unwrap();
        let exported = export("vendor_products");
        assert_eq!(exported["name"], "Renamed");
        assert_eq!(exported["status"], "operational", "an omitted status keeps the current one");
        let renamed = doc_with(|v| v["api_name"] = json!("other"));
        let err =
            expect_error(|| crate::rules::connectors::update("vendor_products", &renamed.0).map_err(|e| e.raise()));
        assert!(err.message().contains("differs"), "{}", err.message());
    }

    #[pg_test(error = "connector \"nope\" does not exist")]
    fn exporting_a_missing_connector_is_an_error() {
        export("nope");
    }

    #[pg_test]
    fn import_skips_or_replaces_and_the_checks_decide_the_status() {
        // No tables yet: saved, but needs attention, with the problems listed.
        let r = Spi::get_one_with_args::<JsonB>("SELECT sc_import_connector($1)", &[doc_with(|_| {}).into()])
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(r["action"], "created");
        assert_eq!(r["status"], "needs_attention");
        assert!(!r["problems"].as_array().unwrap().is_empty());
        // Skip keeps what is there.
        let r = Spi::get_one_with_args::<JsonB>("SELECT sc_import_connector($1, 'skip')", &[doc_with(|_| {}).into()])
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(r["action"], "skipped");
        // With the tables in place, replace makes it operational.
        demo_tables();
        let r =
            Spi::get_one_with_args::<JsonB>("SELECT sc_import_connector($1, 'replace')", &[doc_with(|_| {}).into()])
                .unwrap()
                .unwrap()
                .0;
        assert_eq!(r["action"], "replaced");
        assert_eq!(r["status"], "operational");
        assert_eq!(r["problems"], json!([]));
        let err =
            expect_error(|| crate::rules::connectors::import(&doc_with(|_| {}).0, "merge").map_err(|e| e.raise()));
        assert!(err.message().contains("on_conflict \"merge\""));
    }

    #[pg_test]
    fn export_then_import_then_export_is_the_same_document() {
        demo_tables();
        create(doc_with(|_| {}));
        let first = export("vendor_products");
        Spi::run("SELECT sc_drop_connector('vendor_products')").unwrap();
        assert_eq!(count("SELECT count(*) FROM sc.connectors"), 0);
        Spi::run_with_args("SELECT sc_import_connector($1)", &[JsonB(first.clone()).into()]).unwrap();
        assert_eq!(export("vendor_products"), first);
    }

    #[pg_test]
    fn duplicate_copies_under_a_new_name_in_setup() {
        demo_tables();
        create(doc_with(|_| {}));
        Spi::run("SELECT sc_duplicate_connector('vendor_products', 'vendor_products_copy')").unwrap();
        let copy = export("vendor_products_copy");
        assert_eq!(copy["api_name"], "vendor_products_copy");
        assert_eq!(copy["status"], "setup");
        assert_eq!(copy["load_steps"], export("vendor_products")["load_steps"]);
        let err =
            expect_error(|| crate::rules::connectors::duplicate("vendor_products", "Bad Name").map_err(|e| e.raise()));
        assert!(err.detail().unwrap_or_default().contains("api_name"));
    }

    #[pg_test]
    fn set_status_checks_before_a_connector_may_run() {
        demo_tables();
        create(doc_with(|v| v["status"] = json!("setup")));
        Spi::run("SELECT sc_set_status('vendor_products', 'inactive')").unwrap();
        assert_eq!(export("vendor_products")["status"], "inactive");
        Spi::run("ALTER TABLE public.products RENAME COLUMN price TO price_eur").unwrap();
        let err = expect_error(|| {
            crate::rules::connectors::set_status("vendor_products", "operational").map_err(|e| e.raise())
        });
        assert!(err.detail().unwrap_or_default().contains("column \"price\" does not exist"));
        let err =
            expect_error(|| crate::rules::connectors::set_status("vendor_products", "live").map_err(|e| e.raise()));
        assert!(err.message().contains("status \"live\" is not known"));
    }

    #[pg_test]
    fn drop_keeps_executions_and_refuses_while_one_is_active() {
        demo_tables();
        create(doc_with(|_| {}));
        Spi::run(
            "INSERT INTO sc.executions (connector_id, connector_api_name, definition, trigger, run_as)
             SELECT id, api_name, document, 'manual', owner FROM sc.connectors",
        )
        .unwrap();
        let err = expect_error(|| crate::rules::connectors::drop_connector("vendor_products").map_err(|e| e.raise()));
        assert_eq!(err.sql_error_code(), PgSqlErrorCode::ERRCODE_OBJECT_IN_USE);
        Spi::run("UPDATE sc.executions SET status = 'succeeded'").unwrap();
        Spi::run("SELECT sc_drop_connector('vendor_products')").unwrap();
        assert_eq!(count("SELECT count(*) FROM sc.connectors"), 0);
        assert_eq!(count("SELECT count(*) FROM sc.executions WHERE connector_id IS NULL"), 1);
    }
}
