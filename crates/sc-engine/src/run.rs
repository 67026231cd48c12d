//! One run inside the engine process: sandbox, input/reference/meta tables, the SQL, then export.
//!
//! Called by the `sc-engine` binary; everything here runs in the child, never
//! in a PostgreSQL process.

use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config;
use crate::error::{classify, Error, Masker};
use crate::export;
use crate::ffi::Engine;
use crate::job::{self, Input, Job, Manifest, Progress, TableMeta, Timings};
use crate::rowbinary;
use crate::session::{escape_param, quote_ident, quote_str, Session, SessionOptions};
use crate::sql::{split_statements, Statement};
use sc_core::readers::LINE_COLUMN;
use sc_core::variables::SOURCE_COLUMN;

/// The environment variable that makes a debug build of the engine abort
/// right after start-up (tests of crash handling). Ignored by release builds.
pub const TEST_ABORT_ENV: &str = "SC_ENGINE_TEST_ABORT";

/// The table a webhook connector's batch arrives in (every column a string).
pub const WEBHOOKS_RAW: &str = "webhooks_raw";

/// `input.webhooks`: the same calls, `timestamp` as a DateTime (UTC,
/// microseconds) and `body` as JSON where it parses as JSON (NULL otherwise).
const WEBHOOKS_VIEW: &str = "CREATE VIEW input.webhooks AS SELECT \
     parseDateTime64BestEffort(assumeNotNull(timestamp), 6, 'UTC') AS timestamp, sender, querystring, headers, \
     CAST(if(isValidJSON(body), body, NULL) AS Nullable(JSON)) AS body FROM input.webhooks_raw";

/// `engine_version` of a pass-through run, which never starts chDB.
pub const PASS_THROUGH_VERSION: &str = "none (no SQL: the input table passed through without the engine)";

/// Everything one run needs.
pub struct Run<'a> {
    /// The execution directory.
    pub exec_dir: &'a Path,
    /// The job.
    pub job: &'a Job,
    /// Where `libchdb.so` is.
    pub libchdb: &'a Path,
    /// Masks secrets in every message.
    pub masker: &'a Masker,
    /// When the process started.
    pub started: Instant,
    /// Reader warnings, for the manifest.
    warnings: RefCell<Vec<String>>,
}

