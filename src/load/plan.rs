//! A load step prepared for running: its tables read from the catalog, its
//! rules and mappings resolved to value slots and SQL expressions.
use super::target::{cast, quote_ident, ColumnType, Table};
use sc_core::document::ConnectorDocument;
use sc_core::document::{Conflict, LoadStep, MapSource, MatchKey, VariableType};

/// Where a value of a row comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A variable of the scope (index into the values row).
    Var(usize),
    /// Variables joined with a separator (NULLs left out; all NULL is NULL).
    Joined(Vec<usize>, String),
    /// The record id an earlier step matched or created for the same row.
    Entity(String),
    /// Index into the step's lookups.
    Lookup(usize),
}

/// One key column of a matching rule.
#[derive(Debug, Clone)]
pub struct KeyPlan {
    /// The column, quoted.
    pub column: String,
    /// Its type, without modifier.
    pub sql_type: String,
    pub source: Source,
}

/// One matching rule: key columns, or the primary key.
#[derive(Debug, Clone)]
pub struct RulePlan {
    pub keys: Vec<KeyPlan>,
    /// An index leads with one of the key columns, so each row's key is
    /// probed through it; otherwise a chunk is matched by one join.
    pub indexed: bool,
}

/// One mapping rule.
#[derive(Debug, Clone)]
pub struct MapPlan {
    pub column: String,
    pub col: ColumnType,
    pub source: Source,
    pub conflict: Conflict,
    /// The source is an array variable (its text is a JSON array).
    pub from_array: bool,
    /// The source's text is JSON already (numbers, booleans, arrays).
    pub json_text: bool,
}

/// A lookup: find the related row's id by a column.
#[derive(Debug, Clone)]
pub struct LookupPlan {
    pub table: Table,
    pub column: String,
    pub column_name: String,
    pub col_type: String,
    pub source: Source,
    /// An index leads with the column (see [`RulePlan::indexed`]).
    pub indexed: bool,
}

/// Everything needed to run one step.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub name: String,
    pub scope: String,
    pub table: Table,
    /// The archived column (quoted) and whether it is boolean (else a date
    /// or time: archived when not NULL).
    pub archived: Option<(String, bool)>,
    pub rules: Vec<RulePlan>,
    pub raw_rules: Vec<sc_core::document::MatchRule>,
    pub maps: Vec<MapPlan>,
    pub lookups: Vec<LookupPlan>,
    /// Earlier steps whose record ids this step uses.
    pub entity_steps: Vec<String>,
    /// `schema.function` of the after-load function, quoted.
    pub after_load: Option<String>,
}

impl StepPlan {
    /// The entity table, as the SQL builders take it.
    pub fn entity(&self) -> super::sql::Entity<'_> {
        super::sql::Entity {
            table: &self.table.sql_name,
            pk: &self.table.pk,
            pk_type: &self.table.pk_type,
            archived: self.archived.as_ref().map(|(a, boolean)| (a.as_str(), *boolean)),
        }
    }
}

/// Resolves a variable reference of `step`: a scope variable or `<step>.id`.
fn source_of(
    doc: &ConnectorDocument,
    vars: &[String],
    name: &str,
    earlier: &[&str],
) -> Result<(Source, Option<VariableType>, bool), String> {
    if let Some(i) = vars.iter().position(|v| v == name) {
        let var = doc.variable(name);
        return Ok((Source::Var(i), var.map(|v| v.var_type), var.is_some_and(|v| v.array)));
    }
    if let Some(step) = name.strip_suffix(".id") {
        if earlier.contains(&step) {
            return Ok((Source::Entity(step.to_owned()), None, false));
        }
    }
    Err(format!("\"{name}\" is neither a variable of this step's scope nor an earlier step's record id (<step>.id)"))
}

