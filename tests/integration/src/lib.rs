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

/// A new connection as `postgres` to database `db`.
pub fn connect_db(db: &str) -> Client {
    let conn = format!("host=127.0.0.1 port={} user=postgres dbname={db} connect_timeout=10", port());
    Client::connect(&conn, NoTls).unwrap_or_else(|e| panic!("cannot connect to the test cluster ({conn}): {e}"))
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
