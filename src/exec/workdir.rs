//! Execution directories: `<base>/<id>`, private to the cluster's OS user,
//! removed when the execution ends; leftovers are swept at launcher start.
//! `<base>` is `smartconnector.work_dir`, or `pg_smartconnector` in the data
//! directory when that is empty. Elsewhere is better: a run that fills its
//! file system then cannot stop the database (`smartconnector.sql_disk_limit_mb`
//! bounds each run, not the sum of concurrent ones).
use pgrx::pg_sys;
use std::ffi::CStr;
use std::path::PathBuf;

const BASE: &str = "pg_smartconnector";

fn base() -> PathBuf {
    let configured = crate::gucs::WORK_DIR.get().and_then(|c| c.to_str().ok().map(str::to_owned));
    if let Some(dir) = configured.filter(|d| !d.trim().is_empty()) {
        return PathBuf::from(dir.trim());
    }
    // SAFETY: DataDir is set before any process of the cluster runs extension code.
    let data_dir = unsafe { CStr::from_ptr(pg_sys::DataDir) };
    PathBuf::from(data_dir.to_string_lossy().into_owned()).join(BASE)
}

/// Creates a fresh, empty directory for execution `id`.
pub fn create(id: i64) -> Result<PathBuf, String> {
    let dir = base().join(id.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the execution directory {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(dir)
}

/// Removes the directory of execution `id` (best effort).
pub fn remove(id: i64) {
    let _ = std::fs::remove_dir_all(base().join(id.to_string()));
}

/// Removes the directories of executions not in `keep` (launcher start).
pub fn sweep(keep: &[i64]) {
    let Ok(entries) = std::fs::read_dir(base()) else { return };
    for e in entries.flatten() {
        let id = e.file_name().to_str().and_then(|n| n.parse::<i64>().ok());
        if !id.is_some_and(|id| keep.contains(&id)) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
