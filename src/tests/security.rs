//! Containment of sc_admin (docs/security.md): the catalog is written only
//! through the sc_* functions, a connector is changed only with its owner's
//! rights, limits have server-wide ceilings, and generated load SQL resolves
//! only system operators.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use super::super::{demo_tables, doc_with, expect_error};
    use pgrx::prelude::*;

    fn set_role(role: &str) {
        Spi::run(&format!("SET LOCAL ROLE {role}")).unwrap();
    }

    /// An sc_admin who may write the demo tables (so its connectors are operational).
    fn admin(name: &str) {
        if Spi::get_one::<bool>("SELECT to_regclass('public.products') IS NULL").unwrap().unwrap_or(true) {
            demo_tables();
        }
        Spi::run(&format!(
            "CREATE ROLE {name} NOLOGIN IN ROLE sc_admin;
             GRANT SELECT, INSERT, UPDATE ON public.products, public.vendors TO {name};
             GRANT EXECUTE ON FUNCTION public.on_products_loaded(bigint, text, bigint[], bigint[]) TO {name};"
        ))
        .unwrap();
    }

    /// The example connector, saved by the superuser running the tests.
    fn superuser_connector() {
        demo_tables();
        Spi::run_with_args("SELECT sc_create_connector($1)", &[doc_with(|_| {}).into()]).unwrap();
    }

    #[pg_test(error = "permission denied for table connectors")]
    fn an_admin_cannot_insert_a_connector_row() {
        admin("sc_t_sec1");
        set_role("sc_t_sec1");
        Spi::run(
            "INSERT INTO sc.connectors (api_name, name, type, document, owner)
             VALUES ('evil', 'evil', 'spreadsheet', '{}', 'postgres')",
        )
        .unwrap();
    }

    #[pg_test(error = "permission denied for table connectors")]
    fn an_admin_cannot_make_a_connector_run_as_the_superuser() {
        admin("sc_t_sec2");
        set_role("sc_t_sec2");
        Spi::run_with_args("SELECT sc_create_connector($1)", &[doc_with(|_| {}).into()]).ok();
        Spi::run("UPDATE sc.connectors SET owner = 'postgres'").unwrap();
    }

    #[pg_test(error = "permission denied for table connectors")]
    fn an_admin_cannot_delete_connector_rows() {
        superuser_connector();
        admin("sc_t_sec3");
        set_role("sc_t_sec3");
        Spi::run("DELETE FROM sc.connectors").unwrap();
    }

    #[pg_test(error = "permission denied for table secrets")]
    fn an_admin_cannot_write_secrets_directly() {
        admin("sc_t_sec4");
        set_role("sc_t_sec4");
        Spi::run("INSERT INTO sc.secrets (name, kind, value) VALUES ('x', 'url', '{}')").unwrap();
    }

    #[pg_test]
    fn changing_a_connector_needs_its_owners_rights() {
        superuser_connector();
        admin("sc_t_sec5");
        set_role("sc_t_sec5");
        type Attempt = (&'static str, Box<dyn Fn()>);
        let attempts: [Attempt; 4] = [
            (
                "changing",
                Box::new(|| {
                    Spi::run_with_args(
                        "SELECT sc_update_connector('vendor_products', $1)",
                        &[doc_with(|d| d["sql"] = "SELECT 1".into()).into()],
                    )
                    .unwrap()
                }),
            ),
            (
                "changing the status of",
                Box::new(|| Spi::run("SELECT sc_set_status('vendor_products', 'inactive')").unwrap()),
            ),
            ("dropping", Box::new(|| Spi::run("SELECT sc_drop_connector('vendor_products')").unwrap())),
            (
                "replacing",
                Box::new(|| {
                    Spi::run_with_args("SELECT sc_import_connector($1, 'replace')", &[doc_with(|_| {}).into()]).unwrap()
                }),
            ),
        ];
        for (action, attempt) in attempts {
            let e = crate::postgres::subtransaction(
                crate::postgres::Changes::RollBack,
                std::panic::AssertUnwindSafe(|| {
                    attempt();
                    Ok(())
                }),
            );
            assert_eq!(
                e,
                Err(format!(
                    "permission denied: {action} connector \"vendor_products\" needs the rights of its owner, role \"postgres\""
                ))
            );
        }
        Spi::run("RESET ROLE").unwrap();
        let (owner, sql) =
            Spi::get_two::<String, String>("SELECT owner::text, document ->> 'sql' FROM sc.connectors").unwrap();
        assert_eq!(owner.as_deref(), Some("postgres"));
        assert_ne!(sql.as_deref(), Some("SELECT 1"));
    }

    #[pg_test]
    fn a_member_of_the_owner_role_may_change_it_and_is_recorded() {
        admin("sc_t_team");
        Spi::run("CREATE ROLE sc_t_member NOLOGIN IN ROLE sc_t_team").unwrap();
        set_role("sc_t_team");
        Spi::run_with_args("SELECT sc_create_connector($1)", &[doc_with(|_| {}).into()]).unwrap();
        Spi::run("RESET ROLE").unwrap();
        set_role("sc_t_member");
        Spi::run("SELECT sc_set_status('vendor_products', 'inactive')").unwrap();
        Spi::run("RESET ROLE").unwrap();
        let row = Spi::get_three::<String, String, String>(
            "SELECT owner::text, created_by::text, updated_by::text FROM sc.connectors",
        )
        .unwrap();
        assert_eq!(row, (Some("sc_t_team".into()), Some("sc_t_team".into()), Some("sc_t_member".into())));
    }

    #[pg_test(error = "connector \"vendor_products\" has a queued or running execution")]
    fn a_connector_with_a_running_execution_cannot_be_deleted_by_anyone() {
        superuser_connector();
        Spi::run(
            "INSERT INTO sc.executions (connector_id, connector_api_name, definition, status, trigger, run_as)
             SELECT id, api_name, document, 'running', 'manual', owner FROM sc.connectors",
        )
        .unwrap();
        // Not even the catalog's owner, with a plain DELETE.
        Spi::run("DELETE FROM sc.connectors WHERE api_name = 'vendor_products'").unwrap();
    }

    #[pg_test]
    fn secrets_are_written_by_the_functions_and_keys_must_be_identifiers() {
        admin("sc_t_sec6");
        set_role("sc_t_sec6");
        Spi::run("SELECT sc_set_secret('crm', 'url', '{\"url\": \"http://h/x\", \"token\": \"abc\"}')").unwrap();
        Spi::run("SELECT sc_set_secret('crm', 'url', '{\"url\": \"http://h/y\"}')").unwrap();
        assert_eq!(super::super::count("SELECT count(*) FROM sc.secrets WHERE created_by = 'sc_t_sec6'"), 1);
        let e = crate::postgres::subtransaction(crate::postgres::Changes::RollBack, || {
            Spi::run("SELECT sc_set_secret('crm2', 'url', '{\"bad key\": \"hunter2\"}')").map_err(|e| e.to_string())
        });
        assert_eq!(e, Err("secret \"crm2\": key \"bad key\" is not an identifier".to_string()));
        assert!(Spi::get_one::<bool>("SELECT sc_drop_secret('crm')").unwrap().unwrap());
        Spi::run("RESET ROLE").unwrap();
        Spi::run("CREATE ROLE sc_t_sec7 NOLOGIN IN ROLE sc_operator").unwrap();
        Spi::run("GRANT EXECUTE ON FUNCTION sc_set_secret(text, text, jsonb) TO sc_t_sec7").unwrap();
        set_role("sc_t_sec7");
        let e = expect_error(|| Spi::run("SELECT sc_set_secret('x', 'url', '{\"url\": \"u\"}')").unwrap());
        assert_eq!(e.message(), "permission denied: storing a secret needs role sc_admin");
    }

    #[pg_test]
    fn connector_limits_may_lower_the_server_limits_but_never_exceed_them() {
        Spi::run(
            "SET smartconnector.sql_time_limit_s = 60; SET smartconnector.sql_memory_limit_mb = 1024;
             SET smartconnector.sql_threads = 2; SET smartconnector.sql_max_output_rows = 1000;
             SET smartconnector.sql_disk_limit_mb = 100",
        )
        .unwrap();
        let mut s = sc_core::document::Settings {
            sql_time_limit_s: Some(86_400),
            sql_memory_limit_mb: Some(16 << 40),
            sql_threads: Some(64),
            sql_max_output_rows: Some(u64::MAX),
            ..Default::default()
        };
        let high = crate::exec::sql_stage::limits(&s);
        assert_eq!(
            (high.time_s, high.memory_bytes, high.threads, high.max_output_rows, high.disk_bytes),
            (60, Some(1024 << 20), Some(2), 1000, Some(100 << 20))
        );
        s.sql_time_limit_s = Some(5);
        s.sql_memory_limit_mb = Some(64);
        s.sql_threads = Some(1);
        s.sql_max_output_rows = Some(10);
        let low = crate::exec::sql_stage::limits(&s);
        assert_eq!((low.time_s, low.memory_bytes, low.threads, low.max_output_rows), (5, Some(64 << 20), Some(1), 10));
        let defaults = crate::exec::sql_stage::limits(&Default::default());
        assert_eq!((defaults.time_s, defaults.threads), (60, Some(2)));
    }

    #[pg_test]
    fn generated_load_sql_never_resolves_a_planted_operator() {
        // A cluster where public is writable (upgraded from before PostgreSQL
        // 15): someone plants `=` for varchar, which the system lacks (it
        // compares varchar through text), so unqualified SQL would pick it.
        Spi::run(
            "CREATE TABLE public.codes (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, code varchar(20));
             INSERT INTO public.codes (code) VALUES ('a');
             CREATE FUNCTION public.planted_eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'planted operator ran as %', current_user; END $$;
             CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.planted_eq);
             CREATE ROLE sc_t_loader2 NOLOGIN; GRANT SELECT, INSERT, UPDATE ON public.codes TO sc_t_loader2;",
        )
        .unwrap();
        // The trap works for unqualified SQL under the configured search_path ...
        let e = crate::postgres::subtransaction(crate::postgres::Changes::RollBack, || {
            Spi::run("SELECT count(*) FROM public.codes WHERE code = 'a'::varchar").map_err(|e| e.to_string())
        });
        assert!(e.as_ref().is_err_and(|m| m.starts_with("planted operator ran")), "{e:?}");
        // ... and the load step, planned and run as the worker does, never springs it.
        let doc = sc_core::document::parse_document(&serde_json::json!({
            "api_name": "t", "name": "t", "type": "spreadsheet", "variables": [{"name": "code", "type": "string"}],
            "load_steps": [{"name": "s", "table": "codes", "match": [{"columns": {"code": "code"}}],
                            "map": [{"column": "code", "variable": "code"}]}]
        }))
        .unwrap();
        let role = Spi::get_one::<pg_sys::Oid>("SELECT 'sc_t_loader2'::regrole::oid").unwrap().unwrap();
        let rows = vec![
            crate::load::chunk::Row { rn: 1, valid: true, errors: None, vals: vec![Some("a".into())], place: None },
            crate::load::chunk::Row { rn: 2, valid: true, errors: None, vals: vec![Some("b".into())], place: None },
        ];
        let out = crate::postgres::as_role_pinned(role, || {
            let p = crate::load::plan::plan(&doc, &doc.load_steps[0], "s", &["code".into()], &[]).expect("plan");
            crate::load::chunk::process(
                &p,
                &rows,
                &crate::load::chunk::EntityIds::new(),
                &|_| false,
                crate::postgres::Changes::Keep,
                &mut Default::default(),
            )
        });
        let got: Vec<_> = out.iter().map(|o| (o.outcome.as_str(), o.errors.clone())).collect();
        assert_eq!(got, [("unchanged", Vec::<String>::new()), ("created", vec![])]);
    }
}
