//! The measured cases: calamine alone, chDB `file()` alone, the sc-core readers alone, and the engine end to end.
//!
//! Peak memory is measured two ways, one per kind of case:
//!
//! * in-process cases (the baselines, the reader-only breakdown): the bench
//!   process's `VmHWM` from `/proc/self/status`, reset before each run by
//!   writing `5` to `/proc/self/clear_refs` (so it starts at the current RSS,
//!   which for chDB includes the already-mapped library);
//! * engine cases: the child's `VmHWM` from `/proc/<pid>/status`, polled
//!   every 20 ms until it exits (the last poll is at most 20 ms before exit).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calamine::{open_workbook_auto, Data, Reader};
use sc_engine::ffi::Engine;
use sc_engine::job::{Input, Job, Limits, Timings};
use sc_engine::session::{Session, SessionOptions};
use sc_engine::supervisor::{Outcome, Supervisor};

/// One timed run.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Wall time of the run, seconds.
    pub secs: f64,
    /// Peak RSS, KiB (see the module docs for whose).
    pub peak_kib: u64,
    /// The engine's own timings (engine cases only).
    pub timings: Option<Timings>,
    /// Rows the case produced or read (a cross-check printed with the table).
    pub rows_out: u64,
}

/// Run `f` `n` times and return the sample with the median wall time.
pub fn median_of(n: usize, mut f: impl FnMut() -> Result<Sample, String>) -> Result<Sample, String> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        all.push(f()?);
    }
    all.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    Ok(all.swap_remove(n / 2))
}

fn vm_hwm_kib(status: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_own_peak() {
    // Linux >= 4.0: "5" resets VmHWM to the current RSS. Best effort.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn own_peak() -> u64 {
    vm_hwm_kib(Path::new("/proc/self/status")).unwrap_or(0)
}

/// Baseline A: calamine reads every cell of the first sheet, nothing else.
pub fn calamine_only(xlsx: &Path) -> Result<Sample, String> {
    reset_own_peak();
    let t = Instant::now();
    let mut wb = open_workbook_auto(xlsx).map_err(|e| format!("calamine open: {e}"))?;
    let range = wb.worksheet_range_at(0).ok_or("workbook has no sheet")?.map_err(|e| format!("calamine read: {e}"))?;
    let (mut cells, mut bytes) = (0u64, 0usize);
    for row in range.rows() {
        for c in row {
            match c {
                Data::Empty => {}
                Data::String(s) => {
                    cells += 1;
                    bytes += s.len();
                }
                other => {
                    cells += 1;
                    black_box(other);
                }
            }
        }
    }
    black_box((cells, bytes));
    let rows = range.height().saturating_sub(1) as u64;
    drop(range);
    Ok(Sample { secs: t.elapsed().as_secs_f64(), peak_kib: own_peak(), timings: None, rows_out: rows })
}

/// The in-process chDB session for baseline B (one per process, never closed).
pub struct ChdbBaseline {
    session: Session<'static>,
}

impl ChdbBaseline {
    /// Load libchdb into this process and open a session on a private data dir.
    pub fn open(data_dir: &Path) -> Result<ChdbBaseline, String> {
        let _ = std::fs::remove_dir_all(data_dir);
        std::fs::create_dir_all(data_dir).map_err(|e| format!("create {}: {e}", data_dir.display()))?;
        let lib = Engine::resolve_path(None);
        let engine: &'static Engine = Box::leak(Box::new(Engine::load(&lib)?));
        let opts = SessionOptions { data_dir: data_dir.to_path_buf(), ..SessionOptions::default() };
        Ok(ChdbBaseline { session: Session::open(engine, &opts)? })
    }

    /// Baseline B: `file()` reads the CSV and every column is turned into text.
    pub fn read_csv(&self, csv: &Path) -> Result<Sample, String> {
        let abs = csv.canonicalize().map_err(|e| format!("{}: {e}", csv.display()))?;
        let sql = format!(
            "SELECT count(), sum(length(toString(tuple(*)))) FROM file('{}', 'CSVWithNames')",
            abs.display().to_string().replace('\'', "\\'")
        );
        reset_own_peak();
        let t = Instant::now();
        let out = self.session.query(&sql, "TSV")?;
        let secs = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out);
        let rows = text
            .split('\t')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| format!("unexpected chDB answer {text:?}"))?;
        Ok(Sample { secs, peak_kib: own_peak(), timings: None, rows_out: rows })
    }

    /// Leave the session open: closing the last connection shuts chDB down
    /// (~0.8 s) and is not part of any measurement; the process exits instead.
    pub fn leak(self) {
        std::mem::forget(self.session);
    }
}

/// Breakdown: the sc-core readers alone (file → `input_<n>.rowbinary`), in this process.
pub fn reader_only(input: &Path, file_name: &str, scratch: &Path) -> Result<Sample, String> {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).map_err(|e| format!("create {}: {e}", scratch.display()))?;
    reset_own_peak();
    let t = Instant::now();
    let prepared = sc_core::readers::prepare_inputs(input, file_name, scratch).map_err(|e| format!("reader: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    let rows = prepared.tables.iter().map(|t| t.rows).sum();
    let peak = own_peak();
    let _ = std::fs::remove_dir_all(scratch);
    Ok(Sample { secs, peak_kib: peak, timings: None, rows_out: rows })
}

/// An engine case: `Supervisor::start` on a file input, waited to the end.
pub struct EngineCase<'a> {
    /// The `sc-engine` binary.
    pub bin: &'a Path,
    /// The input file.
    pub input: &'a Path,
    /// The SQL, `None` for pass-through.
    pub sql: Option<&'a str>,
    /// Where execution directories are created (and removed after each run).
    pub work: &'a Path,
}

impl EngineCase<'_> {
    /// One end-to-end run: child start, reading, input tables, SQL, export.
    pub fn run(&self, tag: &str) -> Result<Sample, String> {
        let exec_dir: PathBuf = self.work.join(format!("exec-{tag}"));
        let _ = std::fs::remove_dir_all(&exec_dir);
        let file_name = self.input.file_name().and_then(|n| n.to_str()).ok_or("input has no file name")?.to_string();
        let job = Job {
            sql: self.sql.map(str::to_string),
            input: Input::File { path: self.input.to_path_buf(), file_name },
            limits: Limits { time_s: 900, ..Limits::default() },
            ..Job::default()
        };
        let t = Instant::now();
        let mut running =
            Supervisor::start(self.bin, &exec_dir, &job).map_err(|e| format!("start {}: {e}", self.bin.display()))?;
        let status = PathBuf::from(format!("/proc/{}/status", running.pid()));
        let mut peak = 0;
        let outcome = loop {
            if let Some(kib) = vm_hwm_kib(&status) {
                peak = peak.max(kib);
            }
            if let Some(o) = running.wait_for(Duration::from_millis(20)) {
                break o;
            }
        };
        let secs = t.elapsed().as_secs_f64();
        let manifest = match outcome {
            Outcome::Ok(m) => m,
            other => {
                let log = std::fs::read_to_string(exec_dir.join("engine.log")).unwrap_or_default();
                return Err(format!("engine run {tag} failed: {other:?}\n{log}"));
            }
        };
        let rows = manifest.scopes.iter().map(|s| s.rows).sum();
        let _ = std::fs::remove_dir_all(&exec_dir);
        Ok(Sample { secs, peak_kib: peak, timings: Some(manifest.timings), rows_out: rows })
    }
}
