//! `engine-bench`: the SQL engine end to end against calamine and chDB `file()` baselines, in one run.
//!
//! ```text
//! cargo build --release -p sc-engine
//! cargo run --release -p sc-bench --bin engine-bench [-- --csv-rows N --xlsx-rows N --runs N]
//! ```
//!
//! Generates (or reuses) `bench/data/bench_<rows>.csv` and `.xlsx`, then
//! times each case `--runs` times (default 3) and prints the median:
//!
//! * A: calamine reads every cell of the XLSX (no output);
//! * B: libchdb, loaded into this process, reads the CSV with `file()` and
//!   turns every column into text (no output);
//! * engine cases: `Supervisor::start` with `Input::File`, waited to the
//!   end (child start, readers, input tables, SQL, export), pass-through and
//!   a small transform, on the CSV and on the XLSX;
//! * a breakdown: the sc-core readers alone, in process.
//!
//! CSV cases are compared with B, XLSX cases with A, and every case with
//! min(A, B) in seconds (the issue's "within 1.25x of the faster baseline").
//! The engine binary is `target/release/sc-engine` or `$SC_ENGINE_BIN`.

mod cases;
mod data;

use std::path::{Path, PathBuf};

use cases::{median_of, ChdbBaseline, EngineCase, Sample};

const TRANSFORM: &str = "CREATE TABLE output.t ENGINE = Memory AS \
    SELECT id, upper(name) AS name_u, toDecimal64OrNull(amount, 2) * 2 AS amount_x \
    FROM input.page_idx_0 WHERE qty IS NOT NULL";

struct Args {
    csv_rows: u64,
    xlsx_rows: u64,
    runs: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { csv_rows: 1_000_000, xlsx_rows: 200_000, runs: 3 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n: u64 = value.parse().map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--csv-rows" => a.csv_rows = n,
            "--xlsx-rows" => a.xlsx_rows = n,
            "--runs" => a.runs = n.max(1) as usize,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

fn engine_bin() -> Result<PathBuf, String> {
    let p = match std::env::var_os("SC_ENGINE_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/sc-engine"),
    };
    if !p.exists() {
        return Err(format!(
            "engine binary not found at {}: run `cargo build --release -p sc-engine` first \
             (or set SC_ENGINE_BIN)",
            p.display()
        ));
    }
    Ok(p)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// One line of the result table.
struct Line {
    case: &'static str,
    rows: u64,
    sample: Sample,
    /// The baseline this case is compared with ("A", "B" or "" for a baseline).
    against: &'static str,
    rss_of: &'static str,
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let bin = engine_bin()?;
    let data_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("cpus {cpus}, load average at start {}", loadavg());
    let inputs = data::ensure(&data_dir, args.csv_rows, args.xlsx_rows)?;
    let n = args.runs;
    let mut lines = Vec::new();
    let mut push = |case, rows, sample: Sample, against, rss_of| {
        eprintln!("{case:<28} {:>8.3} s", sample.secs);
        lines.push(Line { case, rows, sample, against, rss_of });
    };

    let a = median_of(n, || cases::calamine_only(&inputs.xlsx))?;
    push("A calamine xlsx (baseline)", inputs.xlsx_rows, a, "", "bench");

    let case = |input: &'static str, sql| EngineCase {
        bin: &bin,
        input: if input == "csv" { &inputs.csv } else { &inputs.xlsx },
        sql,
        work: &data_dir,
    };
    let runs: [(&'static str, &'static str, Option<&str>); 4] = [
        ("c engine csv pass-through", "csv", None),
        ("d engine csv transform", "csv", Some(TRANSFORM)),
        ("e engine xlsx pass-through", "xlsx", None),
        ("f engine xlsx transform", "xlsx", Some(TRANSFORM)),
    ];
    for (name, input, sql) in runs {
        let c = case(input, sql);
        let s = median_of(n, || c.run(input))?;
        let (rows, against) = if input == "csv" { (inputs.csv_rows, "B") } else { (inputs.xlsx_rows, "A") };
        push(name, rows, s, against, "child");
    }

    let scratch = data_dir.join("reader-only");
    let r = median_of(n, || cases::reader_only(&inputs.csv, "bench.csv", &scratch))?;
    push("  readers only, csv", inputs.csv_rows, r, "B", "bench");
    let r = median_of(n, || cases::reader_only(&inputs.xlsx, "bench.xlsx", &scratch))?;
    push("  readers only, xlsx", inputs.xlsx_rows, r, "A", "bench");

    let chdb = ChdbBaseline::open(&data_dir.join("chdb-baseline"))?;
    let b = median_of(n, || chdb.read_csv(&inputs.csv))?;
    push("B chDB file() csv (baseline)", inputs.csv_rows, b, "", "bench");

    print_tables(&lines, n);
    println!("load average at end: {}", loadavg());
    chdb.leak();
    Ok(())
}

fn print_tables(lines: &[Line], n: usize) {
    let secs_of = |prefix: &str| lines.iter().find(|l| l.case.starts_with(prefix)).map_or(f64::NAN, |l| l.sample.secs);
    let (a, b) = (secs_of("A "), secs_of("B "));
    let fastest = a.min(b);
    println!();
    println!("median of {n} runs; ratio = case seconds / baseline seconds");
    println!(
        "| {:<28} | {:>9} | {:>9} | {:>11} | {:>12} | {:>10} | {:>14} | {:>9} |",
        "case", "rows", "median s", "rows/s", "vs baseline", "vs min(A,B)", "peak RSS", "rows out"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|{}|{}|",
        "-".repeat(30),
        "-".repeat(11),
        "-".repeat(11),
        "-".repeat(13),
        "-".repeat(14),
        "-".repeat(12),
        "-".repeat(16),
        "-".repeat(11)
    );
    for l in lines {
        let s = l.sample.secs;
        let vs = match l.against {
            "A" => format!("{:.2}x A", s / a),
            "B" => format!("{:.2}x B", s / b),
            _ => "-".into(),
        };
        let rss = format!("{} MiB {}", l.sample.peak_kib / 1024, l.rss_of);
        println!(
            "| {:<28} | {:>9} | {:>9.3} | {:>11.0} | {:>12} | {:>10.2}x | {:>14} | {:>9} |",
            l.case,
            l.rows,
            s,
            l.rows as f64 / s,
            vs,
            s / fastest,
            rss,
            l.sample.rows_out
        );
    }
    println!();
    println!("engine stages of the median run (ms, from manifest.json `timings`; wall = supervisor view)");
    println!(
        "| {:<28} | {:>8} | {:>9} | {:>7} | {:>9} | {:>8} | {:>8} |",
        "case", "start", "inputs", "sql", "export", "total", "wall"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|{}|",
        "-".repeat(30),
        "-".repeat(10),
        "-".repeat(11),
        "-".repeat(9),
        "-".repeat(11),
        "-".repeat(10),
        "-".repeat(10)
    );
    for l in lines {
        if let Some(t) = l.sample.timings {
            println!(
                "| {:<28} | {:>8} | {:>9} | {:>7} | {:>9} | {:>8} | {:>8.0} |",
                l.case,
                t.start_ms,
                t.inputs_ms,
                t.sql_ms,
                t.export_ms,
                t.total_ms,
                l.sample.secs * 1000.0
            );
        }
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("engine-bench: {e}");
        std::process::exit(1);
    }
    // chDB's threads are still alive in this process (see ChdbBaseline::leak).
    std::process::exit(0);
}
