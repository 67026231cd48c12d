//! The rows a load step works on and what becomes of them: a row of a
//! scope's values file, its outcome, and the records earlier steps made.
use sc_core::load::{EntityRecord, RowOutcome};
use std::collections::HashMap;

/// One row of a scope's values file.
#[derive(Debug, Clone)]
pub struct Row {
    pub rn: i64,
    pub valid: bool,
    pub errors: Option<String>,
    pub vals: Vec<Option<String>>,
    /// Where the row is in the uploaded file, when known.
    pub place: Option<Place>,
}

/// A row's place in the uploaded file: the input (`book.xlsx!Sheet 1`,
/// `contacts.csv`) and the line (a sheet's row number), 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub source: Option<String>,
    pub line: i64,
}

/// The outcome of one row in one step.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub rn: i64,
    pub outcome: RowOutcome,
    pub record_id: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// The row's values of the step's match columns, `email = "ann@x.io"`
    /// (the first rule whose key the row has in full).
    pub match_key: Option<String>,
    /// Skipped because a related record is missing (not by a rule's choice).
    pub missing_related: bool,
}

impl Outcome {
    pub fn new(rn: i64, outcome: RowOutcome, record_id: Option<String>, error: Option<String>) -> Outcome {
        Outcome {
            rn,
            outcome,
            record_id,
            errors: error.into_iter().collect(),
            warnings: Vec::new(),
            match_key: None,
            missing_related: false,
        }
    }

    /// Whether a re-run of only the failed rows takes this row: it failed, or
    /// was skipped for a missing related record.
    pub fn retry(&self) -> bool {
        self.outcome == RowOutcome::Failed || (self.outcome == RowOutcome::Skipped && self.missing_related)
    }

    /// A failed row with the reason.
    pub fn failed(rn: i64, error: String) -> Outcome {
        Outcome::new(rn, RowOutcome::Failed, None, Some(error))
    }

    pub fn with_warning(mut self, w: String) -> Outcome {
        self.warnings.push(w);
        self
    }
}

/// Records of earlier steps: step → row number → record.
pub type EntityIds = HashMap<String, HashMap<i64, EntityRecord>>;
