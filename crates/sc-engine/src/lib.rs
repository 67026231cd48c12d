//! The supervised chDB engine: FFI, session, supervisor.

pub mod ffi;
pub mod session;
