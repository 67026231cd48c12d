//! Document validation: the header, parameters, references, scopes and
//! variables; load steps and settings have their own files.
//!
//! Validation never stops at the first problem: it collects every problem
//! it can find, each with its path and, where the user can act, a hint.

use std::collections::BTreeMap;

use super::identifiers::{is_api_name, is_identifier, QualifiedName};
use super::model::{ConnectorDocument, ConnectorType, VariableType};
use super::problem::{field, index, key, table_problem, Problem};
use super::scopes::Scopes;
use super::{settings, steps};

impl ConnectorDocument {
    /// Every problem in the document; empty when it is valid.
    ///
    /// This checks what can be checked without a database. Whether tables,
    /// columns and functions exist and whether types fit (see
    /// [`super::compat`]) is checked by the extension when it saves.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        check_header(self, &mut out);
        check_parameters(self, &mut out);
        check_references(self, &mut out);
        let scopes = Scopes::of(self);
        check_scopes(self, &scopes, &mut out);
        check_variables(self, &mut out);
        steps::check_steps(self, &scopes, &mut out);
        settings::check_settings(&self.settings, &mut out);
        out
    }
}

fn check_header(doc: &ConnectorDocument, out: &mut Vec<Problem>) {
    if !is_api_name(&doc.api_name) {
        out.push(
            Problem::new("api_name", format!("`{}` is not a valid api_name", doc.api_name))
                .with_hint("start with a lower-case letter, then up to 62 lower-case letters, digits or _"),
        );
    }
    if doc.name.trim().is_empty() {
        out.push(Problem::new("name", "name must not be empty").with_hint("give the connector a display name"));
    }
    if doc.settings.schedule.is_some() {
        let at = field("settings", "schedule");
        match doc.connector_type {
            ConnectorType::Scheduler => {}
            ConnectorType::Spreadsheet => out.push(
                Problem::new(&at, "a spreadsheet connector cannot be scheduled: each run needs a file to read")
                    .with_hint(
                    "run it with sc_run and a file, or make it a scheduler connector (its SQL reads reference tables)",
                ),
            ),
            ConnectorType::Webhook => out.push(
                Problem::new(&at, "a webhook connector runs on its cadence, not on a schedule")
                    .with_hint("remove schedule; settings.cadence says how often its calls become a batch"),
            ),
        }
    }
    if doc.settings.webhook_signature.is_some() {
        let at = field("settings", "webhook_signature");
        if doc.connector_type != ConnectorType::Webhook {
            out.push(
                Problem::new(&at, format!("a {} connector takes no webhook calls", doc.connector_type))
                    .with_hint("remove webhook_signature, or make the connector type webhook"),
            );
        } else if doc.api_name == "webhook" {
            out.push(
                Problem::new(&at, "a connector named `webhook` cannot have a signed endpoint")
                    .with_hint("/rpc/webhook is the endpoint for senders with a token: choose another api_name"),
            );
        }
    }
    match (&doc.sql, doc.connector_type) {
        (None, ConnectorType::Webhook) => out.push(
            Problem::new("sql", "a webhook connector requires sql")
                .with_hint("add SQL that reads input.webhooks and creates one table in database output per scope"),
        ),
        (Some(sql), _) if sql.trim().is_empty() => {
            let hint = if doc.connector_type == ConnectorType::Webhook {
                "a webhook connector needs SQL that creates its output tables"
            } else {
                "omit sql for a pass-through connector"
            };
            out.push(Problem::new("sql", "sql is empty").with_hint(hint));
        }
        _ => {}
    }
}

fn check_parameters(doc: &ConnectorDocument, out: &mut Vec<Problem>) {
    for (name, value) in &doc.parameters {
        let path = key("parameters", name);
        if !is_identifier(name) {
            out.push(
                Problem::new(&path, format!("`{name}` is not a valid parameter name"))
                    .with_hint("use letters, digits and _, not starting with a digit"),
            );
        }
        if !is_scalar(value) {
            out.push(
                Problem::new(
                    &path,
                    format!("parameter value must be a string, number or boolean, not {}", json_kind(value)),
                )
                .with_hint("parameters reach the SQL as text; encode lists or objects as a string"),
            );
        }
    }
}

