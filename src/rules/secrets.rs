//! `sc_set_secret` and `sc_drop_secret`: who may, and what a secret may be.
//!
//! sc_admin may read the `name` column only and write nothing directly; these
//! check the role and the secret, then `catalog::secrets` writes as the
//! catalog's owner. Messages name keys, never values.
use super::require_role;
use crate::catalog::secrets;
use crate::error::{ScError, ScResult};
use crate::postgres::current_role;
use serde_json::Value;

pub const KINDS: &[&str] = &["postgresql", "mysql", "s3", "url", "generic"];

/// Checks a secret before it is stored; messages name keys, never values.
pub fn check(name: &str, kind: &str, value: &Value) -> ScResult<()> {
    if !sc_core::document::is_identifier(name) || name.len() > sc_core::document::MAX_PG_IDENTIFIER {
        return Err(ScError::invalid_argument(
            format!("secret name \"{name}\" is not an identifier"),
            "Use letters, digits and _ (at most 63), not starting with a digit.",
        ));
    }
    if !KINDS.contains(&kind) {
        return Err(ScError::invalid_argument(
            format!("secret kind \"{kind}\" is not known"),
            format!("Use one of: {}.", KINDS.join(", ")),
        ));
    }
    let Some(map) = value.as_object() else {
        return Err(ScError::invalid_argument(
            format!("secret \"{name}\": value must be a JSON object of key/value pairs"),
            "For example {\"host\": \"db.example.com\", \"user\": \"u\", \"password\": \"…\"}.",
        ));
    };
    if map.is_empty() {
        return Err(ScError::invalid_argument(
            format!("secret \"{name}\": value has no keys"),
            "Give at least one key/value pair.",
        ));
    }
    for (key, v) in map {
        if !sc_core::document::is_identifier(key) {
            return Err(ScError::invalid_argument(
                format!("secret \"{name}\": key \"{key}\" is not an identifier"),
                "Keys become ClickHouse named-collection keys: use letters, digits and _, not starting with a digit (host, port, user, password, url, …).",
            ));
        }
        if !(v.is_string() || v.is_number() || v.is_boolean()) {
            return Err(ScError::invalid_argument(
                format!("secret \"{name}\": key \"{key}\" must hold a string, number or boolean"),
                "Nested objects and arrays are not supported in named collections.",
            ));
        }
    }
    Ok(())
}

/// `sc_set_secret`: creates or replaces a secret.
pub fn set(name: &str, kind: &str, value: &Value) -> ScResult<()> {
    require_role("sc_admin", "storing a secret")?;
    check(name, kind, value)?;
    secrets::store(name, kind, value, &current_role()?)
}

/// `sc_drop_secret`: drops a secret; false when there was none of that name.
pub fn drop_secret(name: &str) -> ScResult<bool> {
    require_role("sc_admin", "dropping a secret")?;
    secrets::delete(name)
}