fn ms_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl<'a> Run<'a> {
    /// Prepare a run.
    pub fn new(exec_dir: &'a Path, job: &'a Job, libchdb: &'a Path, masker: &'a Masker, started: Instant) -> Self {
        Run { exec_dir, job, libchdb, masker, started, warnings: RefCell::new(Vec::new()) }
    }

    /// Write `progress.json`; a failure to write progress never fails the run.
    pub fn progress(&self, stage: &str, rows: u64, statement: Option<usize>, statements: Option<usize>) {
        let p = Progress { stage: stage.to_string(), rows, statement, statements };
        let _ = job::write_json_atomic(self.exec_dir, job::PROGRESS_FILE, &p);
    }

    /// Run the job and return the manifest (not yet written).
    pub fn execute(&self) -> Result<Manifest, Error> {
        let job = self.job;
        config::validate(job).map_err(Error::User)?;
        for name in job.parameters.keys() {
            if !config::is_identifier(name) {
                return Err(Error::User(format!("invalid SQL parameter name {name:?}: use letters, digits and _")));
            }
        }
        let statements = match job.sql.as_deref() {
            Some(sql) if !sql.trim().is_empty() => {
                split_statements(sql).map_err(|e| Error::User(format!("SQL error: {e}")))?
            }
            _ => Vec::new(),
        };
        let pass_through = statements.is_empty();
        self.progress("starting", 0, None, None);
        if pass_through {
            if let Some(manifest) = self.pass_through_without_engine()? {
                return Ok(manifest);
            }
        }

        let engine = Engine::load(self.libchdb).map_err(Error::Internal)?;
        // Never closed: closing the last connection shuts chDB down (joining
        // its threads), which is slow and can hang on a stuck query. The
        // process ends with `_exit` right after the run instead.
        let session = ManuallyDrop::new(self.open_session(&engine)?);
        if cfg!(debug_assertions) && std::env::var(TEST_ABORT_ENV).as_deref() == Ok("1") {
            // SAFETY: deliberately crash (debug builds only) to test the supervisor.
            unsafe { libc::abort() };
        }
        let engine_version = session.version().map_err(Error::Internal)?;
        let mut timings = Timings { start_ms: ms_since(self.started), ..Timings::default() };

        let t = Instant::now();
        self.progress("inputs", 0, None, None);
        for db in config::DATABASES {
            self.ddl(&session, &format!("CREATE DATABASE IF NOT EXISTS {db} ENGINE = Atomic"))?;
        }
        self.ddl(&session, "USE connector")?;
        let inputs = self.load_inputs(&session)?;
        for r in &job.reference {
            if !config::is_identifier(&r.name) {
                return Err(Error::User(format!("invalid reference table name {:?}", r.name)));
            }
            self.load_table(&session, "pg", &r.name, &r.columns, &PathBuf::from(&r.file), None)?;
        }
        self.load_meta(&session, &inputs)?;
        timings.inputs_ms = ms_since(t);

        let t = Instant::now();
        self.run_statements(&session, &statements, &inputs)?;
        timings.sql_ms = ms_since(t);

        let t = Instant::now();
        self.progress("export", 0, None, None);
        let sources = if pass_through {
            match inputs.as_slice() {
                [one] => vec![export::Source { database: "input".into(), table: one.name.clone() }],
                [] => return Err(Error::User("SQL produced no output tables".into())),
                many => {
                    return Err(Error::User(format!(
                        "the input has {} tables, so the connector needs SQL that writes tables into database `output`",
                        many.len()
                    )))
                }
            }
        } else {
            export::list_output_tables(&session).map_err(|e| classify(&e, &job.limits))?
        };
        if sources.is_empty() {
            return Err(Error::User("SQL produced no output tables".into()));
        }
        let scopes = export::export_tables(&session, self.exec_dir, &sources, &job.limits, &|rows| {
            self.progress("export", rows, None, None)
        })?;
        timings.export_ms = ms_since(t);
        timings.total_ms = ms_since(self.started);
        let warnings = self.warnings.take();
        Ok(Manifest { engine_version, scopes, inputs, warnings, statements: statements.len(), timings })
    }

    /// Without SQL, a file's single table is the scope as the readers wrote
    /// it: chDB is not started at all (the readers still run here, in the
    /// child). `None` for inputs that need the engine (schedules, prepared tables).
    fn pass_through_without_engine(&self) -> Result<Option<Manifest>, Error> {
        let Input::File { path, file_name } = &self.job.input else { return Ok(None) };
        let start_ms = ms_since(self.started);
        let t = Instant::now();
        self.progress("inputs", 0, None, None);
        let path = job::resolve(self.exec_dir, path);
        let (tables, warnings) = prepare_inputs(&path, file_name, self.exec_dir, &self.job.limits)?;
        let one = match tables.as_slice() {
            [one] => one.clone(),
            [] => return Err(Error::User("SQL produced no output tables".into())),
            many => {
                return Err(Error::User(format!(
                    "the input has {} tables, so the connector needs SQL that writes tables into database `output`",
                    many.len()
                )))
            }
        };
        if one.columns.is_empty() {
            return Err(Error::User(format!("table input.{} has no columns", one.name)));
        }
        if one.rows > self.job.limits.max_output_rows {
            return Err(Error::User(format!("SQL output exceeds {} rows", self.job.limits.max_output_rows)));
        }
        let inputs_ms = ms_since(t);
        self.progress("export", one.rows, None, None);
        // The readers' last column, each row's line in the file, is the scope's too.
        let line = one.lines.then_some(sc_core::readers::LINE_COLUMN);
        let scope = crate::job::Scope {
            name: one.name.clone(),
            columns: one
                .columns
                .iter()
                .map(String::as_str)
                .chain(line)
                .map(|c| crate::job::Column { name: c.to_owned(), ch_type: "Nullable(String)".into() })
                .collect(),
            rows: one.rows,
            file: one.file.clone(),
        };
        Ok(Some(Manifest {
            engine_version: PASS_THROUGH_VERSION.into(),
            scopes: vec![scope],
            inputs: tables,
            warnings,
            statements: 0,
            timings: Timings { start_ms, inputs_ms, sql_ms: 0, export_ms: 0, total_ms: ms_since(self.started) },
        }))
    }

    /// Open chDB with paths relative to the execution directory (the
    /// process's working directory), so what the engine shows of its paths
    /// (`getServerSetting('path')`, `system.disks`) says nothing of where the
    /// server keeps its files.
    fn open_session<'e>(&self, engine: &'e Engine) -> Result<Session<'e>, Error> {
        std::env::set_current_dir(self.exec_dir)
            .map_err(|e| Error::Internal(format!("cannot enter {}: {e}", self.exec_dir.display())))?;
        let engine_dir = PathBuf::from(job::ENGINE_DIR);
        let data_dir = engine_dir.join("data");
        for dir in [&data_dir, &engine_dir.join("tmp")] {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let users_file = engine_dir.join("users.xml");
        let config_file = engine_dir.join("config.xml");
        write_private(&users_file, &config::users_config(self.job))?;
        write_private(&config_file, &config::server_config(self.job, &engine_dir, &users_file))?;
        let opts = SessionOptions { data_dir, config_file: Some(config_file.clone()), settings: Vec::new() };
        let session = Session::open(engine, &opts);
        // The config holds the secrets; chDB has read it and never reloads it.
        let _ = std::fs::remove_file(&config_file);
        let _ = std::fs::remove_file(&users_file);
        session.map_err(|e| Error::Internal(self.masker.mask(&e)))
    }

    /// Run a statement of our own; its failure is an internal error unless it is a limit.
    fn ddl(&self, session: &Session<'_>, sql: &str) -> Result<(), Error> {
        session.query_raw(sql, "Null").map(drop).map_err(|e| match classify(&e, &self.job.limits) {
            Error::User(_) => Error::Internal(format!("engine set-up failed: {}", self.masker.mask(&e))),
            other => other,
        })
    }

    fn load_inputs(&self, session: &Session<'_>) -> Result<Vec<TableMeta>, Error> {
        let tables = match &self.job.input {
            Input::None => Vec::new(),
            Input::Prepared { tables } => tables.clone(),
            Input::File { path, file_name } => {
                let path = job::resolve(self.exec_dir, path);
                let (tables, warnings) = prepare_inputs(&path, file_name, self.exec_dir, &self.job.limits)?;
                self.warnings.borrow_mut().extend(warnings);
                tables
            }
            Input::Schedule => {
                let sql = "CREATE TABLE input.schedule ENGINE = Memory AS \
                           SELECT parseDateTimeBestEffort({t:String}, 'UTC') AS schedule_trigger_time";
                let t = self.job.meta.trigger_time.clone().unwrap_or_else(|| "1970-01-01 00:00:00".into());
                session
                    .query_raw_with_params(sql, "Null", &[("t".to_string(), escape_param(&t))])
                    .map_err(|e| Error::User(format!("invalid trigger time {t:?}: {}", self.masker.mask(&e))))?;
                let source = "schedule".to_string();
                let meta = TableMeta {
                    name: "schedule".into(),
                    source,
                    index: 0,
                    columns: vec![],
                    rows: 1,
                    file: String::new(),
                    lines: false,
                };
                self.ddl(session, "CREATE VIEW input.page_idx_0 AS SELECT * FROM input.schedule")?;
                return Ok(vec![meta]);
            }
        };
        let mut loaded = 0u64;
        for t in &tables {
            let lines = t.lines.then_some(t.source.as_str());
            let rows = self.load_table(session, "input", &t.name, &t.columns, &PathBuf::from(&t.file), lines)?;
            let alias = format!("page_idx_{}", t.index);
            if alias != t.name {
                // A Merge table, not a view: it keeps the hidden `_line` and `_sheet`.
                let regexp = format!("^{}$", regexp_escape(&t.name));
                self.ddl(
                    session,
                    &format!(
                        "CREATE TABLE input.{alias} AS input.{} ENGINE = Merge('input', {})",
                        quote_ident(&t.name),
                        quote_str(&regexp)
                    ),
                )?;
            }
            loaded += rows;
            self.progress("inputs", loaded, None, None);
        }
        if self.job.meta.connector_type == "webhook" && tables.iter().any(|t| t.name == WEBHOOKS_RAW) {
            self.ddl(session, WEBHOOKS_VIEW)?;
        }
        Ok(tables)
    }

    /// Create `db.name` with `Nullable(String)` columns and stream the RowBinary file into it.
    ///
    /// With `lines` (the table's source, e.g. `book.xlsx!Sheet 1`), the file
    /// has the readers' last column, each row's line: it becomes the hidden
    /// (MATERIALIZED) column `_line`, next to a hidden `_sheet` holding the
    /// source. `SELECT *` shows neither; SQL that names them carries them into
    /// a scope, where they place each row outcome in the file. A table whose
    /// own columns already use one of those names keeps its own.
    fn load_table(
        &self,
        session: &Session<'_>,
        db: &str,
        name: &str,
        columns: &[String],
        file: &Path,
        lines: Option<&str>,
    ) -> Result<u64, Error> {
        if columns.is_empty() {
            return Err(Error::User(format!("table {db}.{name} has no columns")));
        }
        let mut cols: Vec<String> = columns.iter().map(|c| format!("{} Nullable(String)", quote_ident(c))).collect();
        let free = |c: &str| !columns.iter().any(|own| own == c);
        // Loaded as an ordinary column (an insert from a file cannot fill a
        // MATERIALIZED one), then hidden, keeping its values; under another
        // name, dropped after the load, when the table has its own `_line`.
        let loaded_line = if free(LINE_COLUMN) { LINE_COLUMN } else { "_sc_loaded_line" };
        if let Some(source) = lines {
            cols.push(format!("{loaded_line} Nullable(String)"));
            if free(SOURCE_COLUMN) {
                cols.push(format!("{SOURCE_COLUMN} String MATERIALIZED {}", quote_str(source)));
            }
        }
        let target = format!("{db}.{}", quote_ident(name));
        self.ddl(session, &format!("CREATE TABLE {target} ({}) ENGINE = Memory", cols.join(", ")))?;
        let path = job::resolve(self.exec_dir, file);
        let path_text =
            path.to_str().ok_or_else(|| Error::Internal(format!("input path is not UTF-8: {}", path.display())))?;
        if !path.is_file() {
            return Err(Error::Internal(format!("prepared table file {} does not exist", path.display())));
        }
        // `FROM INFILE` is read by chDB's embedded client and streamed into the
        // table (about 4x faster than inline data). The SQL of a connector may
        // not use it (see `sql`); this statement is ours.
        let sql = format!("INSERT INTO {target} FROM INFILE {} FORMAT RowBinary", quote_str(path_text));
        self.ddl(session, &sql)?;
        if lines.is_some() {
            let change = if free(LINE_COLUMN) {
                format!("MODIFY COLUMN {LINE_COLUMN} Nullable(String) MATERIALIZED NULL")
            } else {
                format!("DROP COLUMN {loaded_line}")
            };
            self.ddl(session, &format!("ALTER TABLE {target} {change}"))?;
        }
        let out = session
            .query(&format!("SELECT count() FROM {target}"), "TabSeparatedRaw")
            .map_err(|e| Error::Internal(self.masker.mask(&e)))?;
        Ok(String::from_utf8_lossy(&out).trim().parse().unwrap_or(0))
    }

    fn load_meta(&self, session: &Session<'_>, inputs: &[TableMeta]) -> Result<(), Error> {
        let m = &self.job.meta;
        // Kizen's runtime's columns first (what migrated SQL reads), then ours.
        let sql = "CREATE TABLE meta.current_execution ENGINE = Memory AS SELECT \
            CAST(NULL AS Nullable(String)) AS business_id, \
            toNullable({connector:String}) AS connector_id, \
            toNullable({execution_id:String}) AS execution_id, \
            toNullable({trigger:String}) AS trigger_type, \
            {started_by:Nullable(String)} AS triggered_by_id, \
            {started_by:Nullable(String)} AS triggered_by_desc, \
            CAST(NULL AS Nullable(String)) AS trigger_auth, \
            CAST({file_size:Nullable(UInt64)} AS Nullable(Int64)) AS fileupload_file_size_bytes, \
            {file_name:Nullable(String)} AS fileupload_file_name, \
            CAST(NULL AS Nullable(String)) AS fileupload_file_id, \
            toNullable({dry_run:UInt8}) AS is_dry_run, \
            CAST(NULL AS Nullable(String)) AS cadence, \
            CAST(toUnixTimestamp(parseDateTime64BestEffortOrNull({trigger_time:Nullable(String)}, 3, 'UTC')) \
                 AS Nullable(Int64)) AS timeframe_start, \
            CAST(NULL AS Nullable(String)) AS bulkaction_fields, \
            CAST(NULL AS Nullable(String)) AS entity_records_set_key, \
            CAST(NULL AS Nullable(String)) AS activity_object_id, \
            {connector:String} AS connector, \
            {connector_type:String} AS connector_type, {trigger:String} AS trigger, \
            toBool({dry_run:UInt8}) AS dry_run, {file_name:Nullable(String)} AS file_name, \
            {file_size:Nullable(UInt64)} AS file_size, \
            parseDateTime64BestEffortOrNull({trigger_time:Nullable(String)}, 3, 'UTC') AS trigger_time";
        let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "\\N".to_string(), escape_param);
        let params = vec![
            ("execution_id".to_string(), escape_param(&m.execution_id)),
            ("connector".to_string(), escape_param(&m.connector)),
            ("connector_type".to_string(), escape_param(&m.connector_type)),
            ("trigger".to_string(), escape_param(&m.trigger)),
            ("dry_run".to_string(), if m.dry_run { "1" } else { "0" }.to_string()),
            ("file_name".to_string(), opt(&m.file_name)),
            ("file_size".to_string(), m.file_size.map_or_else(|| "\\N".to_string(), |s| s.to_string())),
            ("trigger_time".to_string(), opt(&m.trigger_time)),
            ("started_by".to_string(), opt(&m.started_by)),
        ];
        session
            .query_raw_with_params(sql, "Null", &params)
            .map_err(|e| Error::Internal(format!("engine set-up failed: {}", self.masker.mask(&e))))?;

        // Kizen's columns (database, table, file_path), then ours (source). There is no
        // converted file to point at here: file_path names where the table came from.
        let rows: Vec<Vec<Option<&str>>> = inputs
            .iter()
            .map(|t| vec![Some("input"), Some(t.name.as_str()), Some(t.source.as_str()), Some(t.source.as_str())])
            .collect();
        self.insert_rows(session, "inputs", &["database", "table", "file_path", "source"], &rows)?;
        let rows: Vec<Vec<Option<&str>>> =
            self.job.parameters.iter().map(|(k, v)| vec![Some(k.as_str()), Some(v.as_str())]).collect();
        self.insert_rows(session, "parameters", &["name", "value"], &rows)
    }

    fn insert_rows(
        &self,
        session: &Session<'_>,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Option<&str>>],
    ) -> Result<(), Error> {
        let cols: Vec<String> = columns.iter().map(|c| format!("{} String", quote_ident(c))).collect();
        self.ddl(session, &format!("CREATE TABLE meta.{table} ({}) ENGINE = Memory", cols.join(", ")))?;
        if rows.is_empty() {
            return Ok(());
        }
        // The columns are `String` (not nullable): RowBinary without null flags.
        let mut buf = format!("INSERT INTO meta.{table} FORMAT RowBinary\n").into_bytes();
        for r in rows {
            for v in r {
                rowbinary::put_str(&mut buf, v.unwrap_or(""));
            }
        }
        session
            .query_bytes(&buf, "Null")
            .map(drop)
            .map_err(|e| Error::Internal(format!("engine set-up failed: {}", self.masker.mask(&e))))
    }

    fn run_statements(
        &self,
        session: &Session<'_>,
        statements: &[Statement],
        inputs: &[TableMeta],
    ) -> Result<(), Error> {
        let params: Vec<(String, String)> =
            self.job.parameters.iter().map(|(k, v)| (k.clone(), escape_param(v))).collect();
        let n = statements.len();
        for s in statements {
            self.progress("sql", 0, Some(s.number), Some(n));
            session.query_raw_with_params(&s.text, "Null", &params).map_err(|e| {
                let err = self.masker.mask_error(classify(&e, &self.job.limits));
                match err {
                    Error::User(message) if names_a_missing_input(&e) => {
                        Error::User(format!("{message}; {}", input_tables_hint(inputs, &self.job.meta.connector_type)))
                    }
                    other => other,
                }
            })?;
        }
        Ok(())
    }
}

