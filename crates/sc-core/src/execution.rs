//! The states of an execution as typed values: its status and the stage it
//! is in. Their spellings are those stored in `sc.executions` (a test of the
//! extension compares them with the table's CHECK constraint and comments).

/// Where an execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    Queued,
    Running,
    Succeeded,
    /// Some rows failed validation or a load step; the rest loaded.
    PartialSuccess,
    Failed,
    Cancelled,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 6] = [
        ExecutionStatus::Queued,
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::PartialSuccess,
        ExecutionStatus::Failed,
        ExecutionStatus::Cancelled,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Queued => "queued",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::PartialSuccess => "partial_success",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Cancelled => "cancelled",
        }
    }

    /// The status a stored spelling names.
    pub fn parse(text: &str) -> Option<ExecutionStatus> {
        ExecutionStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// An execution in a final status never changes again.
    pub fn is_final(self) -> bool {
        !matches!(self, ExecutionStatus::Queued | ExecutionStatus::Running)
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stage an execution is in, in pipeline order. `Load` carries the
/// step's name (stored as `load: <step>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Claimed by the launcher, its worker starting.
    Starting,
    Input,
    Reference,
    Sql,
    Variables,
    DiffCheck,
    Load(String),
    SqlOutput,
    DiffStore,
    Report,
    /// The execution has ended.
    Done,
}

/// A wall-clock time as ISO 8601 UTC with milliseconds: `2026-11-29T13:45:00.250Z`.
pub fn utc_iso(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Stage {
    /// The stored name of every kind of stage, in pipeline order (`load` for
    /// every `load: <step>`).
    pub const NAMES: [&'static str; 11] = [
        "starting",
        "input",
        "reference",
        "sql",
        "variables",
        "diff_check",
        "load",
        "sql_output",
        "diff_store",
        "report",
        "done",
    ];

    /// The stored spelling (`load: vendors` for a load step).
    pub fn name(&self) -> String {
        match self {
            Stage::Load(step) => format!("load: {step}"),
            other => other.kind().to_owned(),
        }
    }

    /// The kind of stage: one of [`Stage::NAMES`].
    pub fn kind(&self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Input => "input",
            Stage::Reference => "reference",
            Stage::Sql => "sql",
            Stage::Variables => "variables",
            Stage::DiffCheck => "diff_check",
            Stage::Load(_) => "load",
            Stage::SqlOutput => "sql_output",
            Stage::DiffStore => "diff_store",
            Stage::Report => "report",
            Stage::Done => "done",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_two_are_live() {
        for s in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(s.as_str()), Some(s));
            assert_eq!(s.is_final(), !matches!(s, ExecutionStatus::Queued | ExecutionStatus::Running));
        }
        assert_eq!(ExecutionStatus::parse("done"), None);
    }

    #[test]
    fn stage_names() {
        assert_eq!(Stage::Load("vendors".into()).name(), "load: vendors");
        assert_eq!(Stage::DiffCheck.name(), "diff_check");
        let all = [
            Stage::Starting,
            Stage::Input,
            Stage::Reference,
            Stage::Sql,
            Stage::Variables,
            Stage::DiffCheck,
            Stage::Load("x".into()),
            Stage::SqlOutput,
            Stage::DiffStore,
            Stage::Report,
            Stage::Done,
        ];
        assert_eq!(all.map(|s| s.kind()), Stage::NAMES);
    }
}
