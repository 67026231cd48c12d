//! Tests of the document as a whole: valid documents, the serialization
//! fixed point, and problems from documents of the wrong shape.

mod invalid;
mod invalid_steps;

use serde_json::{json, Value};

use super::{parse_document, to_value, ConnectorDocument, Problem, Status, EXAMPLE_VENDOR_PRODUCTS};

/// The SPEC §8.1 example as JSON.
pub(super) fn example() -> Value {
    serde_json::from_str(EXAMPLE_VENDOR_PRODUCTS).expect("the fixture is JSON")
}

/// `doc` with the value at JSON pointer `at` replaced, or added when the
/// last segment is a new object key (or `-` on an array).
pub(super) fn set(mut doc: Value, at: &str, value: Value) -> Value {
    let (parent, last) = at.rsplit_once('/').expect("a pointer");
    let slot = doc.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent} in the document"));
    match slot {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
        }
        Value::Array(items) if last == "-" => items.push(value),
        Value::Array(items) => items[last.parse::<usize>().expect("an index")] = value,
        other => panic!("{parent} is {other}"),
    }
    doc
}

/// `doc` without the object key or array item at `at`.
pub(super) fn remove(mut doc: Value, at: &str) -> Value {
    let (parent, last) = at.rsplit_once('/').expect("a pointer");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(last).unwrap_or_else(|| panic!("no {at}"));
        }
        Some(Value::Array(items)) => {
            items.remove(last.parse::<usize>().expect("an index"));
        }
        _ => panic!("no {parent}"),
    }
    doc
}

