//! The outcome of one row: of the variables stage (`valid`, `invalid`) or of
//! a load step (`created`, `updated`, `unchanged`, `skipped`, `failed`).
//! The spellings are those of `sc.execution_row_batches.outcomes` (a test of
//! the extension compares them with the table's CHECK constraint).

/// What happened to one row in one stage or step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowOutcome {
    Valid,
    Invalid,
    Created,
    Updated,
    Unchanged,
    Skipped,
    Failed,
}

impl RowOutcome {
    /// Every outcome, in the order reports and counts list them.
    pub const ALL: [RowOutcome; 7] = [
        RowOutcome::Valid,
        RowOutcome::Invalid,
        RowOutcome::Created,
        RowOutcome::Updated,
        RowOutcome::Unchanged,
        RowOutcome::Skipped,
        RowOutcome::Failed,
    ];

    /// The outcomes of a load step, in the order counts list them.
    pub const LOAD: [RowOutcome; 5] =
        [RowOutcome::Created, RowOutcome::Updated, RowOutcome::Unchanged, RowOutcome::Skipped, RowOutcome::Failed];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Valid => "valid",
            RowOutcome::Invalid => "invalid",
            RowOutcome::Created => "created",
            RowOutcome::Updated => "updated",
            RowOutcome::Unchanged => "unchanged",
            RowOutcome::Skipped => "skipped",
            RowOutcome::Failed => "failed",
        }
    }

    /// The outcome a stored spelling names.
    pub fn parse(text: &str) -> Option<RowOutcome> {
        RowOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Whether the row did not reach the table (a re-run or a later step
    /// should treat it as not loaded).
    pub fn not_loaded(self) -> bool {
        matches!(self, RowOutcome::Failed | RowOutcome::Skipped)
    }
}

/// What an earlier step did with a row: its outcome and the record's id
/// (what a later step's `<step>.id` variable reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRecord {
    pub outcome: RowOutcome,
    pub id: Option<String>,
}

impl PartialEq<&str> for RowOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for RowOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for o in RowOutcome::ALL {
            assert_eq!(RowOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(RowOutcome::parse("Created"), None);
        assert!(RowOutcome::LOAD.iter().all(|o| RowOutcome::ALL.contains(o)));
    }
}
