//! The load stage: every load step in order, over its scope in chunks of
//! `chunk_size`, each chunk its own transaction as the connector's owner;
//! then ([`remember`]) the diff-check store. Row outcomes go to `sc.execution_rows` with
//! the chunk, so a cancel or crash keeps what earlier chunks did.
use super::{Execution, Stop};
use crate::catalog::executions::{self, RowRecord};
use crate::catalog::loads;
use crate::load::chunk::{self, EntityIds, Outcome};
use crate::load::plan::{plan, StepPlan};
use crate::load::values::{Bitmap, HashesReader, ValuesReader};
use crate::postgres::{as_role_pinned, as_superuser, subtransaction, transaction, Changes};
use pgrx::prelude::*;
use sc_core::execution::Stage;
use sc_core::load::RowOutcome;
use sc_core::report::{CellRef, RowSink};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Default rows per chunk (SPEC §6).
const DEFAULT_CHUNK: u32 = 1000;
/// Hashes looked up or stored per statement.
const HASH_BATCH: usize = 10_000;

/// A scope's validated values, as the variables stage left them.
#[derive(Debug, Clone)]
pub struct ScopeValues {
    pub name: String,
    pub variables: Vec<String>,
    pub rows: u64,
    pub path: PathBuf,
}

/// Per-row flags of one scope across its steps.
#[derive(Default)]
struct ScopeState {
    unchanged: Bitmap,
    /// Rows a step failed or skipped: not remembered by diff checking.
    not_loaded: Bitmap,
}

/// What the steps leave for the diff-check store.
#[derive(Default)]
pub struct Loaded {
    /// Whether hashes are stored (diff check on, not a dry run).
    store: bool,
    states: BTreeMap<String, ScopeState>,
}

/// Runs every load step; counts per step and outcome go into the execution.
pub fn run(ex: &mut Execution, scopes: &[ScopeValues], report: &mut impl RowSink) -> Result<Loaded, Stop> {
    if ex.doc.load_steps.is_empty() {
        return Ok(Loaded::default());
    }
    let owner = owner_oid(&ex.claimed.run_as)?;
    let plans = plan_steps(ex, scopes, owner)?;
    let diff =
        ex.claimed.diff_check.or(ex.doc.settings.diff_check).unwrap_or(false) && ex.claimed.connector_id.is_some();
    let mut states: BTreeMap<String, ScopeState> = BTreeMap::new();
    if diff {
        ex.enter(Stage::DiffCheck)?;
    }
    for p in &plans {
        let scope = scopes.iter().find(|s| s.name == p.scope).expect("planned scope exists");
        if !states.contains_key(&p.scope) {
            let mut st = ScopeState::default();
            if diff {
                st.unchanged = unchanged_rows(ex, scope)?;
            }
            states.insert(p.scope.clone(), st);
        }
    }
    for p in &plans {
        let scope = scopes.iter().find(|s| s.name == p.scope).expect("planned scope exists");
        let state = states.get_mut(&p.scope).expect("state per scope");
        run_step(ex, p, scope, owner, state, report)?;
    }
    Ok(Loaded { store: diff && !ex.claimed.dry_run, states })
}

/// The diff-check store: remembers the hashes of the rows the steps loaded.
pub fn remember(ex: &mut Execution, scopes: &[ScopeValues], loaded: &Loaded) -> Result<(), Stop> {
    if !loaded.store {
        return Ok(());
    }
    ex.enter(Stage::DiffStore)?;
    for (name, state) in &loaded.states {
        let scope = scopes.iter().find(|s| &s.name == name).expect("scope");
        remember_scope(ex, scope, state)?;
    }
    Ok(())
}

fn owner_oid(role: &str) -> Result<pg_sys::Oid, Stop> {
    let role = role.to_owned();
    transaction(move || {
        Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)",
            &[role.as_str().into()],
        )
    })?
    .ok()
    .flatten()
    .ok_or_else(|| Stop::Failed("the connector's owner role no longer exists".into()))
}

