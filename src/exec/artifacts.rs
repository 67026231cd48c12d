//! Files of an execution in and out of the catalog: the input copied into
//! the execution directory, and artifacts (SQL output, report) stored, each
//! a part at a time so the worker never holds a whole file.
use super::state::{Execution, Stop};
use crate::catalog::executions;
use crate::postgres::background::Background;
use crate::postgres::transaction;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Artifacts larger than this are not stored (`sc_report` returns one bytea,
/// which tops out at 1 GB).
pub const MAX_ARTIFACT: u64 = 512 << 20;
/// Artifacts are stored and read in parts of this many bytes.
const PART: usize = 8 << 20;

/// Copies the stored input file into the execution directory, a slice at a
/// time (each in its own transaction), so the worker never holds it whole.
pub fn write_input(ex: &mut Execution) -> Result<Option<(PathBuf, String)>, Stop> {
    let id = ex.claimed.id;
    let Some((name, parts)) = transaction(move || executions::file_parts(id, "input"))?? else {
        return Ok(None);
    };
    let input_dir = ex.dir.join("input");
    std::fs::create_dir_all(&input_dir).map_err(|e| format!("cannot create {}: {e}", input_dir.display()))?;
    // The stored name is the user's file name; only its last component is used on disk.
    let safe = Path::new(&name).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "input".into());
    let path = input_dir.join(&safe);
    let mut file = std::fs::File::create(&path).map_err(|e| format!("cannot write the input file: {e}"))?;
    for (part, size) in parts {
        let mut offset = 0i64;
        while offset < size {
            let len = (size - offset).min(PART as i64);
            let file_name = name.clone();
            let bytes = transaction(move || executions::read_slice(id, "input", &file_name, part, offset, len))??;
            if bytes.is_empty() {
                break;
            }
            std::io::Write::write_all(&mut file, &bytes).map_err(|e| format!("cannot write the input file: {e}"))?;
            offset += bytes.len() as i64;
        }
    }
    Ok(Some((path, name)))
}

/// Waits for the SQL output's packaging and stores it.
pub fn store_sql_output(
    ex: &mut Execution,
    packaging: Background<std::io::Result<u64>>,
    path: &Path,
) -> Result<(), Stop> {
    let size = packaging.join()?.map_err(|e| format!("cannot package the SQL output: {e}"))?;
    if size > MAX_ARTIFACT {
        ex.warnings
            .push(format!("the SQL output ({size} bytes zipped) is too large to keep; the report still shows it"));
        return Ok(());
    }
    store_file(ex.claimed.id, "sql_output", "sql_output.zip", path)
}

/// Stores a file of the execution directory as an artifact, in parts of
/// [`PART`] bytes, each part in its own transaction: memory stays at one part.
pub fn store_file(id: i64, kind: &'static str, name: &'static str, path: &Path) -> Result<(), Stop> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_ARTIFACT {
        return Err(Stop::Failed(format!("the {kind} is {size} bytes, more than can be stored")));
    }
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    transaction(move || executions::drop_file(id, kind, name))??;
    let mut part = 0i32;
    loop {
        let mut buf = Vec::with_capacity(PART);
        std::io::Read::take(&mut file, PART as u64)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if buf.is_empty() && part > 0 {
            break;
        }
        let last = buf.len() < PART;
        transaction(move || executions::store_part(id, kind, name, part, &buf))??;
        part += 1;
        if last {
            break;
        }
    }
    Ok(())
}
