//! Every `#[pg_extern]`: parse arguments, call one function, raise its error.
pub mod connectors;
pub mod executions;
pub mod internal;
