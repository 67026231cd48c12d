//! Shared helpers for the engine tests: real binary, real libchdb, temporary execution directories.

#![allow(dead_code)]

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sc_engine::ffi::Engine;
use sc_engine::job::{Input, Job, Limits, TableMeta};
use sc_engine::rowbinary::{write_rows, RowReader};
use sc_engine::supervisor::{Outcome, StartOptions, Supervisor};

/// The engine binary built by cargo for these tests.
pub fn engine_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sc-engine"))
}

/// Fail loudly (never skip) when the library is missing.
pub fn require_libchdb() {
    let p = Engine::resolve_path(None);
    assert!(
        p.exists(),
        "libchdb.so not found at {} (set SC_LIBCHDB or install it); the engine tests need the real library",
        p.display()
    );
}

/// A fresh execution directory.
pub fn exec_dir() -> tempfile::TempDir {
    require_libchdb();
    tempfile::Builder::new().prefix("sc-engine-test-").tempdir().expect("temp dir")
}

/// Write a prepared input table and describe it.
pub fn table(dir: &Path, index: usize, name: &str, columns: &[&str], rows: &[Vec<Option<&str>>]) -> TableMeta {
    let file = format!("input_{index}.rowbinary");
    let mut f = File::create(dir.join(&file)).expect("create input");
    write_rows(&mut f, rows).expect("write input");
    TableMeta {
        name: name.to_string(),
        source: format!("{name}.csv"),
        index,
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows.len() as u64,
        file,
        lines: false,
    }
}

/// The sales table used by most tests.
pub fn sales(dir: &Path) -> TableMeta {
    table(
        dir,
        0,
        "sales",
        &["sku", "region", "amount"],
        &[
            vec![Some("a"), Some("EU"), Some("1.5")],
            vec![Some("b"), Some("US"), None],
            vec![Some("c"), Some("EU"), Some("3")],
        ],
    )
}

/// A job over prepared tables.
pub fn job(sql: Option<&str>, tables: Vec<TableMeta>) -> Job {
    Job {
        sql: sql.map(str::to_string),
        input: Input::Prepared { tables },
        limits: Limits { time_s: 60, ..Limits::default() },
        ..Job::default()
    }
}

/// Run a job to the end with the default options.
pub fn run(dir: &Path, job: &Job) -> Outcome {
    run_with(dir, job, &StartOptions::default())
}

/// Run a job to the end.
pub fn run_with(dir: &Path, job: &Job, opts: &StartOptions) -> Outcome {
    let mut running = Supervisor::start_with(&engine_bin(), dir, job, opts).expect("start engine");
    running.wait_with_deadline(Duration::from_secs(120))
}

/// The message of a user error, or a panic showing what happened instead.
pub fn user_error(o: Outcome) -> String {
    match o {
        Outcome::UserError(m) => m,
        other => panic!("expected a user error, got {other:?}"),
    }
}

/// The manifest of a success, or a panic.
pub fn ok(o: Outcome) -> sc_engine::Manifest {
    match o {
        Outcome::Ok(m) => m,
        other => panic!("expected success, got {other:?}"),
    }
}

/// Read a scope's rows.
pub fn rows(dir: &Path, m: &sc_engine::Manifest, scope: &str) -> Vec<Vec<Option<String>>> {
    let s = m.scopes.iter().find(|s| s.name == scope).unwrap_or_else(|| panic!("no scope {scope} in {m:?}"));
    let f = File::open(dir.join(&s.file)).expect("open output");
    let mut r = RowReader::new(BufReader::new(f), s.columns.len());
    let mut out = Vec::new();
    while let Some(row) = r.next_row().expect("read output") {
        out.push(row);
    }
    assert_eq!(out.len() as u64, s.rows, "row count of {scope}");
    out
}

/// `Some("x")` rows from string slices.
pub fn strs(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    rows.iter().map(|r| r.iter().map(|v| v.map(str::to_string)).collect()).collect()
}
