//! Database-side checks of a connector document: targets exist, types fit, the owner may write.
//!
//! Run on every save next to the document's own validation; every problem is
//! returned (never the first only), each with its JSON path. Names from the
//! document reach PostgreSQL only as query arguments (`to_regclass($1)`).
use crate::error::ScResult;
use crate::postgres::tables;
use pgrx::pg_sys::Oid;
use pgrx::prelude::*;
use sc_core::document::{value_fits, PgColumn};
use sc_core::document::{ConnectorDocument, LoadStep, MapSource, MatchKey, Problem, VariableType};
use std::collections::{BTreeMap, BTreeSet};

/// One column of a target table.
#[derive(Debug, Clone)]
struct Column {
    pg: PgColumn,
    /// NOT NULL with no default, identity or generated value: an insert must set it.
    needs_value: bool,
}

/// A resolved target table.
struct Table {
    oid: Oid,
    display: String,
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
}

/// Every database-side problem of `doc`, when run by `owner`.
pub fn problems(doc: &ConnectorDocument, owner: &str) -> ScResult<Vec<Problem>> {
    let mut out = Vec::new();
    let mut step_tables: BTreeMap<&str, Option<Table>> = BTreeMap::new();
    for (i, step) in doc.load_steps.iter().enumerate() {
        let base = format!("load_steps[{i}]");
        let table = resolve(&step.table)?;
        match &table {
            None => out.push(
                Problem::new(format!("{base}.table"), format!("table \"{}\" does not exist", step.table))
                    .with_hint("Create the table first, or fix the name (schema.table)."),
            ),
            Some(t) => check_step(doc, step, &base, t, &step_tables, owner, &mut out)?,
        }
        step_tables.insert(step.name.as_str(), table);
    }
    for (i, reference) in doc.reference.iter().enumerate() {
        if let Some(name) = &reference.table {
            let path = format!("reference[{i}].table");
            match resolve(name)? {
                None => out.push(
                    Problem::new(path, format!("table \"{name}\" does not exist"))
                        .with_hint("Create it, or fix the name (schema.table)."),
                ),
                Some(t) => {
                    if !has_table_privilege(owner, t.oid, "SELECT")? {
                        out.push(no_privilege(path, owner, "SELECT", &t.display));
                    }
                }
            }
        }
    }
    if let Some(sig) = &doc.settings.webhook_signature {
        if crate::catalog::secrets::signing_key(&sig.secret)?.is_none() {
            out.push(
                Problem::new(
                    "settings.webhook_signature.secret",
                    format!("secret \"{}\" does not exist, or has no `key` value and more than one value", sig.secret),
                )
                .with_hint(format!(
                    "Store the sender's signing secret: SELECT sc_set_secret('{}', 'generic', '{{\"key\": \"…\"}}').",
                    sig.secret
                )),
            );
        }
    }
    if let Some(url) = &doc.settings.ended_webhook {
        let allowed = crate::gucs::allowed_hosts();
        if !sc_core::ended::host_allowed(url, &allowed) {
            let now = if allowed.is_empty() { "it is empty: no host".to_owned() } else { allowed.join(", ") };
            out.push(
                Problem::new(
                    "settings.ended_webhook",
                    format!("the host of {url} is not in smartconnector.allowed_hosts ({now})"),
                )
                .with_hint("An administrator allows a receiver: ALTER SYSTEM SET smartconnector.allowed_hosts = 'hooks.example.com'; SELECT pg_reload_conf();"),
            );
        }
    }
    if let Some(name) = &doc.settings.ended_webhook_secret {
        if crate::catalog::secrets::signing_key(name)?.is_none() {
            out.push(
                Problem::new(
                    "settings.ended_webhook_secret",
                    format!("secret \"{name}\" does not exist, or has no `key` value and more than one value"),
                )
                .with_hint(format!(
                    "Store the signing key the receiver checks: SELECT sc_set_secret('{name}', 'generic', '{{\"key\": \"…\"}}')."
                )),
            );
        }
    }
    Ok(out)
}

