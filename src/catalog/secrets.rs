//! Rows of `sc.secrets`: written here as the catalog's owner (the caller's
//! rights were checked in `rules::secrets`), read back only for the engine.
//! No message built here contains a value.
use crate::error::ScResult;
use crate::postgres::as_superuser;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// Creates or replaces a secret, recording `by` as the role that created it.
pub fn store(name: &str, kind: &str, value: &Value, by: &str) -> ScResult<()> {
    as_superuser(|| {
        Spi::run_with_args(
            "INSERT INTO sc.secrets (name, kind, value, created_by) VALUES ($1, $2, $3, $4::name)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, value = excluded.value, updated_at = now()",
            &[name.into(), kind.into(), JsonB(value.clone()).into(), by.into()],
        )
    })?;
    Ok(())
}

/// Deletes a secret; false when there was none of that name.
pub fn delete(name: &str) -> ScResult<bool> {
    as_superuser(|| {
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

/// The HMAC key a webhook signature names: the secret's `key` value, else
/// its only value; None when there is no such secret (or no such value).
/// Read as the catalog's owner, for the ingest function only.
pub fn signing_key(name: &str) -> ScResult<Option<String>> {
    let value = as_superuser(|| {
        Spi::connect(|client| {
            let rows = client.select("SELECT value FROM sc.secrets WHERE name = $1", Some(1), &[name.into()])?;
            match rows.into_iter().next() {
                Some(row) => row.get::<JsonB>(1),
                None => Ok(None),
            }
        })
    })?;
    let Some(Value::Object(map)) = value.map(|j| j.0) else { return Ok(None) };
    let chosen = match map.get("key") {
        Some(v) => Some(v),
        None if map.len() == 1 => map.values().next(),
        None => None,
    };
    Ok(chosen.map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
}
