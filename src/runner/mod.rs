//! Background workers: the launcher (one per server) and one worker per
//! execution, plus what user backends need to reach them.
//!
//! `sc_run` inserts a queued execution and registers a commit callback that
//! sends SIGUSR1 to the launcher, whose default handler sets its latch. The
//! launcher claims queued executions within `smartconnector.max_workers` and
//! each connector's `max_concurrency` and starts a dynamic worker for each,
//! with itself as the notify process, so a worker's end wakes it as well.
//! A slow backstop poll covers lost signals.
pub mod background;
pub mod launcher;
pub mod worker;

use pgrx::bgworkers::{BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `backend_type` of the launcher in `pg_stat_activity`.
pub const LAUNCHER_TYPE: &str = "smartconnector launcher";
/// `backend_type` of execution workers in `pg_stat_activity`.
pub const WORKER_TYPE: &str = "smartconnector worker";

/// Set in the postmaster when the library is preloaded; inherited by every backend.
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Called from `_PG_init`: registers the launcher when preloading.
pub fn init() {
    // SAFETY: a plain global flag PostgreSQL sets while loading preload libraries.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    PRELOADED.store(true, Ordering::Relaxed);
    BackgroundWorkerBuilder::new(LAUNCHER_TYPE)
        .set_type(LAUNCHER_TYPE)
        .set_library("smartconnector")
        .set_function("sc_launcher_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

/// Whether this server loaded the library through `shared_preload_libraries`.
pub fn preloaded() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

/// Arranges for the launcher (`launcher_pid`) to be woken when the current
/// transaction commits.
pub fn wake_launcher_on_commit(launcher_pid: i32) {
    if launcher_pid <= 0 {
        return; // not running (yet): its backstop poll finds the execution
    }
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, move || {
        // SAFETY: kill(2) on a pid of our own cluster; SIGUSR1 only sets its latch.
        unsafe {
            libc_kill(launcher_pid, pg_sys::SIGUSR1 as i32);
        }
    });
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// The database the launcher and workers connect to.
pub fn database() -> String {
    crate::gucs::DATABASE.get().and_then(|c| c.to_str().ok().map(str::to_owned)).unwrap_or_else(|| "postgres".into())
}

/// Runs `f` in its own transaction (a worker has none between steps).
/// An ERROR inside is caught, the transaction rolled back and its message returned.
pub fn tx<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> Result<R, String> {
    // SAFETY: called from a background worker outside any transaction.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    PgTryBuilder::new(move || {
        let r = f();
        // SAFETY: the snapshot pushed above is still the active one.
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        }
        Ok(r)
    })
    .catch_others(|e| {
        // SAFETY: we are inside the transaction started above; abort cleans up snapshots too.
        unsafe { pg_sys::AbortCurrentTransaction() };
        Err(crate::error::caught_message(&e))
    })
    .execute()
}

