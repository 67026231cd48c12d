//! Load-step benchmark (issue 5, item 11; issue 18): a 1,000,000-row x
//! 16-column CSV, with the messy columns real files have (money with a
//! currency and thousands separators, dates in three layouts (ISO, US, dotted), emails,
//! phones, a boolean spelled four ways, a list), through two load steps
//! (vendors, then items with a vendor lookup), against two baselines in the
//! same run on the same data: hand-written SQL (COPY into a staging table,
//! the same cleaning in SQL, then `INSERT … ON CONFLICT DO UPDATE` into the
//! same kind of tables) and pgloader loading the CSV as it is (no
//! validation). Needs a running cluster with the extension installed
//! (scripts/bench-load.sh starts one). Prints ratios; never a test.
use postgres::{Client, NoTls};
use std::io::Write;
use std::time::{Duration, Instant};

const COLUMNS: &str = "sku,vendor,name,price,qty,created,city,code,note,active,amount,ordered,email,phone,flag,tags";
const TAGS: [&str; 6] = ["red", "blue", "green", "sale", "new", "bulk"];

/// Row `i` of variant `v`: variant 1 changes every 10th row's price, variant
/// 2 additionally every 10th row (offset 1)'s qty, so each variant differs
/// from the one before in 10% of the rows. The messy columns repeat as real
/// columns do (a few thousand customers, dates of one year).
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
    let customer = (h >> 19) % 5_000;
    let (month, day) = (1 + (h >> 23) % 12, 1 + (h >> 27) % 28);
    let ordered = match i % 3 {
        0 => format!("2024-{month:02}-{day:02}"),
        1 => format!("{month:02}/{day:02}/2024"),
        _ => format!("{day:02}.{month:02}.2024"),
    };
    let tags = format!("{};{}", TAGS[(h % 6) as usize], TAGS[((h >> 4) % 6) as usize]);
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "S{i},V{},Item {},{price:.2},{qty},2024-{:02}-{:02},City {},C{},\"note, {}\",{},\"${},{:03}.{:02} USD\",{ordered},\
         Customer.{customer}@Example.COM,+1 (212) 736-{customer:04},{},{tags}",
        i % 1000,
        h % 50_000,
        1 + (h >> 3) % 12,
        1 + (h >> 5) % 28,
        (h >> 11) % 100,
        (h >> 13) % 10_000,
        h % 7,
        if h.is_multiple_of(2) { "true" } else { "false" },
        1 + (h >> 31) % 9,
        (h >> 35) % 1000,
        (h >> 45) % 100,
        ["yes", "No", "TRUE", "0"][((h >> 50) % 4) as usize],
    );
}

fn csv(rows: u64, variant: u8) -> Vec<u8> {
    let mut s = String::with_capacity(rows as usize * 160);
    s.push_str(COLUMNS);
    s.push('\n');
    for i in 0..rows {
        row(i, variant, &mut s);
    }
    s.into_bytes()
}

const TABLES: &str = "
DROP TABLE IF EXISTS bench_items, bench_vendors, base_items, base_vendors, base_staging, pgl_items;
CREATE TABLE bench_vendors (id bigserial PRIMARY KEY, code text UNIQUE NOT NULL);
CREATE TABLE bench_items (id bigserial PRIMARY KEY, sku text UNIQUE NOT NULL, vendor_id bigint REFERENCES bench_vendors,
  name text, price numeric(12,2), qty integer, created date, city text, code text, note text, active boolean,
  amount numeric(14,2), ordered date, email text, phone text, flag boolean, tags text[]);
CREATE TABLE base_vendors (LIKE bench_vendors INCLUDING ALL);
CREATE TABLE base_items (LIKE bench_items INCLUDING ALL);
ALTER TABLE base_items ADD FOREIGN KEY (vendor_id) REFERENCES base_vendors;
CREATE TABLE pgl_items (sku text, vendor text, name text, price text, qty text, created text, city text, code text,
  note text, active text, amount text, ordered text, email text, phone text, flag text, tags text);
";

/// The bench tables emptied, and the connector imported afresh (so its
/// diff-check store is empty: the next run is a first load).
const RESET: &str = "
TRUNCATE bench_items, bench_vendors, base_items, base_vendors, pgl_items RESTART IDENTITY;
SELECT sc_drop_connector('bench_load') FROM sc.connectors WHERE api_name = 'bench_load';
";

