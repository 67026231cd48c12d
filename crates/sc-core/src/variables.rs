//! The variables stage: SQL output rows become typed, validated execution
//! variables (SPEC §4), the report's `SQL Output (<scope>)` and
//! `Extracted Variables (<scope>)` sheets, and one outcome per row.
//!
//! Everything streams: one row of one scope is in memory at a time, so the
//! stage runs in constant memory whatever the row count. The caller (the
//! execution worker) receives each row's outcome and progress through an
//! [`Observer`], which can also stop the stage (cancel).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;

use crate::document::Variable;
use crate::report::{Cell, CellRef, ReportError, RowSink};
use crate::rowbinary::{RowBinaryWriter, RowReader};
use crate::types::{resolve, Context, Resolved, TypedValue};

/// Rows between two progress reports.
pub const PROGRESS_EVERY: u64 = 10_000;

/// One output table of the SQL stage (a scope), as the engine wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTable {
    pub name: String,
    /// Column names and ClickHouse types, in order.
    pub columns: Vec<(String, String)>,
    pub rows: u64,
    /// RowBinary file, every column `Nullable(String)`.
    pub path: PathBuf,
    /// Where to write the scope's resolved values for the load stage (see [`VALUES_FIXED`]).
    pub values_path: Option<PathBuf>,
    /// Where the scope's rows come from when it carries their lines
    /// ([`LINE_COLUMN`]) but not their source ([`SOURCE_COLUMN`]): the only
    /// input table with lines, e.g. `contacts.xlsx!Contacts`.
    pub source: Option<String>,
}

/// A scope column holding each row's line in the uploaded file: the
/// readers' hidden `_line` of an input table, which a pass-through scope
/// carries and SQL can select (`SELECT _line, …`).
pub const LINE_COLUMN: &str = crate::readers::LINE_COLUMN;

/// A scope column naming the input each row's line is in (the hidden
/// `_sheet` of an input table, e.g. `contacts.xlsx!Contacts`), for SQL
/// that combines several sheets.
pub const SOURCE_COLUMN: &str = "_sheet";

/// Leading columns of a values file, before one column per variable of the
/// scope (canonical text, NULL for no value): `status` (`valid` or
/// `invalid`), `errors` (newline-separated, NULL when none), and the row's
/// `source` and `line` in the uploaded file (NULL when not known). Row
/// hashes are in a file of their own ([`HASH_RECORD`]).
pub const VALUES_FIXED: [&str; 4] = ["status", "errors", "source", "line"];

/// Bytes per row of a scope's hashes file, written next to its values file
/// ([`hashes_path`]): [`HASH_VALID`], [`HASH_INVALID`] or [`HASH_UNCHANGED`],
/// then its 16-byte row hash ([`row_hash_of`]). Diff checking reads it
/// instead of the whole values file.
pub const HASH_RECORD: usize = 17;

/// Where the hashes file of the values file at `values` is.
pub fn hashes_path(values: &std::path::Path) -> PathBuf {
    values.with_extension("hashes")
}

/// The outcome of one row of one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome<'a> {
    pub scope: &'a str,
    /// 1-based, in the order of the SQL output.
    pub row_number: u64,
    /// `false` when a required variable is blank or invalid.
    pub valid: bool,
    pub errors: &'a [String],
    pub warnings: &'a [String],
    /// The input the row was read from (`file.xlsx!Sheet`), when known.
    pub source: Option<&'a str>,
    /// The row's line in that input (1-based), when known.
    pub line: Option<i64>,
}

/// Whether the stage goes on after a progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Receives the stage's results as they are produced.
pub trait Observer {
    /// Called for every row, in order.
    fn row(&mut self, outcome: &RowOutcome<'_>) -> Result<(), String>;
    /// Called every [`PROGRESS_EVERY`] rows and at the end of each scope.
    fn progress(&mut self, scope: &str, done: u64, total: u64) -> Flow;
}

/// Rows per scope and outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeCounts {
    pub scope: String,
    /// Names of the scope's variables, in the order of the values file.
    pub variables: Vec<String>,
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Rows an earlier run loaded (diff check): neither valid nor invalid, not validated.
    pub unchanged: u64,
    /// Rows with at least one warning (valid or not).
    pub with_warnings: u64,
}

