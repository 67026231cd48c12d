//! Rows of `sc.connectors`: find, insert, replace, set status, delete.
//!
//! No ordinary role may write `sc.connectors` (not even sc_admin): every
//! write here runs as the catalog's owner after the caller's rights were
//! checked (`lifecycle`), and records the calling role as `created_by` /
//! `updated_by`.
use crate::error::{ScError, ScResult};
use crate::postgres::{as_superuser, current_role};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

/// A connector as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub status: String,
    pub owner: String,
    /// The document, its `status` key equal to `status`.
    pub document: Value,
}

impl Stored {
    /// `operational` or `needs_attention`: it runs live, and its schedule is active.
    pub fn is_live(&self) -> bool {
        matches!(self.status.as_str(), "operational" | "needs_attention")
    }
}

/// The columns derived from a document, kept in step with it.
pub struct Columns<'a> {
    pub api_name: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub kind: &'a str,
    pub status: &'a str,
}

impl<'a> Columns<'a> {
    /// Reads the columns from a document value that already passed validation.
    pub fn of(document: &'a Value) -> ScResult<Self> {
        let text = |key: &str| {
            document
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| ScError::Internal(format!("validated document has no string \"{key}\"")))
        };
        Ok(Columns {
            api_name: text("api_name")?,
            name: text("name")?,
            description: document.get("description").and_then(Value::as_str),
            kind: text("type")?,
            status: document.get("status").and_then(Value::as_str).unwrap_or("setup"),
        })
    }
}

/// Whether reading a connector locks its row until the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    None,
    /// `FOR UPDATE`: the caller is about to change or drop it.
    ForUpdate,
}

/// Looks a connector up by api_name, locking its row as `lock` says.
pub fn find(api_name: &str, lock: Lock) -> ScResult<Option<Stored>> {
    let for_update = lock == Lock::ForUpdate;
    let sql = if for_update {
        "SELECT id, status, owner::text, document FROM sc.connectors WHERE api_name = $1 FOR UPDATE"
    } else {
        "SELECT id, status, owner::text, document FROM sc.connectors WHERE api_name = $1"
    };
    // Locking a row needs UPDATE on the table, which only the owner has.
    let read = || {
        Spi::connect_mut(|client| {
            let table = client.update(sql, Some(1), &[api_name.into()])?;
            let Some(row) = table.into_iter().next() else { return Ok(None) };
            let get_text = |i: usize| -> ScResult<String> {
                row.get::<String>(i)?.ok_or_else(|| ScError::Internal("NULL in sc.connectors".into()))
            };
            let id = row.get::<i64>(1)?.ok_or_else(|| ScError::Internal("NULL id".into()))?;
            let document = row.get::<JsonB>(4)?.map(|j| j.0).unwrap_or(Value::Null);
            Ok(Some(Stored { id, status: get_text(2)?, owner: get_text(3)?, document }))
        })
    };
    if for_update {
        as_superuser(read)
    } else {
        read()
    }
}

/// Like [`find`], but a missing connector is an error naming it.
pub fn get(api_name: &str, lock: Lock) -> ScResult<Stored> {
    find(api_name, lock)?.ok_or_else(|| ScError::ConnectorNotFound(api_name.to_string()))
}

/// Inserts a new connector owned by `owner`; returns its id.
pub fn insert(document: &Value, owner: &str) -> ScResult<i64> {
    let c = Columns::of(document)?;
    let by = current_role()?;
    as_superuser(|| {
        Spi::get_one_with_args::<i64>(
            "INSERT INTO sc.connectors (api_name, name, description, type, status, document, owner, created_by, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7::name, $8::name, $8::name) RETURNING id",
            &[
                c.api_name.into(),
                c.name.into(),
                c.description.into(),
                c.kind.into(),
                c.status.into(),
                JsonB(document.clone()).into(),
                owner.into(),
                by.as_str().into(),
            ],
        )
    })?
    .ok_or_else(|| ScError::Internal("INSERT returned no id".into()))
}

/// Replaces the document (and the columns derived from it) of connector `id`.
/// `owner` replaces the owner when given.
///
/// A changed definition (anything but the status) also empties the
/// connector's diff-check store: rows remembered under the old definition
/// say nothing about what the new one would write.
pub fn replace(id: i64, document: &Value, owner: Option<&str>) -> ScResult<()> {
    let c = Columns::of(document)?;
    let doc = JsonB(document.clone());
    let by = current_role()?;
    as_superuser(|| {
        Spi::run_with_args(
            "WITH changed AS (
                 SELECT FROM sc.connectors
                  WHERE id = $1 AND (document - 'status') IS DISTINCT FROM ($2::jsonb - 'status')
             ), scopes AS (
                 DELETE FROM sc.row_hash_scopes WHERE connector_id = $1 AND EXISTS (SELECT FROM changed)
             )
             DELETE FROM sc.row_hashes WHERE connector_id = $1 AND EXISTS (SELECT FROM changed)",
            &[id.into(), doc.into()],
        )?;
        Spi::run_with_args(
            "UPDATE sc.connectors
                SET api_name = $2, name = $3, description = $4, type = $5, status = $6, document = $7,
                    owner = coalesce($8::name, owner), updated_at = now(), updated_by = $9::name
              WHERE id = $1",
            &[
                id.into(),
                c.api_name.into(),
                c.name.into(),
                c.description.into(),
                c.kind.into(),
                c.status.into(),
                JsonB(document.clone()).into(),
                owner.into(),
                by.as_str().into(),
            ],
        )
    })?;
    Ok(())
}

/// Deletes connector `id`; its executions stay, detached.
pub fn delete(id: i64) -> ScResult<()> {
    as_superuser(|| Spi::run_with_args("DELETE FROM sc.connectors WHERE id = $1", &[id.into()]))?;
    Ok(())
}

/// How many executions of connector `id` are queued or running.
pub fn active_executions(id: i64) -> ScResult<i64> {
    Ok(Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM sc.executions WHERE connector_id = $1 AND status IN ('queued', 'running')",
        &[id.into()],
    )?
    .unwrap_or(0))
}
