//! Validation of load steps: names, tables, matching rules, mapping rules and
//! every variable or entity variable (`<step>.id`) they refer to.

use std::collections::BTreeMap;

use super::identifiers::{is_identifier, QualifiedName};
use super::model::{
    ArchivedAction, Conflict, ConnectorDocument, LoadStep, ManyMatchesAction, MapRule, MatchRule, NoMatchAction,
    OneMatchAction,
};
use super::problem::{field, index, key, table_problem, Problem};
use super::scopes::Scopes;

/// The attribute an earlier step exposes as an entity variable.
pub const ENTITY_ID: &str = "id";

/// Checks every load step of `doc`.
pub(super) fn check_steps(doc: &ConnectorDocument, scopes: &Scopes<'_>, out: &mut Vec<Problem>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, step) in doc.load_steps.iter().enumerate() {
        let path = index("load_steps", i);
        if !is_identifier(&step.name) {
            out.push(
                Problem::new(field(&path, "name"), format!("`{}` is not a valid step name", step.name))
                    .with_hint("use letters, digits and _, not starting with a digit"),
            );
        } else if let Some(first) = seen.insert(&step.name, i) {
            seen.insert(&step.name, first);
            out.push(
                Problem::new(
                    field(&path, "name"),
                    format!("duplicate step name `{}` (also load_steps[{first}])", step.name),
                )
                .with_hint("step names are unique; entity variables refer to them as <step>.id"),
            );
        }
        if let Err(why) = QualifiedName::parse(&step.table) {
            out.push(table_problem(&field(&path, "table"), &step.table, &why));
        }
        if matches!(&step.archived_column, Some(c) if c.trim().is_empty()) {
            out.push(
                Problem::new(field(&path, "archived_column"), "archived_column must not be empty")
                    .with_hint("name the boolean column that marks archived rows, or remove it"),
            );
        }
        if let Some(function) = &step.after_load {
            if let Err(why) = QualifiedName::parse(function) {
                out.push(
                    Problem::new(
                        field(&path, "after_load"),
                        format!("`{function}` is not a valid function name: it {why}"),
                    )
                    .with_hint("write name or schema.name of a function"),
                );
            }
        }
        let ctx = StepContext { doc, scopes, index: i, step };
        check_match_rules(&ctx, &path, out);
        check_map_rules(&ctx, &path, out);
    }
}

/// What reference checks need to know about the step being checked.
struct StepContext<'a> {
    doc: &'a ConnectorDocument,
    scopes: &'a Scopes<'a>,
    index: usize,
    step: &'a LoadStep,
}

fn check_match_rules(ctx: &StepContext<'_>, step_path: &str, out: &mut Vec<Problem>) {
    let rules = &ctx.step.match_rules;
    for (j, rule) in rules.iter().enumerate() {
        let path = index(&field(step_path, "match"), j);
        match (&rule.columns, &rule.primary_key) {
            (Some(_), Some(_)) => out.push(
                Problem::new(&path, "a rule takes either columns or primary_key, not both")
                    .with_hint("split it into two rules"),
            ),
            (None, None) => out.push(
                Problem::new(&path, "a rule needs columns or primary_key")
                    .with_hint("add \"columns\": {\"<column>\": \"<variable>\"} or \"primary_key\": \"<variable>\""),
            ),
            _ => {}
        }
        if let Some(columns) = &rule.columns {
            if columns.is_empty() {
                out.push(
                    Problem::new(field(&path, "columns"), "columns must pair at least one column with a variable")
                        .with_hint("add \"<column>\": \"<variable>\""),
                );
            }
            for (column, variable) in columns {
                let at = key(&field(&path, "columns"), column);
                if column.trim().is_empty() {
                    out.push(Problem::new(&at, "column name must not be empty"));
                }
                check_ref(ctx, variable, &at, out);
            }
        }
        if let Some(variable) = &rule.primary_key {
            check_ref(ctx, variable, &field(&path, "primary_key"), out);
        }
        if j + 1 == rules.len() {
            check_last_rule(rule, &path, out);
        }
        if rule.archived() != ArchivedAction::Create && ctx.step.archived_column.is_none() {
            out.push(
                Problem::new(
                    field(&path, "archived"),
                    format!("archived action {} needs the step's archived_column", rule.archived()),
                )
                .with_hint("add \"archived_column\" to the step, or remove this action"),
            );
        }
    }
}

