//! One chunk of one load step, inside the chunk's transaction and as the
//! connector's owner: resolve relationships (`relations`), evaluate matching
//! rules set-based (`matching`), then create and update with one statement
//! each (`write`). A statement that fails is redone row by row in
//! subtransactions (`fallback`), so only the rows at fault fail, each with
//! the database's message. This file conducts; the SQL text is in `sql`.
use super::matching::{decide_rows, first_of_each_key, Candidate};
use super::plan::{RulePlan, StepPlan};
use super::relations::{resolve_lookup, value_of, LookupAnswers, Unresolved};
pub use super::rows::{EntityIds, Outcome, Place, Row};
use super::write::write;
use crate::postgres::Changes;
use sc_core::load::RowOutcome;
use std::collections::HashMap;

pub use super::seen::SeenKeys;

/// Processes one chunk; returns one outcome per row, in row order. With
/// `changes` = roll back nothing stays written (the load stage always keeps:
/// a dry run rolls its whole transaction back instead). A row whose match key an
/// earlier row of the run (`seen`) already carried gets a warning naming it.
pub fn process(
    step: &StepPlan,
    rows: &[Row],
    entity: &EntityIds,
    unchanged: &dyn Fn(i64) -> bool,
    changes: Changes,
    seen: &mut SeenKeys,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(rows.len());
    let mut live = Vec::new();
    for row in rows {
        if !row.valid {
            let e = row.errors.clone().unwrap_or_else(|| "the row failed validation".into());
            out.push(Outcome::failed(row.rn, format!("invalid row: {e}")));
        } else if unchanged(row.rn) {
            out.push(Outcome::new(row.rn, RowOutcome::Unchanged, None, None));
        } else {
            live.push(row);
        }
    }
    // Lookups: every distinct key at once.
    let mut lookups: Vec<LookupAnswers> = Vec::with_capacity(step.lookups.len());
    for l in 0..step.lookups.len() {
        let mut keys: Vec<String> = live
            .iter()
            .filter_map(|r| value_of(&step.lookups[l].source, r, step, entity, &[]).ok().flatten())
            .collect();
        keys.sort();
        keys.dedup();
        lookups.push(if keys.is_empty() { HashMap::new() } else { resolve_lookup(step, l, keys) });
    }
    // What each row's match key is, for people tracing it back to the file.
    let mut shown: HashMap<i64, String> =
        rows.iter().filter_map(|r| shown_key(step, r, entity, &lookups).map(|k| (r.rn, k))).collect();
    // Values and keys per row; a missing relation skips the row, a failed lookup fails it.
    let mut ready = Vec::new();
    for row in live {
        let values: Result<Vec<Option<String>>, Unresolved> =
            step.maps.iter().map(|m| value_of(&m.source, row, step, entity, &lookups)).collect();
        let keys: Result<Vec<Vec<Option<String>>>, Unresolved> = step
            .rules
            .iter()
            .map(|r| r.keys.iter().map(|k| value_of(&k.source, row, step, entity, &lookups)).collect())
            .collect();
        match (values, keys) {
            (Ok(values), Ok(keys)) => ready.push(Candidate::new(row.rn, values, keys)),
            (Err(Unresolved::Skip(why)), _) | (_, Err(Unresolved::Skip(why))) => {
                let mut skipped = Outcome::new(row.rn, RowOutcome::Skipped, None, None).with_warning(why);
                skipped.missing_related = true;
                out.push(skipped)
            }
            (Err(Unresolved::Fail(why)), _) | (_, Err(Unresolved::Fail(why))) => out.push(Outcome::failed(row.rn, why)),
        }
    }
    let repeats = repeated_keys(step, &ready, seen);
    // Rows are decided and written as if one after the other: a row whose
    // keys repeat an earlier row's waits until that row is written, then is
    // matched again (so two rows with one new key create one record, not two).
    while !ready.is_empty() {
        let (now, later) = first_of_each_key(step, ready);
        let (pending, done) = decide_rows(step, now);
        out.extend(done);
        out.extend(write(step, pending, changes).into_iter().map(|mut o| {
            if changes == Changes::RollBack && o.outcome == RowOutcome::Created {
                // Rolled-back rows have no record id.
                o.record_id = None;
            }
            o
        }));
        ready = later;
    }
    for o in &mut out {
        if let Some(w) = repeats.get(&o.rn) {
            o.warnings.push(w.clone());
        }
        o.match_key = shown.remove(&o.rn);
    }
    out.sort_by_key(|o| o.rn);
    out
}

/// `email = "ann@x.io", region = "EU"`: a rule's columns and a row's values.
fn describe_key(rule: &RulePlan, values: &[Option<String>]) -> String {
    rule.keys
        .iter()
        .zip(values)
        .map(|(k, v)| format!("{} = {:?}", k.column.trim_matches('"'), v.as_deref().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The row's key for the first rule it has in full (any row, valid or not).
fn shown_key(step: &StepPlan, row: &Row, entity: &EntityIds, lookups: &[LookupAnswers]) -> Option<String> {
    step.rules.iter().find_map(|rule| {
        let values: Option<Vec<Option<String>>> = rule
            .keys
            .iter()
            .map(|k| value_of(&k.source, row, step, entity, lookups).ok().flatten().map(Some))
            .collect();
        values.map(|v| describe_key(rule, &v))
    })
}

/// A warning for each row whose match key an earlier row of the run
/// carried (the row then matches what that one wrote); `seen` records the
/// keys carried here for the first time.
fn repeated_keys(step: &StepPlan, ready: &[Candidate], seen: &mut SeenKeys) -> HashMap<i64, String> {
    // Rows with a complete key for some rule, and the first such rule.
    let keyed: Vec<(&Candidate, usize)> = ready
        .iter()
        .filter_map(|c| Some((c, step.rules.iter().zip(&c.keys).position(|(_, k)| k.iter().all(Option::is_some))?)))
        .collect();
    let hashes: Vec<(i64, u128)> = keyed.iter().map(|(c, _)| (c.rn, c.key_hash)).collect();
    let earlier = seen.earlier_rows(&hashes).unwrap_or_else(|e| pgrx::error!("{e}"));
    keyed
        .into_iter()
        .filter_map(|(c, complete)| {
            let first = earlier.get(&c.rn)?;
            let key = describe_key(&step.rules[complete], &c.keys[complete]);
            Some((c.rn, format!("the same match key as row {first} ({key}): it matches what that row wrote")))
        })
        .collect()
}
