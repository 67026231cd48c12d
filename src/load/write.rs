//! Writing the decided rows of a chunk: one INSERT for the rows to create,
//! one UPDATE per pass for the records to update, or each row on its own
//! when that fails (see `fallback`).
use super::fallback::{together_or_one_by_one, Attempt};
use super::matching::Pending;
use super::plan::{MapPlan, StepPlan};
use super::rows::Outcome;
use super::spi::{query_texts, text_arg};
use super::sql;
use crate::postgres::Changes;
use pgrx::datum::DatumWithOid;
use sc_core::load::{Decision, RowOutcome};
use std::collections::HashSet;

/// Creates and updates the decided rows: set-based, or row by row if that fails.
/// With `changes` = roll back (a dry run), nothing stays written.
pub fn write(step: &StepPlan, pending: Vec<Pending>, changes: Changes) -> Vec<Outcome> {
    if pending.is_empty() {
        return Vec::new();
    }
    match together_or_one_by_one(&pending, changes, |rows| write_all(step, rows)) {
        Attempt::Together(out) => out,
        Attempt::OneByOne(each) => each
            .into_iter()
            .map(|(p, result)| match result {
                Ok(mut o) => o.pop().unwrap_or_else(|| Outcome::failed(p.rn, "no result".into())),
                Err(e) => Outcome::failed(p.rn, e),
            })
            .collect(),
    }
}

fn write_all(step: &StepPlan, rows: &[Pending]) -> Result<Vec<Outcome>, String> {
    let mut out = Vec::new();
    let (creates, rest): (Vec<&Pending>, Vec<&Pending>) = rows.iter().partition(|p| p.decision == Decision::Create);
    out.extend(create(step, &creates)?);
    // An update must not name a record twice: later ones go in the next pass.
    let mut rest = rest;
    while !rest.is_empty() {
        let mut seen = HashSet::new();
        let (now, later): (Vec<&Pending>, Vec<&Pending>) =
            rest.into_iter().partition(|p| seen.insert(target_id(&p.decision).to_owned()));
        out.extend(update(step, &now)?);
        rest = later;
    }
    Ok(out)
}

fn target_id(d: &Decision) -> &str {
    match d {
        Decision::Update(id) | Decision::UnarchiveAndUpdate(id) | Decision::UnarchiveOnly(id) => id,
        _ => "",
    }
}

fn value_args(maps: &[MapPlan], rows: &[&Pending]) -> Vec<DatumWithOid<'static>> {
    (0..maps.len()).map(|i| text_arg(rows.iter().map(|p| p.values[i].as_deref()))).collect()
}

/// Inserts `rows` and pairs the new ids with them (in row order).
fn create(step: &StepPlan, rows: &[&Pending]) -> Result<Vec<Outcome>, String> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The ids come back in `rn` order: pair them with the rows in that order.
    let mut rows = rows.to_vec();
    rows.sort_by_key(|p| p.rn);
    let columns: Vec<&str> = step.maps.iter().map(|m| m.column.as_str()).collect();
    let values: Vec<String> = step.maps.iter().enumerate().map(|(i, m)| m.new_value(&format!("c.v{i}"))).collect();
    let query = sql::insert(step.entity(), &columns, &values);
    let mut args: Vec<DatumWithOid<'static>> = vec![rows.iter().map(|p| p.rn).collect::<Vec<i64>>().into()];
    args.extend(value_args(&step.maps, &rows));
    let ids = query_texts(&query, args)?;
    if ids.len() != rows.len() {
        return Err(format!("{} rows inserted for {} rows", ids.len(), rows.len()));
    }
    Ok(rows.iter().zip(ids).map(|(p, id)| Outcome::new(p.rn, RowOutcome::Created, id, None)).collect())
}

/// Updates (and unarchives) matched records; an update that changes nothing is `unchanged`.
fn update(step: &StepPlan, rows: &[&Pending]) -> Result<Vec<Outcome>, String> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut sets: Vec<(String, String)> = step
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let old = format!("t.{}", m.column);
            let new = m.on_update(&old, &m.new_value(&format!("c.v{i}")));
            (m.column.clone(), format!("(CASE WHEN c.unarchive_only THEN {old} ELSE {new} END)"))
        })
        .collect();
    if let Some((a, boolean)) = &step.archived {
        let cleared = if *boolean { "false" } else { "NULL" };
        sets.push((a.clone(), format!("(CASE WHEN c.unarchive THEN {cleared} ELSE t.{a} END)")));
    }
    let query = sql::update(step.entity(), step.maps.len(), &sets);
    let unarchive: Vec<bool> = rows
        .iter()
        .map(|p| matches!(p.decision, Decision::UnarchiveAndUpdate(_) | Decision::UnarchiveOnly(_)))
        .collect();
    let only: Vec<bool> = rows.iter().map(|p| matches!(p.decision, Decision::UnarchiveOnly(_))).collect();
    let mut args: Vec<DatumWithOid<'static>> =
        vec![text_arg(rows.iter().map(|p| Some(target_id(&p.decision)))), unarchive.into(), only.into()];
    args.extend(value_args(&step.maps, rows));
    let changed: HashSet<String> = query_texts(&query, args)?.into_iter().flatten().collect();
    Ok(rows
        .iter()
        .map(|p| {
            let id = target_id(&p.decision).to_owned();
            let outcome = if changed.contains(&id) { RowOutcome::Updated } else { RowOutcome::Unchanged };
            Outcome::new(p.rn, outcome, Some(id), None)
        })
        .collect())
}
