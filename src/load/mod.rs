//! Load steps (SPEC §6): matching, mapping, relationships and chunked,
//! set-based writes through SPI, as the connector's owner.
//!
//! `plan` turns a step into what running it needs (`target` reads the
//! tables); `chunk` conducts one chunk through `relations`, `matching` and
//! `write`, whose statements `sql` builds and `spi` runs, with `fallback`
//! retrying a failed statement row by row, and `seen` keeping the match
//! keys the repeated-key check has seen.
pub mod chunk;
mod fallback;
mod matching;
pub mod plan;
mod relations;
mod rows;
pub mod seen;
pub(crate) mod spi;
mod sql;
pub mod target;
pub mod values;
mod write;