/// Why the stage did not finish.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The connector's variables do not fit what the SQL produced.
    #[error("{0}")]
    Definition(String),
    #[error("cannot read the SQL output of scope \"{scope}\": {message}")]
    Read { scope: String, message: String },
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("{0}")]
    Observer(String),
    /// The observer asked to stop.
    #[error("stopped")]
    Stopped,
}

/// The variables of one scope and where their cells are.
#[derive(Debug)]
struct ScopePlan<'v> {
    table: usize,
    /// (variable, source column index; `None` for a static value).
    vars: Vec<(&'v Variable, Option<usize>)>,
}

/// Assigns every variable to a scope and a column, or explains why it
/// cannot: every variable that cannot is named, one line each, before any
/// row is validated.
fn plan<'v>(vars: &'v [Variable], tables: &[OutputTable]) -> Result<Vec<ScopePlan<'v>>, StageError> {
    let mut plans: Vec<ScopePlan<'v>> = (0..tables.len()).map(|table| ScopePlan { table, vars: Vec::new() }).collect();
    let names = || tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
    let mut problems: Vec<String> = Vec::new();
    for var in vars {
        let t = match &var.scope {
            Some(scope) => match tables.iter().position(|t| &t.name == scope) {
                Some(t) => t,
                None => {
                    problems.push(format!(
                        "variable \"{}\": scope \"{scope}\" is not an output table of the SQL (output tables: {})",
                        var.name,
                        names()
                    ));
                    continue;
                }
            },
            None if tables.len() == 1 => 0,
            None => {
                problems.push(format!(
                    "variable \"{}\" has no scope, but the SQL produced {} output tables ({}); set its \"scope\"",
                    var.name,
                    tables.len(),
                    names()
                ));
                continue;
            }
        };
        let column = match var.source_column() {
            None => None,
            Some(col) => match tables[t].columns.iter().position(|(c, _)| c == col) {
                Some(i) => Some(i),
                None => {
                    problems.push(format!(
                        "variable \"{}\": column \"{col}\" is not in output table \"{}\" (columns: {})",
                        var.name,
                        tables[t].name,
                        tables[t].columns.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                    continue;
                }
            },
        };
        plans[t].vars.push((var, column));
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(StageError::Definition(problems.join("\n")))
    }
}

/// Whether a scope's row, by its hash ([`row_hash_of`]), was loaded by an
/// earlier run (diff check): `known(scope, hash)`.
pub type Known<'a> = &'a dyn Fn(&str, &[u8; 16]) -> bool;

/// How the stage works.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Resolve each distinct (variable, cell) once per scope ([`Memo`]).
    pub memo: bool,
    /// What the row hashes cover besides the row: the connector's
    /// definition as far as it decides what a row becomes ([`row_hash_of`]).
    pub fingerprint: &'a str,
    /// Diff check: rows an earlier run loaded are unchanged. They are counted
    /// (`ScopeCounts::unchanged`), not validated, reported or listed.
    pub known: Option<Known<'a>>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options { memo: true, fingerprint: "", known: None }
    }
}

/// A row's hash for diff checking: the cells of the SQL output row that the
/// scope's variables read, as the engine wrote them, with the connector's
/// `fingerprint`; taken before validation (SPEC §5), so an unchanged row
/// costs neither validation nor a report row. Columns no variable reads
/// (among them `_line`: a row moved in the file is still the same row) do
/// not count.
pub fn row_hash_of<'a>(fingerprint: &'a str, cells: impl IntoIterator<Item = Option<&'a str>>) -> [u8; 16] {
    crate::load::row_hash(std::iter::once(Some(fingerprint)).chain(cells))
}

/// The hashes file's first byte for a row: valid, invalid, or unchanged.
pub const HASH_INVALID: u8 = 0;
/// See [`HASH_INVALID`].
pub const HASH_VALID: u8 = 1;
/// See [`HASH_INVALID`]: an earlier run loaded this row (not validated).
pub const HASH_UNCHANGED: u8 = 2;

