//! Helpers for integration tests: connect to the cluster scripts/test.sh started.
use postgres::{Client, NoTls};
use std::time::{Duration, Instant};

/// Port of the test cluster; tests fail (never skip) when it is not given.
pub fn port() -> u16 {
    let port = std::env::var("SC_TEST_PGPORT").unwrap_or_else(|_| {
        panic!("SC_TEST_PGPORT is not set: run these tests through scripts/test.sh, which starts the cluster")
    });
    port.parse().unwrap_or_else(|_| panic!("SC_TEST_PGPORT={port} is not a port number"))
}

/// A new connection as `postgres` to database `db`, retried for up to 30 s
/// (a previous test may have left the server in crash recovery).
pub fn connect_db(db: &str) -> Client {
    let conn = format!("host=127.0.0.1 port={} user=postgres dbname={db} connect_timeout=10", port());
    let mut last = None;
    poll(Duration::from_secs(30), || match Client::connect(&conn, NoTls) {
        Ok(c) => Some(c),
        Err(e) => {
            last = Some(e.to_string());
            None
        }
    })
    .unwrap_or_else(|| panic!("cannot connect to the test cluster ({conn}): {}", last.unwrap_or_default()))
}

/// After killing a backend: waits until the server has thrown out `c` (the
/// crash restart has begun), so a new connection reaches the restarted server.
pub fn await_crash_restart(mut c: Client) {
    poll(Duration::from_secs(30), || c.simple_query("SELECT 1").is_err().then_some(()))
        .expect("the server restarts after a backend is killed");
}

/// A new connection as `postgres` to database `postgres`.
pub fn connect() -> Client {
    connect_db("postgres")
}

/// Polls `check` until it returns Some or `deadline` passes.
pub fn poll<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The demo workbook (two sheets: Products, Read me).
pub const WORKBOOK: &[u8] = include_bytes!("../../../examples/vendor_products/products.xlsx");
/// The SPEC §8.1 document the demo uses.
pub const DOC: &str = include_str!("../../../examples/vendor_products/connector.json");
/// The demo's entity tables.
pub const SCHEMA: &str = include_str!("../../../examples/vendor_products/schema.sql");

/// The database the launcher serves (smartconnector.database), with the extension and the demo tables.
pub fn connect_ready() -> Client {
    let mut c = connect();
    c.batch_execute(SCHEMA).expect("demo schema");
    c
}

/// Saves (or replaces) a connector document.
pub fn save(c: &mut Client, doc: &serde_json::Value) {
    let r: serde_json::Value = c.query_one("SELECT sc_import_connector($1, 'replace')", &[doc]).expect("import").get(0);
    assert!(r["problems"].as_array().is_some_and(|p| p.is_empty()), "connector has problems: {r}");
}

/// A scheduler connector (no input file) whose SQL is `sql`, with one variable `x` of the output.
pub fn scheduler_doc(api_name: &str, sql: &str, max_concurrency: u32) -> serde_json::Value {
    serde_json::json!({
        "api_name": api_name, "name": api_name, "type": "scheduler", "status": "operational",
        "sql": sql,
        "variables": [{"name": "x", "type": "string"}],
        "settings": {"max_concurrency": max_concurrency}
    })
}

/// A spreadsheet connector that passes its single input table through, with one variable.
pub fn passthrough_doc(api_name: &str, variable: &str) -> serde_json::Value {
    serde_json::json!({
        "api_name": api_name, "name": api_name, "type": "spreadsheet", "status": "operational",
        "variables": [{"name": variable, "type": "string"}]
    })
}

/// Starts a run with an input file; returns the execution id (committed).
pub fn run_file(c: &mut Client, connector: &str, bytes: &[u8], file_name: &str) -> i64 {
    c.query_one("SELECT sc_run($1, $2, $3)", &[&connector, &bytes, &file_name]).expect("sc_run").get(0)
}

/// Starts a run without input.
pub fn run(c: &mut Client, connector: &str) -> i64 {
    c.query_one("SELECT sc_run($1)", &[&connector]).expect("sc_run").get(0)
}

/// sc_wait with a 2-minute limit.
pub fn wait(c: &mut Client, id: i64) -> String {
    c.query_one("SELECT sc_wait($1, '2 minutes')", &[&id]).expect("sc_wait").get(0)
}

/// One column of an execution, as text.
pub fn field(c: &mut Client, id: i64, column: &str) -> Option<String> {
    let sql = format!("SELECT ({column})::text FROM sc.executions WHERE id = $1");
    c.query_one(&sql, &[&id]).expect("execution row").get(0)
}

/// Whether the execution kept an artifact of `kind`.
pub fn has_file(c: &mut Client, id: i64, kind: &str) -> bool {
    c.query_one("SELECT EXISTS (SELECT 1 FROM sc.execution_files WHERE execution_id = $1 AND kind = $2)", &[&id, &kind])
        .expect("files")
        .get(0)
}

/// Polls a fresh connection until the server answers (after a crash restart).
pub fn reconnect(deadline: Duration) -> Client {
    poll(deadline, || {
        let conn = format!("host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=2", port());
        let mut c = Client::connect(&conn, NoTls).ok()?;
        c.simple_query("SELECT 1").ok()?;
        Some(c)
    })
    .expect("the server did not come back")
}

/// The report of execution `id`, opened as a workbook.
pub fn report_sheets(c: &mut Client, id: i64) -> calamine::Xlsx<std::io::Cursor<Vec<u8>>> {
    let bytes: Vec<u8> = c.query_one("SELECT sc_report($1)", &[&id]).expect("sc_report").get(0);
    calamine::Reader::new(std::io::Cursor::new(bytes)).expect("the report is an XLSX workbook")
}
