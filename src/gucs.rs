//! The extension's settings (GUCs): where the engine lives, worker limits, SQL defaults.
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

/// Where `scripts/setup.sh` installs the pinned libchdb.so.
pub static LIBCHDB_PATH: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"/usr/local/lib/smartconnector/libchdb.so"));
pub static ENGINE_PATH: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"/usr/local/lib/smartconnector/sc-engine"));
pub static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));
pub static ALLOWED_HOSTS: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static MAX_WORKERS: GucSetting<i32> = GucSetting::<i32>::new(4);
pub static SQL_TIME_LIMIT_S: GucSetting<i32> = GucSetting::<i32>::new(300);
pub static SQL_MEMORY_LIMIT_MB: GucSetting<i32> = GucSetting::<i32>::new(4096);
pub static SQL_THREADS: GucSetting<i32> = GucSetting::<i32>::new(2);
pub static SQL_MAX_OUTPUT_ROWS: GucSetting<i32> = GucSetting::<i32>::new(10_000_000);
pub static SQL_DISK_LIMIT_MB: GucSetting<i32> = GucSetting::<i32>::new(10_240);
pub static ENGINE_SANDBOX: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static WORK_DIR: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static ENDED_WEBHOOK_TIMEOUT_S: GucSetting<i32> = GucSetting::<i32>::new(10);
pub static ENDED_WEBHOOK_FIRST_RETRY_S: GucSetting<i32> = GucSetting::<i32>::new(30);
pub static RETENTION: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"30 days"));

/// Registers every GUC. Called from `_PG_init`, preloaded or not; the
/// postmaster-level ones only exist when the library is preloaded.
pub fn register() {
    // SAFETY: a plain global flag PostgreSQL sets while loading preload libraries.
    let preloading = unsafe { pgrx::pg_sys::process_shared_preload_libraries_in_progress };
    GucRegistry::define_string_guc(
        c"smartconnector.libchdb_path",
        c"Path of libchdb.so, loaded only by the engine process",
        c"scripts/setup.sh installs the pinned chDB here.",
        &LIBCHDB_PATH,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"smartconnector.engine_path",
        c"Path of the sc-engine binary the execution worker supervises",
        c"",
        &ENGINE_PATH,
        GucContext::Suset,
        GucFlags::default(),
    );
    if preloading {
        GucRegistry::define_string_guc(
            c"smartconnector.database",
            c"Database whose connectors the launcher runs",
            c"",
            &DATABASE,
            GucContext::Postmaster,
            GucFlags::default(),
        );
        GucRegistry::define_string_guc(
            c"smartconnector.work_dir",
            c"Directory for the executions' working files (empty: pg_smartconnector in the data directory)",
            c"An absolute path owned by the server's OS user, ideally on another file system than the data directory, so a run that fills it cannot stop the database.",
            &WORK_DIR,
            GucContext::Postmaster,
            GucFlags::default(),
        );
    }
    GucRegistry::define_bool_guc(
        c"smartconnector.engine_sandbox",
        c"Confine the SQL engine process with Landlock, seccomp and a network namespace",
        c"on (default): the engine refuses to run where the kernel cannot confine it; off: run unconfined (not recommended, see docs/security.md).",
        &ENGINE_SANDBOX,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"smartconnector.sql_disk_limit_mb",
        c"Most disk space one execution's working directory may use while the SQL engine runs, in MB",
        c"Also caps how large a compressed input may inflate.",
        &SQL_DISK_LIMIT_MB,
        16,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_string_guc(
        c"smartconnector.allowed_hosts",
        c"Hosts the SQL stage may reach, comma-separated (empty: none)",
        c"api.example.com, *.example.com, host:port; '*' opens every host, also to postgresql(), mysql() and remote().",
        &ALLOWED_HOSTS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"smartconnector.ended_webhook_timeout_s",
        c"Seconds one \"execution ended\" webhook attempt may take (connecting, sending and the answer)",
        c"An attempt that takes longer counts as failed and is tried again later.",
        &ENDED_WEBHOOK_TIMEOUT_S,
        1,
        300,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"smartconnector.ended_webhook_first_retry_s",
        c"Seconds before the second attempt of an \"execution ended\" webhook; later waits are 2, 10, 30 and 80 times that",
        c"The default, 30, spreads 6 attempts over about an hour.",
        &ENDED_WEBHOOK_FIRST_RETRY_S,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_string_guc(
        c"smartconnector.retention",
        c"How long ended executions keep their files, per-row outcomes and processed webhook calls (an interval)",
        c"The launcher purges older ones once a day, and when this changes; sc_purge does it on demand. Their sc.executions row and counts stay.",
        &RETENTION,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"smartconnector.max_workers",
        c"Server-wide cap on concurrently running executions",
        c"",
        &MAX_WORKERS,
        1,
        256,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"smartconnector.sql_time_limit_s",
        c"SQL stage time limit in seconds: the default, and the ceiling a connector's sql_time_limit_s may lower but not exceed",
        c"",
        &SQL_TIME_LIMIT_S,
        1,
        86_400,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"smartconnector.sql_memory_limit_mb",
        c"SQL stage memory limit in MB: the default, and the ceiling a connector's sql_memory_limit_mb may lower but not exceed",
        c"",
        &SQL_MEMORY_LIMIT_MB,
        16,
        1_048_576,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"smartconnector.sql_threads",
        c"Threads the SQL engine may use: the default, and the ceiling a connector's sql_threads may lower but not exceed",
        c"",
        &SQL_THREADS,
        1,
        64,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"smartconnector.sql_max_output_rows",
        c"Rows the SQL stage may output over all scopes: the default, and the ceiling a connector's sql_max_output_rows may lower but not exceed",
        c"",
        &SQL_MAX_OUTPUT_ROWS,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// `smartconnector.allowed_hosts` as a list.
pub fn allowed_hosts() -> Vec<String> {
    ALLOWED_HOSTS
        .get()
        .and_then(|c| c.to_str().ok().map(str::to_owned))
        .map(|s| s.split(',').map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect())
        .unwrap_or_default()
}

/// `smartconnector.retention`, as written (an interval such as `30 days`).
pub fn retention() -> String {
    RETENTION.get().and_then(|c| c.to_str().ok().map(str::to_owned)).unwrap_or_else(|| "30 days".into())
}

/// The database the launcher and workers connect to (`smartconnector.database`).
pub fn database() -> String {
    DATABASE.get().and_then(|c| c.to_str().ok().map(str::to_owned)).unwrap_or_else(|| "postgres".into())
}