/// Runs the stage over every table: checks the variables against the
/// output, then streams each scope into the report and the observer.
pub fn run(
    vars: &[Variable],
    tables: &[OutputTable],
    ctx: &Context,
    report: &mut impl RowSink,
    observer: &mut impl Observer,
) -> Result<Vec<ScopeCounts>, StageError> {
    run_with(vars, tables, ctx, report, observer, &Options::default())
}

/// [`run`] with `options`.
pub fn run_with(
    vars: &[Variable],
    tables: &[OutputTable],
    ctx: &Context,
    report: &mut impl RowSink,
    observer: &mut impl Observer,
    options: &Options,
) -> Result<Vec<ScopeCounts>, StageError> {
    let plans = plan(vars, tables)?;
    let mut all = Vec::with_capacity(plans.len());
    for p in &plans {
        all.push(run_scope(&tables[p.table], p, ctx, report, observer, options)?);
    }
    Ok(all)
}

/// Lookups after which a memo that is not paying is switched off: long
/// enough for a column of a few thousand customers' phones to repeat, short
/// enough that a column of unique values costs next to nothing.
const MEMO_TRIAL: u64 = 65_536;
/// Most distinct cells a memo keeps (then it only serves what it has).
const MEMO_MAX: usize = 65_536;

/// What one variable resolved each distinct cell text to, within one scope.
///
/// Real columns repeat (dates, vendors, booleans, plans, countries, a
/// customer's phone), and parsing dates and phone numbers is the costliest
/// part of validation. [`resolve`] depends only on the variable, the cell's
/// text and the context, so a remembered result is exactly what resolving
/// again would give. Plain strings are not remembered (their resolving is a
/// trim), and a memo whose first [`MEMO_TRIAL`] lookups found less than a
/// quarter switches itself off (a column of unique values only pays the hashing).
struct Memo {
    on: bool,
    map: foldhash::HashMap<Box<str>, (Resolved, Option<String>)>,
    lookups: u64,
    hits: u64,
}

impl Memo {
    fn new(var: &Variable, options: &Options) -> Memo {
        let worth = var.var_type != crate::document::VariableType::String || var.value.is_some();
        Memo { on: options.memo && worth, map: Default::default(), lookups: 0, hits: 0 }
    }

    /// `var` resolved for `cell`, and the value's canonical text.
    fn resolve(&mut self, var: &Variable, cell: Option<&str>, ctx: &Context) -> (Resolved, Option<String>) {
        let fresh = || {
            let r = resolve(var, cell, ctx);
            let text = r.value.as_ref().map(TypedValue::to_text);
            (r, text)
        };
        if !self.on {
            return fresh();
        }
        // No cell and an empty one resolve alike (blank).
        let key = cell.unwrap_or("");
        self.lookups += 1;
        if let Some(hit) = self.map.get(key) {
            self.hits += 1;
            return hit.clone();
        }
        let out = fresh();
        if self.map.len() < MEMO_MAX {
            self.map.insert(key.into(), out.clone());
        }
        if self.lookups == MEMO_TRIAL && self.hits * 4 < self.lookups {
            self.on = false;
            self.map = Default::default();
        }
        out
    }
}