/// `next_rule` on the last rule has no next rule to go to.
fn check_last_rule(rule: &MatchRule, path: &str, out: &mut Vec<Problem>) {
    let actions = [
        ("no_match", rule.no_match() == NoMatchAction::NextRule),
        ("one_match", rule.one_match() == OneMatchAction::NextRule),
        ("many_matches", rule.many_matches() == ManyMatchesAction::NextRule),
        ("archived", rule.archived() == ArchivedAction::NextRule),
    ];
    for (name, is_next_rule) in actions {
        if is_next_rule {
            out.push(
                Problem::new(field(path, name), "next_rule is not allowed on the last rule")
                    .with_hint("use skip, or add another rule after this one"),
            );
        }
    }
}

fn check_map_rules(ctx: &StepContext<'_>, step_path: &str, out: &mut Vec<Problem>) {
    let rules = &ctx.step.map_rules;
    if rules.is_empty() {
        out.push(
            Problem::new(field(step_path, "map"), "a step needs at least one map rule")
                .with_hint("add {\"column\": \"<column>\", \"variable\": \"<variable>\"}"),
        );
    }
    let mut mapped: BTreeMap<&str, usize> = BTreeMap::new();
    for (j, rule) in rules.iter().enumerate() {
        let path = index(&field(step_path, "map"), j);
        if rule.column.trim().is_empty() {
            out.push(Problem::new(field(&path, "column"), "column must not be empty"));
        } else if let Some(first) = mapped.insert(&rule.column, j) {
            mapped.insert(&rule.column, first);
            out.push(
                Problem::new(
                    field(&path, "column"),
                    format!("column `{}` is already mapped by map[{first}]", rule.column),
                )
                .with_hint("map each column once; join several variables with \"variables\""),
            );
        }
        check_map_source(ctx, rule, &path, out);
    }
}

fn check_map_source(ctx: &StepContext<'_>, rule: &MapRule, path: &str, out: &mut Vec<Problem>) {
    let given = [rule.variable.is_some(), rule.variables.is_some(), rule.lookup.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        out.push(
            Problem::new(path, "a map rule needs exactly one of variable, variables and lookup")
                .with_hint("use variable for one value, variables to join several, lookup for a related row"),
        );
    }
    if let Some(variable) = &rule.variable {
        check_ref(ctx, variable, &field(path, "variable"), out);
    }
    if let Some(variables) = &rule.variables {
        let at = field(path, "variables");
        if variables.is_empty() {
            out.push(
                Problem::new(&at, "variables must name at least one variable")
                    .with_hint("list the variables to join, e.g. [\"first\", \"last\"]"),
            );
        }
        for (k, variable) in variables.iter().enumerate() {
            if variable.contains('.') {
                // A run joins the scope's own values; a record id is not one of them.
                out.push(
                    Problem::new(
                        index(&at, k),
                        format!("`{variable}`: joined variables are variables of the scope, not record ids"),
                    )
                    .with_hint(
                        "map the record id on its own with \"variable\", or join the variables it was made from",
                    ),
                );
                continue;
            }
            check_ref(ctx, variable, &index(&at, k), out);
        }
    } else if rule.separator.is_some() {
        out.push(
            Problem::new(field(path, "separator"), "separator is only used with variables")
                .with_hint("remove separator, or join several variables with \"variables\""),
        );
    }
    if let Some(lookup) = &rule.lookup {
        let at = field(path, "lookup");
        if let Err(why) = QualifiedName::parse(&lookup.table) {
            out.push(table_problem(&field(&at, "table"), &lookup.table, &why));
        }
        if lookup.column.trim().is_empty() {
            out.push(
                Problem::new(field(&at, "column"), "column must not be empty")
                    .with_hint("name the column of the related table to look the value up in"),
            );
        }
        check_ref(ctx, &lookup.variable, &field(&at, "variable"), out);
    }
    if rule.conflict() == Conflict::AddOptions {
        check_add_options(ctx, rule, path, out);
    }
}

