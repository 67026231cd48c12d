//! What role switching (`crate::postgres::roles`) promises: the code runs as
//! the role, with its privileges and row-level security, under the right
//! `search_path`; and afterwards the session is as it was, also when the
//! code raised an ERROR.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use crate::postgres::{as_role, as_role_pinned, as_superuser, subtransaction, Changes};
    use pgrx::prelude::*;

    fn oid(role: &str) -> pg_sys::Oid {
        Spi::get_one_with_args::<pg_sys::Oid>("SELECT $1::regrole::oid", &[role.into()]).unwrap().unwrap()
    }

    fn text(sql: &str) -> String {
        Spi::get_one::<String>(sql).unwrap().unwrap_or_default()
    }

    fn setup() -> pg_sys::Oid {
        Spi::run(
            "CREATE ROLE sc_t_switch NOLOGIN;
             CREATE TABLE public.switch_rows (id int PRIMARY KEY, region text);
             INSERT INTO public.switch_rows VALUES (1, 'EU'), (2, 'US');
             ALTER TABLE public.switch_rows ENABLE ROW LEVEL SECURITY;
             CREATE POLICY only_eu ON public.switch_rows FOR SELECT USING (region = 'EU');
             GRANT SELECT ON public.switch_rows TO sc_t_switch;
             CREATE TABLE public.switch_secret (x int);",
        )
        .unwrap();
        oid("sc_t_switch")
    }

    #[pg_test]
    fn as_role_runs_with_the_roles_rights_and_restores_the_session() {
        let role = setup();
        let before = (text("SELECT current_user::text"), text("SELECT current_setting('search_path')"));
        let (user, visible, denied) = as_role(role, || {
            let user = text("SELECT current_user::text");
            // Row-level security applies (the superuser would see both rows).
            let visible = Spi::get_one::<i64>("SELECT count(*) FROM public.switch_rows").unwrap().unwrap();
            // A table it has no privilege on is refused.
            let denied = subtransaction(Changes::RollBack, || {
                Spi::run("SELECT * FROM public.switch_secret").map_err(|e| e.to_string())
            });
            (user, visible, denied)
        });
        assert_eq!(user, "sc_t_switch");
        assert_eq!(visible, 1);
        assert_eq!(denied, Err("permission denied for table switch_secret".to_string()));
        assert_eq!((text("SELECT current_user::text"), text("SELECT current_setting('search_path')")), before);
    }

    #[pg_test]
    fn the_session_is_restored_when_the_code_raises() {
        let role = setup();
        let before = (text("SELECT current_user::text"), text("SELECT current_setting('search_path')"));
        let result = subtransaction(Changes::RollBack, || {
            as_role_pinned(role, || Spi::run("SELECT 1 / 0").map_err(|e| e.to_string()))
        });
        assert_eq!(result, Err("division by zero".to_string()));
        assert_eq!((text("SELECT current_user::text"), text("SELECT current_setting('search_path')")), before);
    }

    #[pg_test]
    fn settings_changed_inside_are_undone() {
        let role = setup();
        as_role(role, || {
            Spi::run("SELECT set_config('work_mem', '7MB', false)").unwrap();
            assert_eq!(text("SELECT current_setting('work_mem')"), "7MB");
        });
        assert_ne!(text("SELECT current_setting('work_mem')"), "7MB");
    }

    #[pg_test]
    fn each_switch_has_its_search_path() {
        let role = setup();
        let pinned = as_role_pinned(role, || text("SELECT current_setting('search_path')"));
        assert_eq!(pinned, "pg_catalog, pg_temp");
        let catalog =
            as_superuser(|| (text("SELECT current_user::text"), text("SELECT current_setting('search_path')")));
        assert_eq!(catalog.1, "pg_catalog, pg_temp");
        assert_eq!(catalog.0, text("SELECT rolname::text FROM pg_roles WHERE oid = 10"));
        let owner = as_role(role, || text("SELECT current_setting('search_path')"));
        assert_eq!(owner, "\"$user\", public");
    }
}
