//! smartconnector: module list and `_PG_init`, nothing else.
use pgrx::prelude::*;

mod api;
mod catalog;
mod error;
mod exec;
mod gucs;
mod load;
mod postgres;
mod rules;
mod runner;
mod schedules;
mod webhooks;

::pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/catalog.sql", name = "catalog", bootstrap);
pgrx::extension_sql_file!("../sql/webhooks.sql", name = "webhooks", requires = ["catalog"]);
pgrx::extension_sql_file!("../sql/schedules.sql", name = "schedules", requires = ["catalog"]);
pgrx::extension_sql_file!("../sql/deliveries.sql", name = "deliveries", requires = ["catalog"]);
pgrx::extension_sql_file!("../sql/retention.sql", name = "retention", requires = ["catalog", "deliveries"]);
pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::register();
    runner::init();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'smartconnector'", "smartconnector.database = 'pgrx_tests'"]
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod tests;
