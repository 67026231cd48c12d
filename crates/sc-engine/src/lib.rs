//! The supervised chDB engine: FFI, session, the engine process's run, and its supervisor.
//!
//! The PostgreSQL worker uses [`supervisor`] (pure std) to start the
//! `sc-engine` binary on a [`job::Job`]; the binary loads chDB through
//! [`ffi`] and [`session`] and runs the job with [`runner`]. chDB is never
//! loaded into a PostgreSQL process.

pub mod config;
pub mod error;
pub mod export;
pub mod ffi;
pub mod job;
pub mod mask;
pub use sc_core::rowbinary;
pub mod run;
pub mod sandbox;
pub mod session;
pub mod sql;
pub mod supervisor;

pub use error::Error;
pub use job::{Job, Limits, Manifest, Progress, Scope};
pub use supervisor::{Outcome, Running, Supervisor};
