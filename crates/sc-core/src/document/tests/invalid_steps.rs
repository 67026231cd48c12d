//! One test per validation rule of load steps: names, tables, matching and
//! mapping rules, and the variables and entity variables they refer to.
//!
//! In the SPEC §8.1 example, load step 0 `vendors` (scope vendors) maps code
//! and name; step 1 `products` (scope products, archived_column `archived`)
//! maps sku, name, price, launched, tags, source and vendor_id (a lookup).

use serde_json::{json, Value};

use super::{assert_only_problem, assert_problem, example, problems, remove, set};

/// Two steps of one scope: `companies`, then `contacts`.
pub(super) fn two_steps() -> Value {
    json!({
        "api_name": "people", "name": "People", "type": "spreadsheet",
        "variables": [{"name": "company", "type": "string"}, {"name": "email", "type": "email"}],
        "load_steps": [
            {"name": "companies", "table": "companies",
             "map": [{"column": "name", "variable": "company"}]},
            {"name": "contacts", "table": "contacts",
             "map": [{"column": "email", "variable": "email"}]}]
    })
}

#[test]
fn step_name_syntax() {
    let doc = set(two_steps(), "/load_steps/1/name", json!("contacts!"));
    assert_only_problem(&doc, "load_steps[1].name", "not a valid step name");
}

#[test]
fn step_names_unique() {
    let doc = set(two_steps(), "/load_steps/1/name", json!("companies"));
    assert_only_problem(&doc, "load_steps[1].name", "duplicate step name `companies` (also load_steps[0])");
}

#[test]
fn step_table_name() {
    let doc = set(example(), "/load_steps/0/table", json!("public vendors"));
    assert_only_problem(&doc, "load_steps[0].table", "not a valid table name");
    let doc = set(example(), "/load_steps/0/table", json!("\"unterminated"));
    assert_only_problem(&doc, "load_steps[0].table", "unterminated double quote");
}

#[test]
fn after_load_function_name() {
    let doc = set(example(), "/load_steps/1/after_load", json!("on_loaded()"));
    assert_only_problem(&doc, "load_steps[1].after_load", "not a valid function name");
}

#[test]
fn archived_column_not_empty() {
    let doc = set(example(), "/load_steps/1/archived_column", json!(""));
    assert_only_problem(&doc, "load_steps[1].archived_column", "must not be empty");
}

#[test]
fn match_rule_columns_xor_primary_key() {
    let doc = set(example(), "/load_steps/0/match/0/primary_key", json!("vendor_code"));
    assert_only_problem(&doc, "load_steps[0].match[0]", "either columns or primary_key, not both");
    let doc = remove(example(), "/load_steps/0/match/0/columns");
    assert_only_problem(&doc, "load_steps[0].match[0]", "needs columns or primary_key");
}

#[test]
fn match_columns_not_empty() {
    let doc = set(example(), "/load_steps/0/match/0/columns", json!({}));
    assert_only_problem(&doc, "load_steps[0].match[0].columns", "at least one column");
}

#[test]
fn match_column_variable_exists() {
    let doc = set(example(), "/load_steps/1/match/0/columns/sku", json!("skew"));
    let p = assert_only_problem(&doc, "load_steps[1].match[0].columns.sku", "no variable named `skew`");
    assert!(p.hint.expect("a hint").contains("sku, product_name"));
}

#[test]
fn primary_key_variable_exists() {
    let doc = set(example(), "/load_steps/1/match/0", json!({"primary_key": "record_id"}));
    assert_only_problem(&doc, "load_steps[1].match[0].primary_key", "no variable named `record_id`");
}

#[test]
fn map_variable_in_the_step_scope() {
    let doc = set(example(), "/load_steps/0/map/1/variable", json!("product_name"));
    assert_only_problem(
        &doc,
        "load_steps[0].map[1].variable",
        "variable `product_name` is in scope products, but this step reads scope vendors",
    );
}

#[test]
fn match_variable_in_the_step_scope() {
    let doc = set(example(), "/load_steps/1/match/0/columns/sku", json!("vendor_code"));
    assert_only_problem(&doc, "load_steps[1].match[0].columns.sku", "is in scope vendors");
}

#[test]
fn lookup_variable_exists() {
    let doc = set(example(), "/load_steps/1/map/6/lookup/variable", json!("vendor"));
    assert_only_problem(&doc, "load_steps[1].map[6].lookup.variable", "no variable named `vendor`");
}

#[test]
fn lookup_table_and_column() {
    let doc = set(example(), "/load_steps/1/map/6/lookup/table", json!(""));
    assert_only_problem(&doc, "load_steps[1].map[6].lookup.table", "has an empty part");
    let doc = set(example(), "/load_steps/1/map/6/lookup/column", json!(""));
    assert_only_problem(&doc, "load_steps[1].map[6].lookup.column", "must not be empty");
}

#[test]
fn joined_variables_exist_and_are_in_scope() {
    let rule = json!({"column": "name", "variables": ["product_name", "nick", "vendor_name"]});
    let doc = set(example(), "/load_steps/1/map/1", rule);
    assert_problem(&doc, "load_steps[1].map[1].variables[1]", "no variable named `nick`");
    assert_problem(&doc, "load_steps[1].map[1].variables[2]", "is in scope vendors");
    assert_eq!(problems(&doc).len(), 2);
}

