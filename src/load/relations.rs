//! Relationships of a load step: the value of each mapped source for a row,
//! the record an earlier step matched or created for it, and lookups of
//! related records by a column (every distinct key of a chunk at once).
use super::fallback::{together_or_one_by_one, Attempt};
use super::plan::{Source, StepPlan};
use super::rows::{EntityIds, Row};
use super::spi::{query_found, text_arg, Found};
use super::sql;
use crate::postgres::Changes;
use sc_core::load::RowOutcome;
use std::collections::HashMap;

/// Why a row's value could not be resolved.
#[derive(Debug, Clone)]
pub enum Unresolved {
    /// The related record is missing or ambiguous: the row is `skipped`.
    Skip(String),
    /// The lookup itself failed (a cast, a privilege): the row is `failed`.
    Fail(String),
}

/// Each lookup's answers: key text → related id, or why there is none.
pub type LookupAnswers = HashMap<String, Result<String, Unresolved>>;

/// Resolves one source for one row.
pub fn value_of(
    src: &Source,
    row: &Row,
    step: &StepPlan,
    entity: &EntityIds,
    lookups: &[LookupAnswers],
) -> Result<Option<String>, Unresolved> {
    Ok(match src {
        Source::Var(i) => row.vals.get(*i).cloned().flatten(),
        Source::Joined(idx, sep) => {
            let parts: Vec<&str> = idx.iter().filter_map(|i| row.vals.get(*i).and_then(|v| v.as_deref())).collect();
            (!parts.is_empty()).then(|| parts.join(sep))
        }
        Source::Entity(s) => match entity.get(s).and_then(|m| m.get(&row.rn)) {
            Some(record) => match (&record.id, record.outcome) {
                (Some(id), _) => Some(id.clone()),
                (None, RowOutcome::Created) => {
                    return Err(Unresolved::Skip(format!(
                        "related record not found: step \"{s}\" would create it (dry run)"
                    )))
                }
                (None, outcome) => {
                    return Err(Unresolved::Skip(format!(
                        "related record not found: step \"{s}\" {} this row",
                        outcome.as_str()
                    )))
                }
            },
            None => {
                return Err(Unresolved::Skip(format!(
                    "related record not found: step \"{s}\" has no record for this row"
                )))
            }
        },
        Source::Lookup(l) => {
            let plan = &step.lookups[*l];
            match value_of(&plan.source, row, step, entity, lookups)? {
                None => None,
                Some(k) => match lookups.get(*l).and_then(|m| m.get(&k)) {
                    Some(Ok(id)) => Some(id.clone()),
                    Some(Err(why)) => return Err(why.clone()),
                    None => {
                        return Err(Unresolved::Skip(format!(
                            "related record not found: no {} with {} = {k}",
                            plan.table.name, plan.column_name
                        )))
                    }
                },
            }
        }
    })
}

/// Looks every distinct key of lookup `l` up in one query (key by key if that fails).
pub fn resolve_lookup(step: &StepPlan, l: usize, keys: Vec<String>) -> LookupAnswers {
    let plan = &step.lookups[l];
    let related = sql::Related {
        table: &plan.table.sql_name,
        pk: &plan.table.pk,
        column: &plan.column,
        column_type: &plan.col_type,
    };
    let query = sql::lookup(related, plan.indexed);
    let mut out = HashMap::new();
    let mut record = |found: Vec<Found>| {
        for Found { key, count, id, .. } in found {
            match count {
                0 => {}
                1 => {
                    out.insert(key, Ok(id.unwrap_or_default()));
                }
                n => {
                    let why = format!(
                        "related record is ambiguous: {n} rows of {} have {} = {key}",
                        plan.table.name, plan.column_name
                    );
                    out.insert(key, Err(Unresolved::Skip(why)));
                }
            }
        }
    };
    let run = |keys: &[String]| query_found(&query, vec![text_arg(keys.iter().map(|k| Some(k.as_str())))]);
    match together_or_one_by_one(&keys, Changes::Keep, run) {
        Attempt::Together(found) => record(found),
        Attempt::OneByOne(each) => {
            let mut failed = Vec::new();
            for (key, result) in each {
                match result {
                    Ok(found) => record(found),
                    Err(e) => failed.push((key.clone(), e)),
                }
            }
            for (key, e) in failed {
                out.insert(key, Err(Unresolved::Fail(format!("lookup in {} failed: {e}", plan.table.name))));
            }
        }
    }
    out
}
