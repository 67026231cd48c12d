//! SQL API for connectors (SPEC §8) and secrets (SPEC §3, §11).
use crate::error::OrRaise;
use crate::rules::{connectors, secrets};
use pgrx::prelude::*;
use pgrx::JsonB;

/// Saves a new connector from its document; returns its api_name.
#[pg_extern]
fn sc_create_connector(document: JsonB) -> String {
    connectors::create(&document.0).or_raise()
}

/// Replaces a connector's document (same api_name).
#[pg_extern]
fn sc_update_connector(api_name: &str, document: JsonB) {
    connectors::update(api_name, &document.0).or_raise()
}

/// The connector's document, as accepted by sc_import_connector.
#[pg_extern]
fn sc_export_connector(api_name: &str) -> JsonB {
    JsonB(connectors::export(api_name).or_raise())
}

/// Imports a document: on_conflict 'skip' (default) or 'replace'. Returns
/// {api_name, action, status, problems}.
#[pg_extern]
fn sc_import_connector(document: JsonB, on_conflict: default!(&str, "'skip'")) -> JsonB {
    JsonB(connectors::import(&document.0, on_conflict).or_raise())
}

/// Copies a connector under a new api_name (status setup); returns the new api_name.
#[pg_extern]
fn sc_duplicate_connector(api_name: &str, new_api_name: &str) -> String {
    connectors::duplicate(api_name, new_api_name).or_raise()
}

/// Removes a connector; its executions are kept.
#[pg_extern]
fn sc_drop_connector(api_name: &str) {
    connectors::drop_connector(api_name).or_raise()
}

/// Sets a connector's status: setup, operational, needs_attention or inactive.
#[pg_extern]
fn sc_set_status(api_name: &str, status: &str) {
    connectors::set_status(api_name, status).or_raise()
}

/// Creates or replaces a secret (a named collection for the SQL stage).
#[pg_extern]
fn sc_set_secret(name: &str, kind: &str, value: JsonB) {
    // The call's text may hold the value written inline: keep it out of the log.
    secrets::set(name, kind, &value.0).unwrap_or_else(|e| e.raise_without_statement())
}

/// Drops a secret; false when none had that name.
#[pg_extern]
fn sc_drop_secret(name: &str) -> bool {
    secrets::drop_secret(name).or_raise()
}
