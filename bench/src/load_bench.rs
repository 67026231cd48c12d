//! Load-step benchmark (issue 5, item 11): a 1,000,000-row x 10-column CSV
//! through two load steps (vendors, then items with a vendor lookup),
//! against a hand-written baseline on the same data in the same run: COPY
//! into a staging table, then `INSERT … ON CONFLICT DO UPDATE` into the
//! same kind of tables. Needs a running cluster with the extension
//! installed (scripts/bench-load.sh starts one). Prints ratios; never a test.
use postgres::{Client, NoTls};
use std::io::Write;
use std::time::{Duration, Instant};

const COLUMNS: &str = "sku,vendor,name,price,qty,created,city,code,note,active";

/// Row `i` of variant `v`: variant 1 changes every 10th row's price, variant
/// 2 additionally every 10th row (offset 1)'s qty, so each variant differs
/// from the one before in 10% of the rows.
fn row(i: u64, variant: u8, out: &mut String) {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
    let mut price = (h % 100_000) as f64 / 100.0;
    let mut qty = (h >> 9) % 1000;
    if variant >= 1 && i.is_multiple_of(10) {
        price += 1.0;
    }
    if variant >= 2 && i % 10 == 1 {
        qty += 1;
    }
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "S{i},V{},Item {},{price:.2},{qty},2024-{:02}-{:02},City {},C{},\"note, {}\",{}",
        i % 1000,
        h % 50_000,
        1 + (h >> 3) % 12,
        1 + (h >> 5) % 28,
        (h >> 11) % 100,
        (h >> 13) % 10_000,
        h % 7,
        if h.is_multiple_of(2) { "true" } else { "false" }
    );
}

fn csv(rows: u64, variant: u8) -> Vec<u8> {
    let mut s = String::with_capacity(rows as usize * 80);
    s.push_str(COLUMNS);
    s.push('\n');
    for i in 0..rows {
        row(i, variant, &mut s);
    }
    s.into_bytes()
}

const TABLES: &str = "
DROP TABLE IF EXISTS bench_items, bench_vendors, base_items, base_vendors, base_staging;
CREATE TABLE bench_vendors (id bigserial PRIMARY KEY, code text UNIQUE NOT NULL);
CREATE TABLE bench_items (id bigserial PRIMARY KEY, sku text UNIQUE NOT NULL, vendor_id bigint REFERENCES bench_vendors,
  name text, price numeric(12,2), qty integer, created date, city text, code text, note text, active boolean);
CREATE TABLE base_vendors (LIKE bench_vendors INCLUDING ALL);
CREATE TABLE base_items (LIKE bench_items INCLUDING ALL);
ALTER TABLE base_items ADD FOREIGN KEY (vendor_id) REFERENCES base_vendors;
";

fn connector(chunk: u32) -> serde_json::Value {
    let item_vars = ["sku", "vendor", "name", "price", "qty", "created", "city", "code", "note", "active"];
    let types = ["string", "string", "string", "number", "number", "date", "string", "string", "string", "boolean"];
    let mut variables = vec![
        serde_json::json!({"name": "vendor_code", "source": "vendor", "scope": "vendors", "type": "string", "required": true}),
    ];
    for (v, t) in item_vars.iter().zip(types) {
        variables.push(serde_json::json!({"name": v, "scope": "items", "type": t, "required": *v == "sku"}));
    }
    let mut map: Vec<serde_json::Value> = item_vars
        .iter()
        .filter(|v| **v != "vendor")
        .map(|v| serde_json::json!({"column": v, "variable": v, "conflict": "overwrite"}))
        .collect();
    map.push(serde_json::json!({"column": "vendor_id", "lookup": {"table": "bench_vendors", "column": "code", "variable": "vendor"}}));
    serde_json::json!({
        "api_name": "bench_load", "name": "bench", "type": "spreadsheet", "status": "operational",
        "sql": "CREATE TABLE output.vendors ENGINE = Memory AS SELECT DISTINCT vendor FROM input.page_idx_0;
                CREATE TABLE output.items ENGINE = Memory AS SELECT * FROM input.page_idx_0",
        "variables": variables,
        "load_steps": [
            {"name": "vendors", "scope": "vendors", "table": "bench_vendors",
             "match": [{"columns": {"code": "vendor_code"}}], "map": [{"column": "code", "variable": "vendor_code"}]},
            {"name": "items", "scope": "items", "table": "bench_items",
             "match": [{"columns": {"sku": "sku"}}], "map": map}
        ],
        "settings": {"chunk_size": chunk, "sql_time_limit_s": 3600}
    })
}

