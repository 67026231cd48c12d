//! A server that loads smartconnector only on demand (no preload) serves the
//! catalog API, but `sc_run` fails with a hint quoting the line to add.
use postgres::{Client, NoTls};
use std::process::Command;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn pg(args: &[&str]) -> bool {
    Command::new("runuser").args(["-u", "postgres", "--"]).args(args).status().map(|s| s.success()).unwrap_or(false)
}

struct Cluster(String);

impl Drop for Cluster {
    fn drop(&mut self) {
        pg(&[&format!("{PG_BIN}/pg_ctl"), "-D", &self.0, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn sc_run_without_preload_names_the_postgresql_conf_line() {
    let port = sc_integration::port() + 20;
    let data = format!("/tmp/sc-itest-nopreload-{port}");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    assert!(Command::new("chown").args(["postgres:postgres", &data]).status().unwrap().success());
    assert!(pg(&[
        &format!("{PG_BIN}/initdb"),
        "-D",
        &data,
        "--auth=trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C.UTF-8"
    ]));
    let cluster = Cluster(data.clone());
    let opts = format!(
        "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c shared_preload_libraries=''"
    );
    assert!(pg(&[
        &format!("{PG_BIN}/pg_ctl"),
        "-D",
        &data,
        "-o",
        &opts,
        "-l",
        &format!("{data}/server.log"),
        "-w",
        "start"
    ]));

    let mut c = Client::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"), NoTls).unwrap();
    c.batch_execute("CREATE EXTENSION smartconnector").unwrap();
    sc_integration::save(
        &mut c,
        &sc_integration::scheduler_doc("np", "CREATE TABLE output.t ENGINE = Memory AS SELECT '1' AS x", 1),
    );
    let err = c.query_one("SELECT sc_run('np')", &[]).expect_err("must fail without preload");
    let db = err.as_db_error().expect("a database error");
    assert_eq!(db.code().code(), "55000");
    assert!(db.message().contains("not loaded at server start"), "{}", db.message());
    assert_eq!(
        db.hint(),
        Some("Add this line to postgresql.conf and restart the server: shared_preload_libraries = 'smartconnector'")
    );
    // Without pg_cron, a scheduled connector cannot be saved, and the hint gives the lines to add.
    let mut scheduled =
        sc_integration::scheduler_doc("np_sched", "CREATE TABLE output.t ENGINE = Memory AS SELECT '1' AS x", 1);
    scheduled["settings"]["schedule"] = serde_json::json!("0 3 * * *");
    let err = c.query_one("SELECT sc_create_connector($1)", &[&scheduled]).expect_err("needs pg_cron");
    let db = err.as_db_error().expect("a database error");
    assert_eq!(db.code().code(), "55000");
    assert!(db.message().contains("needs pg_cron"), "{}", db.message());
    let hint = db.hint().unwrap_or_default();
    for line in [
        "shared_preload_libraries = 'smartconnector,pg_cron'",
        "cron.database_name = 'postgres'",
        "CREATE EXTENSION pg_cron;",
    ] {
        assert!(hint.contains(line), "{hint}");
    }
    let saved: i64 = c.query_one("SELECT count(*) FROM sc.connectors WHERE api_name = 'np_sched'", &[]).unwrap().get(0);
    assert_eq!(saved, 0);
    drop(c);
    drop(cluster);
}
