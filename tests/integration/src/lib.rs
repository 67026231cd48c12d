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

/// Sets a server setting (`Some`) or resets it (`None`) with ALTER SYSTEM,
/// and reloads the configuration. New workers see it at once; a running
/// process takes it at its next configuration reload.
pub fn set_setting(c: &mut Client, guc: &str, value: Option<&str>) {
    match value {
        Some(v) => c.batch_execute(&format!("ALTER SYSTEM SET {guc} = '{v}'")).expect("ALTER SYSTEM SET"),
        None => c.batch_execute(&format!("ALTER SYSTEM RESET {guc}")).expect("ALTER SYSTEM RESET"),
    }
    c.batch_execute("SELECT pg_reload_conf()").expect("pg_reload_conf");
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

/// Tables `public.{prefix}_plans` (holding plan `basic`) and
/// `public.{prefix}_customers` (its `plan_id` references a plan), made
/// afresh, and connector `api_name` loading customers matched by `sku`, their
/// plan looked up by its code: a row naming a plan that does not exist yet
/// is skipped for a missing related record.
pub fn customers_with_plans(c: &mut Client, prefix: &str, api_name: &str, diff_check: bool) {
    let (plans, customers) = (format!("public.{prefix}_plans"), format!("public.{prefix}_customers"));
    c.batch_execute(&format!(
        "SET client_min_messages = warning;
         SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = '{api_name}';
         DROP TABLE IF EXISTS {customers}, {plans};
         CREATE TABLE {plans} (id serial PRIMARY KEY, code text UNIQUE NOT NULL);
         CREATE TABLE {customers} (id serial PRIMARY KEY, sku text UNIQUE NOT NULL, plan_id int REFERENCES {plans});
         INSERT INTO {plans} (code) VALUES ('basic');"
    ))
    .expect("customers and plans tables");
    save(
        c,
        &serde_json::json!({
            "api_name": api_name, "name": api_name, "type": "spreadsheet",
            "status": "operational", "settings": {"diff_check": diff_check},
            "variables": [{"name": "sku", "type": "string", "required": true}, {"name": "plan", "type": "string"}],
            "load_steps": [{"name": "customers", "table": customers,
                "match": [{"columns": {"sku": "sku"}}],
                "map": [{"column": "sku", "variable": "sku"},
                        {"column": "plan_id", "lookup": {"table": plans, "column": "code", "variable": "plan"}}]}]
        }),
    );
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

/// Restarts the test cluster in data directory `data` (`pg_ctl restart -m fast`, as postgres).
pub fn restart_server(data: &str) {
    let status = std::process::Command::new("runuser")
        .args(["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", data])
        .args(["-m", "fast", "-w", "-t", "60", "restart", "-l"])
        .arg(format!("{data}/server.log"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pg_ctl");
    assert!(status.success(), "pg_ctl restart");
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

// ------------------------------------------------------------- PostgREST replay

/// One `POST /rpc/<function>` as PostgREST sends it (shared/postgrest-rpc.md
/// §1): the transaction, the tx-vars statement, the main query with the body
/// as its one parameter, then COMMIT (or ROLLBACK on error).
pub struct Rpc<'a> {
    /// The role PostgREST switches to (the JWT's role claim, or the anonymous role).
    pub role: &'a str,
    /// The JWT's claims (PostgREST adds `role`).
    pub claims: serde_json::Value,
    /// Request headers, names lowercased (PostgREST leaves out `cookie`).
    pub headers: serde_json::Value,
    /// The function in schema `sc_api`.
    pub function: &'a str,
    /// The type of its single unnamed parameter (`json`, `text`, `xml`), chosen
    /// by PostgREST from the Content-Type.
    pub param_type: &'a str,
    /// The raw request body.
    pub body: &'a str,
}

/// What the sender gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The error's message and detail, for an error.
    pub error: Option<String>,
}

/// PostgREST's SQLSTATE → HTTP mapping (v16, shared/postgrest-rpc.md §4), for
/// the states these tests can meet.
pub fn http_status(code: &str, message: &str, authenticated: bool) -> u16 {
    match code {
        c if c.starts_with("PT") => c[2..].parse().unwrap_or(500),
        "42501" => {
            if authenticated {
                403
            } else {
                401
            }
        }
        "22023" if message.starts_with("role \"") && message.ends_with("does not exist") => 401,
        "42883" | "42P01" => 404,
        "23503" | "23505" => 409,
        "25006" => 405,
        "P0001" => 400,
        c if c.starts_with("08") || c.starts_with("53") || c == "57P01" => 503,
        c if ["09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "XX"]
            .iter()
            .any(|p| c.starts_with(p)) =>
        {
            500
        }
        c if c.starts_with("0L") || c.starts_with("0P") || c.starts_with("28") => 403,
        _ => 400,
    }
}

/// A parameter of type `unknown` (OID 705), as PostgREST sends every tx var
/// and a single unnamed parameter: PostgreSQL then resolves its type from
/// the statement (`text` for `set_config`, the cast's type in the main query).
#[derive(Debug)]
struct Unknown<'a>(&'a str);

impl postgres::types::ToSql for Unknown<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // PostgreSQL describes the parameter with the type it resolved; in
        // binary format the text types take the text as it is, jsonb a
        // version byte first.
        if *ty == postgres::types::Type::JSONB {
            out.extend_from_slice(&[1]);
        }
        out.extend_from_slice(self.0.as_bytes());
        Ok(postgres::types::IsNull::No)
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        use postgres::types::Type;
        [Type::UNKNOWN, Type::TEXT, Type::JSON, Type::JSONB, Type::XML].contains(ty)
    }

    postgres::types::to_sql_checked!();
}

const TX_VARS: &str = "select set_config('search_path', $1, true), set_config('role', $2, true), set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), set_config('request.path', $5, true), set_config('request.headers', $6, true), set_config('request.cookies', $7, true)";

/// Replays `rpc` on `c` (which must be able to switch to `rpc.role`, as
/// PostgREST's authenticator can). Parameters go as `unknown`, as PostgREST
/// sends them; the postgres crate sends them in binary format, whose bytes
/// for `unknown` are the text PostgREST sends in text format.
pub fn postgrest_rpc(c: &mut Client, rpc: &Rpc<'_>, anon_role: &str) -> Reply {
    use postgres::types::Type;
    let mut claims = rpc.claims.clone();
    claims["role"] = serde_json::Value::String(rpc.role.to_string());
    let path = format!("/rpc/{}", rpc.function);
    let main = format!(
        "WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT \"sc_api\".\"{f}\"($1::{t}) pgrst_scalar) pgrst_call) SELECT null::bigint AS total_result_set, 1 AS page_total, coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null') AS body, nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted FROM (SELECT \"{f}\".* FROM \"pgrst_source\" AS \"{f}\"   ) _postgrest_t",
        f = rpc.function,
        t = rpc.param_type
    );
    c.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE").expect("BEGIN");
    let run = |c: &mut Client| -> Result<Option<String>, postgres::Error> {
        let vars = c.prepare_typed(TX_VARS, &[Type::UNKNOWN; 7])?;
        let (claims, headers) = (claims.to_string(), rpc.headers.to_string());
        let values = ["\"sc_api\"", rpc.role, claims.as_str(), "POST", path.as_str(), headers.as_str(), "{}"];
        let args: Vec<Unknown<'_>> = values.into_iter().map(Unknown).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn postgres::types::ToSql + Sync)).collect();
        c.query(&vars, &refs)?;
        let main = c.prepare_typed(&main, &[Type::UNKNOWN])?;
        let row = c.query_one(&main, &[&Unknown(rpc.body)])?;
        Ok(row.get::<_, Option<String>>("response_status"))
    };
    match run(c) {
        Ok(status) => {
            c.batch_execute("COMMIT").expect("COMMIT");
            // A void function answers 204 unless it set response.status.
            Reply { status: status.and_then(|s| s.parse().ok()).unwrap_or(204), error: None }
        }
        Err(e) => {
            c.batch_execute("ROLLBACK").expect("ROLLBACK");
            let db = e.as_db_error().unwrap_or_else(|| panic!("not a database error: {e}"));
            let status = http_status(db.code().code(), db.message(), rpc.role != anon_role);
            let text = format!("{}{}", db.message(), db.detail().map(|d| format!(": {d}")).unwrap_or_default());
            Reply { status, error: Some(text) }
        }
    }
}
