//! Connector lifecycle rules: create, update, export, import, duplicate, drop, status.
//!
//! Every save parses and validates the whole document, then runs the
//! database-side checks, and reports all problems together. Nothing is
//! written unless the save as a whole is accepted.
use super::{checks, require_owner, require_role};
use crate::catalog::connectors::{self, Lock};
use crate::error::{ScError, ScResult};
use crate::postgres::current_role;
use crate::schedules;
use crate::webhooks::endpoints;
use sc_core::document::{parse_document, to_value, ConnectorDocument, Problem, Status};
use serde_json::{json, Value};

const ADMIN: &str = "sc_admin";
const OPERATOR: &str = "sc_operator";

/// Parses and validates a document; document problems are an error.
fn parse(value: &Value) -> ScResult<ConnectorDocument> {
    parse_document(value).map_err(ScError::InvalidDocument)
}

fn fail_on(problems: Vec<Problem>) -> ScResult<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ScError::InvalidDocument(problems))
    }
}

fn with_status(doc: &ConnectorDocument, status: Status) -> Value {
    let mut doc = doc.clone();
    doc.status = Some(status);
    to_value(&doc)
}

/// `sc_create_connector`: saves a new connector owned by the current role.
pub fn create(value: &Value) -> ScResult<String> {
    require_role(ADMIN, "creating a connector")?;
    let doc = parse(value)?;
    if connectors::find(&doc.api_name, Lock::None)?.is_some() {
        return Err(ScError::ConnectorExists(doc.api_name));
    }
    let owner = current_role()?;
    fail_on(checks::problems(&doc, &owner)?)?;
    connectors::insert(&with_status(&doc, doc.status()), &owner)?;
    endpoints::sync(&doc.api_name, Some(&doc))?;
    schedules::sync(&doc.api_name)?;
    Ok(doc.api_name)
}

/// `sc_update_connector`: replaces the document of an existing connector.
/// The api_name cannot change; an omitted status keeps the current one.
pub fn update(api_name: &str, value: &Value) -> ScResult<()> {
    require_role(ADMIN, "changing a connector")?;
    let stored = connectors::get(api_name, Lock::ForUpdate)?;
    require_owner(&stored.owner, api_name, "changing")?;
    let doc = parse(value)?;
    if doc.api_name != api_name {
        return Err(ScError::invalid_argument(
            format!("the document's api_name \"{}\" differs from \"{api_name}\"", doc.api_name),
            "api_name is the stable identifier; to rename, sc_duplicate_connector under the new name, then sc_drop_connector the old one.",
        ));
    }
    let status = match doc.status {
        Some(s) => s,
        None => status_of(&stored.status)?,
    };
    fail_on(checks::problems(&doc, &stored.owner)?)?;
    connectors::replace(stored.id, &with_status(&doc, status), None)?;
    endpoints::sync(api_name, Some(&doc))?;
    schedules::sync(api_name)
}

/// `sc_export_connector`: the document as stored, its status the current one.
pub fn export(api_name: &str) -> ScResult<Value> {
    require_role(OPERATOR, "exporting a connector")?;
    let stored = connectors::get(api_name, Lock::None)?;
    let doc = parse(&stored.document)?;
    Ok(with_status(&doc, status_of(&stored.status)?))
}

