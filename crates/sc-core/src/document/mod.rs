//! The connector document (SPEC §8): model, parsing, validation and type
//! compatibility, with every problem named by its path in the document.
//!
//! ```text
//! JSON ──parse_document──► ConnectorDocument ──to_value──► JSON
//!            │ serde shape errors, then ConnectorDocument::validate
//!            ▼
//!        Vec<Problem>  (path, message, hint)
//! ```
//!
//! Checks that need the database (tables, columns and functions exist,
//! [`value_fits`] for each map rule) belong to the extension; everything
//! else is checked here.

mod compat;
mod identifiers;
mod model;
mod parse;
mod problem;
mod scopes;
mod settings;
mod steps;
mod validate;

#[cfg(test)]
mod tests;

pub use compat::{value_fits, PgColumn};
pub use identifiers::{is_api_name, is_identifier, QualifiedName, MAX_PG_IDENTIFIER};
pub use model::{
    ArchivedAction, Conflict, ConnectorDocument, ConnectorType, HmacAlgorithm, LoadStep, Lookup, ManyMatchesAction,
    MapRule, MapSource, MatchKey, MatchRule, NoMatchAction, OneMatchAction, Overlap, Reference, Settings,
    SignatureEncoding, SignatureScheme, Status, Variable, VariableType, WebhookSignature, DEFAULT_SEPARATOR,
};
pub use parse::{parse_document, to_value};
pub use problem::{Problem, ROOT};
pub use settings::{check_http_url, check_schedule};
pub use steps::ENTITY_ID;

/// The SPEC §8.1 example document, for tests and the demo.
pub const EXAMPLE_VENDOR_PRODUCTS: &str = include_str!("../../../../examples/vendor_products/connector.json");