fn connector(chunk: u32) -> serde_json::Value {
    let item_vars = [
        ("sku", "string"),
        ("vendor", "string"),
        ("name", "string"),
        ("price", "number"),
        ("qty", "number"),
        ("created", "date"),
        ("city", "string"),
        ("code", "string"),
        ("note", "string"),
        ("active", "boolean"),
        ("amount", "number"),
        ("ordered", "date"),
        ("email", "email"),
        ("phone", "phone"),
        ("flag", "boolean"),
    ];
    let mut variables = vec![
        serde_json::json!({"name": "vendor_code", "source": "vendor", "scope": "vendors", "type": "string", "required": true}),
        serde_json::json!({"name": "tags", "scope": "items", "type": "string", "array": true, "delimiter": ";"}),
    ];
    for (v, t) in item_vars {
        variables.push(serde_json::json!({"name": v, "scope": "items", "type": t, "required": v == "sku"}));
    }
    let mut map: Vec<serde_json::Value> = item_vars
        .iter()
        .map(|(v, _)| *v)
        .chain(["tags"])
        .filter(|v| *v != "vendor")
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

/// A memory figure (`VmHWM`: peak RSS, `VmRSS`: RSS now; KiB) of a process, if it still exists.
fn status_kib(pid: i32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

fn hwm(pid: i32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
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
    /// The worker's largest private memory (`RssAnon`, polled every 50 ms),
    /// in all and in each stage, MiB. Its peak RSS above also counts the pages
    /// of PostgreSQL's shared buffers it touched (up to `shared_buffers`).
    worker_anon_mib: u64,
    worker_mib_by_stage: std::collections::BTreeMap<String, u64>,
}

fn sc_run(c: &mut Client, data: &[u8], diff_check: bool) -> RunResult {
    let start = Instant::now();
    let id: i64 = c
        .query_one("SELECT sc_run('bench_load', $1, 'bench.csv', diff_check => $2)", &[&data, &diff_check])
        .expect("sc_run")
        .get(0);
    let (mut worker_kib, mut engine_kib) = (0u64, 0u64);
    let mut by_stage = std::collections::BTreeMap::new();
    loop {
        let row =
            c.query_one("SELECT status, worker_pid, stage FROM sc.executions WHERE id = $1", &[&id]).expect("status");
        let status: String = row.get(0);
        if let Some(pid) = row.get::<_, Option<i32>>(1) {
            worker_kib = worker_kib.max(hwm(pid).unwrap_or(0));
            let stage: Option<String> = row.get(2);
            let now = status_kib(pid, "RssAnon:").unwrap_or(0) / 1024;
            let seen = by_stage.entry(stage.unwrap_or_default()).or_insert(0);
            *seen = now.max(*seen);
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
                worker_anon_mib: by_stage.values().copied().max().unwrap_or(0),
                worker_mib_by_stage: by_stage,
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
           city text, code text, note text, active text, amount text, ordered text, email text, phone text, flag text,
           tags text);",
    )
    .unwrap();
    let mut w = c.copy_in("COPY base_staging FROM STDIN (FORMAT csv, HEADER true)").unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap();
    // The cleaning a user who writes SQL would do by hand for these columns, reading dates as
    // smartconnector's default does (month first, day first when the first field is over 12).
    c.batch_execute(
        r"INSERT INTO base_vendors (code) SELECT DISTINCT vendor FROM base_staging
           ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code;
         INSERT INTO base_items (sku, vendor_id, name, price, qty, created, city, code, note, active,
                                 amount, ordered, email, phone, flag, tags)
           SELECT s.sku, v.id, s.name, s.price::numeric, s.qty::integer, s.created::date, s.city, s.code, s.note,
             s.active::boolean,
             regexp_replace(s.amount, '[^0-9.-]', '', 'g')::numeric,
             CASE WHEN s.ordered ~ '^\d{4}-' THEN s.ordered::date
                  WHEN split_part(translate(s.ordered, '.', '/'), '/', 1)::int > 12
                    THEN to_date(translate(s.ordered, '.', '/'), 'DD/MM/YYYY')
                  ELSE to_date(translate(s.ordered, '.', '/'), 'MM/DD/YYYY') END,
             lower(trim(s.email)),
             '+' || regexp_replace(s.phone, '\D', '', 'g'),
             lower(s.flag) IN ('yes', 'y', 'true', 't', '1'),
             string_to_array(s.tags, ';')
           FROM base_staging s JOIN base_vendors v ON v.code = s.vendor
           ON CONFLICT (sku) DO UPDATE SET vendor_id = EXCLUDED.vendor_id, name = EXCLUDED.name, price = EXCLUDED.price,
             qty = EXCLUDED.qty, created = EXCLUDED.created, city = EXCLUDED.city, code = EXCLUDED.code,
             note = EXCLUDED.note, active = EXCLUDED.active, amount = EXCLUDED.amount, ordered = EXCLUDED.ordered,
             email = EXCLUDED.email, phone = EXCLUDED.phone, flag = EXCLUDED.flag, tags = EXCLUDED.tags;",
    )
    .unwrap();
    start.elapsed().as_secs_f64()
}

/// pgloader (Debian's package) loading the CSV file as it is into a table
/// of text columns: the second baseline, a loader that validates nothing.
fn pgloader(port: &str, csv: &std::path::Path) -> f64 {
    let cmd = csv.with_extension("load");
    let script = format!(
        "LOAD CSV FROM '{csv}' ({COLUMNS})
         INTO postgresql://postgres@127.0.0.1:{port}/postgres?tablename=pgl_items ({COLUMNS})
         WITH skip header = 1, fields optionally enclosed by '\"', fields terminated by ',', truncate;\n",
        csv = csv.display()
    );
    std::fs::write(&cmd, script).expect("write the pgloader command file");
    let start = Instant::now();
    let out = std::process::Command::new("pgloader")
        .args(["--quiet", "--on-error-stop"])
        .arg(&cmd)
        .output()
        .expect("run pgloader (scripts/bench-load.sh installs it)");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "pgloader failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    seconds
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(kib: u64) -> u64 {
    kib / 1024
}

/// One round: each baseline and each kind of sc_run once, from empty tables.
struct Round {
    base: f64,
    pgloader: f64,
    first: RunResult,
    unchanged: RunResult,
    changed: RunResult,
}

fn round(c: &mut Client, port: &str, chunk: u32, inputs: &[Vec<u8>; 2], csv_file: &std::path::Path) -> Round {
    c.batch_execute(RESET).unwrap();
    let r: serde_json::Value = c.query_one("SELECT sc_import_connector($1)", &[&connector(chunk)]).unwrap().get(0);
    assert_eq!(r["status"], "operational", "{r}");
    c.batch_execute("CHECKPOINT").unwrap();
    let base = baseline(c, &inputs[0]);
    let pgloader = pgloader(port, csv_file);
    c.batch_execute("CHECKPOINT").unwrap();
    let first = sc_run(c, &inputs[0], true);
    let created = &first.counts["items"]["created"];
    assert_eq!(created.as_u64(), Some(rows_of(&inputs[0])), "every row is created: {}", first.counts);
    let unchanged = sc_run(c, &inputs[0], true);
    let changed = sc_run(c, &inputs[1], true);
    Round { base, pgloader, first, unchanged, changed }
}

fn rows_of(csv: &[u8]) -> u64 {
    csv.iter().filter(|b| **b == b'\n').count() as u64 - 1
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
    // --quick: one round instead of three (an iteration aid, not the recorded benchmark);
    // --first-only: one sc_run first load and nothing else (to profile it).
    let rounds = if args.iter().any(|a| a == "--quick") { 1 } else { arg("--rounds", 3) };
    let port = std::env::var("SC_BENCH_PGPORT").unwrap_or_else(|_| "5497".into());
    let mut c = Client::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"), NoTls)
        .expect("connect to the bench cluster (scripts/bench-load.sh starts it)");
    c.batch_execute("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS smartconnector").unwrap();
    c.batch_execute(TABLES).unwrap();

    let inputs = [csv(rows, 0), csv(rows, 1)];
    let columns = COLUMNS.split(',').count();
    println!(
        "{rows} rows x {columns} columns ({} MB CSV), chunk_size {chunk}, 2 load steps, {rounds} round(s)\n",
        inputs[0].len() / 1_000_000
    );
    let dir = std::env::temp_dir().join("sc-load-bench");
    std::fs::create_dir_all(&dir).unwrap();
    // pgloader runs as this process's user and reads the file itself.
    let csv_file = dir.join("bench_v0.csv");
    std::fs::write(&csv_file, &inputs[0]).expect("write the bench CSV");
    if let Some(out) = args.iter().position(|a| a == "--dump").and_then(|i| args.get(i + 1)) {
        // Profiling aid: the inputs as files, for sc_run(pg_read_binary_file(...)).
        for (n, v) in inputs.iter().enumerate() {
            std::fs::write(format!("{out}/bench_v{n}.csv"), v).expect("write the bench CSV");
        }
        return;
    }

    if args.iter().any(|a| a == "--first-only") {
        // Profiling aid: one sc_run first load alone, no baselines (attach perf to the worker).
        c.batch_execute(RESET).unwrap();
        let r: serde_json::Value = c.query_one("SELECT sc_import_connector($1)", &[&connector(chunk)]).unwrap().get(0);
        assert_eq!(r["status"], "operational", "{r}");
        let first = sc_run(&mut c, &inputs[0], true);
        println!(
            "first {:.1} s, worker {} MiB (private {} MiB) engine {} MiB\n  stage ms {}\n  worker private MiB by stage {:?}",
            first.seconds,
            mib(first.worker_kib),
            first.worker_anon_mib,
            mib(first.engine_kib),
            first.stage_times,
            first.worker_mib_by_stage
        );
        return;
    }
    let mut all = Vec::new();
    for n in 1..=rounds {
        let r = round(&mut c, &port, chunk, &inputs, &csv_file);
        println!(
            "round {n}: baseline {:.1} s, pgloader {:.1} s, sc_run first {:.1} s, unchanged {:.1} s, 10% changed {:.1} s",
            r.base, r.pgloader, r.first.seconds, r.unchanged.seconds, r.changed.seconds
        );
        all.push(r);
    }
    let base = median(all.iter().map(|r| r.base).collect());
    let pgl = median(all.iter().map(|r| r.pgloader).collect());
    let first = median(all.iter().map(|r| r.first.seconds).collect());
    let unchanged = median(all.iter().map(|r| r.unchanged.seconds).collect());
    let changed = median(all.iter().map(|r| r.changed.seconds).collect());
    let rps = |s: f64| rows as f64 / s;
    println!("\nmedians of {rounds} round(s):\n");
    println!("| run | seconds | rows/s | worker peak RSS | worker peak private | engine peak RSS |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| baseline: COPY + cleaning in SQL + INSERT ON CONFLICT, first load | {base:.1} | {:.0} | - | - | - |",
        rps(base)
    );
    println!("| pgloader, the CSV as it is into text columns | {pgl:.1} | {:.0} | - | - | - |", rps(pgl));
    type Pick = fn(&Round) -> &RunResult;
    let kinds: [(&str, f64, Pick); 3] = [
        ("sc_run first load (creates)", first, |r| &r.first),
        ("sc_run unchanged re-run", unchanged, |r| &r.unchanged),
        ("sc_run 10% changed", changed, |r| &r.changed),
    ];
    for (name, s, pick) in kinds {
        let worker = all.iter().map(|r| pick(r).worker_kib).max().unwrap_or(0);
        let private = all.iter().map(|r| pick(r).worker_anon_mib).max().unwrap_or(0);
        let engine = all.iter().map(|r| pick(r).engine_kib).max().unwrap_or(0);
        println!(
            "| {name}, diff check on | {s:.1} | {:.0} | {} MiB | {private} MiB | {} MiB |",
            rps(s),
            mib(worker),
            mib(engine)
        );
    }
    println!("\nfirst load vs hand-written baseline: {:.2}x of its rows/s (target >= 1.0x)", base / first);
    println!("first load vs pgloader: {:.2}x of its rows/s (target >= 2.0x)", pgl / first);
    println!("unchanged re-run vs first load: {:.1}x faster (target >= 5x)", first / unchanged);
    println!("10% changed vs first load: {:.1}x faster (target >= 3x)", first / changed);
    for (n, r) in all.iter().enumerate() {
        for (name, x) in [("first", &r.first), ("unchanged", &r.unchanged), ("10% changed", &r.changed)] {
            println!(
                "\nround {} {name}: worker {} MiB (private {} MiB) engine {} MiB\n  stage ms {}\n  worker private MiB by stage {:?}\n  counts {}",
                n + 1,
                mib(x.worker_kib),
                x.worker_anon_mib,
                mib(x.engine_kib),
                x.stage_times,
                x.worker_mib_by_stage,
                x.counts
            );
        }
    }
}
