//! What a load step may write, decided once for the save-time checks and the
//! run-time privilege check: the privileges its owner needs follow from it.

use crate::document::{ArchivedAction, LoadStep, NoMatchAction, OneMatchAction};

/// Whether a step may create rows and whether it may update them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writes {
    /// A row matching nothing (or every row, without rules) is created, or an
    /// archived match is replaced by a new row: needs INSERT.
    pub creates: bool,
    /// A match is updated, or an archived match is unarchived: needs UPDATE.
    pub updates: bool,
}

impl Writes {
    /// The table privileges these writes need, SELECT always first.
    pub fn privileges(self) -> Vec<&'static str> {
        let mut p = vec!["SELECT"];
        if self.creates {
            p.push("INSERT");
        }
        if self.updates {
            p.push("UPDATE");
        }
        p
    }
}

/// What `step` may write. The archived action counts only when the step
/// names an archived column (without one no match is ever archived).
pub fn writes(step: &LoadStep) -> Writes {
    let archived = step.archived_column.is_some();
    let creates = step.match_rules.is_empty()
        || step
            .match_rules
            .iter()
            .any(|r| r.no_match() == NoMatchAction::Create || (archived && r.archived() == ArchivedAction::Create));
    let updates = step.match_rules.iter().any(|r| {
        r.one_match() == OneMatchAction::Update
            || (archived && matches!(r.archived(), ArchivedAction::UnarchiveAndUpdate | ArchivedAction::UnarchiveOnly))
    });
    Writes { creates, updates }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(rules: serde_json::Value, archived_column: Option<&str>) -> LoadStep {
        let mut s = json!({"name": "s", "table": "t", "match": rules, "map": [{"column": "c", "variable": "v"}]});
        if let Some(a) = archived_column {
            s["archived_column"] = json!(a);
        }
        serde_json::from_value(s).expect("step")
    }

    #[test]
    fn writes_of_every_kind_of_step() {
        let key = json!({"columns": {"c": "v"}});
        let with = |extra: serde_json::Value| {
            let mut r = key.clone();
            for (k, v) in extra.as_object().unwrap() {
                r[k] = v.clone();
            }
            json!([r])
        };
        let cases = [
            // (rules, archived column, creates, updates)
            (json!([]), None, true, false),
            (with(json!({})), None, true, true),
            (with(json!({"no_match": "skip"})), None, false, true),
            (with(json!({"no_match": "skip", "one_match": "skip"})), None, false, false),
            (with(json!({"no_match": "next_rule", "one_match": "next_rule"})), None, false, false),
            (with(json!({"no_match": "create", "one_match": "skip"})), None, true, false),
            // the archived action's default (create) matters only with an archived column
            (with(json!({"no_match": "skip", "one_match": "skip"})), Some("archived"), true, false),
            (
                with(json!({"no_match": "skip", "one_match": "skip", "archived": "unarchive_only"})),
                Some("archived"),
                false,
                true,
            ),
            (
                with(json!({"no_match": "skip", "one_match": "skip", "archived": "unarchive_and_update"})),
                Some("archived"),
                false,
                true,
            ),
            (
                with(json!({"no_match": "skip", "one_match": "skip", "archived": "skip"})),
                Some("archived"),
                false,
                false,
            ),
            (with(json!({"no_match": "skip", "one_match": "skip", "archived": "unarchive_only"})), None, false, false),
        ];
        for (rules, archived, creates, updates) in cases {
            let got = writes(&step(rules.clone(), archived));
            assert_eq!(got, Writes { creates, updates }, "{rules} archived={archived:?}");
        }
        assert_eq!(Writes { creates: true, updates: false }.privileges(), ["SELECT", "INSERT"]);
        assert_eq!(Writes { creates: false, updates: true }.privileges(), ["SELECT", "UPDATE"]);
    }
}