/// Runs `f` in a subtransaction of the current transaction. An ERROR (or an
/// `Err`) inside rolls the subtransaction back and comes back as `Err`; with
/// `keep == false` it is rolled back even on success (dry runs).
pub fn subtx<R>(keep: bool, f: impl FnOnce() -> Result<R, String> + std::panic::UnwindSafe) -> Result<R, String> {
    // SAFETY: the standard internal-subtransaction protocol (as PL/pgSQL's
    // exception blocks): remember the memory context and resource owner,
    // begin, then release or roll back and restore both.
    let (context, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    let result = PgTryBuilder::new(f).catch_others(|e| Err(crate::error::caught_message(&e))).execute();
    unsafe {
        if result.is_ok() && keep {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    }
    result
}

/// The `search_path` owner code runs with: the server's configured default
/// (what the owner's own sessions get), recorded by the worker at start.
static OWNER_SEARCH_PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The `search_path` of our own statements as superuser: nothing but the
/// system catalog, so no function or operator of a user schema can be picked.
const SAFE_SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// Worker start: remembers the configured `search_path` for owner code and
/// pins the session's to [`SAFE_SEARCH_PATH`] for the worker's own SQL.
pub fn pin_search_path() -> Result<(), String> {
    let configured =
        tx(|| Spi::get_one::<String>("SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'search_path'"))?
            .map_err(|e| e.to_string())?
            .unwrap_or_else(|| "\"$user\", public".into());
    let _ = OWNER_SEARCH_PATH.set(configured);
    tx(|| Spi::run_with_args("SELECT pg_catalog.set_config('search_path', $1, false)", &[SAFE_SEARCH_PATH.into()]))?
        .map_err(|e| e.to_string())
}

/// Runs `f` as the connector's owner `role`: privileges and row-level
/// security apply as for that role, with the configured `search_path`.
/// Settings `f` changes (`set_config`, `SET` in a trigger or hook) are undone
/// afterwards, and `f` is a security-restricted operation, so owner code
/// cannot change the session the worker goes on with as superuser.
pub fn as_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let path = OWNER_SEARCH_PATH.get().map(String::as_str).unwrap_or("\"$user\", public");
    switch_user(role, path, f)
}

/// Runs `f` as the connector's owner `role` with `search_path` pinned to
/// `pg_catalog, pg_temp`: for the statements the extension generates (load
/// steps, matching, lookups, the after-load call). Their operators,
/// functions and casts then always resolve to the system's, whatever a role
/// planted in a schema of the configured path. Table, type and function
/// names in them are fully qualified ([`owner_names`] resolves the names a
/// document gives). Triggers fired by these statements see the pinned path
/// too (docs/security.md).
pub fn as_role_pinned<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    switch_user(role, SAFE_SEARCH_PATH, f)
}

/// Runs `f` as the current user with the configured `search_path`: only to
/// resolve a name the connector document gives (a table, a function) the
/// way its owner would, inside [`as_role_pinned`].
pub fn owner_names<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: a plain getter of the backend's current user.
    let me = unsafe { pg_sys::GetUserId() };
    let path = OWNER_SEARCH_PATH.get().map(String::as_str).unwrap_or("\"$user\", public");
    switch_user(me, path, f)
}

/// Runs `f` as the bootstrap superuser with `search_path` = `pg_catalog,
/// pg_temp` (used after a role check, to write the catalog; the caller's
/// own search_path never applies to it).
pub fn as_superuser<R>(f: impl FnOnce() -> R) -> R {
    switch_user(superuser(), SAFE_SEARCH_PATH, f)
}

fn switch_user<R>(role: pg_sys::Oid, search_path: &str, f: impl FnOnce() -> R) -> R {
    struct Restore(pg_sys::Oid, i32, i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: undoes the settings of the nest level opened below, then
            // restores the user and security context read below.
            unsafe {
                pg_sys::AtEOXact_GUC(false, self.2);
                pg_sys::SetUserIdAndSecContext(self.0, self.1);
            }
        }
    }
    let mut uid = pg_sys::Oid::INVALID;
    let mut ctx = 0;
    let path = std::ffi::CString::new(search_path).unwrap_or_default();
    // SAFETY: plain getters/setters of the backend's current user, and the
    // GUC nest-level protocol PostgreSQL itself uses around code of another
    // role (e.g. REFRESH MATERIALIZED VIEW).
    let nest = unsafe {
        pg_sys::GetUserIdAndSecContext(&mut uid, &mut ctx);
        pg_sys::SetUserIdAndSecContext(
            role,
            ctx | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32 | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
        );
        let nest = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            path.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        nest
    };
    let _restore = Restore(uid, ctx, nest);
    f()
}

/// The bootstrap superuser, who owns the catalog.
pub fn superuser() -> pg_sys::Oid {
    pg_sys::Oid::from(pg_sys::BOOTSTRAP_SUPERUSERID)
}
