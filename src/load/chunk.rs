//! One chunk of one load step, inside the chunk's transaction and as the
//! connector's owner: resolve relationships, evaluate matching rules
//! set-based, then create and update with one statement each. If a
//! statement fails, the chunk is redone row by row in subtransactions so
//! only the rows at fault fail, each with the database's message.
use super::plan::{MapPlan, Source, StepPlan};
use crate::postgres::{subtransaction, Changes};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use sc_core::load::{apply, Decision, RuleMatch};
use std::collections::{HashMap, HashSet};

/// One row of a scope's values file.
#[derive(Debug, Clone)]
pub struct Row {
    pub rn: i64,
    pub valid: bool,
    pub errors: Option<String>,
    pub vals: Vec<Option<String>>,
}

/// The outcome of one row in one step.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub rn: i64,
    pub outcome: &'static str,
    pub record_id: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Outcome {
    fn new(rn: i64, outcome: &'static str, record_id: Option<String>, error: Option<String>) -> Outcome {
        Outcome { rn, outcome, record_id, errors: error.into_iter().collect(), warnings: Vec::new() }
    }
}

/// Entity ids of earlier steps: step → row → (outcome, record id).
pub type EntityIds = HashMap<String, HashMap<i64, (String, Option<String>)>>;

/// A row ready to write: its decision and the text of every mapped value.
struct Pending {
    rn: i64,
    decision: Decision,
    values: Vec<Option<String>>,
}

/// Why a row's value could not be resolved.
#[derive(Debug, Clone)]
enum Unresolved {
    /// The related record is missing or ambiguous: the row is `skipped`.
    Skip(String),
    /// The lookup itself failed (a cast, a privilege): the row is `failed`.
    Fail(String),
}

fn text_arg(v: Vec<Option<String>>) -> DatumWithOid<'static> {
    v.into()
}

/// Runs `sql` with arguments and collects the first column of every row as text.
fn query_texts(sql: &str, args: Vec<DatumWithOid<'static>>) -> Result<Vec<Option<String>>, String> {
    Spi::connect_mut(|client| {
        let rows = client.update(sql, None, &args).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(row.get::<String>(1).map_err(|e| e.to_string())?);
        }
        Ok(out)
    })
}

/// What a lookup or matching query found for one key: (key or row, count, id if one, archived).
type Found = (String, i64, Option<String>, bool);

/// Runs a query answering (key text, count, min id text, archived) rows.
fn query_found(sql: &str, args: Vec<DatumWithOid<'static>>) -> Result<Vec<Found>, String> {
    Spi::connect_mut(|client| {
        let rows = client.update(sql, None, &args).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let e = |e: pgrx::spi::Error| e.to_string();
            out.push((
                row.get::<String>(1).map_err(e)?.unwrap_or_default(),
                row.get::<i64>(2).map_err(e)?.unwrap_or(0),
                row.get::<String>(3).map_err(e)?,
                row.get::<bool>(4).map_err(e)?.unwrap_or(false),
            ));
        }
        Ok(out)
    })
}