fn run_scope(
    table: &OutputTable,
    plan: &ScopePlan<'_>,
    ctx: &Context,
    report: &mut impl RowSink,
    observer: &mut impl Observer,
    options: &Options,
) -> Result<ScopeCounts, StageError> {
    let mut memos: Vec<Memo> = plan.vars.iter().map(|(v, _)| Memo::new(v, options)).collect();
    let read_err = |e: std::io::Error| StageError::Read { scope: table.name.clone(), message: e.to_string() };
    let headers: Vec<&str> = table.columns.iter().map(|(c, _)| c.as_str()).collect();
    let sql_sheet = report.begin_sheet(&format!("SQL Output ({})", table.name), &headers)?;
    let mut var_headers: Vec<&str> = plan.vars.iter().map(|(v, _)| v.name.as_str()).collect();
    var_headers.extend(["Errors", "Warnings", "Status"]);
    let var_sheet = report.begin_sheet(&format!("Extracted Variables ({})", table.name), &var_headers)?;
    let kinds: Vec<CellKind> = table.columns.iter().map(|(_, t)| CellKind::of(t)).collect();
    let line_at = table.columns.iter().position(|(c, _)| c == LINE_COLUMN);
    let source_at = table.columns.iter().position(|(c, _)| c == SOURCE_COLUMN);

    let file = File::open(&table.path).map_err(read_err)?;
    let mut reader = RowReader::new(BufReader::with_capacity(256 * 1024, file), table.columns.len());
    let mut counts = ScopeCounts {
        scope: table.name.clone(),
        variables: plan.vars.iter().map(|(v, _)| v.name.clone()).collect(),
        ..ScopeCounts::default()
    };
    let mut values = match &table.values_path {
        Some(p) => Some((
            RowBinaryWriter::new(File::create(p).map_err(read_err)?, VALUES_FIXED.len() + plan.vars.len()),
            BufWriter::with_capacity(64 * 1024, File::create(hashes_path(p)).map_err(read_err)?),
        )),
        None => None,
    };
    let mut texts: Vec<Option<String>> = Vec::with_capacity(plan.vars.len());
    let mut row = Vec::new();
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    loop {
        if table.columns.is_empty() {
            // A table without columns has rows but no bytes to read.
            if counts.rows >= table.rows {
                break;
            }
            row.clear();
        } else if !reader.next_into(&mut row).map_err(read_err)? {
            break;
        }
        counts.rows += 1;
        let hash = row_hash_of(
            options.fingerprint,
            plan.vars.iter().map(|(_, col)| col.and_then(|c| row.get(c)).and_then(|v| v.as_deref())),
        );
        if options.known.is_some_and(|known| known(&table.name, &hash)) {
            counts.unchanged += 1;
            if let Some((w, hashes)) = values.as_mut() {
                hashes.write_all(&[HASH_UNCHANGED]).and_then(|()| hashes.write_all(&hash)).map_err(read_err)?;
                let mut out: Vec<Option<&str>> = vec![None; VALUES_FIXED.len() + plan.vars.len()];
                out[0] = Some("unchanged");
                w.write_row(&out).map_err(read_err)?;
            }
            if counts.rows.is_multiple_of(PROGRESS_EVERY)
                && observer.progress(&table.name, counts.rows, table.rows) == Flow::Stop
            {
                return Err(StageError::Stopped);
            }
            continue;
        }
        let sql_cells: Vec<CellRef<'_>> = row.iter().zip(&kinds).map(|(v, k)| k.cell(v.as_deref())).collect();
        report.push(&sql_sheet, &sql_cells)?;

        let mut var_cells = Vec::with_capacity(var_headers.len());
        errors.clear();
        warnings.clear();
        texts.clear();
        for ((var, col), memo) in plan.vars.iter().zip(&mut memos) {
            let cell = col.and_then(|c| row.get(c)).and_then(|v| v.as_deref());
            let (r, text) = memo.resolve(var, cell, ctx);
            var_cells.push(r.value.as_ref().map_or(Cell::Null, |v| value_cell(v, var, ctx)));
            texts.push(text);
            errors.extend(r.error);
            warnings.extend(r.warning);
        }
        let valid = errors.is_empty();
        let cell_at = |at: Option<usize>| at.and_then(|c| row.get(c)).and_then(|v| v.as_deref());
        let line_text = cell_at(line_at);
        let line = line_text.and_then(|l| l.trim().parse::<i64>().ok());
        let source = line.and(cell_at(source_at).or(table.source.as_deref()));
        if let Some((w, hashes)) = values.as_mut() {
            let flag = if valid { HASH_VALID } else { HASH_INVALID };
            hashes.write_all(&[flag]).and_then(|()| hashes.write_all(&hash)).map_err(read_err)?;
            let joined = (!errors.is_empty()).then(|| errors.join("\n"));
            let mut out: Vec<Option<&str>> = Vec::with_capacity(VALUES_FIXED.len() + texts.len());
            out.push(Some(if valid { "valid" } else { "invalid" }));
            out.push(joined.as_deref());
            out.push(source);
            out.push(line.and(line_text));
            out.extend(texts.iter().map(|t| t.as_deref()));
            w.write_row(&out).map_err(read_err)?;
        }
        var_cells.push(Cell::Text(errors.join("\n")));
        var_cells.push(Cell::Text(warnings.join("\n")));
        var_cells.push(Cell::Text(if valid { "valid" } else { "invalid" }.into()));
        let var_refs: Vec<CellRef<'_>> = var_cells.iter().map(Cell::borrowed).collect();
        report.push(&var_sheet, &var_refs)?;
        if valid {
            counts.valid += 1;
        } else {
            counts.invalid += 1;
        }
        if !warnings.is_empty() {
            counts.with_warnings += 1;
        }
        observer
            .row(&RowOutcome {
                scope: &table.name,
                row_number: counts.rows,
                valid,
                errors: &errors,
                warnings: &warnings,
                source,
                line,
            })
            .map_err(StageError::Observer)?;
        if counts.rows.is_multiple_of(PROGRESS_EVERY)
            && observer.progress(&table.name, counts.rows, table.rows) == Flow::Stop
        {
            return Err(StageError::Stopped);
        }
    }
    if let Some((w, hashes)) = values {
        w.finish().map_err(read_err)?;
        hashes.into_inner().map_err(|e| read_err(e.into_error()))?;
    }
    if observer.progress(&table.name, counts.rows, table.rows) == Flow::Stop {
        return Err(StageError::Stopped);
    }
    Ok(counts)
}