/// `add_options` unions lists, so its value must come from an array variable.
fn check_add_options(ctx: &StepContext<'_>, rule: &MapRule, path: &str, out: &mut Vec<Problem>) {
    let source = match &rule.variable {
        Some(name) if !name.contains('.') => match ctx.doc.variable(name) {
            Some(v) if v.array => return,
            Some(_) => format!("variable `{name}` is not an array"),
            None => return, // reported as an unknown variable
        },
        Some(name) => format!("`{name}` is an entity variable"),
        None if rule.variables.is_some() => "joined variables give a single text".to_string(),
        None => "a lookup gives a single id".to_string(),
    };
    out.push(
        Problem::new(field(path, "conflict"), format!("add_options needs an array variable; {source}"))
            .with_hint("set \"array\": true on the variable, or use another conflict resolution"),
    );
}

/// Checks that `name`, used by the step in `ctx`, is a variable of the
/// step's scope, or an entity variable `<step>.id` of an earlier step of the
/// same scope.
fn check_ref(ctx: &StepContext<'_>, name: &str, path: &str, out: &mut Vec<Problem>) {
    let step_scope = ctx.step.scope.as_deref();
    if let Some((step_name, attribute)) = name.split_once('.') {
        let Some((k, earlier)) = ctx.doc.load_steps.iter().enumerate().find(|(_, s)| s.name == step_name) else {
            out.push(
                Problem::new(path, format!("`{name}` names no load step `{step_name}`"))
                    .with_hint(earlier_steps_hint(ctx)),
            );
            return;
        };
        if attribute != ENTITY_ID {
            out.push(
                Problem::new(path, format!("`{name}`: a load step exposes only its record id"))
                    .with_hint(format!("use `{step_name}.{ENTITY_ID}`, or a lookup to read another column")),
            );
        }
        if k >= ctx.index {
            let when = if k == ctx.index { "is this step" } else { "runs after this step" };
            out.push(
                Problem::new(path, format!("`{name}` comes from step `{step_name}`, which {when}"))
                    .with_hint("an entity variable comes from an earlier step; reorder the steps"),
            );
        } else if !ctx.scopes.compatible(earlier.scope.as_deref(), step_scope) {
            out.push(
                Problem::new(
                    path,
                    format!(
                        "`{name}` comes from step `{step_name}` of scope {}, but this step reads scope {}",
                        show(ctx.scopes.resolve(earlier.scope.as_deref())),
                        show(ctx.scopes.resolve(step_scope))
                    ),
                )
                .with_hint("entity variables connect steps of the same scope; use a lookup across scopes"),
            );
        }
        return;
    }
    let Some(variable) = ctx.doc.variable(name) else {
        out.push(Problem::new(path, format!("no variable named `{name}`")).with_hint(variables_hint(ctx)));
        return;
    };
    if !ctx.scopes.compatible(variable.scope.as_deref(), step_scope) {
        out.push(
            Problem::new(
                path,
                format!(
                    "variable `{name}` is in scope {}, but this step reads scope {}",
                    show(ctx.scopes.resolve(variable.scope.as_deref())),
                    show(ctx.scopes.resolve(step_scope))
                ),
            )
            .with_hint(variables_hint(ctx)),
        );
    }
}

fn show(scope: Option<&str>) -> &str {
    scope.unwrap_or("?")
}

/// Lists the variables the step can use (at most a dozen).
fn variables_hint(ctx: &StepContext<'_>) -> String {
    let usable: Vec<&str> = ctx
        .doc
        .variables
        .iter()
        .filter(|v| ctx.scopes.compatible(v.scope.as_deref(), ctx.step.scope.as_deref()))
        .map(|v| v.name.as_str())
        .collect();
    match usable.len() {
        0 => "declare the variable in variables with this step's scope".to_string(),
        n if n <= 12 => format!("variables of this step's scope: {}", usable.join(", ")),
        _ => format!("variables of this step's scope include {}, …", usable[..12].join(", ")),
    }
}

fn earlier_steps_hint(ctx: &StepContext<'_>) -> String {
    let earlier: Vec<String> =
        ctx.doc.load_steps[..ctx.index].iter().map(|s| format!("{}.{ENTITY_ID}", s.name)).collect();
    if earlier.is_empty() {
        "the first step has no earlier step to take an id from".to_string()
    } else {
        format!("entity variables available here: {}", earlier.join(", "))
    }
}
