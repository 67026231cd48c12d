//! The load stage: every load step in order, over its scope in chunks of
//! `chunk_size`, each chunk its own transaction as the connector's owner;
//! then ([`remember`]) the diff-check store. Row outcomes go to `sc.execution_rows` with
//! the chunk, so a cancel or crash keeps what earlier chunks did.
//!
//! A dry run loads exactly as a live run does (a row that repeats a key sees
//! the record an earlier row wrote, a later step finds the records an
//! earlier step created), all in one transaction that is rolled back at the
//! end; each chunk is a subtransaction of it. Its row outcomes are kept in a
//! file meanwhile and written to `sc.execution_rows` once it has rolled back.
//! So a dry run holds the row locks of what it would write until it ends.
use super::{Execution, Stop};
use crate::catalog::executions::{self, RowRecord};
use crate::catalog::loads;
use crate::error::ScResult;
use crate::load::chunk::{self, EntityIds, Outcome, Place, SeenKeys};
use crate::load::plan::{plan, StepPlan};
use crate::load::values::{Bitmap, HashesReader, ValuesReader};
use crate::postgres::{as_role_pinned, as_superuser, rolled_back, subtransaction, transaction, Changes};
use pgrx::prelude::*;
use sc_core::execution::Stage;
use sc_core::load::RowOutcome;
use sc_core::report::{CellRef, RowSink};
use sc_core::variables::{OutputTable, HASH_UNCHANGED, HASH_VALID};
use std::collections::{BTreeMap, HashMap, HashSet};
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
    /// Rows a step failed, or skipped for a missing related record: what a
    /// re-run of only the failed rows takes.
    retry: Bitmap,
    any_retry: bool,
}

/// What the steps leave for the diff-check store and a re-run of the failed rows.
#[derive(Default)]
pub struct Loaded {
    /// Whether hashes are stored (diff check on, not a dry run).
    store: bool,
    states: BTreeMap<String, ScopeState>,
}

impl Loaded {
    /// Whether a step failed a row (or skipped it for a missing related record).
    pub fn any_retry(&self) -> bool {
        self.states.values().any(|s| s.any_retry)
    }

    /// The rows of `scope` a re-run of only the failed rows takes.
    pub fn retry(&self, scope: &str) -> Option<&Bitmap> {
        self.states.get(scope).map(|s| &s.retry)
    }
}

/// Runs every load step; counts per step and outcome go into the execution.
pub fn run(ex: &mut Execution, scopes: &[ScopeValues], report: &mut impl RowSink) -> Result<Loaded, Stop> {
    if ex.doc.load_steps.is_empty() {
        return Ok(Loaded::default());
    }
    let owner = owner_oid(&ex.claimed.run_as)?;
    let plans = plan_steps(ex, scopes, owner)?;
    let diff = diff_check(ex);
    let mut states: BTreeMap<String, ScopeState> = BTreeMap::new();
    if diff {
        ex.enter(Stage::DiffCheck)?;
    }
    for p in &plans {
        let scope = scopes.iter().find(|s| s.name == p.scope).expect("planned scope exists");
        if !states.contains_key(&p.scope) {
            let mut st = ScopeState::default();
            if diff {
                st.unchanged = unchanged_rows(scope)?;
            }
            states.insert(p.scope.clone(), st);
        }
    }
    if !ex.claimed.dry_run {
        for p in &plans {
            let scope = scopes.iter().find(|s| s.name == p.scope).expect("planned scope exists");
            let state = states.get_mut(&p.scope).expect("state per scope");
            run_step(ex, p, scope, owner, state, report, None)?;
        }
        return Ok(Loaded { store: diff, states });
    }
    let mut kept = DryRows::create(&ex.dir)?;
    let loaded = rolled_back(std::panic::AssertUnwindSafe(|| -> Result<(), Stop> {
        for p in &plans {
            let scope = scopes.iter().find(|s| s.name == p.scope).expect("planned scope exists");
            let state = states.get_mut(&p.scope).expect("state per scope");
            run_step(ex, p, scope, owner, state, report, Some(&mut kept))?;
        }
        Ok(())
    }));
    // What the chunks did is written now that it is rolled back (also after a cancel).
    kept.write_out(ex.claimed.id)?;
    loaded.map_err(|e| Stop::Failed(format!("load steps (dry run): {e}")))??;
    ex.publish()?;
    Ok(Loaded { store: false, states })
}

