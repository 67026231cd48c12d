//! Rows of `sc.secrets`: stored by sc_admin, never read back by any ordinary role.
//!
//! sc_admin may read the `name` column only and write nothing: `sc_set_secret`
//! and `sc_drop_secret` check the role, then write as the catalog's owner.
//! No message built here contains a value.
use crate::error::{ScError, ScResult};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

pub const KINDS: &[&str] = &["postgresql", "mysql", "s3", "url", "generic"];

/// Checks a secret before it is stored; messages name keys, never values.
pub fn check(name: &str, kind: &str, value: &Value) -> ScResult<()> {
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok {
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

/// Creates or replaces a secret.
pub fn set(name: &str, kind: &str, value: &Value) -> ScResult<()> {
    super::require_role("sc_admin", "storing a secret")?;
    check(name, kind, value)?;
    let by = super::current_role()?;
    crate::runner::as_superuser(|| {
        Spi::run_with_args(
            "INSERT INTO sc.secrets (name, kind, value, created_by) VALUES ($1, $2, $3, $4::name)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, value = excluded.value, updated_at = now()",
            &[name.into(), kind.into(), JsonB(value.clone()).into(), by.as_str().into()],
        )
    })?;
    Ok(())
}

/// Drops a secret; false when there was none of that name.
pub fn drop(name: &str) -> ScResult<bool> {
    super::require_role("sc_admin", "dropping a secret")?;
    crate::runner::as_superuser(|| {
        Spi::connect_mut(|client| {
            let n = client.update("DELETE FROM sc.secrets WHERE name = $1", None, &[name.into()])?.len();
            Ok(n > 0)
        })
    })
}

/// One stored secret, its values as text.
pub struct StoredSecret {
    pub name: String,
    pub kind: String,
    /// Key → value text (numbers and booleans as JSON text).
    pub pairs: Vec<(String, String)>,
}

/// Every secret, for the engine process only (read by the execution worker,
/// which runs as superuser).
pub fn all_for_engine() -> ScResult<Vec<StoredSecret>> {
    Spi::connect(|client| {
        let rows = client.select("SELECT name, kind, value FROM sc.secrets ORDER BY name", None, &[])?;
        let mut out = Vec::new();
        for row in rows {
            let name = row.get::<String>(1)?.unwrap_or_default();
            let kind = row.get::<String>(2)?.unwrap_or_default();
            let value = row.get::<JsonB>(3)?.map(|j| j.0).unwrap_or(Value::Null);
            let pairs = value
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            out.push(StoredSecret { name, kind, pairs });
        }
        Ok(out)
    })
}
