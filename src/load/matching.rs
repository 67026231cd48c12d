//! Matching rules of a load step: each rule evaluated for a whole chunk in
//! one query, rule after rule, deciding what happens to each row.
use super::fallback::{together_or_one_by_one, Attempt};
use super::plan::StepPlan;
use super::rows::Outcome;
use super::spi::{query_found, text_arg};
use super::sql;
use crate::postgres::Changes;
use pgrx::datum::DatumWithOid;
use sc_core::load::{apply, Decision, RowOutcome, RuleMatch};
use std::collections::{HashMap, HashSet};

/// A row whose values and keys are known, before any rule decided it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub rn: i64,
    /// The text of every mapped value, in map order.
    pub values: Vec<Option<String>>,
    /// Per rule, the text of every key value.
    pub keys: Vec<Vec<Option<String>>>,
    /// A 128-bit hash of `keys`, taken once: what tells keys apart, within
    /// a chunk and across the run's chunks.
    pub key_hash: u128,
}

impl Candidate {
    pub fn new(rn: i64, values: Vec<Option<String>>, keys: Vec<Vec<Option<String>>>) -> Candidate {
        let key_hash = key_hash(&keys);
        Candidate { rn, values, keys, key_hash }
    }
}

/// A row ready to write: its decision and the text of every mapped value.
#[derive(Debug, Clone)]
pub struct Pending {
    pub rn: i64,
    pub decision: Decision,
    pub values: Vec<Option<String>>,
}

/// One row's key values for one rule.
#[derive(Debug, Clone, Copy)]
struct RuleKeys<'a> {
    rn: i64,
    keys: &'a [Option<String>],
}

/// A 128-bit hash of a row's match keys (two fixed-seed foldhash passes:
/// the same key gives the same hash in every chunk of the run).
fn key_hash(keys: &[Vec<Option<String>>]) -> u128 {
    use std::hash::BuildHasher;
    let (a, b) = (foldhash::quality::FixedState::with_seed(0x5c0), foldhash::quality::FixedState::with_seed(0x5c1));
    (u128::from(a.hash_one(keys)) << 64) | u128::from(b.hash_one(keys))
}

/// Evaluates rule `i` for `rows` in one query; a row absent from the answer
/// matched nothing (only matched rows come back, so a chunk of new records
/// costs no result rows).
fn match_rule(step: &StepPlan, i: usize, rows: &[RuleKeys<'_>]) -> Result<HashMap<i64, RuleMatch>, String> {
    let rule = &step.rules[i];
    let keys: Vec<(&str, &str)> = rule.keys.iter().map(|k| (k.column.as_str(), k.sql_type.as_str())).collect();
    let query = sql::matching(step.entity(), &keys, rule.indexed);
    let mut args: Vec<DatumWithOid<'static>> = vec![rows.iter().map(|r| r.rn).collect::<Vec<i64>>().into()];
    for k in 0..rule.keys.len() {
        args.push(text_arg(rows.iter().map(|r| r.keys[k].as_deref())));
    }
    let mut out = HashMap::new();
    for found in query_found(&query, args)? {
        let count = found.count.max(0) as u64;
        let rn = found.key.parse().map_err(|_| format!("matching returned row {:?}", found.key))?;
        out.insert(
            rn,
            RuleMatch { count, id: if count == 1 { found.id } else { None }, archived: count == 1 && found.archived },
        );
    }
    Ok(out)
}

/// Decides every row of the chunk, rule after rule; rows a query cannot
/// evaluate fail with its message, rows a rule skips are done.
pub fn decide_rows(step: &StepPlan, ready: Vec<Candidate>) -> (Vec<Pending>, Vec<Outcome>) {
    let mut pending = Vec::new();
    let mut done = Vec::new();
    if step.rules.is_empty() {
        let create = |c: Candidate| Pending { rn: c.rn, decision: Decision::Create, values: c.values };
        return (ready.into_iter().map(create).collect(), done);
    }
    let mut at_rule = ready;
    for i in 0..step.rules.len() {
        if at_rule.is_empty() {
            break;
        }
        let keys: Vec<RuleKeys<'_>> = at_rule.iter().map(|c| RuleKeys { rn: c.rn, keys: &c.keys[i] }).collect();
        // Row by row if the chunk's query fails, so one bad key (a failing cast) fails only its row.
        let found = match together_or_one_by_one(&keys, Changes::Keep, |rows| match_rule(step, i, rows)) {
            Attempt::Together(found) => found,
            Attempt::OneByOne(each) => {
                let mut found = HashMap::new();
                for (row, result) in each {
                    match result {
                        Ok(m) => found.extend(m),
                        Err(e) => done.push(Outcome::failed(row.rn, format!("matching rule {}: {e}", i + 1))),
                    }
                }
                found
            }
        };
        let failed: HashSet<i64> = done.iter().map(|o| o.rn).collect();
        let mut next = Vec::new();
        for c in at_rule {
            if failed.contains(&c.rn) {
                continue;
            }
            let m = found.get(&c.rn).cloned().unwrap_or(RuleMatch { count: 0, id: None, archived: false });
            match apply(&step.raw_rules[i], i, step.rules.len(), m) {
                Some(Decision::Skip(reason)) => {
                    done.push(Outcome::new(c.rn, RowOutcome::Skipped, None, None).with_warning(reason))
                }
                Some(decision) => pending.push(Pending { rn: c.rn, decision, values: c.values }),
                None => next.push(c),
            }
        }
        at_rule = next;
    }
    (pending, done)
}

/// Splits rows into the first row of each distinct key (all rules' key
/// values together; rows with a NULL key never match, so never wait) and
/// the rows repeating an earlier key. Keys are told apart by their 128-bit
/// hash: should two keys ever share one, the later row would only wait for
/// the next pass, where it is matched again.
pub fn first_of_each_key(step: &StepPlan, rows: Vec<Candidate>) -> (Vec<Candidate>, Vec<Candidate>) {
    if step.rules.is_empty() {
        return (rows, Vec::new());
    }
    let mut seen = HashSet::with_capacity(rows.len());
    rows.into_iter().partition(|c| {
        let complete = c.keys.iter().any(|k| k.iter().all(Option::is_some));
        !complete || seen.insert(c.key_hash)
    })
}
