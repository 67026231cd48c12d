//! The variables stage alone (issue 18, item 2: "validation memoised per
//! distinct (variable, input value) within a run"): messy columns as real
//! files have them, validated with the memo and, as the baseline in the same
//! run, without it. Alternating runs, the median of each, and the ratio.
//! Never a test: `cargo run --release -p sc-bench --bin variables-bench [-- --rows N --runs N]`
//! (`--only memo` or `--only plain` runs one side once, to profile it).
use sc_core::document::{Variable, VariableType};
use sc_core::report::{ReportThread, ReportWriter};
use sc_core::rowbinary::RowBinaryWriter;
use sc_core::types::Context;
use sc_core::variables::{run_with, Flow, Observer, Options, OutputTable, RowOutcome};
use std::time::Instant;

struct Count(u64);

impl Observer for Count {
    fn row(&mut self, o: &RowOutcome<'_>) -> Result<(), String> {
        self.0 += u64::from(!o.valid);
        Ok(())
    }
    fn progress(&mut self, _: &str, _: u64, _: u64) -> Flow {
        Flow::Continue
    }
}

const COLUMNS: [(&str, VariableType); 9] = [
    ("sku", VariableType::String),
    ("vendor", VariableType::String),
    ("amount", VariableType::Number),
    ("ordered", VariableType::Date),
    ("email", VariableType::Email),
    ("phone", VariableType::Phone),
    ("active", VariableType::Boolean),
    ("qty", VariableType::Number),
    ("shipped", VariableType::Datetime),
];

/// Row `i`: money with currency and thousands separators, dates in three
/// layouts, emails, phones of a few thousand customers, a boolean spelled
/// four ways, vendors from a list: columns repeat as they do in real files.
fn row(i: u64) -> Vec<String> {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
    let customer = h % 5_000;
    let day = 1 + (h >> 3) % 28;
    let month = 1 + (h >> 8) % 12;
    let date = match i % 3 {
        0 => format!("2024-{month:02}-{day:02}"),
        1 => format!("{month:02}/{day:02}/2024"),
        _ => format!(
            "{day} {} 2024",
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(month - 1) as usize]
        ),
    };
    vec![
        format!("SKU-{i}"),
        format!("V{}", h % 1_000),
        format!("${},{:03}.{:02} USD", 1 + (h >> 5) % 9, (h >> 7) % 1000, h % 100),
        date,
        format!("Customer.{customer}@Example.COM"),
        format!("+1 (415) 555-{:04}", customer),
        ["yes", "No", "TRUE", "0"][(h % 4) as usize].to_string(),
        ((h >> 11) % 50).to_string(),
        format!("2024-{month:02}-{day:02} {:02}:{:02}:00", (h >> 13) % 24, (h >> 17) % 4 * 15),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rows, runs) = (flag("--rows", 1_000_000), flag("--runs", 3));
    let dir = std::env::temp_dir().join(format!("sc-variables-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scope.rowbinary");
    {
        let mut w = RowBinaryWriter::new(std::io::BufWriter::new(std::fs::File::create(&path).unwrap()), COLUMNS.len());
        for i in 0..rows {
            let r = row(i);
            let cells: Vec<Option<&str>> = r.iter().map(|s| Some(s.as_str())).collect();
            w.write_row(&cells).unwrap();
        }
        w.finish().unwrap();
    }
    let table = OutputTable {
        name: "orders".into(),
        columns: COLUMNS.iter().map(|(c, _)| (c.to_string(), "Nullable(String)".to_string())).collect(),
        rows,
        path,
        values_path: Some(dir.join("values.rowbinary")),
        source: None,
    };
    let vars: Vec<Variable> = COLUMNS
        .iter()
        .map(|(name, t)| {
            serde_json::from_value(serde_json::json!({"name": name, "type": t.to_string(), "required": *name == "sku"}))
                .unwrap()
        })
        .collect();
    let ctx = Context::default();
    // As the worker runs it: report rows go to the report's own thread; the
    // stage is timed until its last row is handed over (saving is not timed).
    let time = |memo: bool| {
        let mut report = ReportThread::start(ReportWriter::create(&dir.join("report.xlsx")).unwrap()).unwrap();
        let started = Instant::now();
        let mut seen = Count(0);
        run_with(
            &vars,
            std::slice::from_ref(&table),
            &ctx,
            &mut report,
            &mut seen,
            &Options { memo, ..Options::default() },
        )
        .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        report.finish(Vec::new(), Vec::new()).unwrap().wait().unwrap();
        (elapsed, seen.0)
    };
    // `--only memo|plain`: one side alone, to profile it (no ratio then).
    if let Some(only) = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)) {
        let (t, _) = time(only == "memo");
        println!("{only}: {t:.2} s");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t, bad_a) = time(false);
        without.push(t);
        let (t, bad_b) = time(true);
        with.push(t);
        assert_eq!(bad_a, bad_b, "the memo changes no outcome");
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m_without, m_with) = (median(&mut without), median(&mut with));
    println!("{rows} rows x {} variables (money, dates in 3 layouts, emails, phones, booleans 4 ways), {runs} alternating runs", COLUMNS.len());
    println!();
    println!("| run | median s | min s | max s | rows/s |");
    println!("|---|---|---|---|---|");
    for (name, m, v) in [("without memo (baseline)", m_without, &without), ("with memo", m_with, &with)] {
        println!("| {name} | {m:.2} | {:.2} | {:.2} | {:.0} |", v[0], v[v.len() - 1], rows as f64 / m);
    }
    println!();
    println!("memo: {:.2}x the baseline's rows/s", m_without / m_with);
    let _ = std::fs::remove_dir_all(&dir);
}