fn check_references(doc: &ConnectorDocument, out: &mut Vec<Problem>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in doc.reference.iter().enumerate() {
        let path = index("reference", i);
        if !is_identifier(&r.name) {
            out.push(
                Problem::new(field(&path, "name"), format!("`{}` is not a valid reference name", r.name))
                    .with_hint("the SQL reads it as pg.<name>: use letters, digits and _"),
            );
        } else if let Some(first) = seen.insert(&r.name, i) {
            seen.insert(&r.name, first);
            out.push(
                Problem::new(
                    field(&path, "name"),
                    format!("duplicate reference name `{}` (also reference[{first}])", r.name),
                )
                .with_hint("give each reference table its own name"),
            );
        }
        match (&r.table, &r.query) {
            (Some(_), Some(_)) => out.push(
                Problem::new(&path, "a reference takes either table or query, not both")
                    .with_hint("remove one of them"),
            ),
            (None, None) => out.push(
                Problem::new(&path, "a reference needs table or query")
                    .with_hint("add \"table\": \"schema.table\" or \"query\": \"SELECT …\""),
            ),
            _ => {}
        }
        if let Some(table) = &r.table {
            if let Err(why) = QualifiedName::parse(table) {
                out.push(table_problem(&field(&path, "table"), table, &why));
            }
        }
        if let Some(query) = &r.query {
            if !is_read_query(query) {
                out.push(
                    Problem::new(field(&path, "query"), "a reference query must start with SELECT or WITH")
                        .with_hint("reference data is read-only: write a SELECT"),
                );
            }
        }
    }
}

fn check_scopes(doc: &ConnectorDocument, scopes: &Scopes<'_>, out: &mut Vec<Problem>) {
    let items = doc
        .variables
        .iter()
        .enumerate()
        .map(|(i, v)| (index("variables", i), v.scope.as_deref()))
        .chain(doc.load_steps.iter().enumerate().map(|(i, s)| (index("load_steps", i), s.scope.as_deref())));
    for (path, scope) in items {
        let path = field(&path, "scope");
        match scope {
            Some(s) if !is_identifier(s) => out.push(
                Problem::new(path, format!("`{s}` is not a valid scope name"))
                    .with_hint("a scope is an output table name: use letters, digits and _"),
            ),
            None if scopes.several() => out.push(
                Problem::new(
                    path,
                    format!("scope is required because the connector uses several scopes ({})", scopes.list()),
                )
                .with_hint(format!("add \"scope\": one of {}", scopes.list())),
            ),
            _ => {}
        }
    }
    if doc.sql.is_none() && doc.connector_type != ConnectorType::Webhook && scopes.several() {
        out.push(
            Problem::new(
                "sql",
                format!("a connector without sql has a single scope, but several are used ({})", scopes.list()),
            )
            .with_hint("add sql that creates one output table per scope, or use a single scope"),
        );
    }
}

