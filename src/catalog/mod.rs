//! The only code that reads and writes `sc.*` tables. What a call may do is
//! decided above, in `rules`.
pub mod connectors;
pub mod deliveries;
pub mod executions;
pub mod loads;
pub mod secrets;
pub mod webhook_calls;
