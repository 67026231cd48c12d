//! `#[pg_test]`s: the SQL API, its error contract and the grants, inside PostgreSQL.
mod connectors;
mod executions;
mod load;
mod operations;
mod postgres;
mod roles;
mod security;
mod states;

use pgrx::pg_sys::panic::{CaughtError, ErrorReportWithLevel};
use pgrx::prelude::*;

/// The bundled SPEC §8.1 document and the tables it loads into.
pub const DOC: &str = include_str!("../../examples/vendor_products/connector.json");
pub const SCHEMA: &str = include_str!("../../examples/vendor_products/schema.sql");

/// Creates the demo tables (the extension itself is already installed).
pub fn demo_tables() {
    let without_extension: String =
        SCHEMA.lines().filter(|l| !l.starts_with("CREATE EXTENSION")).collect::<Vec<_>>().join("\n");
    Spi::run(&without_extension).expect("demo schema");
}

/// The example document, edited by `f`.
pub fn doc_with(f: impl FnOnce(&mut serde_json::Value)) -> pgrx::JsonB {
    let mut v: serde_json::Value = serde_json::from_str(DOC).expect("example parses");
    f(&mut v);
    pgrx::JsonB(v)
}

/// Runs `f`, which must raise an ERROR from this extension, and returns that error.
pub fn expect_error<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> ErrorReportWithLevel {
    PgTryBuilder::new(|| {
        f();
        panic!("expected an ERROR, but the call succeeded");
    })
    .catch_others(|e| match e {
        CaughtError::ErrorReport(r) | CaughtError::PostgresError(r) => r,
        CaughtError::RustPanic { ereport, .. } => ereport,
    })
    .execute()
}

pub fn count(sql: &str) -> i64 {
    Spi::get_one::<i64>(sql).expect("count query").unwrap_or(0)
}