/// A dry run's row outcomes, kept in a file while its transaction lasts.
struct DryRows {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl DryRows {
    fn create(dir: &std::path::Path) -> Result<Self, Stop> {
        let path = dir.join("dry_run_rows.jsonl");
        let file = std::fs::File::create(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(DryRows { path, out: std::io::BufWriter::new(file) })
    }

    fn keep(&mut self, records: &[RowRecord]) -> Result<(), String> {
        use std::io::Write;
        for r in records {
            let line = serde_json::json!([
                r.scope,
                r.step,
                r.row_number,
                r.outcome,
                r.record_id,
                r.errors,
                r.warnings,
                r.match_key,
                r.source,
                r.line
            ]);
            writeln!(self.out, "{line}").map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        }
        Ok(())
    }

    /// Writes the kept outcomes to `sc.execution_rows`, a batch per transaction.
    fn write_out(mut self, id: i64) -> Result<(), Stop> {
        use std::io::{BufRead, Write};
        self.out.flush().map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        let file = std::fs::File::open(&self.path).map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
        let mut batch: Vec<RowRecord> = Vec::new();
        let flush = |batch: Vec<RowRecord>| -> Result<(), Stop> {
            transaction(move || as_superuser(|| executions::insert_rows(id, &batch)))??;
            Ok(())
        };
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
            let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
            let text = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
            let list = |i: usize| -> Vec<String> {
                v[i].as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default()
            };
            batch.push(RowRecord {
                scope: text(0),
                step: text(1),
                row_number: v[2].as_i64().unwrap_or_default(),
                outcome: RowOutcome::parse(v[3].as_str().unwrap_or_default()).unwrap_or(RowOutcome::Failed).as_str(),
                record_id: v[4].as_str().map(str::to_owned),
                errors: list(5),
                warnings: list(6),
                match_key: v[7].as_str().map(str::to_owned),
                source: v[8].as_str().map(str::to_owned),
                line: v[9].as_i64(),
            });
            if batch.len() >= HASH_BATCH {
                flush(std::mem::take(&mut batch))?;
            }
        }
        if !batch.is_empty() {
            flush(batch)?;
        }
        let _ = std::fs::remove_file(&self.path);
        Ok(())
    }
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

/// Diff check: the rows of `scope` an earlier run loaded, as the variables
/// stage marked them in the hashes file (it looked each row's hash up).
fn unchanged_rows(scope: &ScopeValues) -> Result<Bitmap, Stop> {
    let mut map = Bitmap::default();
    let mut reader = HashesReader::open(&scope.path)?;
    loop {
        let rows = reader.next_chunk(HASH_BATCH)?;
        if rows.is_empty() {
            break;
        }
        for (rn, flag, _) in &rows {
            if *flag == HASH_UNCHANGED {
                map.set(*rn);
            }
        }
    }
    Ok(map)
}

/// Whether this run checks and stores row hashes: diff check on (the run's
/// argument, else the connector's setting), a connector that still exists.
fn diff_check(ex: &Execution) -> bool {
    ex.claimed.diff_check.or(ex.doc.settings.diff_check).unwrap_or(false) && ex.claimed.connector_id.is_some()
}

/// What row hashes cover besides the row's cells: the parts of the
/// connector's definition that decide what a row becomes (its variables,
/// load steps, time zone and phone region). Changing any of them makes
/// every row new again.
pub fn fingerprint(doc: &sc_core::document::ConnectorDocument) -> String {
    let decisive = serde_json::json!([doc.variables, doc.load_steps, doc.settings.timezone, doc.settings.phone_region]);
    let text = decisive.to_string();
    sc_core::load::row_hash([Some(text.as_str())]).iter().map(|b| format!("{b:02x}")).collect()
}

/// The hashes an earlier run stored for each of `tables` (diff check),
/// read in one pass per scope; empty when this run does not diff-check.
/// About 40 bytes per stored row while the variables stage runs.
pub fn stored_hashes(ex: &Execution, tables: &[OutputTable]) -> Result<HashMap<String, HashSet<[u8; 16]>>, Stop> {
    let mut out = HashMap::new();
    if !diff_check(ex) || ex.doc.load_steps.is_empty() {
        return Ok(out);
    }
    let connector = ex.claimed.connector_id.unwrap_or(0);
    for t in tables {
        let name = t.name.clone();
        let set = transaction(move || -> ScResult<Option<HashSet<[u8; 16]>>> {
            if !loads::has_hashes(connector, &name)? {
                return Ok(None); // a first load: nothing to read
            }
            loads::stored_hashes(connector, &name).map(Some)
        })??;
        if let Some(set) = set {
            out.insert(t.name.clone(), set);
        }
    }
    Ok(out)
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
            .filter(|(rn, flag, _)| *flag == HASH_VALID && !state.not_loaded.get(*rn))
            .map(|(_, _, h)| h)
            .collect();
        let name = scope.name.clone();
        transaction(move || loads::store_hashes(connector, &name, id, hashes))??;
    }
    Ok(())
}

/// What one chunk's transaction hands back.
struct ChunkDone {
    /// Each row's outcome, and whether a re-run of the failed rows takes it.
    kinds: Vec<(RowOutcome, bool)>,
    /// The same rows' records, in the same order.
    records: Vec<RowRecord>,
    /// The after-load function's error, if it failed.
    hook_error: Option<String>,
    /// The step's match keys so far, for the next chunk.
    seen: SeenKeys,
}

/// One step over its whole scope, chunk by chunk.
fn run_step(
    ex: &mut Execution,
    p: &StepPlan,
    scope: &ScopeValues,
    owner: pg_sys::Oid,
    state: &mut ScopeState,
    report: &mut impl RowSink,
    mut dry: Option<&mut DryRows>,
) -> Result<(), Stop> {
    match dry {
        None => ex.enter(Stage::Load(p.name.clone()))?,
        Some(_) => ex.enter_in_transaction(Stage::Load(p.name.clone()))?,
    }
    let chunk_size = ex.doc.settings.chunk_size.unwrap_or(DEFAULT_CHUNK).max(1) as usize;
    let live = dry.is_none();
    let sheet = report
        .begin_sheet(
            &format!("{} Upload ({})", p.table.name, scope.name),
            &["Row", "Source", "Line", "Outcome", "Record Id", "Match key", "Errors", "Warnings"],
        )
        .map_err(|e| e.to_string())?;
    let mut reader = ValuesReader::open(&scope.path, scope.variables.len())?;
    let mut counts: BTreeMap<RowOutcome, u64> = BTreeMap::new();
    let mut done = 0u64;
    let mut hook_failed = false;
    let mut seen_keys = SeenKeys::default();
    if !p.rules.is_empty() && scope.rows > crate::load::seen::IN_MEMORY as u64 {
        // Match keys past the worker's share go to a temporary table: made
        // now, outside the owner's role (see `load::seen`).
        match dry {
            None => transaction(crate::load::seen::prepare).and_then(|r| r),
            Some(_) => crate::load::seen::prepare(),
        }
        .map_err(Stop::Failed)?;
    }
    loop {
        let read = reader.next_chunk(chunk_size)?;
        if read.is_empty() {
            break;
        }
        // Rows an earlier run loaded are counted, not processed, listed or reported (SPEC §5).
        let before = read.len();
        let rows: Vec<_> = read.into_iter().filter(|r| !state.unchanged.get(r.rn)).collect();
        let skipped = (before - rows.len()) as u64;
        if skipped > 0 {
            *counts.entry(RowOutcome::Unchanged).or_insert(0) += skipped;
            done += skipped;
        }
        let (Some(first), Some(last)) = (rows.first().map(|r| r.rn), rows.last().map(|r| r.rn)) else {
            chunk_done(ex, &p.name, done, scope.rows, &counts, dry.is_some())?;
            continue;
        };
        let id = ex.claimed.id;
        let plan = p.clone();
        let unchanged = state.unchanged.clone();
        let mut seen = std::mem::take(&mut seen_keys);
        // Each row's place in the file, by row number (rows are in order).
        let places: Vec<(i64, Option<Place>)> = rows.iter().map(|r| (r.rn, r.place.clone())).collect();
        let place = move |rn: i64| places.binary_search_by_key(&rn, |(n, _)| *n).ok().and_then(|i| places[i].1.clone());
        let body = move || -> Result<ChunkDone, String> {
            let mut entity: EntityIds = EntityIds::new();
            for s in &plan.entity_steps {
                let ids = loads::entity_ids(id, &plan.scope, s, first, last).map_err(|e| e.to_string())?;
                entity.insert(s.clone(), ids);
            }
            // Deferred constraints are checked per statement, so a bad row fails alone, not the chunk's commit.
            Spi::run("SET CONSTRAINTS ALL IMMEDIATE").map_err(|e| e.to_string())?;
            // Written and kept (a dry run's whole transaction is rolled back at its end).
            let outcomes = as_role_pinned(owner, || {
                chunk::process(&plan, &rows, &entity, &|rn| unchanged.get(rn), Changes::Keep, &mut seen)
            });
            let hook_ids = if live { hook_ids(&plan, &outcomes) } else { None };
            let kinds: Vec<(RowOutcome, bool)> = outcomes.iter().map(|o| (o.outcome, o.retry())).collect();
            // The outcomes become the records (moved, not copied: a chunk has thousands).
            let records: Vec<RowRecord> = outcomes
                .into_iter()
                .map(|o| {
                    let place = place(o.rn);
                    RowRecord {
                        scope: plan.scope.clone(),
                        step: plan.name.clone(),
                        row_number: o.rn,
                        outcome: o.outcome.as_str(),
                        record_id: o.record_id,
                        errors: o.errors,
                        warnings: o.warnings,
                        match_key: o.match_key,
                        line: place.as_ref().map(|p| p.line),
                        source: place.and_then(|p| p.source),
                    }
                })
                .collect();
            // Later steps of a dry run read this step's record ids from here too.
            as_superuser(|| executions::insert_rows(id, &records)).map_err(|e| e.to_string())?;
            let hook = hook_ids.and_then(|ids| after_load(&plan, id, owner, ids));
            Ok(ChunkDone { kinds, records, hook_error: hook, seen })
        };
        let result = match dry {
            None => transaction(body).and_then(|r| r),
            Some(_) => subtransaction(Changes::Keep, body),
        };
        let ChunkDone { kinds, records, hook_error, seen } =
            result.map_err(|e| Stop::Failed(format!("load step \"{}\": {e}", p.name)))?;
        seen_keys = seen;
        if let Some(kept) = dry.as_deref_mut() {
            kept.keep(&records)?;
        }
        if let (Some(e), false) = (hook_error, hook_failed) {
            hook_failed = true;
            ex.warnings
                .push(format!("load step \"{}\": after_load function failed (the rows stay loaded): {e}", p.name));
        }
        done += records.len() as u64;
        for (&(outcome, retry), r) in kinds.iter().zip(&records) {
            *counts.entry(outcome).or_insert(0) += 1;
            if outcome.not_loaded() {
                state.not_loaded.set(r.row_number);
            }
            if retry {
                state.retry.set(r.row_number);
                state.any_retry = true;
            }
            let (errors, warnings) = (r.errors.join("\n"), r.warnings.join("\n"));
            let cells = [
                CellRef::Int(r.row_number),
                r.source.as_deref().map_or(CellRef::Null, CellRef::Text),
                r.line.map_or(CellRef::Null, CellRef::Int),
                CellRef::Text(r.outcome),
                r.record_id.as_deref().map_or(CellRef::Null, CellRef::Text),
                r.match_key.as_deref().map_or(CellRef::Null, CellRef::Text),
                CellRef::Text(&errors),
                CellRef::Text(&warnings),
            ];
            report.push(&sheet, &cells).map_err(|e| e.to_string())?;
        }
        chunk_done(ex, &p.name, done, scope.rows, &counts, dry.is_some())?;
    }
    ex.counts.steps.insert(p.name.clone(), counts);
    Ok(())
}

/// After a chunk of step `step`: its progress and counts so far are published
/// (a dry run, inside its one transaction, only checks for a cancel).
fn chunk_done(
    ex: &mut Execution,
    step: &str,
    done: u64,
    total: u64,
    counts: &BTreeMap<RowOutcome, u64>,
    dry: bool,
) -> Result<(), Stop> {
    ex.set_step_progress(step, done, total);
    ex.counts.steps.insert(step.to_owned(), counts.clone());
    if dry {
        ex.check_stop_in_transaction()
    } else {
        ex.publish()
    }
}

/// The ids an after-load function is called with: created, then updated.
type HookIds = (Vec<Option<String>>, Vec<Option<String>>);

/// The chunk's created and updated ids, when the step has an after-load
/// function and the chunk created or updated a record.
fn hook_ids(p: &StepPlan, outcomes: &[Outcome]) -> Option<HookIds> {
    p.after_load.as_ref()?;
    let ids = |kind: RowOutcome| -> Vec<Option<String>> {
        outcomes.iter().filter(|o| o.outcome == kind).map(|o| o.record_id.clone()).collect()
    };
    let (created, updated) = (ids(RowOutcome::Created), ids(RowOutcome::Updated));
    (!created.is_empty() || !updated.is_empty()).then_some((created, updated))
}

/// Calls the step's after-load function with the chunk's created and updated ids.
fn after_load(p: &StepPlan, id: i64, owner: pg_sys::Oid, (created, updated): HookIds) -> Option<String> {
    let f = p.after_load.as_ref()?;
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