/// Every problem `parse_document` reports (none for a valid document).
pub(super) fn problems(doc: &Value) -> Vec<Problem> {
    match parse_document(doc) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

/// Asserts a problem at exactly `path` whose message contains `fragment`,
/// and returns it.
#[track_caller]
pub(super) fn assert_problem(doc: &Value, path: &str, fragment: &str) -> Problem {
    let all = problems(doc);
    match all.iter().find(|p| p.path == path && p.message.contains(fragment)) {
        Some(p) => p.clone(),
        None => panic!(
            "expected a problem at {path} containing {fragment:?}; got:\n{}",
            all.iter().map(|p| format!("  {p}\n")).collect::<String>()
        ),
    }
}

/// Asserts that `doc` has exactly one problem, at `path`, and returns it.
#[track_caller]
pub(super) fn assert_only_problem(doc: &Value, path: &str, fragment: &str) -> Problem {
    let p = assert_problem(doc, path, fragment);
    let all = problems(doc);
    assert_eq!(all.len(), 1, "expected one problem, got {all:#?}");
    p
}

fn valid_documents() -> Vec<(&'static str, Value)> {
    vec![
        ("SPEC §8.1 example", example()),
        (
            "minimal spreadsheet pass-through",
            json!({
                "api_name": "contacts", "name": "Contacts", "type": "spreadsheet",
                "variables": [{"name": "email", "type": "email", "required": true},
                              {"name": "first", "type": "string"}],
                "load_steps": [{"name": "contacts", "table": "contacts",
                                "match": [{"columns": {"email": "email"}}],
                                "map": [{"column": "email", "variable": "email"},
                                        {"column": "first_name", "variable": "first"}]}]
            }),
        ),
        (
            "webhook with sql",
            json!({
                "api_name": "orders_hook", "name": "Orders", "type": "webhook",
                "sql": "CREATE TABLE output.orders ENGINE = Memory AS SELECT body.id AS order_id, body.total AS total FROM input.webhooks",
                "variables": [{"name": "order_id", "type": "string", "required": true},
                              {"name": "total", "type": "number"}],
                "load_steps": [{"name": "orders", "table": "sales.orders",
                                "match": [{"columns": {"external_id": "order_id"}, "many_matches": "next_rule"},
                                          {"columns": {"legacy_id": "order_id"}, "no_match": "skip"}],
                                "map": [{"column": "total", "variable": "total", "conflict": "overwrite_except_null"}]}],
                "settings": {"cadence": "30 seconds", "ended_webhook": "https://hooks.example.com/sc"}
            }),
        ),
        (
            "scheduler",
            json!({
                "api_name": "nightly", "name": "Nightly tick", "type": "scheduler", "status": "inactive",
                "variables": [{"name": "schedule_trigger_time", "type": "datetime"},
                              {"name": "kind", "type": "string", "value": "nightly"}],
                "load_steps": [{"name": "ticks", "table": "\"Audit\".\"Ticks\"",
                                "map": [{"column": "at", "variable": "schedule_trigger_time"},
                                        {"column": "kind", "variable": "kind"}]}],
                "settings": {"schedule": "0 3 * * 1-5", "overlap": "queue", "timezone": "Europe/Berlin", "max_concurrency": 64,
                             "chunk_size": 100000, "sql_memory_limit_mb": 16, "notify_channel": "sc_events"}
            }),
        ),
        (
            "primary_key match rule",
            json!({
                "api_name": "fix_prices", "name": "Fix prices", "type": "spreadsheet",
                "variables": [{"name": "record_id", "type": "uuid", "required": true},
                              {"name": "price", "type": "number"}],
                "load_steps": [{"name": "products", "table": "products",
                                "match": [{"primary_key": "record_id", "no_match": "skip"}],
                                "map": [{"column": "price", "variable": "price", "conflict": "overwrite"}]}]
            }),
        ),
        (
            "entity variable",
            json!({
                "api_name": "people", "name": "People", "type": "spreadsheet",
                "variables": [{"name": "company", "type": "string"}, {"name": "email", "type": "email"}],
                "load_steps": [
                    {"name": "companies", "table": "companies",
                     "match": [{"columns": {"name": "company"}}],
                     "map": [{"column": "name", "variable": "company"}]},
                    {"name": "contacts", "table": "contacts",
                     "match": [{"columns": {"email": "email", "company_id": "companies.id"}}],
                     "map": [{"column": "email", "variable": "email"},
                             {"column": "company_id", "variable": "companies.id"}]}]
            }),
        ),
        (
            "joined variables",
            json!({
                "api_name": "names", "name": "Names", "type": "spreadsheet",
                "variables": [{"name": "first", "type": "string"}, {"name": "last", "type": "string"}],
                "load_steps": [{"name": "people", "table": "people",
                                "map": [{"column": "full_name", "variables": ["first", "last"], "separator": " "},
                                        {"column": "sort_name", "variables": ["last", "first"], "separator": ", "}]}]
            }),
        ),
        (
            "lookup",
            json!({
                "api_name": "products_only", "name": "Products", "type": "spreadsheet",
                "variables": [{"name": "sku", "type": "string", "scope": "products"},
                              {"name": "vendor", "type": "string", "scope": "products"}],
                "load_steps": [{"name": "products", "table": "public.products",
                                "match": [{"columns": {"sku": "sku"}}],
                                "map": [{"column": "sku", "variable": "sku"},
                                        {"column": "vendor_id",
                                         "lookup": {"table": "public.vendors", "column": "code", "variable": "vendor"}}]}]
            }),
        ),
    ]
}

#[test]
fn valid_documents_have_no_problems() {
    for (what, doc) in valid_documents() {
        assert_eq!(problems(&doc), Vec::<Problem>::new(), "{what}");
    }
}

#[test]
fn serialization_is_a_fixed_point() {
    for (what, doc) in valid_documents() {
        let first = to_value(&parse_document(&doc).expect(what));
        let second = to_value(&parse_document(&first).expect(what));
        assert_eq!(first, second, "{what}");
    }
}

#[test]
fn the_example_round_trips_except_its_nulls() {
    let doc = example();
    let written = to_value(&parse_document(&doc).expect("valid"));
    // `null` settings mean "server default", written as omitted.
    let expected = remove(remove(doc, "/settings/ended_webhook"), "/settings/schedule");
    assert_eq!(written, expected);
}

#[test]
fn defaults_are_not_written_out() {
    let (_, doc) = valid_documents().swap_remove(1);
    let written = to_value(&parse_document(&doc).expect("valid"));
    assert_eq!(written, doc, "nothing was added to the minimal document");
    for key in ["status", "settings", "parameters", "reference", "description", "sql"] {
        assert!(written.get(key).is_none(), "{key} written");
    }
}

#[test]
fn given_defaults_are_kept_and_effective_values_apply_defaults() {
    let doc = set(example(), "/status", json!("setup"));
    let parsed: ConnectorDocument = parse_document(&doc).expect("valid");
    assert_eq!(to_value(&parsed)["status"], json!("setup"));

    let (_, minimal) = valid_documents().swap_remove(1);
    let parsed = parse_document(&minimal).expect("valid");
    assert_eq!(parsed.status, None);
    assert_eq!(parsed.status(), Status::Setup);
    let rule = &parsed.load_steps[0].match_rules[0];
    assert_eq!(rule.no_match().as_str(), "create");
    assert_eq!(rule.one_match().as_str(), "update");
    assert_eq!(rule.many_matches().as_str(), "skip");
    assert_eq!(rule.archived().as_str(), "create");
    assert_eq!(parsed.load_steps[0].map_rules[0].conflict().as_str(), "only_update_blank");
}

#[test]
fn every_validation_problem_is_reported_at_once() {
    let doc = set(example(), "/api_name", json!("Bad Name"));
    let doc = set(doc, "/settings/chunk_size", json!(0));
    let doc = set(doc, "/variables/0/delimiter", json!(";"));
    let doc = set(doc, "/load_steps/0/map/0/variable", json!("nope"));
    let all = problems(&doc);
    let paths: Vec<&str> = all.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["api_name", "variables[0].delimiter", "load_steps[0].map[0].variable", "settings.chunk_size"]);
}

