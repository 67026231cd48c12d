//! smartconnector's pure-Rust core: everything that needs no PostgreSQL and no engine.

pub mod artifacts;
pub mod cron;
pub mod document;
pub mod ended;
pub mod execution;
pub mod failed_rows;
pub mod input;
pub mod input_names;
pub mod load;
pub mod readers;
pub mod report;
pub mod rowbinary;
pub mod signature;
pub mod types;
pub mod variables;