/// Plans every step and checks the owner may do what it needs, before anything is written.
fn plan_steps(ex: &Execution, scopes: &[ScopeValues], owner: pg_sys::Oid) -> Result<Vec<StepPlan>, Stop> {
    let doc = ex.doc.clone();
    let scopes = scopes.to_vec();
    let run_as = ex.claimed.run_as.clone();
    transaction(move || {
        as_role_pinned(owner, || -> Result<Vec<StepPlan>, String> {
            let mut plans: Vec<StepPlan> = Vec::new();
            for step in &doc.load_steps {
                let scope = match &step.scope {
                    Some(s) => scopes.iter().find(|x| &x.name == s),
                    None if scopes.len() == 1 => scopes.first(),
                    None => None,
                }
                .ok_or_else(|| format!("load step \"{}\": its scope is not an output table of the SQL", step.name))?;
                let earlier: Vec<&str> =
                    plans.iter().filter(|p| p.scope == scope.name).map(|p| p.name.as_str()).collect();
                let p = plan(&doc, step, &scope.name, &scope.variables, &earlier)?;
                // The same rule as the save-time checks (sc_core::load::writes).
                for privilege in sc_core::load::writes(step).privileges() {
                    if !p.table.allowed(&run_as, privilege).map_err(|e| e.to_string())? {
                        return Err(format!(
                            "load step \"{}\": role \"{run_as}\" may not {privilege} {} table {}",
                            p.name,
                            if privilege == "INSERT" { "into" } else { "on" },
                            p.table.name
                        ));
                    }
                }
                plans.push(p);
            }
            Ok(plans)
        })
    })?
    .map_err(Stop::Failed)
}

/// Diff check: the rows of `scope` whose hash an earlier run loaded.
fn unchanged_rows(ex: &mut Execution, scope: &ScopeValues) -> Result<Bitmap, Stop> {
    let mut map = Bitmap::default();
    let connector = ex.claimed.connector_id.unwrap_or(0);
    let name = scope.name.clone();
    if !transaction(move || loads::has_hashes(connector, &name))?? {
        return Ok(map); // nothing stored yet (a first load): no row is unchanged
    }
    let mut reader = HashesReader::open(&scope.path)?;
    loop {
        let rows = reader.next_chunk(HASH_BATCH)?;
        if rows.is_empty() {
            break;
        }
        let hashes = rows.iter().filter(|(_, valid, _)| *valid).map(|(_, _, h)| h.clone()).collect();
        let name = scope.name.clone();
        let known = transaction(move || loads::known_hashes(connector, &name, hashes))??;
        for (rn, valid, h) in &rows {
            if *valid && known.contains(h) {
                map.set(*rn);
            }
        }
    }
    Ok(map)
}

/// Stores the hashes of rows every step of the scope loaded without error.
fn remember_scope(ex: &mut Execution, scope: &ScopeValues, state: &ScopeState) -> Result<(), Stop> {
    let connector = ex.claimed.connector_id.unwrap_or(0);
    let id = ex.claimed.id;
    let mut reader = HashesReader::open(&scope.path)?;
    loop {
        let rows = reader.next_chunk(HASH_BATCH)?;
        if rows.is_empty() {
            break;
        }
        let hashes: Vec<Vec<u8>> = rows
            .into_iter()
            .filter(|(rn, valid, _)| *valid && !state.unchanged.get(*rn) && !state.not_loaded.get(*rn))
            .map(|(_, _, h)| h)
            .collect();
        let name = scope.name.clone();
        transaction(move || loads::store_hashes(connector, &name, id, hashes))??;
    }
    Ok(())
}