#[test]
fn joined_variables_are_not_record_ids() {
    let rule = json!({"column": "name", "variables": ["product_name", "vendors.id"]});
    let doc = set(example(), "/load_steps/1/map/1", rule);
    assert_only_problem(&doc, "load_steps[1].map[1].variables[1]", "not record ids");
}

#[test]
fn joined_variables_not_empty() {
    let doc = set(example(), "/load_steps/1/map/1", json!({"column": "name", "variables": []}));
    assert_only_problem(&doc, "load_steps[1].map[1].variables", "at least one variable");
}

#[test]
fn map_rule_has_exactly_one_source() {
    let lookup = json!({"table": "t", "column": "c", "variable": "vendor_code"});
    let doc = set(example(), "/load_steps/0/map/0/lookup", lookup);
    assert_only_problem(&doc, "load_steps[0].map[0]", "exactly one of variable, variables and lookup");
    let doc = remove(example(), "/load_steps/0/map/0/variable");
    assert_only_problem(&doc, "load_steps[0].map[0]", "exactly one of");
}

#[test]
fn separator_only_with_joined_variables() {
    let doc = set(example(), "/load_steps/0/map/0/separator", json!("-"));
    assert_only_problem(&doc, "load_steps[0].map[0].separator", "only used with variables");
}

#[test]
fn step_needs_a_map_rule() {
    let doc = set(example(), "/load_steps/0/map", json!([]));
    assert_only_problem(&doc, "load_steps[0].map", "at least one map rule");
}

#[test]
fn column_mapped_once_per_step() {
    let doc = set(example(), "/load_steps/0/map/-", json!({"column": "code", "variable": "vendor_name"}));
    assert_only_problem(&doc, "load_steps[0].map[2].column", "column `code` is already mapped by map[0]");
}

#[test]
fn add_options_needs_an_array_variable() {
    let doc = set(example(), "/load_steps/1/map/1/conflict", json!("add_options"));
    assert_only_problem(&doc, "load_steps[1].map[1].conflict", "variable `product_name` is not an array");
    let doc = set(example(), "/load_steps/1/map/6/conflict", json!("add_options"));
    assert_only_problem(&doc, "load_steps[1].map[6].conflict", "add_options needs an array variable");
}

#[test]
fn entity_variable_from_a_later_step() {
    let doc = set(two_steps(), "/load_steps/0/map/-", json!({"column": "contact_id", "variable": "contacts.id"}));
    assert_only_problem(
        &doc,
        "load_steps[0].map[1].variable",
        "comes from step `contacts`, which runs after this step",
    );
}

#[test]
fn entity_variable_from_the_same_step() {
    let doc = set(two_steps(), "/load_steps/1/map/-", json!({"column": "self_id", "variable": "contacts.id"}));
    assert_only_problem(&doc, "load_steps[1].map[1].variable", "which is this step");
}

#[test]
fn entity_variable_of_an_unknown_step() {
    let doc = set(two_steps(), "/load_steps/1/map/-", json!({"column": "x", "variable": "firms.id"}));
    let p = assert_only_problem(&doc, "load_steps[1].map[1].variable", "names no load step `firms`");
    assert!(p.hint.expect("a hint").contains("companies.id"));
}

#[test]
fn entity_variable_exposes_only_id() {
    let doc = set(two_steps(), "/load_steps/1/map/-", json!({"column": "x", "variable": "companies.name"}));
    assert_only_problem(&doc, "load_steps[1].map[1].variable", "exposes only its record id");
}

#[test]
fn entity_variable_of_another_scope() {
    let doc = set(example(), "/load_steps/1/map/6", json!({"column": "vendor_id", "variable": "vendors.id"}));
    assert_only_problem(
        &doc,
        "load_steps[1].map[6].variable",
        "comes from step `vendors` of scope vendors, but this step reads scope products",
    );
}

#[test]
fn next_rule_not_on_the_last_rule() {
    let mut doc = example();
    for action in ["no_match", "one_match", "many_matches"] {
        doc = set(doc, &format!("/load_steps/0/match/0/{action}"), json!("next_rule"));
    }
    doc = set(doc, "/load_steps/1/match/0/archived", json!("next_rule"));
    for path in [
        "load_steps[0].match[0].no_match",
        "load_steps[0].match[0].one_match",
        "load_steps[0].match[0].many_matches",
        "load_steps[1].match[0].archived",
    ] {
        let p = assert_problem(&doc, path, "next_rule is not allowed on the last rule");
        assert!(p.hint.expect("a hint").contains("use skip"));
    }
    assert_eq!(problems(&doc).len(), 4);
    // Allowed on a rule that is followed by another.
    let doc = set(doc, "/load_steps/0/match/-", json!({"columns": {"name": "vendor_name"}}));
    let doc = set(doc, "/load_steps/1/match/-", json!({"columns": {"name": "product_name"}}));
    assert!(problems(&doc).is_empty());
}

#[test]
fn archived_action_needs_archived_column() {
    let doc = set(example(), "/load_steps/0/match/0/archived", json!("unarchive_only"));
    assert_only_problem(&doc, "load_steps[0].match[0].archived", "needs the step's archived_column");
    let doc = remove(example(), "/load_steps/1/archived_column");
    assert_only_problem(&doc, "load_steps[1].match[0].archived", "unarchive_and_update needs");
    // The default action needs no column, written out or not.
    assert!(problems(&set(example(), "/load_steps/0/match/0/archived", json!("create"))).is_empty());
}