fn check_step(
    doc: &ConnectorDocument,
    step: &LoadStep,
    base: &str,
    table: &Table,
    earlier: &BTreeMap<&str, Option<Table>>,
    owner: &str,
    out: &mut Vec<Problem>,
) -> ScResult<()> {
    let column = |path: String, name: &str, out: &mut Vec<Problem>| -> Option<Column> {
        let found = table.columns.get(name).cloned();
        if found.is_none() {
            out.push(
                Problem::new(path, format!("column \"{name}\" does not exist in table {}", table.display))
                    .with_hint(format!("Columns of {}: {}.", table.display, column_list(table))),
            );
        }
        found
    };

    if let Some(archived) = &step.archived_column {
        if let Some(c) = column(format!("{base}.archived_column"), archived, out) {
            let ok = !c.pg.is_array
                && matches!(
                    c.pg.type_name.as_str(),
                    "boolean" | "date" | "timestamp without time zone" | "timestamp with time zone"
                );
            if !ok {
                out.push(
                    Problem::new(
                        format!("{base}.archived_column"),
                        format!(
                            "column \"{archived}\" is {}; an archived column must be boolean, date or timestamp",
                            c.pg.type_name
                        ),
                    )
                    .with_hint("true / a non-NULL time means archived."),
                );
            }
        }
    }

    for (r, rule) in step.match_rules.iter().enumerate() {
        let rpath = format!("{base}.match[{r}]");
        match rule.key() {
            Some(MatchKey::Columns(pairs)) => {
                for (col, var) in pairs {
                    let path = format!("{rpath}.columns.{col}");
                    if let Some(c) = column(path.clone(), col, out) {
                        fits_variable(doc, var, &c.pg, &path, out);
                    }
                }
            }
            Some(MatchKey::PrimaryKey(var)) => {
                let path = format!("{rpath}.primary_key");
                if table.primary_key.len() != 1 {
                    out.push(
                        Problem::new(path, format!("table {} has no single-column primary key", table.display))
                            .with_hint("Match on columns instead: {\"columns\": {\"col\": \"variable\"}}."),
                    );
                } else if let Some(c) = table.columns.get(&table.primary_key[0]) {
                    fits_variable(doc, var, &c.pg, &path, out);
                }
            }
            None => {}
        }
    }

    let mut mapped = BTreeSet::new();
    for (m, rule) in step.map_rules.iter().enumerate() {
        let mpath = format!("{base}.map[{m}]");
        mapped.insert(rule.column.clone());
        let Some(c) = column(format!("{mpath}.column"), &rule.column, out) else { continue };
        match rule.source() {
            Some(MapSource::Variable(var)) => {
                let path = format!("{mpath}.variable");
                match var.split_once('.') {
                    Some((step_name, _)) => {
                        entity_fits(step_name, &c.pg, earlier, &path, out);
                    }
                    None => fits_variable(doc, var, &c.pg, &path, out),
                }
            }
            Some(MapSource::Joined { .. }) => {
                if let Err(why) = value_fits(VariableType::String, false, &c.pg) {
                    out.push(Problem::new(format!("{mpath}.variables"), format!("joined variables are text; {why}")));
                }
            }
            Some(MapSource::Lookup(lookup)) => {
                let lpath = format!("{mpath}.lookup");
                match resolve(&lookup.table)? {
                    None => out.push(
                        Problem::new(format!("{lpath}.table"), format!("table \"{}\" does not exist", lookup.table))
                            .with_hint("A lookup names the related table, e.g. public.vendors."),
                    ),
                    Some(related) => {
                        match related.columns.get(&lookup.column) {
                            None => out.push(
                                Problem::new(
                                    format!("{lpath}.column"),
                                    format!("column \"{}\" does not exist in table {}", lookup.column, related.display),
                                )
                                .with_hint(format!(
                                    "Columns of {}: {}.",
                                    related.display,
                                    column_list(&related)
                                )),
                            ),
                            Some(rc) => fits_variable(doc, &lookup.variable, &rc.pg, &format!("{lpath}.variable"), out),
                        }
                        pk_fits(&related, &c.pg, &format!("{mpath}.column"), out);
                        if !has_table_privilege(owner, related.oid, "SELECT")? {
                            out.push(no_privilege(format!("{lpath}.table"), owner, "SELECT", &related.display));
                        }
                    }
                }
            }
            None => {}
        }
    }

    let writes = sc_core::load::writes(step);
    if writes.creates {
        for (name, c) in &table.columns {
            if c.needs_value && !mapped.contains(name) {
                out.push(
                    Problem::new(
                        format!("{base}.map"),
                        format!("column \"{name}\" of {} is NOT NULL without a default but is not mapped, so creating a row would fail", table.display),
                    )
                    .with_hint(format!("Add {{\"column\": \"{name}\", \"variable\": …}} or give the column a default.")),
                );
            }
        }
    }
    let table_path = format!("{base}.table");
    for privilege in writes.privileges() {
        if !has_table_privilege(owner, table.oid, privilege)? {
            out.push(no_privilege(table_path.clone(), owner, privilege, &table.display));
        }
    }
    if let Some(function) = &step.after_load {
        let oid = Spi::get_one_with_args::<Oid>("SELECT pg_catalog.to_regproc($1)::oid", &[function.as_str().into()])?;
        let path = format!("{base}.after_load");
        match oid {
            None => out.push(
                Problem::new(path, format!("function \"{function}\" does not exist (or the name is ambiguous)"))
                    .with_hint("Name one function, schema-qualified, e.g. public.on_products_loaded."),
            ),
            Some(oid) => {
                let ok = Spi::get_one_with_args::<bool>(
                    "SELECT pg_catalog.has_function_privilege($1::name, $2, 'EXECUTE')",
                    &[owner.into(), oid.into()],
                )?
                .unwrap_or(false);
                if !ok {
                    out.push(no_privilege(path, owner, "EXECUTE", function));
                }
            }
        }
    }
    Ok(())
}