/// `name` as a literal part of an re2 regular expression.
fn regexp_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !c.is_alphanumeric() && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An unknown table in database `input` (UNKNOWN_TABLE, code 60).
fn names_a_missing_input(raw: &str) -> bool {
    crate::error::clickhouse_code(raw) == Some(60) && raw.contains("input.")
}

/// The input tables the SQL can read, for an error about one it cannot:
/// `input tables: input.products (also input.page_idx_0), …`.
fn input_tables_hint(inputs: &[TableMeta], connector_type: &str) -> String {
    // As the SQL would write it: bare when it can be, else quoted (`2024_sales`).
    let shown = |name: &str| {
        let bare = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if bare {
            name.to_owned()
        } else {
            quote_ident(name)
        }
    };
    let mut names: Vec<String> = inputs
        .iter()
        .map(|t| {
            let alias = format!("page_idx_{}", t.index);
            if alias == t.name {
                format!("input.{}", shown(&t.name))
            } else {
                format!("input.{} (also input.{alias})", shown(&t.name))
            }
        })
        .collect();
    if connector_type == "webhook" {
        names.push("input.webhooks".to_owned());
    }
    if names.is_empty() {
        "there are no input tables".to_owned()
    } else {
        format!("input tables: {}", names.join(", "))
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))
}

/// Read the user's file into RowBinary tables in the execution directory.
/// A compressed input may not declare (or inflate to) more than the disk limit.
fn prepare_inputs(
    input: &Path,
    file_name: &str,
    out_dir: &Path,
    limits: &crate::job::Limits,
) -> Result<(Vec<TableMeta>, Vec<String>), Error> {
    let mut opts = sc_core::readers::ReadOptions::default();
    if let Some(disk) = limits.disk_bytes {
        opts.max_uncompressed_bytes = opts.max_uncompressed_bytes.min(disk);
    }
    match sc_core::readers::prepare_inputs_with(input, file_name, out_dir, &opts) {
        Ok(p) => Ok((p.tables, p.warnings)),
        Err(e) if e.is_input_problem() => Err(Error::User(e.to_string())),
        Err(e) => Err(Error::Internal(e.to_string())),
    }
}
