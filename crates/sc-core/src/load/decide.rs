//! Matching rules (SPEC §6): from what one rule found for a row to the
//! action taken, rule after rule.

use crate::document::{ArchivedAction, ManyMatchesAction, MatchRule, NoMatchAction, OneMatchAction};

/// What one matching rule found for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// Records matched (0, 1 or more).
    pub count: u64,
    /// The record id when exactly one matched.
    pub id: Option<String>,
    /// Whether that one record is archived (step has an `archived_column`).
    pub archived: bool,
}

/// What happens to a row in one load step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Create,
    Update(String),
    /// Clear the archived flag, then update like `Update`.
    UnarchiveAndUpdate(String),
    /// Clear the archived flag only.
    UnarchiveOnly(String),
    /// Skipped, with the reason.
    Skip(String),
}

/// Evaluates the rules in order; `find(i)` runs rule `i` for this row (only
/// as far as needed). No rules means every row is created.
pub fn decide(rules: &[MatchRule], mut find: impl FnMut(usize) -> RuleMatch) -> Decision {
    for (i, rule) in rules.iter().enumerate() {
        if let Some(d) = apply(rule, i, rules.len(), find(i)) {
            return d;
        }
    }
    Decision::Create
}

/// Applies rule `i` (of `count` rules) to what it found; `None` means "go on
/// with the next rule". Next-rule on the last rule skips the row.
pub fn apply(rule: &MatchRule, i: usize, count: usize, m: RuleMatch) -> Option<Decision> {
    let n = i + 1;
    let next = match m.count {
        0 => match rule.no_match() {
            NoMatchAction::Create => return Some(Decision::Create),
            NoMatchAction::Skip => return Some(Decision::Skip(format!("no matching record (rule {n}: skip)"))),
            NoMatchAction::NextRule => "no matching record",
        },
        1 if m.archived => {
            let id = m.id.unwrap_or_default();
            match rule.archived() {
                ArchivedAction::Create => return Some(Decision::Create),
                ArchivedAction::UnarchiveAndUpdate => return Some(Decision::UnarchiveAndUpdate(id)),
                ArchivedAction::UnarchiveOnly => return Some(Decision::UnarchiveOnly(id)),
                ArchivedAction::Skip => {
                    return Some(Decision::Skip(format!("matched archived record {id} (rule {n}: skip)")))
                }
                ArchivedAction::NextRule => "matched an archived record",
            }
        }
        1 => {
            let id = m.id.unwrap_or_default();
            match rule.one_match() {
                OneMatchAction::Update => return Some(Decision::Update(id)),
                OneMatchAction::Skip => return Some(Decision::Skip(format!("matched record {id} (rule {n}: skip)"))),
                OneMatchAction::NextRule => "matched one record",
            }
        }
        found => match rule.many_matches() {
            ManyMatchesAction::Skip => {
                return Some(Decision::Skip(format!("{found} records match (rule {n}), so the match is ambiguous")))
            }
            ManyMatchesAction::NextRule => "matched several records",
        },
    };
    (n == count).then(|| Decision::Skip(format!("{next} and no rule is left (rule {n}: next_rule)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(no: NoMatchAction, one: OneMatchAction, many: ManyMatchesAction, arch: ArchivedAction) -> MatchRule {
        MatchRule {
            primary_key: Some("id".into()),
            no_match: Some(no),
            one_match: Some(one),
            many_matches: Some(many),
            archived: Some(arch),
            ..MatchRule::default()
        }
    }

    fn found(count: u64, archived: bool) -> RuleMatch {
        RuleMatch { count, id: (count == 1).then(|| "7".to_string()), archived }
    }

    fn defaults() -> MatchRule {
        MatchRule { primary_key: Some("id".into()), ..MatchRule::default() }
    }

    #[test]
    fn every_action_of_every_case() {
        use ArchivedAction as A;
        use ManyMatchesAction as M;
        use NoMatchAction as N;
        use OneMatchAction as O;
        let base = (N::Create, O::Update, M::Skip, A::Create);
        let skip = |s: &str| Decision::Skip(s.to_string());
        type Actions = (N, O, M, A);
        let cases: Vec<(Actions, RuleMatch, Decision)> = vec![
            (base, found(0, false), Decision::Create),
            ((N::Skip, O::Update, M::Skip, A::Create), found(0, false), skip("no matching record (rule 1: skip)")),
            (base, found(1, false), Decision::Update("7".into())),
            ((N::Create, O::Skip, M::Skip, A::Create), found(1, false), skip("matched record 7 (rule 1: skip)")),
            (base, found(3, false), skip("3 records match (rule 1), so the match is ambiguous")),
            (base, found(1, true), Decision::Create),
            (
                (N::Create, O::Update, M::Skip, A::UnarchiveAndUpdate),
                found(1, true),
                Decision::UnarchiveAndUpdate("7".into()),
            ),
            ((N::Create, O::Update, M::Skip, A::UnarchiveOnly), found(1, true), Decision::UnarchiveOnly("7".into())),
            (
                (N::Create, O::Update, M::Skip, A::Skip),
                found(1, true),
                skip("matched archived record 7 (rule 1: skip)"),
            ),
        ];
        for ((n, o, m, a), found, expected) in cases {
            let r = rule(n, o, m, a);
            assert_eq!(decide(&[r], |_| found.clone()), expected, "{n:?} {o:?} {m:?} {a:?}");
        }
    }

    #[test]
    fn next_rule_moves_on_and_only_as_far_as_needed() {
        use NoMatchAction as N;
        let first = rule(N::NextRule, OneMatchAction::NextRule, ManyMatchesAction::NextRule, ArchivedAction::NextRule);
        for m in [found(0, false), found(1, false), found(2, false), found(1, true)] {
            let mut asked = Vec::new();
            let d = decide(&[first.clone(), defaults()], |i| {
                asked.push(i);
                if i == 0 {
                    m.clone()
                } else {
                    found(1, false)
                }
            });
            assert_eq!(d, Decision::Update("7".into()));
            assert_eq!(asked, vec![0, 1]);
        }
        let mut asked = Vec::new();
        let d = decide(&[defaults(), defaults()], |i| {
            asked.push(i);
            found(0, false)
        });
        assert_eq!((d, asked), (Decision::Create, vec![0]), "a decided rule stops the evaluation");
    }

    #[test]
    fn next_rule_on_the_last_rule_skips_and_no_rules_create() {
        let last = MatchRule { no_match: Some(NoMatchAction::NextRule), ..defaults() };
        assert_eq!(
            decide(&[last], |_| found(0, false)),
            Decision::Skip("no matching record and no rule is left (rule 1: next_rule)".into())
        );
        assert_eq!(decide(&[], |_| unreachable!()), Decision::Create);
    }
}