fn check_variables(doc: &ConnectorDocument, out: &mut Vec<Problem>) {
    if doc.variables.is_empty() {
        out.push(
            Problem::new("variables", "at least one variable is required")
                .with_hint("declare every output column a load step uses as a variable"),
        );
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, v) in doc.variables.iter().enumerate() {
        let path = index("variables", i);
        if !is_identifier(&v.name) {
            out.push(
                Problem::new(field(&path, "name"), format!("`{}` is not a valid variable name", v.name))
                    .with_hint("use letters, digits and _, not starting with a digit"),
            );
        } else if let Some(first) = seen.insert(&v.name, i) {
            seen.insert(&v.name, first);
            out.push(
                Problem::new(
                    field(&path, "name"),
                    format!("duplicate variable name `{}` (also variables[{first}])", v.name),
                )
                .with_hint("variable names are unique within a connector; use source to read the same column twice"),
            );
        }
        if let Some(source) = &v.source {
            if source.trim().is_empty() {
                out.push(
                    Problem::new(field(&path, "source"), "source must not be empty")
                        .with_hint("omit source to read the column named like the variable"),
                );
            }
        }
        if let Some(value) = &v.value {
            if v.source.is_some() {
                out.push(
                    Problem::new(field(&path, "value"), "a variable takes either source or value, not both")
                        .with_hint("remove source for a static value, or value to read a column"),
                );
            }
            if !is_scalar(value) {
                out.push(
                    Problem::new(
                        field(&path, "value"),
                        format!("value must be a string, number or boolean, not {}", json_kind(value)),
                    )
                    .with_hint("for a list, use a string with \"array\": true and a delimiter"),
                );
            }
        }
        if let Some(d) = &v.delimiter {
            if !v.array {
                out.push(
                    Problem::new(field(&path, "delimiter"), "delimiter is only used by an array variable")
                        .with_hint("add \"array\": true, or remove the delimiter"),
                );
            }
            if !matches!(d.as_str(), "," | ";" | "|" | "\t") {
                out.push(
                    Problem::new(field(&path, "delimiter"), format!("delimiter {d:?} is not one of , ; | or a tab"))
                        .with_hint("use \",\", \";\", \"|\" or \"\\t\""),
                );
            }
        }
        for (name, format) in [("input_format", &v.input_format), ("output_format", &v.output_format)] {
            if matches!(format, Some(f) if f.trim().is_empty()) {
                out.push(
                    Problem::new(field(&path, name), format!("{name} must not be empty"))
                        .with_hint(format!("omit {name} to use the default")),
                );
            }
        }
        if v.output_format.as_deref() == Some("raw") && v.var_type != VariableType::String {
            out.push(
                Problem::new(
                    field(&path, "output_format"),
                    format!("output_format raw only applies to string variables, not {}", v.var_type),
                )
                .with_hint("remove output_format or change the type to string"),
            );
        } else {
            check_formats_and_value(doc, v, &path, out);
        }
    }
}

/// The type rules' own checks: formats a type can use, and a static value
/// that parses as the variable's type (with the connector's time zone and
/// phone region).
fn check_formats_and_value(doc: &ConnectorDocument, v: &crate::document::Variable, path: &str, out: &mut Vec<Problem>) {
    use crate::types;
    let mut format_ok = true;
    if let Some(f) = v.input_format.as_deref().filter(|f| !f.trim().is_empty()) {
        if let Err(why) = types::check_input_format(v.var_type, f) {
            format_ok = false;
            out.push(
                Problem::new(field(path, "input_format"), why)
                    .with_hint("see docs/connector.md, Variables: the formats of each type"),
            );
        }
    }
    if let Some(f) = v.output_format.as_deref().filter(|f| !f.trim().is_empty() && *f != "raw") {
        if let Err(why) = types::check_output_format(v.var_type, f) {
            format_ok = false;
            out.push(
                Problem::new(field(path, "output_format"), why)
                    .with_hint("see docs/connector.md, Variables: the formats of each type"),
            );
        }
    }
    if format_ok && v.value.as_ref().is_some_and(is_scalar) {
        let ctx = types::Context::from_settings(&doc.settings).unwrap_or_default();
        let r = types::resolve(v, None, &ctx);
        if let Some(why) = r.error.or(r.warning) {
            out.push(
                Problem::new(field(path, "value"), why)
                    .with_hint(format!("write a value a {} variable accepts", v.var_type)),
            );
        }
    }
}

/// JSON strings, numbers and booleans.
pub(super) fn is_scalar(v: &serde_json::Value) -> bool {
    matches!(v, serde_json::Value::String(_) | serde_json::Value::Number(_) | serde_json::Value::Bool(_))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Starts (after white space and opening parentheses) with the keyword
/// SELECT or WITH, in any case.
fn is_read_query(q: &str) -> bool {
    let q = q.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
    ["select", "with"].iter().any(|kw| {
        q.get(..kw.len()).is_some_and(|head| head.eq_ignore_ascii_case(kw))
            && q[kw.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}
