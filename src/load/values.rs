//! Reading a scope's values file (written by the variables stage) chunk by
//! chunk, and a row bitmap for per-row flags of a whole scope.
use super::chunk::Row;
use super::rows::Place;
use sc_core::rowbinary::RowReader;
use sc_core::variables::{HASH_RECORD, VALUES_FIXED};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Streams [`Row`]s of one scope.
pub struct ValuesReader {
    reader: RowReader<BufReader<File>>,
    next_rn: i64,
    buf: Vec<Option<String>>,
}

impl ValuesReader {
    pub fn open(path: &Path, variables: usize) -> Result<ValuesReader, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(ValuesReader {
            reader: RowReader::new(BufReader::with_capacity(256 * 1024, file), VALUES_FIXED.len() + variables),
            next_rn: 1,
            buf: Vec::new(),
        })
    }

    /// Up to `n` more rows; empty at the end.
    pub fn next_chunk(&mut self, n: usize) -> Result<Vec<Row>, String> {
        let mut rows = Vec::with_capacity(n);
        while rows.len() < n {
            if !self.reader.next_into(&mut self.buf).map_err(|e| format!("cannot read the validated values: {e}"))? {
                break;
            }
            let mut it = std::mem::take(&mut self.buf).into_iter();
            let status = it.next().flatten().unwrap_or_default();
            let errors = it.next().flatten();
            let source = it.next().flatten();
            let line = it.next().flatten().and_then(|l| l.parse::<i64>().ok());
            let place = line.map(|line| Place { source, line });
            rows.push(Row { rn: self.next_rn, valid: status == "valid", errors, vals: it.collect(), place });
            self.next_rn += 1;
        }
        Ok(rows)
    }
}

/// Streams (row number, flag, hash) of one scope from its hashes file
/// ([`sc_core::variables::hashes_path`]), without reading the values.
pub struct HashesReader {
    reader: BufReader<File>,
    next_rn: i64,
}

impl HashesReader {
    pub fn open(values: &Path) -> Result<HashesReader, String> {
        let path = sc_core::variables::hashes_path(values);
        let file = File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(HashesReader { reader: BufReader::with_capacity(256 * 1024, file), next_rn: 1 })
    }

    /// Up to `n` more rows; empty at the end.
    /// The flag is `sc_core::variables::HASH_VALID`, `HASH_INVALID` or `HASH_UNCHANGED`.
    pub fn next_chunk(&mut self, n: usize) -> Result<Vec<(i64, u8, Vec<u8>)>, String> {
        use std::io::Read;
        let mut out = Vec::with_capacity(n);
        let mut record = [0u8; HASH_RECORD];
        while out.len() < n {
            match self.reader.read_exact(&mut record) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(format!("cannot read the row hashes: {e}")),
            }
            out.push((self.next_rn, record[0], record[1..].to_vec()));
            self.next_rn += 1;
        }
        Ok(out)
    }
}

/// One bit per row number (1-based).
#[derive(Debug, Default, Clone)]
pub struct Bitmap(Vec<u64>);

impl Bitmap {
    pub fn set(&mut self, rn: i64) {
        let i = rn.max(0) as usize;
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn get(&self, rn: i64) -> bool {
        let i = rn.max(0) as usize;
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}
