//! ZIP archives of delimited files, and the uncompressed-size guard shared
//! with ZIP-based workbooks.
//!
//! Decisions (Kizen's runtime reads archives this way, so its SQL finds the
//! same tables):
//! * The tables are the entries whose name ends in `.csv` (any case), at the
//!   archive's root or in one folder named exactly like the archive (what
//!   "compress folder" produces: `orders.zip` holding `orders/a.csv`), in
//!   archive (central directory) order. `__MACOSX/` and files whose name
//!   starts with `.` (`._a.csv`, `.DS_Store`) are ignored silently; every
//!   other file is skipped with a warning, and takes no `page_idx`.
//! * `index` (`page_idx_<n>`) is the entry's position among those tables; an
//!   entry with no data is skipped with a warning and its index is then
//!   unused. A table is named from its entry's file name without the
//!   extension (`Orders 2024.csv` → `orders_2024`, `2024.csv` → `2024`),
//!   made unique by the duplicate rule.
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

/// One table entry: its position in the archive and its name.
struct Entry {
    position: usize,
    name: String,
}

/// Whether entry `name` of archive `archive_base` (its file name without
/// extension) is a table: a `.csv` at the root or in the folder named like
/// the archive. `Err` carries why another entry is skipped (None: silently).
fn is_table_entry(name: &str, archive_base: &str) -> Result<(), Option<&'static str>> {
    let (folder, base) = match name.rsplit_once(['/', '\\']) {
        Some((folder, base)) => (Some(folder), base),
        None => (None, name),
    };
    if name.starts_with("__MACOSX/") || base.starts_with('.') || base.is_empty() {
        return Err(None);
    }
    if !base.to_ascii_lowercase().ends_with(".csv") {
        return Err(Some("only .csv entries are read"));
    }
    match folder {
        None => Ok(()),
        Some(f) if f == archive_base => Ok(()),
        Some(_) => Err(Some("only .csv entries at the root, or in a folder named like the archive, are read")),
    }
}

/// Reads every table entry of the ZIP at `path` into `out_dir`.
pub(crate) fn read_zip(
    path: &Path,
    file: &str,
    out_dir: &Path,
    opts: &ReadOptions,
    warnings: &mut Warnings,
) -> Result<Vec<TableMeta>, ReadError> {
    let mut zip = open_zip(path, file)?;
    let zip_err = |detail: String| ReadError::Zip { file: file.to_owned(), detail };
    let last = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let archive_base = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    let mut entries = Vec::new();
    let mut declared: u64 = 0;
    for position in 0..zip.len() {
        let raw = zip.by_index_raw(position).map_err(|e| zip_err(e.to_string()))?;
        let name = raw.name().map_err(|e| zip_err(e.to_string()))?.into_owned();
        if raw.is_dir() {
            continue;
        }
        match is_table_entry(&name, archive_base) {
            Ok(()) => {}
            Err(None) => continue,
            Err(Some(why)) => {
                warnings.push(format!("file \"{file}\": entry \"{name}\" skipped ({why})"));
                continue;
            }
        }
        declared = declared.saturating_add(raw.size());
        entries.push(Entry { position, name });
    }
    if entries.is_empty() {
        return Err(ReadError::NoTables {
            file: file.to_owned(),
            detail: format!(" at its root or in a folder \"{archive_base}/\""),
        });
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
        let out = match read_text_table(&temp.0, &shown, false, out_dir, index, warnings) {
            Ok(out) => out,
            Err(ReadError::Empty { .. }) => {
                warnings.push(format!("file \"{shown}\": skipped, it has no data (no table page_idx_{index})"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let base = entry.name.rsplit(['/', '\\']).next().unwrap_or(&entry.name);
        let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
        tables.push(out.finish(table_name_from_sheet(stem, index), shown)?);
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