#[test]
fn problems_display_with_path_and_hint() {
    let p = assert_problem(
        &set(example(), "/settings/chunk_size", json!(0)),
        "settings.chunk_size",
        "between 1 and 100000",
    );
    assert_eq!(
        p.to_string(),
        "settings.chunk_size: chunk_size must be between 1 and 100000, not 0 (hint: omit chunk_size to use the server default)"
    );
}

// ---- documents of the wrong shape: one problem where reading stopped ----

#[test]
fn unknown_top_level_key() {
    let p = assert_only_problem(&set(example(), "/colour", json!("red")), "colour", "unknown key `colour`");
    let hint = p.hint.expect("a hint");
    assert!(hint.contains("`api_name`") && hint.contains("`settings`"), "{hint}");
}

#[test]
fn unknown_nested_key() {
    let doc = set(example(), "/load_steps/1/match/0/no_mach", json!("skip"));
    let p = assert_only_problem(&doc, "load_steps[1].match[0].no_mach", "unknown key");
    assert!(p.hint.expect("a hint").contains("`no_match`"));
}

#[test]
fn unknown_setting() {
    assert_only_problem(&set(example(), "/settings/chunksize", json!(5)), "settings.chunksize", "unknown key");
}

#[test]
fn missing_required_key() {
    let doc = remove(example(), "/variables/3/type");
    let p = assert_only_problem(&doc, "variables[3].type", "`type` is required");
    assert!(p.hint.is_some());
    assert_only_problem(&remove(example(), "/api_name"), "api_name", "is required");
    assert_only_problem(&remove(example(), "/load_steps/1/table"), "load_steps[1].table", "is required");
}

#[test]
fn unknown_enum_value() {
    let doc = set(example(), "/variables/4/type", json!("decimal"));
    let p = assert_only_problem(&doc, "variables[4].type", "`decimal` is not an allowed value");
    assert!(p.hint.expect("a hint").contains("`number`"));
    let doc = set(example(), "/load_steps/1/map/1/conflict", json!("replace"));
    assert_only_problem(&doc, "load_steps[1].map[1].conflict", "`replace` is not an allowed value");
    assert_only_problem(&set(example(), "/type", json!("api")), "type", "`api` is not an allowed value");
}

