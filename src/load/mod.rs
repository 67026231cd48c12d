//! Load steps (SPEC §6): matching, mapping, relationships and chunked,
//! set-based writes through SPI, as the connector's owner.
pub mod chunk;
pub mod plan;
pub mod target;
pub mod values;