/// One step over its whole scope, chunk by chunk.
fn run_step(
    ex: &mut Execution,
    p: &StepPlan,
    scope: &ScopeValues,
    owner: pg_sys::Oid,
    state: &mut ScopeState,
    report: &mut impl RowSink,
) -> Result<(), Stop> {
    ex.enter(Stage::Load(p.name.clone()))?;
    let chunk_size = ex.doc.settings.chunk_size.unwrap_or(DEFAULT_CHUNK).max(1) as usize;
    let keep = !ex.claimed.dry_run;
    let sheet = report
        .begin_sheet(
            &format!("{} Upload ({})", p.table.name, scope.name),
            &["Row", "Outcome", "Record Id", "Errors", "Warnings"],
        )
        .map_err(|e| e.to_string())?;
    let mut reader = ValuesReader::open(&scope.path, scope.variables.len())?;
    let mut counts: BTreeMap<RowOutcome, u64> = BTreeMap::new();
    let mut done = 0u64;
    let mut hook_failed = false;
    loop {
        let rows = reader.next_chunk(chunk_size)?;
        let (Some(first), Some(last)) = (rows.first().map(|r| r.rn), rows.last().map(|r| r.rn)) else { break };
        let id = ex.claimed.id;
        let plan = p.clone();
        let unchanged = state.unchanged.clone();
        let result = transaction(move || -> Result<(Vec<Outcome>, Option<String>), String> {
            let mut entity: EntityIds = EntityIds::new();
            for s in &plan.entity_steps {
                let ids = loads::entity_ids(id, &plan.scope, s, first, last).map_err(|e| e.to_string())?;
                entity.insert(s.clone(), ids);
            }
            // Deferred constraints are checked per statement, so a bad row fails alone, not the chunk's commit.
            Spi::run("SET CONSTRAINTS ALL IMMEDIATE").map_err(|e| e.to_string())?;
            let outcomes = as_role_pinned(owner, || {
                chunk::process(&plan, &rows, &entity, &|rn| unchanged.get(rn), Changes::keep_if(keep))
            });
            let records: Vec<RowRecord> = outcomes
                .iter()
                .map(|o| RowRecord {
                    scope: plan.scope.clone(),
                    step: plan.name.clone(),
                    row_number: o.rn,
                    outcome: o.outcome.as_str(),
                    record_id: o.record_id.clone(),
                    errors: o.errors.clone(),
                    warnings: o.warnings.clone(),
                })
                .collect();
            as_superuser(|| executions::insert_rows(id, &records)).map_err(|e| e.to_string())?;
            let hook = if keep { after_load(&plan, id, owner, &outcomes) } else { None };
            Ok((outcomes, hook))
        })?;
        let (outcomes, hook_error) = result.map_err(|e| Stop::Failed(format!("load step \"{}\": {e}", p.name)))?;
        if let (Some(e), false) = (hook_error, hook_failed) {
            hook_failed = true;
            ex.warnings
                .push(format!("load step \"{}\": after_load function failed (the rows stay loaded): {e}", p.name));
        }
        done += outcomes.len() as u64;
        for o in &outcomes {
            *counts.entry(o.outcome).or_insert(0) += 1;
            if o.outcome.not_loaded() {
                state.not_loaded.set(o.rn);
            }
            let (errors, warnings) = (o.errors.join("\n"), o.warnings.join("\n"));
            let cells = [
                CellRef::Int(o.rn),
                CellRef::Text(o.outcome.as_str()),
                o.record_id.as_deref().map_or(CellRef::Null, CellRef::Text),
                CellRef::Text(&errors),
                CellRef::Text(&warnings),
            ];
            report.push(&sheet, &cells).map_err(|e| e.to_string())?;
        }
        ex.set_step_progress(&p.name, done, scope.rows);
        ex.counts.steps.insert(p.name.clone(), counts.clone());
        ex.publish()?;
    }
    ex.counts.steps.insert(p.name.clone(), counts);
    Ok(())
}

/// Calls the step's after-load function with the chunk's created and updated ids.
fn after_load(p: &StepPlan, id: i64, owner: pg_sys::Oid, outcomes: &[Outcome]) -> Option<String> {
    let f = p.after_load.as_ref()?;
    let ids = |kind: RowOutcome| -> Vec<Option<String>> {
        outcomes.iter().filter(|o| o.outcome == kind).map(|o| o.record_id.clone()).collect()
    };
    let (created, updated) = (ids(RowOutcome::Created), ids(RowOutcome::Updated));
    if created.is_empty() && updated.is_empty() {
        return None;
    }
    let sql = format!("SELECT {f}($1::bigint, $2::text, $3::text[]::{t}[], $4::text[]::{t}[])", t = p.table.pk_type);
    let step = p.name.clone();
    as_role_pinned(owner, || {
        subtransaction(Changes::Keep, move || {
            Spi::run_with_args(&sql, &[id.into(), step.as_str().into(), created.into(), updated.into()])
                .map_err(|e| e.to_string())
        })
        .err()
    })
}