/// The variable `name` (if the document declares it) fits `col`.
fn fits_variable(doc: &ConnectorDocument, name: &str, col: &PgColumn, path: &str, out: &mut Vec<Problem>) {
    // An unknown variable is the document validation's problem, already reported.
    if let Some(v) = doc.variable(name) {
        if let Err(why) = value_fits(v.var_type, v.array, col) {
            out.push(
                Problem::new(path, why)
                    .with_hint("Change the variable's type, or map it to a column of a fitting type."),
            );
        }
    }
}

/// An entity variable `<step>.id` holds the earlier step's primary key: `col` must take it.
fn entity_fits(
    step: &str,
    col: &PgColumn,
    earlier: &BTreeMap<&str, Option<Table>>,
    path: &str,
    out: &mut Vec<Problem>,
) {
    if let Some(Some(table)) = earlier.get(step) {
        pk_fits(table, col, path, out);
    }
}

/// `col` can hold a primary-key value of `related`.
fn pk_fits(related: &Table, col: &PgColumn, path: &str, out: &mut Vec<Problem>) {
    let [pk] = related.primary_key.as_slice() else {
        out.push(
            Problem::new(path, format!("table {} has no single-column primary key to relate to", related.display))
                .with_hint("Relationships store the related row's primary key."),
        );
        return;
    };
    let Some(pk_col) = related.columns.get(pk) else { return };
    let text_family = |t: &str| t == "text" || t.starts_with("character");
    if col.is_array || (col.type_name != pk_col.pg.type_name && !text_family(&col.type_name)) {
        out.push(Problem::new(
            path,
            format!(
                "column \"{}\" is {} but the primary key {}.{} it relates to is {}",
                col.name, col.type_name, related.display, pk, pk_col.pg.type_name
            ),
        ));
    }
}

fn no_privilege(path: String, owner: &str, privilege: &str, object: &str) -> Problem {
    Problem::new(path, format!("the connector owner {owner} lacks {privilege} on {object}"))
        .with_hint(format!("GRANT {privilege} ON {object} TO {owner};"))
}

fn column_list(t: &Table) -> String {
    t.columns.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn has_table_privilege(owner: &str, oid: Oid, privilege: &str) -> ScResult<bool> {
    tables::role_may(owner, oid, privilege)
}

/// Resolves a (possibly schema-qualified, possibly quoted) table name; None when absent
/// or not a table.
fn resolve(name: &str) -> ScResult<Option<Table>> {
    let Some(oid) = tables::resolve(name)? else { return Ok(None) };
    let info = tables::describe(oid)?;
    let columns = info
        .columns
        .into_iter()
        .map(|c| {
            let pg =
                PgColumn { name: c.name.clone(), type_name: c.element_sql, is_array: c.is_array, is_enum: c.is_enum };
            (c.name, Column { pg, needs_value: c.needs_value })
        })
        .collect();
    Ok(Some(Table { oid, display: info.display, columns, primary_key: info.primary_key }))
}
