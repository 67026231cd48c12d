//! Acting as another role: the connector's owner (its privileges and
//! row-level security apply) or the bootstrap superuser (the catalog's
//! owner), each with the `search_path` that fits the code it runs.
use super::xact::transaction;
use crate::error::{ScError, ScResult};
use pgrx::pg_sys;
use pgrx::prelude::*;

/// The `search_path` owner code runs with: the server's configured default
/// (what the owner's own sessions get), recorded by the worker at start.
static OWNER_SEARCH_PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The `search_path` of our own statements as superuser: nothing but the
/// system catalog, so no function or operator of a user schema can be picked.
const SAFE_SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// Worker start: remembers the configured `search_path` for owner code and
/// pins the session's to [`SAFE_SEARCH_PATH`] for the worker's own SQL.
pub fn pin_search_path() -> Result<(), String> {
    let configured = transaction(|| {
        Spi::get_one::<String>("SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'search_path'")
    })?
    .map_err(|e| e.to_string())?
    .unwrap_or_else(|| "\"$user\", public".into());
    let _ = OWNER_SEARCH_PATH.set(configured);
    transaction(|| {
        Spi::run_with_args("SELECT pg_catalog.set_config('search_path', $1, false)", &[SAFE_SEARCH_PATH.into()])
    })?
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

/// The role running the current statement.
pub fn current_role() -> ScResult<String> {
    Spi::get_one::<String>("SELECT current_user::text")?.ok_or_else(|| ScError::Internal("current_user is NULL".into()))
}

/// What a role may do, as far as starting jobs goes.
pub struct RoleFacts {
    pub superuser: bool,
    pub login: bool,
}

/// The attributes of role `name`; None when there is no such role.
pub fn role_facts(name: &str) -> ScResult<Option<RoleFacts>> {
    Ok(Spi::connect(|client| {
        let rows = client.select(
            "SELECT rolsuper, rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1",
            Some(1),
            &[name.into()],
        )?;
        match rows.into_iter().next() {
            None => Ok::<_, pgrx::spi::Error>(None),
            Some(r) => Ok(Some(RoleFacts {
                superuser: r.get::<bool>(1)?.unwrap_or(false),
                login: r.get::<bool>(2)?.unwrap_or(false),
            })),
        }
    })?)
}

/// Whether role `name` is a superuser.
pub fn is_superuser(name: &str) -> ScResult<bool> {
    Ok(role_facts(name)?.is_some_and(|f| f.superuser))
}