/// How a SQL output column is shown in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    Text,
    Number,
    Date,
    DateTime,
    Bool,
}

impl CellKind {
    /// From a ClickHouse type such as `Nullable(Decimal(10, 2))`.
    fn of(ch_type: &str) -> CellKind {
        let mut t = ch_type.trim();
        for wrapper in ["Nullable(", "LowCardinality("] {
            if let Some(inner) = t.strip_prefix(wrapper).and_then(|s| s.strip_suffix(')')) {
                t = inner;
            }
        }
        if t.starts_with("Int") || t.starts_with("UInt") || t.starts_with("Float") || t.starts_with("Decimal") {
            CellKind::Number
        } else if t.starts_with("DateTime") {
            CellKind::DateTime
        } else if t.starts_with("Date") {
            CellKind::Date
        } else if t == "Bool" {
            CellKind::Bool
        } else {
            CellKind::Text
        }
    }

    /// The report cell of one value; anything that does not parse stays text.
    fn cell(self, v: Option<&str>) -> CellRef<'_> {
        let Some(v) = v else { return CellRef::Null };
        let parsed = match self {
            CellKind::Text => None,
            CellKind::Number => v.parse::<f64>().ok().filter(|f| f.is_finite()).map(CellRef::Number),
            CellKind::Date => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().map(CellRef::Date),
            CellKind::DateTime => {
                chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").ok().map(CellRef::DateTime)
            }
            CellKind::Bool => match v {
                "true" => Some(CellRef::Bool(true)),
                "false" => Some(CellRef::Bool(false)),
                _ => None,
            },
        };
        parsed.unwrap_or(CellRef::Text(v))
    }
}

/// The report cell of a resolved value: numbers, booleans and dates as
/// Excel values, datetimes in the connector's zone, the rest as rendered text.
fn value_cell(v: &TypedValue, var: &Variable, ctx: &Context) -> Cell {
    let format = var.output_format.as_deref();
    match v {
        TypedValue::Number(d) if format.is_none() => {
            use rust_decimal::prelude::ToPrimitive;
            d.to_f64().map_or_else(|| Cell::Text(v.to_text()), Cell::Number)
        }
        TypedValue::Boolean(b) => Cell::Bool(*b),
        TypedValue::Date(d) if format.is_none() => Cell::Date(*d),
        TypedValue::Datetime(dt) if format.is_none() => Cell::DateTime(dt.with_timezone(&ctx.timezone).naive_local()),
        _ => Cell::Text(v.render_in(format, ctx.timezone)),
    }
}

#[cfg(test)]
#[path = "variables_tests.rs"]
mod tests;
