//! Grants of SPEC §11: who may define connectors and who may see secrets.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use super::super::{demo_tables, doc_with};
    use pgrx::prelude::*;

    fn as_role(role: &str) {
        Spi::run(&format!("SET LOCAL ROLE {role}")).unwrap();
    }

    #[pg_test(error = "permission denied for function sc_create_connector")]
    fn a_role_without_sc_admin_cannot_create_a_connector() {
        demo_tables();
        Spi::run("CREATE ROLE sc_t_plain NOLOGIN").unwrap();
        as_role("sc_t_plain");
        Spi::run_with_args("SELECT sc_create_connector($1)", &[doc_with(|_| {}).into()]).unwrap();
    }

    #[pg_test(error = "permission denied: creating a connector needs role sc_admin")]
    fn an_operator_cannot_create_a_connector_either() {
        demo_tables();
        Spi::run("CREATE ROLE sc_t_op NOLOGIN IN ROLE sc_operator").unwrap();
        Spi::run("GRANT EXECUTE ON FUNCTION sc_create_connector(jsonb) TO sc_t_op").unwrap();
        as_role("sc_t_op");
        Spi::run_with_args("SELECT sc_create_connector($1)", &[doc_with(|_| {}).into()]).unwrap();
    }

    #[pg_test(error = "permission denied for schema sc")]
    fn a_role_without_sc_admin_cannot_read_secrets() {
        Spi::run("SELECT sc_set_secret('crm', 'postgresql', '{\"host\": \"h\", \"password\": \"p\"}')").unwrap();
        Spi::run("CREATE ROLE sc_t_plain2 NOLOGIN").unwrap();
        as_role("sc_t_plain2");
        Spi::run("SELECT count(*) FROM sc.secrets").unwrap();
    }

    #[pg_test(error = "permission denied for table secrets")]
    fn even_an_admin_cannot_read_a_secret_value() {
        Spi::run("CREATE ROLE sc_t_admin NOLOGIN IN ROLE sc_admin").unwrap();
        as_role("sc_t_admin");
        Spi::run("SELECT sc_set_secret('crm', 'postgresql', '{\"host\": \"h\", \"password\": \"p\"}')").unwrap();
        let names = Spi::get_one::<i64>("SELECT count(name) FROM sc.secrets").unwrap();
        assert_eq!(names, Some(1), "an admin sees the names");
        Spi::run("SELECT value FROM sc.secrets").unwrap();
    }

    #[pg_test]
    fn an_admin_creates_connectors_owned_by_itself() {
        demo_tables();
        Spi::run("CREATE ROLE sc_t_admin2 NOLOGIN IN ROLE sc_admin").unwrap();
        Spi::run("GRANT SELECT, INSERT, UPDATE ON public.products, public.vendors TO sc_t_admin2").unwrap();
        Spi::run(
            "GRANT EXECUTE ON FUNCTION public.on_products_loaded(bigint, text, bigint[], bigint[]) TO sc_t_admin2",
        )
        .unwrap();
        as_role("sc_t_admin2");
        Spi::run_with_args("SELECT sc_create_connector($1)", &[doc_with(|_| {}).into()]).unwrap();
        let owner = Spi::get_one::<String>("SELECT owner::text FROM sc.connectors").unwrap();
        assert_eq!(owner.as_deref(), Some("sc_t_admin2"));
    }

    #[pg_test]
    fn secret_messages_never_contain_the_value() {
        let err = super::super::expect_error(|| {
            crate::rules::secrets::set("crm", "postgresql", &serde_json::json!({"password": {"nested": "hunter2"}}))
                .map_err(|e| e.raise())
        });
        assert!(err.message().contains("\"password\""));
        assert!(!err.message().contains("hunter2"));
    }
}