#[test]
fn every_misspelling_is_reported_in_one_save() {
    // An unknown type, conflict and action, an unknown key, and a validation problem elsewhere.
    let doc = set(example(), "/variables/4/type", json!("decimal"));
    let doc = set(doc, "/load_steps/1/map/1/conflict", json!("replace"));
    let doc = set(doc, "/load_steps/0/match/0/no_match", json!("make"));
    let doc = set(doc, "/load_steps/0/tabel", json!("x"));
    let doc = set(doc, "/settings/chunk_size", json!(0));
    let got = problems(&doc);
    let paths: Vec<&str> = got.iter().map(|p| p.path.as_str()).collect();
    for path in [
        "variables[4].type",
        "load_steps[1].map[1].conflict",
        "load_steps[0].match[0].no_match",
        "load_steps[0].tabel",
        "settings.chunk_size",
    ] {
        assert!(paths.contains(&path), "{path} missing from {got:#?}");
    }
    // Nothing is said about the stand-in values.
    assert_eq!(got.len(), 5, "{got:#?}");
}

#[test]
fn wrong_json_type() {
    let doc = set(example(), "/settings/chunk_size", json!("1000"));
    assert_only_problem(&doc, "settings.chunk_size", "invalid type");
    let doc = set(example(), "/variables/2/required", json!("yes"));
    assert_only_problem(&doc, "variables[2].required", "invalid type");
    let doc = set(example(), "/load_steps/0/match/0/columns/code", json!(1));
    assert_only_problem(&doc, "load_steps[0].match[0].columns.code", "invalid type");
    let doc = set(example(), "/load_steps/1/map/6/lookup", json!("public.vendors"));
    assert_only_problem(&doc, "load_steps[1].map[6].lookup", "expected an object");
    let doc = set(example(), "/variables", json!({}));
    assert_only_problem(&doc, "variables", "expected a list");
}

#[test]
fn negative_number_setting() {
    let doc = set(example(), "/settings/max_concurrency", json!(-1));
    assert_only_problem(
        &doc,
        "settings.max_concurrency",
        "invalid value: integer `-1`, expected a whole number of 0 or more",
    );
}

#[test]
fn document_not_an_object() {
    assert_only_problem(&json!([1, 2]), "$", "must be a JSON object");
    assert_only_problem(&json!("x"), "$", "must be a JSON object");
}

#[test]
fn enum_spellings_match_the_document() {
    use super::{
        ArchivedAction as A, Conflict as C, ConnectorType as T, ManyMatchesAction as M, NoMatchAction as N,
        OneMatchAction as O, VariableType as V,
    };
    fn check<E: serde::Serialize + std::fmt::Display>(items: &[E]) {
        for e in items {
            assert_eq!(serde_json::to_value(e).expect("serializes"), json!(e.to_string()));
        }
    }
    check(&[T::Spreadsheet, T::Webhook, T::Scheduler]);
    check(&[Status::Setup, Status::Operational, Status::NeedsAttention, Status::Inactive]);
    check(&[V::String, V::Number, V::Boolean, V::Date, V::Datetime, V::Email, V::Phone, V::Uuid]);
    check(&[N::Create, N::NextRule, N::Skip]);
    check(&[O::Update, O::NextRule, O::Skip]);
    check(&[M::Skip, M::NextRule]);
    check(&[A::Create, A::UnarchiveAndUpdate, A::UnarchiveOnly, A::NextRule, A::Skip]);
    check(&[C::OnlyUpdateBlank, C::Overwrite, C::OverwriteExceptNull, C::AddOptions]);
}

#[test]
fn accessors_on_the_example() {
    let doc = parse_document(&example()).expect("valid");
    assert_eq!(doc.status(), Status::Operational);
    let product_name = doc.variable("product_name").expect("declared");
    assert_eq!(product_name.source_column(), Some("name"));
    assert_eq!(doc.variable("sku").and_then(|v| v.source_column()), Some("sku"));
    assert_eq!(doc.variable("origin").and_then(|v| v.source_column()), None);
    let products = doc.step("products").expect("declared");
    assert!(matches!(products.match_rules[0].key(), Some(super::MatchKey::Columns(_))));
    match products.map_rules[6].source() {
        Some(super::MapSource::Lookup(l)) => assert_eq!(l.variable, "product_vendor"),
        other => panic!("{other:?}"),
    }
}
