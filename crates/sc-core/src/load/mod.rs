//! Pure parts of the load stage (SPEC §5, §6): what a matching rule's result
//! means for a row, and the row hash of diff checking. The extension runs
//! the SQL; everything decidable without a database is here and unit-tested.
mod decide;
mod outcome;
mod writes;

pub use decide::{apply, decide, Decision, RuleMatch};
pub use outcome::{EntityRecord, RowOutcome};
pub use writes::{writes, Writes};

use sha2::{Digest, Sha256};

/// The diff-check hash of one row: SHA-256 over the canonical text of every
/// variable of its scope, in declaration order (NULL distinct from ""),
/// truncated to 16 bytes.
pub fn row_hash<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> [u8; 16] {
    let mut h = Sha256::new();
    for v in values {
        match v {
            None => h.update([0u8]),
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::row_hash;

    #[test]
    fn the_hash_tells_null_empty_and_shifted_values_apart() {
        let a = row_hash([Some("ab"), Some("c")]);
        assert_eq!(a, row_hash([Some("ab"), Some("c")]), "stable");
        assert_ne!(a, row_hash([Some("a"), Some("bc")]));
        assert_ne!(row_hash([None]), row_hash([Some("")]));
        assert_ne!(row_hash([Some("x"), None]), row_hash([None, Some("x")]));
    }
}