/// Builds the plan of `step` (scope variables `vars`), reading tables as the current role.
pub fn plan(
    doc: &ConnectorDocument,
    step: &LoadStep,
    scope: &str,
    vars: &[String],
    earlier: &[&str],
) -> Result<StepPlan, String> {
    let at = |e: String| format!("load step \"{}\": {e}", step.name);
    let table = Table::read(&step.table).map_err(|e| at(e.to_string()))?;
    let archived = match &step.archived_column {
        Some(c) => {
            let t = table.column(c).map_err(at)?;
            Some((quote_ident(c), t.sql == "boolean"))
        }
        None => None,
    };
    let mut entity_steps = Vec::new();
    let mut note_entity = |s: &Source| {
        if let Source::Entity(step) = s {
            if !entity_steps.contains(step) {
                entity_steps.push(step.clone());
            }
        }
    };
    let mut rules = Vec::new();
    for rule in &step.match_rules {
        let keys = match rule.key() {
            Some(MatchKey::Columns(cols)) => cols
                .iter()
                .map(|(col, var)| {
                    let t = table.column(col).map_err(at)?;
                    let (src, _, _) = source_of(doc, vars, var, earlier).map_err(at)?;
                    note_entity(&src);
                    Ok(KeyPlan { column: quote_ident(col), sql_type: t.sql.clone(), source: src })
                })
                .collect::<Result<Vec<_>, String>>()?,
            Some(MatchKey::PrimaryKey(var)) => {
                let (src, _, _) = source_of(doc, vars, var, earlier).map_err(at)?;
                note_entity(&src);
                vec![KeyPlan { column: table.pk.clone(), sql_type: table.pk_type.clone(), source: src }]
            }
            None => return Err(at("a matching rule needs either columns or primary_key".into())),
        };
        let names: Vec<String> = match rule.key() {
            Some(MatchKey::Columns(cols)) => cols.keys().cloned().collect(),
            _ => vec![table.pk_name.clone()],
        };
        let indexed = table.index_leads_with(&names).map_err(|e| at(e.to_string()))?;
        rules.push(RulePlan { keys, indexed });
    }
    let mut maps = Vec::new();
    let mut lookups = Vec::new();
    for m in &step.map_rules {
        let col = table.column(&m.column).map_err(at)?.clone();
        let (source, var_type, from_array) = match m.source() {
            Some(MapSource::Variable(v)) => source_of(doc, vars, v, earlier).map_err(at)?,
            Some(MapSource::Joined { variables, separator }) => {
                let idx = variables
                    .iter()
                    .map(|v| match source_of(doc, vars, v, earlier).map_err(at)? {
                        (Source::Var(i), _, _) => Ok(i),
                        _ => Err(at(format!("joined variable \"{v}\" must be a variable of the scope"))),
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                (Source::Joined(idx, separator.to_owned()), Some(VariableType::String), false)
            }
            Some(MapSource::Lookup(l)) => {
                let lt = Table::read(&l.table).map_err(|e| at(e.to_string()))?;
                let col_type = lt.column(&l.column).map_err(at)?.sql.clone();
                let (src, _, _) = source_of(doc, vars, &l.variable, earlier).map_err(at)?;
                note_entity(&src);
                let indexed = lt.index_leads_with(std::slice::from_ref(&l.column)).map_err(|e| at(e.to_string()))?;
                lookups.push(LookupPlan {
                    indexed,
                    column: quote_ident(&l.column),
                    column_name: l.column.clone(),
                    col_type,
                    table: lt,
                    source: src,
                });
                (Source::Lookup(lookups.len() - 1), None, false)
            }
            None => return Err(at(format!("mapping of column \"{}\" needs one source", m.column))),
        };
        note_entity(&source);
        let json_text = from_array || matches!(var_type, Some(VariableType::Number | VariableType::Boolean));
        maps.push(MapPlan {
            column: quote_ident(&m.column),
            col,
            source,
            conflict: m.conflict(),
            from_array,
            json_text,
        });
    }
    if maps.is_empty() {
        return Err(at("it maps no column".into()));
    }
    let after_load = match &step.after_load {
        Some(f) => {
            let oid = crate::postgres::owner_names(|| {
                pgrx::Spi::get_one_with_args::<pgrx::pg_sys::Oid>(
                    "SELECT pg_catalog.to_regproc($1)::oid",
                    &[f.as_str().into()],
                )
            })
            .ok()
            .flatten()
            .ok_or_else(|| at(format!("after_load function {f} does not exist")))?;
            // Called by its qualified name, under the pinned search_path.
            Some(
                pgrx::Spi::get_one_with_args::<String>(
                    "SELECT pg_catalog.format('%I.%I', n.nspname, p.proname) FROM pg_catalog.pg_proc p
                       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = $1",
                    &[oid.into()],
                )
                .ok()
                .flatten()
                .ok_or_else(|| at(format!("after_load function {f} does not exist")))?,
            )
        }
        None => None,
    };
    Ok(StepPlan {
        name: step.name.clone(),
        scope: scope.to_owned(),
        table,
        archived,
        rules,
        raw_rules: step.match_rules.clone(),
        maps,
        lookups,
        entity_steps,
        after_load,
    })
}

impl MapPlan {
    /// The new value, cast to the column, from text expression `text`.
    pub fn new_value(&self, text: &str) -> String {
        cast(text, &self.col, self.from_array, self.json_text)
    }

    /// The value an update writes, given the current value `old` and the new one.
    pub fn on_update(&self, old: &str, new: &str) -> String {
        match self.conflict {
            Conflict::Overwrite => new.to_owned(),
            Conflict::OverwriteExceptNull => format!("COALESCE({new}, {old})"),
            Conflict::OnlyUpdateBlank => {
                format!("(CASE WHEN {old} IS NULL OR {old}::text IN ('', '{{}}') THEN COALESCE({new}, {old}) ELSE {old} END)")
            }
            Conflict::AddOptions if self.col.is_array => format!(
                "(CASE WHEN {new} IS NULL THEN {old} ELSE COALESCE({old}, '{{}}') || ARRAY(SELECT x FROM pg_catalog.unnest({new}) x WHERE x IS NOT NULL AND NOT (x = ANY (COALESCE({old}, '{{}}')))) END)"
            ),
            Conflict::AddOptions => format!("COALESCE({new}, {old})"),
        }
    }
}
