//! Input format detection from the file name's extension and the file's
//! first bytes (magic numbers), and what to do when the two disagree.
//!
//! Decisions:
//! * Content decides when it is a container: an OLE2 compound file is read
//!   as XLS; a ZIP holding `[Content_Types].xml` as XLSX/XLSM (XLSB when it
//!   holds `xl/workbook.bin`); a ZIP whose `mimetype` is an OpenDocument
//!   spreadsheet as ODS; any other ZIP as a ZIP of CSV files. When that
//!   disagrees with the extension (an `.xlsx` saved as `report.csv`), the
//!   content wins and a warning says so.
//! * A spreadsheet extension on plain text, or a workbook extension on a
//!   ZIP without workbook parts, is an error (the file is not what it says,
//!   and guessing would hide the mistake).
//! * Anything else (no magic number) is delimited text, whatever its
//!   extension; `.tsv` prefers tab as delimiter.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use super::ReadError;

/// A workbook format calamine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkbookKind {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
}

impl WorkbookKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            WorkbookKind::Xlsx => "XLSX",
            WorkbookKind::Xlsb => "XLSB",
            WorkbookKind::Xls => "XLS",
            WorkbookKind::Ods => "ODS",
        }
    }
}

/// How an input file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text { prefer_tab: bool },
    Workbook(WorkbookKind),
    Zip,
}

/// What the extension says, before looking at the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claimed {
    Text { prefer_tab: bool },
    Workbook(WorkbookKind),
    Zip,
    Unknown,
}

fn claimed(file_name: &str) -> (Claimed, String) {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let ext = match base.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => String::new(),
    };
    let claim = match ext.as_str() {
        "csv" | "txt" => Claimed::Text { prefer_tab: false },
        "tsv" | "tab" => Claimed::Text { prefer_tab: true },
        "xlsx" | "xlsm" | "xltx" | "xltm" | "xlam" => Claimed::Workbook(WorkbookKind::Xlsx),
        "xlsb" => Claimed::Workbook(WorkbookKind::Xlsb),
        "xls" | "xla" | "xlt" => Claimed::Workbook(WorkbookKind::Xls),
        "ods" | "ots" => Claimed::Workbook(WorkbookKind::Ods),
        "zip" => Claimed::Zip,
        _ => Claimed::Unknown,
    };
    (claim, ext)
}

const OLE2: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ODS_MIME: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

/// Detects how to read `path`, whose user-facing name is `file_name`.
/// Returns the format and an optional warning about a misleading extension.
pub(crate) fn detect(path: &Path, file_name: &str) -> Result<(Format, Option<String>), ReadError> {
    let file = file_name;
    let mut head = [0u8; 8];
    let mut f = File::open(path).map_err(|e| ReadError::io(file, e))?;
    let n = read_head(&mut f, &mut head).map_err(|e| ReadError::io(file, e))?;
    if n == 0 {
        return Err(ReadError::Empty { file: file.to_owned() });
    }
    let (claim, ext) = claimed(file_name);
    let content = if n == 8 && head == OLE2 {
        Some(Format::Workbook(WorkbookKind::Xls))
    } else if n >= 4 && head[..2] == *b"PK" && matches!(head[2..4], [3, 4] | [5, 6] | [7, 8]) {
        Some(zip_content(f, file, claim)?)
    } else {
        None
    };
    let Some(content) = content else {
        return match claim {
            Claimed::Workbook(kind) => Err(ReadError::Workbook {
                file: file.to_owned(),
                kind: kind.label(),
                detail: "the content is plain text, not a workbook; if it is CSV, name the file .csv".to_owned(),
            }),
            Claimed::Zip => Err(ReadError::Zip {
                file: file.to_owned(),
                detail: "the content is plain text, not a ZIP archive".to_owned(),
            }),
            Claimed::Text { prefer_tab } => Ok((Format::Text { prefer_tab }, None)),
            Claimed::Unknown => Ok((Format::Text { prefer_tab: false }, None)),
        };
    };
    let agrees = match (claim, content) {
        (Claimed::Unknown, _) | (Claimed::Zip, Format::Zip) => true,
        (Claimed::Workbook(a), Format::Workbook(b)) => a == b,
        _ => false,
    };
    let warning = (!agrees)
        .then(|| format!("file \"{file}\" is {} despite its .{ext} extension; it was read as such", describe(content)));
    Ok((content, warning))
}

fn describe(format: Format) -> &'static str {
    match format {
        Format::Workbook(WorkbookKind::Xlsx) => "an XLSX workbook",
        Format::Workbook(WorkbookKind::Xlsb) => "an XLSB workbook",
        Format::Workbook(WorkbookKind::Xls) => "an XLS workbook",
        Format::Workbook(WorkbookKind::Ods) => "an ODS spreadsheet",
        Format::Zip => "a ZIP archive",
        Format::Text { .. } => "text",
    }
}

fn read_head(f: &mut File, head: &mut [u8; 8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Looks inside a ZIP to tell OOXML, ODS and a plain archive apart.
fn zip_content(f: File, file: &str, claim: Claimed) -> Result<Format, ReadError> {
    let mut f = f;
    f.rewind().map_err(|e| ReadError::io(file, e))?;
    let mut zip = match zip::ZipArchive::new(std::io::BufReader::new(f)) {
        Ok(zip) => zip,
        Err(e) => {
            return Err(match claim {
                Claimed::Workbook(kind) => {
                    ReadError::Workbook { file: file.to_owned(), kind: kind.label(), detail: e.to_string() }
                }
                _ => ReadError::Zip { file: file.to_owned(), detail: e.to_string() },
            })
        }
    };
    if zip.index_for_name("[Content_Types].xml").is_some() {
        let binary = zip.index_for_name("xl/workbook.bin").is_some();
        return Ok(Format::Workbook(if binary { WorkbookKind::Xlsb } else { WorkbookKind::Xlsx }));
    }
    if let Some(i) = zip.index_for_name("mimetype") {
        let mut mime = Vec::new();
        if let Ok(entry) = zip.by_index(i) {
            // A failed read leaves `mime` short and the check below fails.
            let _ = entry.take(128).read_to_end(&mut mime);
        }
        if mime.trim_ascii() == ODS_MIME {
            return Ok(Format::Workbook(WorkbookKind::Ods));
        }
        if mime.starts_with(b"application/vnd.oasis.opendocument") {
            return Err(ReadError::Unsupported {
                file: file.to_owned(),
                detail: "an OpenDocument file that is not a spreadsheet".to_owned(),
            });
        }
    }
    match claim {
        Claimed::Workbook(kind) => Err(ReadError::Workbook {
            file: file.to_owned(),
            kind: kind.label(),
            detail: "a ZIP archive without the parts of a workbook".to_owned(),
        }),
        _ => Ok(Format::Zip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_case_insensitive() {
        assert_eq!(claimed("A.CSV").0, Claimed::Text { prefer_tab: false });
        assert_eq!(claimed("a.Tsv").0, Claimed::Text { prefer_tab: true });
        assert_eq!(claimed("dir.v2/a.XLSM").0, Claimed::Workbook(WorkbookKind::Xlsx));
        assert_eq!(claimed("a.xls").0, Claimed::Workbook(WorkbookKind::Xls));
        assert_eq!(claimed("a.ods").0, Claimed::Workbook(WorkbookKind::Ods));
        assert_eq!(claimed("a.zip").0, Claimed::Zip);
        assert_eq!(claimed("README").0, Claimed::Unknown);
    }
}
