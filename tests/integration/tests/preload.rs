//! The preloaded path: a cluster started with shared_preload_libraries = 'smartconnector,pg_cron'
//! serves the extension, its GUCs and its catalog, and documents move between databases.
use sc_integration::{connect, connect_db};

const DOC: &str = include_str!("../../../examples/vendor_products/connector.json");
const SCHEMA: &str = include_str!("../../../examples/vendor_products/schema.sql");

fn fresh_database(name: &str) -> postgres::Client {
    let mut admin = connect();
    admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[]).unwrap();
    admin.execute(&format!("CREATE DATABASE {name}"), &[]).unwrap();
    let mut db = connect_db(name);
    db.batch_execute(SCHEMA).unwrap();
    db
}

#[test]
fn library_is_preloaded_with_its_settings() {
    let mut c = connect();
    let preload: String = c.query_one("SHOW shared_preload_libraries", &[]).unwrap().get(0);
    assert!(preload.contains("smartconnector"), "shared_preload_libraries = {preload}");
    let path: String = c.query_one("SHOW smartconnector.libchdb_path", &[]).unwrap().get(0);
    assert_eq!(path, "/usr/local/lib/smartconnector/libchdb.so");
    assert!(std::path::Path::new(&path).exists(), "{path} missing: scripts/setup.sh installs it");
    // A postmaster-level GUC is only registered when the library was preloaded.
    let context: String =
        c.query_one("SELECT context FROM pg_settings WHERE name = 'smartconnector.database'", &[]).unwrap().get(0);
    assert_eq!(context, "postmaster");
}

#[test]
fn export_import_export_round_trips_between_databases() {
    let mut a = fresh_database("sc_itest_a");
    let imported: serde_json::Value =
        a.query_one("SELECT sc_import_connector($1::text::jsonb)", &[&DOC]).unwrap().get(0);
    assert_eq!(imported["action"], "created", "{imported}");
    assert_eq!(imported["status"], "operational", "{imported}");
    let first: serde_json::Value = a.query_one("SELECT sc_export_connector('vendor_products')", &[]).unwrap().get(0);

    let mut b = fresh_database("sc_itest_b");
    let count: i64 = b.query_one("SELECT count(*) FROM sc.connectors", &[]).unwrap().get(0);
    assert_eq!(count, 0, "database b starts empty");
    b.query_one("SELECT sc_import_connector($1)", &[&first]).unwrap();
    let second: serde_json::Value = b.query_one("SELECT sc_export_connector('vendor_products')", &[]).unwrap().get(0);
    assert_eq!(first, second);

    // Without the target tables the same document imports as needs_attention, with the problems named.
    let mut admin = connect();
    admin.execute("DROP DATABASE IF EXISTS sc_itest_c WITH (FORCE)", &[]).unwrap();
    admin.execute("CREATE DATABASE sc_itest_c", &[]).unwrap();
    let mut c = connect_db("sc_itest_c");
    c.batch_execute("CREATE EXTENSION smartconnector").unwrap();
    let r: serde_json::Value = c.query_one("SELECT sc_import_connector($1)", &[&first]).unwrap().get(0);
    assert_eq!(r["status"], "needs_attention", "{r}");
    let paths: Vec<&str> = r["problems"].as_array().unwrap().iter().filter_map(|p| p["path"].as_str()).collect();
    assert!(paths.contains(&"load_steps[0].table"), "{paths:?}");
    assert!(paths.contains(&"load_steps[1].table"), "{paths:?}");
}
