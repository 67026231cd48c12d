//! The files exchanged between the supervisor and the engine process: job, progress, manifest, error.
//!
//! The supervisor writes `job.json` into the execution directory (secrets
//! excluded: they travel over the child's stdin and never touch the disk as
//! JSON). The child writes `progress.json` (atomically) while it works, then
//! `manifest.json` on success or `error.json` on failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use sc_core::input::TableMeta;

/// File names inside the execution directory.
pub const JOB_FILE: &str = "job.json";
/// Written by the child at stage boundaries.
pub const PROGRESS_FILE: &str = "progress.json";
/// Written by the child on success.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Written by the child on failure.
pub const ERROR_FILE: &str = "error.json";
/// The child's stderr.
pub const STDERR_FILE: &str = "engine.log";
/// The engine's private data directory (removed by the supervisor).
pub const ENGINE_DIR: &str = "engine";

/// One SQL stage to run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The connector's ClickHouse SQL; `None` (or blank) = pass-through.
    #[serde(default)]
    pub sql: Option<String>,
    /// SQL parameters (name → value), visible as `{name:String}` and `meta.parameters`.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Where the input tables come from.
    #[serde(default)]
    pub input: Input,
    /// Reference tables, visible as `pg.<name>`.
    #[serde(default)]
    pub reference: Vec<ReferenceTable>,
    /// Facts for `meta.current_execution`.
    #[serde(default)]
    pub meta: JobMeta,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
    /// Hosts the SQL may reach (none by default): `api.example.com`,
    /// `*.example.com`, `host:port`. Named hosts open `url` and `s3`; `*`
    /// opens every host to `url`, `s3`, `postgresql`, `mysql` and `remote`
    /// (chDB cannot restrict the last three by host).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// An administrator turned the kernel sandbox off
    /// (`smartconnector.engine_sandbox = off`): the engine runs without it.
    /// Otherwise it refuses to run where the sandbox cannot be set up.
    #[serde(default)]
    pub sandbox_off: bool,
    /// Credentials exposed as named collections. Never written to `job.json`.
    #[serde(default, skip_serializing)]
    pub secrets: BTreeMap<String, Secret>,
}

/// The input of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Input {
    /// No input tables (besides what `meta` offers).
    #[default]
    None,
    /// A user's file, turned into tables by the readers inside the child.
    File {
        /// Path of the file (absolute, or relative to the execution directory).
        path: PathBuf,
        /// The original file name (drives table naming and format detection).
        file_name: String,
    },
    /// Tables already written as RowBinary into the execution directory.
    Prepared {
        /// The tables, in `page_idx` order.
        tables: Vec<TableMeta>,
    },
    /// A scheduler tick: `input.schedule(schedule_trigger_time DateTime)` from `meta.trigger_time`.
    Schedule,
}

/// A reference table, already written as RowBinary (all columns `Nullable(String)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceTable {
    /// Table name under `pg.`.
    pub name: String,
    /// RowBinary file, relative to the execution directory.
    pub file: String,
    /// Column names in order.
    pub columns: Vec<String>,
}

/// Facts about the execution, for `meta.current_execution`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMeta {
    /// Execution id (a UUID as text).
    #[serde(default)]
    pub execution_id: String,
    /// The connector's `api_name`.
    #[serde(default)]
    pub connector: String,
    /// `spreadsheet`, `webhook` or `scheduler`.
    #[serde(default)]
    pub connector_type: String,
    /// `manual`, `schedule`, `webhook` or `api`.
    #[serde(default)]
    pub trigger: String,
    /// Dry run flag.
    #[serde(default)]
    pub dry_run: bool,
    /// Original input file name.
    #[serde(default)]
    pub file_name: Option<String>,
    /// Input file size in bytes.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// Trigger time, ISO 8601 (UTC if no offset).
    #[serde(default)]
    pub trigger_time: Option<String>,
    /// The role that started the run.
    #[serde(default)]
    pub started_by: Option<String>,
}

/// Resource limits of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock limit of the whole SQL stage, in seconds.
    #[serde(default = "default_time_s")]
    pub time_s: u64,
    /// Memory limit in bytes (per query and for the whole engine); `None` = engine default.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// Threads per query; `None` = engine default.
    #[serde(default)]
    pub threads: Option<u32>,
    /// Maximum total rows over all output tables.
    #[serde(default = "default_max_output_rows")]
    pub max_output_rows: u64,
    /// Most bytes the execution directory may hold while the engine runs
    /// (inputs as read, engine data, output); `None` = unbounded.
    #[serde(default)]
    pub disk_bytes: Option<u64>,
}

fn default_time_s() -> u64 {
    300
}

fn default_max_output_rows() -> u64 {
    10_000_000
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time_s: default_time_s(),
            memory_bytes: None,
            threads: None,
            max_output_rows: default_max_output_rows(),
            disk_bytes: None,
        }
    }
}

/// A credential set, exposed to SQL as a named collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// `postgresql`, `mysql`, `s3`, `url`, … (informational; keys are passed as given).
    #[serde(default)]
    pub kind: String,
    /// Collection keys and values, e.g. `host`, `port`, `user`, `password`.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// Progress, written by the child at stage boundaries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// `starting`, `inputs`, `sql`, `export`, `done`.
    pub stage: String,
    /// Rows handled so far in this stage (input rows loaded, output rows written).
    #[serde(default)]
    pub rows: u64,
    /// 1-based statement being run (stage `sql`).
    #[serde(default)]
    pub statement: Option<usize>,
    /// Number of statements.
    #[serde(default)]
    pub statements: Option<usize>,
}

/// A column of an output table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// The ClickHouse type the SQL produced (the file holds its text form).
    #[serde(rename = "type")]
    pub ch_type: String,
}

/// One output table (scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Table name in database `output`.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Row count.
    pub rows: u64,
    /// RowBinary file (all columns `Nullable(String)`), relative to the execution directory.
    pub file: String,
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Loading the library and starting the engine.
    pub start_ms: u64,
    /// Preparing and loading input, reference and meta tables.
    pub inputs_ms: u64,
    /// Running the connector's SQL.
    pub sql_ms: u64,
    /// Writing the output files.
    pub export_ms: u64,
    /// Everything, from process start.
    pub total_ms: u64,
}

/// The result of a successful run (`manifest.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `SELECT version()` of the engine.
    pub engine_version: String,
    /// Output tables, ordered by name.
    pub scopes: Vec<Scope>,
    /// Input tables that were loaded.
    pub inputs: Vec<TableMeta>,
    /// Warnings of the input readers (nothing stopped the run).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Statements run.
    pub statements: usize,
    /// Time per stage.
    pub timings: Timings,
}

/// Why a run failed (`error.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// `user`, `time_limit` or `internal`.
    pub kind: String,
    /// The message for the execution record (secrets masked).
    pub message: String,
}

/// Resolve a path from the job against the execution directory.
pub fn resolve(exec_dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        exec_dir.join(p)
    }
}

/// Write `value` as JSON to `dir/name` atomically (temporary file, then rename).
pub fn write_json_atomic<T: Serialize>(dir: &Path, name: &str, value: &T) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(name))
}

/// Read a JSON file.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("cannot parse {}: {e}", path.display()))
}