/// `sc_import_connector`: saves a document from elsewhere.
///
/// Document problems reject it. Database problems do not: the checks decide
/// the status, `operational` when they pass and `needs_attention` when they
/// do not (a document that says `setup` or `inactive` keeps that status).
/// An existing api_name is skipped or, with `replace`, overwritten, the
/// importing role becoming the owner.
pub fn import(value: &Value, on_conflict: &str) -> ScResult<Value> {
    require_role(ADMIN, "importing a connector")?;
    let replace = match on_conflict {
        "skip" => false,
        "replace" => true,
        other => {
            return Err(ScError::invalid_argument(
                format!("on_conflict \"{other}\" is not known"),
                "Use 'skip' (keep the existing connector) or 'replace'.",
            ))
        }
    };
    let doc = parse(value)?;
    let existing = connectors::find(&doc.api_name, Lock::ForUpdate)?;
    if let Some(stored) = &existing {
        if !replace {
            return Ok(json!({"api_name": doc.api_name, "action": "skipped", "status": stored.status, "problems": []}));
        }
        require_owner(&stored.owner, &doc.api_name, "replacing")?;
    }
    let owner = current_role()?;
    let problems = checks::problems(&doc, &owner)?;
    let status = match (doc.status(), problems.is_empty()) {
        (s @ (Status::Setup | Status::Inactive), _) => s,
        (_, true) => Status::Operational,
        (_, false) => Status::NeedsAttention,
    };
    let stored_doc = with_status(&doc, status);
    let action = match existing {
        Some(stored) => {
            connectors::replace(stored.id, &stored_doc, Some(&owner))?;
            "replaced"
        }
        None => {
            connectors::insert(&stored_doc, &owner)?;
            "created"
        }
    };
    endpoints::sync(&doc.api_name, Some(&doc))?;
    schedules::sync(&doc.api_name)?;
    Ok(json!({
        "api_name": doc.api_name,
        "action": action,
        "status": status.as_str(),
        "problems": serde_json::to_value(&problems).map_err(|e| ScError::Internal(e.to_string()))?,
    }))
}

/// `sc_duplicate_connector`: a copy under a new api_name, in status `setup`,
/// owned by the current role.
pub fn duplicate(api_name: &str, new_api_name: &str) -> ScResult<String> {
    require_role(ADMIN, "duplicating a connector")?;
    let stored = connectors::get(api_name, Lock::None)?;
    let mut value = stored.document.clone();
    value["api_name"] = Value::String(new_api_name.to_string());
    value["status"] = Value::String(Status::Setup.as_str().to_string());
    let doc = parse(&value)?;
    if connectors::find(new_api_name, Lock::None)?.is_some() {
        return Err(ScError::ConnectorExists(new_api_name.to_string()));
    }
    let owner = current_role()?;
    fail_on(checks::problems(&doc, &owner)?)?;
    connectors::insert(&to_value(&doc), &owner)?;
    endpoints::sync(&doc.api_name, Some(&doc))?;
    schedules::sync(&doc.api_name)?;
    Ok(doc.api_name)
}

/// `sc_drop_connector`: removes a connector; its executions stay, detached.
pub fn drop_connector(api_name: &str) -> ScResult<()> {
    require_role(ADMIN, "dropping a connector")?;
    let stored = connectors::get(api_name, Lock::ForUpdate)?;
    require_owner(&stored.owner, api_name, "dropping")?;
    let active = connectors::active_executions(stored.id)?;
    if active > 0 {
        return Err(ScError::InUse {
            message: format!("connector \"{api_name}\" has {active} queued or running execution(s)"),
            hint: "Cancel them with sc_cancel(id) (see sc.executions), then drop it.".into(),
        });
    }
    connectors::delete(stored.id)?;
    endpoints::sync(api_name, None)?;
    schedules::sync(api_name)
}

/// `sc_set_status`: moves a connector to another status. Moving to a status
/// that runs re-checks the document against the database.
pub fn set_status(api_name: &str, status: &str) -> ScResult<()> {
    require_role(ADMIN, "changing a connector's status")?;
    let new = status_of(status)?;
    let stored = connectors::get(api_name, Lock::ForUpdate)?;
    require_owner(&stored.owner, api_name, "changing the status of")?;
    let doc = parse(&stored.document)?;
    if matches!(new, Status::Operational | Status::NeedsAttention) {
        fail_on(checks::problems(&doc, &stored.owner)?)?;
    }
    connectors::replace(stored.id, &with_status(&doc, new), None)?;
    schedules::sync(api_name)
}

fn status_of(text: &str) -> ScResult<Status> {
    serde_json::from_value(Value::String(text.to_string())).map_err(|_| {
        ScError::invalid_argument(
            format!("status \"{text}\" is not known"),
            "Use setup, operational, needs_attention or inactive.",
        )
    })
}