/// Resolves one source for one row.
fn value_of(
    src: &Source,
    row: &Row,
    step: &StepPlan,
    entity: &EntityIds,
    lookups: &[HashMap<String, Result<String, Unresolved>>],
) -> Result<Option<String>, Unresolved> {
    Ok(match src {
        Source::Var(i) => row.vals.get(*i).cloned().flatten(),
        Source::Joined(idx, sep) => {
            let parts: Vec<&str> = idx.iter().filter_map(|i| row.vals.get(*i).and_then(|v| v.as_deref())).collect();
            (!parts.is_empty()).then(|| parts.join(sep))
        }
        Source::Entity(s) => match entity.get(s).and_then(|m| m.get(&row.rn)) {
            Some((_, Some(id))) => Some(id.clone()),
            Some((outcome, None)) if outcome == "created" => {
                return Err(Unresolved::Skip(format!(
                    "related record not found: step \"{s}\" would create it (dry run)"
                )))
            }
            Some((outcome, None)) => {
                return Err(Unresolved::Skip(format!("related record not found: step \"{s}\" {outcome} this row")))
            }
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
fn resolve_lookup(step: &StepPlan, l: usize, keys: Vec<String>) -> HashMap<String, Result<String, Unresolved>> {
    let plan = &step.lookups[l];
    let (pk, table, col, ty) = (&plan.table.pk, &plan.table.sql_name, &plan.column, &plan.col_type);
    // As in matching: probe the index key by key when there is one (counts stay exact for the message).
    let sql = if plan.indexed {
        format!(
            "SELECT u.k, m.n, m.id, false FROM pg_catalog.unnest($1::text[]) AS u(k)
             CROSS JOIN LATERAL (SELECT count(l.{pk}) AS n, min(l.{pk}::text) AS id FROM {table} l WHERE l.{col} = (u.k)::{ty}) m"
        )
    } else {
        format!(
            "SELECT u.k, count(l.{pk}), min(l.{pk}::text), false
             FROM pg_catalog.unnest($1::text[]) AS u(k) LEFT JOIN {table} l ON l.{col} = (u.k)::{ty} GROUP BY u.k"
        )
    };
    let mut out = HashMap::new();
    let record = |found: Vec<Found>, out: &mut HashMap<String, Result<String, Unresolved>>| {
        for (k, n, id, _) in found {
            match n {
                0 => {}
                1 => {
                    out.insert(k, Ok(id.unwrap_or_default()));
                }
                n => {
                    let why = format!(
                        "related record is ambiguous: {n} rows of {} have {} = {k}",
                        plan.table.name, plan.column_name
                    );
                    out.insert(k, Err(Unresolved::Skip(why)));
                }
            }
        }
    };
    let all: Vec<Option<String>> = keys.iter().cloned().map(Some).collect();
    let sql2 = sql.clone();
    match subtransaction(Changes::Keep, move || query_found(&sql2, vec![text_arg(all)])) {
        Ok(found) => record(found, &mut out),
        Err(_) => {
            for k in keys {
                let (sql2, kk) = (sql.clone(), k.clone());
                match subtransaction(Changes::Keep, move || query_found(&sql2, vec![text_arg(vec![Some(kk)])])) {
                    Ok(found) => record(found, &mut out),
                    Err(e) => {
                        out.insert(k, Err(Unresolved::Fail(format!("lookup in {} failed: {e}", plan.table.name))));
                    }
                }
            }
        }
    }
    out
}

/// The SQL of "is this record archived" for `t`.
fn archived_expr(step: &StepPlan) -> String {
    match &step.archived {
        Some((a, true)) => format!("coalesce(bool_or(t.{a} IS TRUE), false)"),
        Some((a, false)) => format!("coalesce(bool_or(t.{a} IS NOT NULL), false)"),
        None => "false".into(),
    }
}

/// Evaluates rule `i` for `rows` (rn, key texts) in one query; a row absent
/// from the answer matched nothing (only matched rows come back, so a chunk
/// of new records costs no result rows).
fn match_rule(
    step: &StepPlan,
    i: usize,
    rows: &[(i64, Vec<Option<String>>)],
) -> Result<HashMap<i64, RuleMatch>, String> {
    let rule = &step.rules[i];
    let mut cols = vec!["rn".to_string()];
    let mut types = vec!["bigint[]".to_string()];
    let mut on = Vec::new();
    for (k, (col, ty, _)) in rule.keys.iter().enumerate() {
        cols.push(format!("k{k}"));
        types.push("text[]".into());
        on.push(format!("t.{col} = (c.k{k})::{ty}"));
    }
    let params: Vec<String> = types.iter().enumerate().map(|(n, t)| format!("${}::{t}", n + 1)).collect();
    let (pk, archived, from, cols) = (&step.table.pk, archived_expr(step), rows_from(&params), cols.join(", "));
    let (table, on) = (&step.table.sql_name, on.join(" AND "));
    // With an index, each row's key is probed through it: a nested loop the
    // planner cannot turn into a scan of the whole table per chunk (which it
    // prefers for a join with thousands of keys). Without one, a hash join.
    let sql = if rule.indexed {
        format!(
            "SELECT c.rn::text, m.n, m.id, m.archived FROM {from} AS c({cols})
             CROSS JOIN LATERAL (SELECT count(t.{pk}) AS n, min(t.{pk}::text) AS id, {archived} AS archived
                                 FROM {table} t WHERE {on}) m
             WHERE m.n > 0"
        )
    } else {
        format!(
            "SELECT c.rn::text, count(t.{pk}), min(t.{pk}::text), {archived}
             FROM {from} AS c({cols}) JOIN {table} t ON {on} GROUP BY c.rn"
        )
    };
    let mut args: Vec<DatumWithOid<'static>> = vec![rows.iter().map(|(rn, _)| *rn).collect::<Vec<i64>>().into()];
    for k in 0..rule.keys.len() {
        args.push(text_arg(rows.iter().map(|(_, keys)| keys[k].clone()).collect()));
    }
    let mut out = HashMap::new();
    for (rn, n, id, archived) in query_found(&sql, args)? {
        let count = n.max(0) as u64;
        out.insert(
            rn.parse().map_err(|_| format!("matching returned row {rn:?}"))?,
            RuleMatch { count, id: if count == 1 { id } else { None }, archived: count == 1 && archived },
        );
    }
    Ok(out)
}

/// Decides every row of the chunk, rule after rule; rows a query cannot
/// evaluate fail with its message.
fn decide_rows(step: &StepPlan, ready: Vec<Ready>) -> (Vec<Pending>, Vec<Outcome>) {
    let mut pending = Vec::new();
    let mut done = Vec::new();
    let mut at_rule = ready;
    if step.rules.is_empty() {
        for (rn, values, _) in at_rule {
            pending.push(Pending { rn, decision: Decision::Create, values });
        }
        return (pending, done);
    }
    for i in 0..step.rules.len() {
        if at_rule.is_empty() {
            break;
        }
        let keys: Vec<(i64, Vec<Option<String>>)> = at_rule.iter().map(|(rn, _, k)| (*rn, k[i].clone())).collect();
        let keys2 = keys.clone();
        let found = match subtransaction(Changes::Keep, || match_rule(step, i, &keys2)) {
            Ok(f) => f,
            Err(_) => {
                // Row by row, so one bad key (a failing cast) fails only its row.
                let mut f = HashMap::new();
                for one in keys {
                    let rn = one.0;
                    match subtransaction(Changes::Keep, || match_rule(step, i, std::slice::from_ref(&one))) {
                        Ok(m) => f.extend(m),
                        Err(e) => {
                            done.push(Outcome::new(rn, "failed", None, Some(format!("matching rule {}: {e}", i + 1))));
                        }
                    }
                }
                f
            }
        };
        let failed: HashSet<i64> = done.iter().map(|o| o.rn).collect();
        let mut next = Vec::new();
        for (rn, values, keys) in at_rule {
            if failed.contains(&rn) {
                continue;
            }
            let m = found.get(&rn).cloned().unwrap_or(RuleMatch { count: 0, id: None, archived: false });
            match apply(&step.raw_rules[i], i, step.rules.len(), m) {
                Some(Decision::Skip(reason)) => done.push(Outcome::new(rn, "skipped", None, None).with_warning(reason)),
                Some(decision) => pending.push(Pending { rn, decision, values }),
                None => next.push((rn, values, keys)),
            }
        }
        at_rule = next;
    }
    (pending, done)
}

impl Outcome {
    fn with_warning(mut self, w: String) -> Outcome {
        self.warnings.push(w);
        self
    }
}

/// Processes one chunk; returns one outcome per row, in row order.
pub fn process(
    step: &StepPlan,
    rows: &[Row],
    entity: &EntityIds,
    unchanged: &dyn Fn(i64) -> bool,
    keep: bool,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(rows.len());
    let mut live = Vec::new();
    for row in rows {
        if !row.valid {
            let e = row.errors.clone().unwrap_or_else(|| "the row failed validation".into());
            out.push(Outcome::new(row.rn, "failed", None, Some(format!("invalid row: {e}"))));
        } else if unchanged(row.rn) {
            out.push(Outcome::new(row.rn, "unchanged", None, None));
        } else {
            live.push(row);
        }
    }
    // Lookups: every distinct key at once.
    let mut lookups = Vec::with_capacity(step.lookups.len());
    for l in 0..step.lookups.len() {
        let mut keys: Vec<String> = live
            .iter()
            .filter_map(|r| value_of(&step.lookups[l].source, r, step, entity, &[]).ok().flatten())
            .collect();
        keys.sort();
        keys.dedup();
        lookups.push(if keys.is_empty() { HashMap::new() } else { resolve_lookup(step, l, keys) });
    }
    // Values and keys per row; a missing relation skips the row, a failed lookup fails it.
    let mut ready = Vec::new();
    for row in live {
        let values: Result<Vec<Option<String>>, Unresolved> =
            step.maps.iter().map(|m| value_of(&m.source, row, step, entity, &lookups)).collect();
        let keys: Result<Vec<Vec<Option<String>>>, Unresolved> = step
            .rules
            .iter()
            .map(|r| r.keys.iter().map(|(_, _, s)| value_of(s, row, step, entity, &lookups)).collect())
            .collect();
        match (values, keys) {
            (Ok(v), Ok(k)) => ready.push((row.rn, v, k)),
            (Err(Unresolved::Skip(why)), _) | (_, Err(Unresolved::Skip(why))) => {
                out.push(Outcome::new(row.rn, "skipped", None, None).with_warning(why))
            }
            (Err(Unresolved::Fail(why)), _) | (_, Err(Unresolved::Fail(why))) => {
                out.push(Outcome::new(row.rn, "failed", None, Some(why)))
            }
        }
    }
    // Rows are decided and written as if one after the other: a row whose
    // keys repeat an earlier row's waits until that row is written, then is
    // matched again (so two rows with one new key create one record, not two).
    while !ready.is_empty() {
        let (now, later) = first_of_each_key(step, ready);
        let (pending, done) = decide_rows(step, now);
        out.extend(done);
        out.extend(write(step, pending, keep).into_iter().map(|mut o| {
            if !keep && o.outcome == "created" {
                // A dry run's ids were rolled back with the rows.
                o.record_id = None;
            }
            o
        }));
        ready = later;
    }
    out.sort_by_key(|o| o.rn);
    out
}

type Ready = (i64, Vec<Option<String>>, Vec<Vec<Option<String>>>);

/// Splits rows into the first row of each distinct key (all rules' key
/// values together; rows with a NULL key never match, so never wait) and
/// the rows repeating an earlier key.
fn first_of_each_key(step: &StepPlan, rows: Vec<Ready>) -> (Vec<Ready>, Vec<Ready>) {
    if step.rules.is_empty() {
        return (rows, Vec::new());
    }
    let mut seen = HashSet::new();
    rows.into_iter().partition(|(_, _, keys)| {
        let complete = keys.iter().any(|k| k.iter().all(Option::is_some));
        !complete || seen.insert(keys.clone())
    })
}

/// Creates and updates the decided rows: set-based, or row by row if that fails.
fn write(step: &StepPlan, pending: Vec<Pending>, keep: bool) -> Vec<Outcome> {
    if pending.is_empty() {
        return Vec::new();
    }
    let batch = || -> Result<Vec<Outcome>, String> {
        let mut out = Vec::new();
        let (creates, rest): (Vec<&Pending>, Vec<&Pending>) =
            pending.iter().partition(|p| p.decision == Decision::Create);
        out.extend(create(step, &creates)?);
        // An update batch must not name a record twice: later ones go in the next pass.
        let mut rest = rest;
        while !rest.is_empty() {
            let mut seen = HashSet::new();
            let (now, later): (Vec<&Pending>, Vec<&Pending>) =
                rest.into_iter().partition(|p| seen.insert(target_id(&p.decision).to_owned()));
            out.extend(update(step, &now)?);
            rest = later;
        }
        Ok(out)
    };
    match subtransaction(Changes::keep_if(keep), batch) {
        Ok(out) => out,
        Err(_) => pending
            .iter()
            .map(|p| {
                let one = || -> Result<Vec<Outcome>, String> {
                    if p.decision == Decision::Create {
                        create(step, &[p])
                    } else {
                        update(step, &[p])
                    }
                };
                match subtransaction(Changes::keep_if(keep), one) {
                    Ok(mut o) => {
                        o.pop().unwrap_or_else(|| Outcome::new(p.rn, "failed", None, Some("no result".into())))
                    }
                    Err(e) => Outcome::new(p.rn, "failed", None, Some(e)),
                }
            })
            .collect(),
    }
}

/// `ROWS FROM (unnest(p1), unnest(p2), …)`: arrays side by side as columns
/// (the schema-qualified spelling of multi-argument `unnest`).
fn rows_from(params: &[String]) -> String {
    let parts: Vec<String> = params.iter().map(|p| format!("pg_catalog.unnest({p})")).collect();
    format!("ROWS FROM ({})", parts.join(", "))
}

fn target_id(d: &Decision) -> &str {
    match d {
        Decision::Update(id) | Decision::UnarchiveAndUpdate(id) | Decision::UnarchiveOnly(id) => id,
        _ => "",
    }
}

fn value_args(maps: &[MapPlan], rows: &[&Pending]) -> Vec<DatumWithOid<'static>> {
    (0..maps.len()).map(|i| text_arg(rows.iter().map(|p| p.values[i].clone()).collect())).collect()
}

/// `INSERT … SELECT … ORDER BY rn RETURNING pk`: PostgreSQL returns the
/// inserted rows in the order they were inserted, which pairs ids with rows.
fn create(step: &StepPlan, rows: &[&Pending]) -> Result<Vec<Outcome>, String> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The ids come back in `rn` order: pair them with the rows in that order.
    let mut rows = rows.to_vec();
    rows.sort_by_key(|p| p.rn);
    let rows = rows.as_slice();
    let n = step.maps.len();
    let cols: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let params: Vec<String> =
        std::iter::once("$1::bigint[]".to_string()).chain((0..n).map(|i| format!("${}::text[]", i + 2))).collect();
    let exprs: Vec<String> = step.maps.iter().enumerate().map(|(i, m)| m.new_value(&format!("c.v{i}"))).collect();
    let sql = format!(
        "INSERT INTO {table} ({targets}) SELECT {exprs} FROM {from} AS c(rn, {cols}) ORDER BY c.rn RETURNING {pk}::text",
        table = step.table.sql_name,
        targets = step.maps.iter().map(|m| m.column.as_str()).collect::<Vec<_>>().join(", "),
        exprs = exprs.join(", "),
        from = rows_from(&params),
        cols = cols.join(", "),
        pk = step.table.pk,
    );
    let mut args: Vec<DatumWithOid<'static>> = vec![rows.iter().map(|p| p.rn).collect::<Vec<i64>>().into()];
    args.extend(value_args(&step.maps, rows));
    let ids = query_texts(&sql, args)?;
    if ids.len() != rows.len() {
        return Err(format!("{} rows inserted for {} rows", ids.len(), rows.len()));
    }
    Ok(rows.iter().zip(ids).map(|(p, id)| Outcome::new(p.rn, "created", id, None)).collect())
}

/// Updates (and unarchives) matched records; an update that changes nothing is `unchanged`.
fn update(step: &StepPlan, rows: &[&Pending]) -> Result<Vec<Outcome>, String> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let n = step.maps.len();
    let mut sets = Vec::new();
    let mut olds = Vec::new();
    let mut news = Vec::new();
    for (i, m) in step.maps.iter().enumerate() {
        let old = format!("t.{}", m.column);
        let new = format!(
            "(CASE WHEN c.unarchive_only THEN {old} ELSE {} END)",
            m.on_update(&old, &m.new_value(&format!("c.v{i}")))
        );
        sets.push(format!("{} = {new}", m.column));
        olds.push(old);
        news.push(new);
    }
    if let Some((a, boolean)) = &step.archived {
        let cleared = if *boolean { "false" } else { "NULL" };
        let new = format!("(CASE WHEN c.unarchive THEN {cleared} ELSE t.{a} END)");
        sets.push(format!("{a} = {new}"));
        olds.push(format!("t.{a}"));
        news.push(new);
    }
    let cols: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let params: Vec<String> = ["$1::text[]", "$2::boolean[]", "$3::boolean[]"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..n).map(|i| format!("${}::text[]", i + 4)))
        .collect();
    let sql = format!(
        "UPDATE {table} t SET {sets} FROM {from} AS c(id, unarchive, unarchive_only, {cols})
         WHERE t.{pk} = (c.id)::{pk_type} AND ROW({olds}) IS DISTINCT FROM ROW({news}) RETURNING t.{pk}::text",
        table = step.table.sql_name,
        sets = sets.join(", "),
        from = rows_from(&params),
        cols = cols.join(", "),
        pk = step.table.pk,
        pk_type = step.table.pk_type,
        olds = olds.join(", "),
        news = news.join(", "),
    );
    let ids: Vec<Option<String>> = rows.iter().map(|p| Some(target_id(&p.decision).to_owned())).collect();
    let unarchive: Vec<bool> = rows
        .iter()
        .map(|p| matches!(p.decision, Decision::UnarchiveAndUpdate(_) | Decision::UnarchiveOnly(_)))
        .collect();
    let only: Vec<bool> = rows.iter().map(|p| matches!(p.decision, Decision::UnarchiveOnly(_))).collect();
    let mut args: Vec<DatumWithOid<'static>> = vec![text_arg(ids), unarchive.into(), only.into()];
    args.extend(value_args(&step.maps, rows));
    let changed: HashSet<String> = query_texts(&sql, args)?.into_iter().flatten().collect();
    Ok(rows
        .iter()
        .map(|p| {
            let id = target_id(&p.decision).to_owned();
            let outcome = if changed.contains(&id) { "updated" } else { "unchanged" };
            Outcome::new(p.rn, outcome, Some(id), None)
        })
        .collect())
}