/// Peak RSS (VmHWM, KiB) of a process, if it still exists.
fn hwm(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Children of `pid` (the engine process of a worker).
fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

struct RunResult {
    seconds: f64,
    worker_kib: u64,
    engine_kib: u64,
    counts: serde_json::Value,
    stage_times: serde_json::Value,
}

fn sc_run(c: &mut Client, data: &[u8], diff_check: bool) -> RunResult {
    let start = Instant::now();
    let id: i64 = c
        .query_one("SELECT sc_run('bench_load', $1, 'bench.csv', diff_check => $2)", &[&data, &diff_check])
        .expect("sc_run")
        .get(0);
    let (mut worker_kib, mut engine_kib) = (0u64, 0u64);
    loop {
        let row = c.query_one("SELECT status, worker_pid FROM sc.executions WHERE id = $1", &[&id]).expect("status");
        let status: String = row.get(0);
        if let Some(pid) = row.get::<_, Option<i32>>(1) {
            worker_kib = worker_kib.max(hwm(pid).unwrap_or(0));
            for child in children(pid) {
                engine_kib = engine_kib.max(hwm(child).unwrap_or(0));
            }
        }
        if !matches!(status.as_str(), "queued" | "running") {
            let row =
                c.query_one("SELECT error, counts, stage_times FROM sc.executions WHERE id = $1", &[&id]).unwrap();
            if let Some(e) = row.get::<_, Option<String>>(0) {
                panic!("run {id} ended {status}: {e}");
            }
            return RunResult {
                seconds: start.elapsed().as_secs_f64(),
                worker_kib,
                engine_kib,
                counts: row.get(1),
                stage_times: row.get(2),
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn baseline(c: &mut Client, data: &[u8]) -> f64 {
    let start = Instant::now();
    c.batch_execute(
        "DROP TABLE IF EXISTS base_staging;
         CREATE UNLOGGED TABLE base_staging (sku text, vendor text, name text, price text, qty text, created text,
           city text, code text, note text, active text);",
    )
    .unwrap();
    let mut w = c.copy_in("COPY base_staging FROM STDIN (FORMAT csv, HEADER true)").unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap();
    c.batch_execute(
        "INSERT INTO base_vendors (code) SELECT DISTINCT vendor FROM base_staging
           ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code;
         INSERT INTO base_items (sku, vendor_id, name, price, qty, created, city, code, note, active)
           SELECT s.sku, v.id, s.name, s.price::numeric, s.qty::integer, s.created::date, s.city, s.code, s.note, s.active::boolean
           FROM base_staging s JOIN base_vendors v ON v.code = s.vendor
           ON CONFLICT (sku) DO UPDATE SET vendor_id = EXCLUDED.vendor_id, name = EXCLUDED.name, price = EXCLUDED.price,
             qty = EXCLUDED.qty, created = EXCLUDED.created, city = EXCLUDED.city, code = EXCLUDED.code,
             note = EXCLUDED.note, active = EXCLUDED.active;",
    )
    .unwrap();
    start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rows = arg("--rows", 1_000_000);
    let chunk = arg("--chunk", 10_000) as u32;
    let port = std::env::var("SC_BENCH_PGPORT").unwrap_or_else(|_| "5497".into());
    let mut c = Client::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"), NoTls)
        .expect("connect to the bench cluster (scripts/bench-load.sh starts it)");
    c.batch_execute("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS smartconnector").unwrap();
    c.batch_execute(TABLES).unwrap();
    c.batch_execute("SELECT sc_drop_connector('bench_load') FROM sc.connectors WHERE api_name = 'bench_load'").unwrap();
    let r: serde_json::Value = c.query_one("SELECT sc_import_connector($1)", &[&connector(chunk)]).unwrap().get(0);
    assert_eq!(r["status"], "operational", "{r}");

    let v0 = csv(rows, 0);
    let v1 = csv(rows, 1);
    let v2 = csv(rows, 2);
    println!("{rows} rows x 10 columns ({} MB CSV), chunk_size {chunk}, 2 load steps\n", v0.len() / 1_000_000);

    if let Some(dir) = args.iter().position(|a| a == "--dump").and_then(|i| args.get(i + 1)) {
        // Profiling aid: the three inputs as files, for sc_run(pg_read_binary_file(...)).
        for (n, v) in [&v0, &v1, &v2].into_iter().enumerate() {
            std::fs::write(format!("{dir}/bench_v{n}.csv"), v).expect("write the bench CSV");
        }
        return;
    }
    if args.iter().any(|a| a == "--quick") {
        // Iteration aid, not the recorded benchmark: baseline, first load, unchanged re-run.
        let base_first = baseline(&mut c, &v0);
        let first = sc_run(&mut c, &v0, true);
        let unchanged = sc_run(&mut c, &v0, true);
        println!("baseline {base_first:.1} s; first {:.1} s; unchanged {:.1} s", first.seconds, unchanged.seconds);
        println!(
            "unchanged re-run vs first run: {:.1}x faster; first run vs baseline: {:.2}x",
            first.seconds / unchanged.seconds,
            base_first / first.seconds
        );
        for (name, r) in [("first", &first), ("unchanged", &unchanged)] {
            println!(
                "{name}: stage ms {} worker {} MiB engine {} MiB",
                r.stage_times,
                r.worker_kib / 1024,
                r.engine_kib / 1024
            );
        }
        return;
    }
    let base_first = baseline(&mut c, &v0);
    let base_second = baseline(&mut c, &v1);
    let first = sc_run(&mut c, &v0, true);
    let changed_diff = sc_run(&mut c, &v1, true);
    let changed_nodiff = sc_run(&mut c, &v2, false);
    let unchanged = sc_run(&mut c, &v2, true);

    let rps = |s: f64| rows as f64 / s;
    println!("| run | seconds | rows/s | ratio | worker peak RSS | engine peak RSS |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| baseline: COPY + INSERT ON CONFLICT, first load | {base_first:.1} | {:.0} | 1.00x | - | - |",
        rps(base_first)
    );
    println!("| baseline: same, 10% changed | {base_second:.1} | {:.0} | - | - | - |", rps(base_second));
    for (name, r) in [
        ("sc_run first load (creates)", &first),
        ("sc_run 10% changed, diff check on", &changed_diff),
        ("sc_run 10% changed, diff check off", &changed_nodiff),
        ("sc_run unchanged re-run, diff check on", &unchanged),
    ] {
        println!(
            "| {name} | {:.1} | {:.0} | {:.2}x of baseline rows/s | {} MiB | {} MiB |",
            r.seconds,
            rps(r.seconds),
            rps(r.seconds) / rps(base_first),
            r.worker_kib / 1024,
            r.engine_kib / 1024
        );
    }
    println!("\nunchanged re-run vs first run: {:.1}x faster (target >= 10x)", first.seconds / unchanged.seconds);
    println!("first run vs baseline: {:.2}x of baseline rows/s (target >= 0.5x)", base_first / first.seconds);
    for (name, r) in [
        ("first", &first),
        ("10% diff on", &changed_diff),
        ("10% diff off", &changed_nodiff),
        ("unchanged", &unchanged),
    ] {
        println!("\n{name}: stage ms {}\n  counts {}", r.stage_times, r.counts);
    }
}
