//! ZIP archives of delimited files, and the uncompressed-size guard shared
//! with ZIP-based workbooks.
//!
//! Decisions:
//! * Only files at the archive's root whose name ends in `.csv`, `.tsv` or
//!   `.txt` (any case) are tables, in archive (central directory) order.
//!   Directories, anything inside a folder (including `__MACOSX/`), and
//!   hidden root files (`.DS_Store`, `._x.csv`) are ignored; other root files
//!   are ignored with a warning, and so, with one warning, are text files in
//!   folders.
//! * `index` is the entry's position among those eligible root files; an
//!   eligible entry with no data is skipped with a warning and its index is
//!   then unused. A table is named from its cleaned entry name
//!   (`orders.csv` → `orders_csv`), made unique by the duplicate rule.
//! * Zip bomb guard: the declared uncompressed sizes of the eligible entries
//!   must add up to at most `ReadOptions::max_uncompressed_bytes`, and the
//!   bytes actually inflated are counted against the same limit.
//! * Each entry is inflated to a temporary file in the output directory,
//!   read like a standalone CSV (same encoding and delimiter rules), and the
//!   temporary file removed. Errors inside an entry name it as
//!   `archive.zip!entry.csv`.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::delimited::read_text_table;
use super::table::Warnings;
use super::ReadError;
use super::ReadOptions;
use crate::input::TableMeta;
use crate::input_names::table_name_from_sheet;

fn open_zip(path: &Path, file: &str) -> Result<zip::ZipArchive<BufReader<File>>, ReadError> {
    let handle = File::open(path).map_err(|e| ReadError::io(file, e))?;
    zip::ZipArchive::new(BufReader::new(handle))
        .map_err(|e| ReadError::Zip { file: file.to_owned(), detail: e.to_string() })
}

/// Fails when the declared uncompressed size of all entries exceeds `limit`.
pub(crate) fn check_total_size(path: &Path, file: &str, limit: u64) -> Result<(), ReadError> {
    let mut zip = open_zip(path, file)?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| ReadError::Zip { file: file.to_owned(), detail: e.to_string() })?;
        total = total.saturating_add(entry.size());
        if total > limit {
            return Err(ReadError::TooLarge { file: file.to_owned(), limit });
        }
    }
    Ok(())
}

/// One eligible entry: its position in the archive and its name.
struct Entry {
    position: usize,
    name: String,
    prefer_tab: bool,
}

fn is_table_name(name: &str) -> Option<bool> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tsv") {
        Some(true)
    } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
        Some(false)
    } else {
        None
    }
}

/// Reads every eligible entry of the ZIP at `path` into `out_dir`.
pub(crate) fn read_zip(
    path: &Path,
    file: &str,
    out_dir: &Path,
    opts: &ReadOptions,
    warnings: &mut Warnings,
) -> Result<Vec<TableMeta>, ReadError> {
    let mut zip = open_zip(path, file)?;
    let zip_err = |detail: String| ReadError::Zip { file: file.to_owned(), detail };
    let mut entries = Vec::new();
    let mut nested = 0usize;
    let mut declared: u64 = 0;
    for position in 0..zip.len() {
        let raw = zip.by_index_raw(position).map_err(|e| zip_err(e.to_string()))?;
        let name = raw.name().map_err(|e| zip_err(e.to_string()))?.into_owned();
        if raw.is_dir() || name.starts_with("__MACOSX/") {
            continue;
        }
        if name.contains(['/', '\\']) {
            nested += usize::from(is_table_name(&name).is_some());
            continue;
        }
        if name.starts_with('.') {
            continue;
        }
        let Some(prefer_tab) = is_table_name(&name) else {
            warnings.push(format!("file \"{file}\": entry \"{name}\" ignored (not a .csv, .tsv or .txt file)"));
            continue;
        };
        declared = declared.saturating_add(raw.size());
        entries.push(Entry { position, name, prefer_tab });
    }
    if nested > 0 {
        warnings.push(format!(
            "file \"{file}\": {nested} text file(s) inside folders ignored (only the archive root is read)"
        ));
    }
    if entries.is_empty() {
        let detail = if nested > 0 { " (files inside folders are not read)".to_owned() } else { String::new() };
        return Err(ReadError::NoTables { file: file.to_owned(), detail });
    }
    if declared > opts.max_uncompressed_bytes {
        return Err(ReadError::TooLarge { file: file.to_owned(), limit: opts.max_uncompressed_bytes });
    }
    let mut budget = opts.max_uncompressed_bytes;
    let mut tables = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let shown = format!("{file}!{}", entry.name);
        let temp = TempFile(out_dir.join(format!(".zip_entry_{index}.tmp")));
        let Some(used) = inflate(&mut zip, entry.position, &temp.0, budget, &shown)? else {
            return Err(ReadError::TooLarge { file: file.to_owned(), limit: opts.max_uncompressed_bytes });
        };
        budget -= used.min(budget);
        let out = match read_text_table(&temp.0, &shown, entry.prefer_tab, out_dir, index, warnings) {
            Ok(out) => out,
            Err(ReadError::Empty { .. }) => {
                warnings.push(format!("file \"{shown}\": skipped, it has no data (no table page_idx_{index})"));
                continue;
            }
            Err(e) => return Err(e),
        };
        tables.push(out.finish(table_name_from_sheet(&entry.name, index), shown)?);
    }
    if tables.is_empty() {
        return Err(ReadError::Empty { file: file.to_owned() });
    }
    Ok(tables)
}

/// Removes its file when dropped (also on early return).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        // Nothing useful to do if removal fails; the directory is the
        // execution's scratch space.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Inflates entry `position` to `dest`. Returns the number of bytes
/// written, or `None` when the entry inflates past `budget` bytes.
fn inflate<R: Read + io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    position: usize,
    dest: &Path,
    budget: u64,
    shown: &str,
) -> Result<Option<u64>, ReadError> {
    let mut entry =
        zip.by_index(position).map_err(|e| ReadError::Zip { file: shown.to_owned(), detail: e.to_string() })?;
    let out_err = |source| ReadError::Output { file: shown.to_owned(), path: dest.display().to_string(), source };
    let mut out = io::BufWriter::new(File::create(dest).map_err(out_err)?);
    let copied = io::copy(&mut (&mut entry).take(budget.saturating_add(1)), &mut out).map_err(|e| {
        if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::Zip { file: shown.to_owned(), detail: e.to_string() }
        } else {
            ReadError::io(shown, e)
        }
    })?;
    if copied > budget {
        return Ok(None);
    }
    out.flush().map_err(out_err)?;
    Ok(Some(copied))
}
