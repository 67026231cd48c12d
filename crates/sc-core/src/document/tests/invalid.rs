//! One test per validation rule of the header, variables, references,
//! parameters and settings: a valid document with one thing broken must give
//! a problem at exactly the broken path (load steps: `invalid_steps.rs`).
//!
//! In the SPEC §8.1 example, variables are 0 vendor_code, 1 vendor_name
//! (scope vendors), 2 sku, 3 product_name, 4 price, 5 launched, 6 tags,
//! 7 product_vendor, 8 origin (scope products).

use serde_json::{json, Value};

use super::invalid_steps::two_steps;
use super::{assert_only_problem, assert_problem, example, problems, remove, set};

// ---- header ----

#[test]
fn api_name_syntax() {
    assert_only_problem(&set(example(), "/api_name", json!("Vendor-Products")), "api_name", "not a valid api_name");
    assert_only_problem(&set(example(), "/api_name", json!("a".repeat(64))), "api_name", "not a valid api_name");
}

#[test]
fn name_not_empty() {
    assert_only_problem(&set(example(), "/name", json!("  ")), "name", "must not be empty");
}

#[test]
fn webhook_requires_sql() {
    let doc = set(two_steps(), "/type", json!("webhook"));
    assert_only_problem(&doc, "sql", "a webhook connector requires sql");
}

#[test]
fn sql_not_blank() {
    assert_only_problem(&set(example(), "/sql", json!(" \n ")), "sql", "sql is empty");
}

#[test]
fn without_sql_a_single_scope() {
    let p = assert_only_problem(
        &remove(example(), "/sql"),
        "sql",
        "single scope, but several are used (vendors, products)",
    );
    assert!(p.hint.is_some());
}

#[test]
fn several_scopes_need_scope_on_every_variable() {
    let doc = remove(example(), "/variables/1/scope");
    assert_only_problem(&doc, "variables[1].scope", "scope is required because the connector uses several scopes");
}

#[test]
fn several_scopes_need_scope_on_every_step() {
    let doc = remove(example(), "/load_steps/0/scope");
    assert_only_problem(&doc, "load_steps[0].scope", "scope is required");
}

#[test]
fn scope_name_syntax() {
    let doc = set(two_steps(), "/variables/0/scope", json!("my scope"));
    assert_problem(&doc, "variables[0].scope", "not a valid scope name");
}

// ---- variables ----

#[test]
fn variables_not_empty() {
    let doc = json!({"api_name": "a", "name": "A", "type": "spreadsheet"});
    assert_only_problem(&doc, "variables", "at least one variable is required");
}

#[test]
fn variable_name_syntax() {
    let doc = set(example(), "/variables/3/name", json!("product name"));
    assert_problem(&doc, "variables[3].name", "`product name` is not a valid variable name");
}

#[test]
fn variable_names_unique() {
    let doc = set(example(), "/variables/1/name", json!("vendor_code"));
    assert_problem(&doc, "variables[1].name", "duplicate variable name `vendor_code` (also variables[0])");
}

#[test]
fn source_and_value_not_both() {
    let doc = set(example(), "/variables/8/source", json!("origin_col"));
    assert_only_problem(&doc, "variables[8].value", "either source or value, not both");
}

#[test]
fn value_is_a_scalar() {
    let doc = set(example(), "/variables/8/value", json!(["a", "b"]));
    assert_only_problem(&doc, "variables[8].value", "not an array");
    let doc = set(example(), "/variables/8/value", json!({"a": 1}));
    assert_only_problem(&doc, "variables[8].value", "not an object");
    assert!(problems(&set(example(), "/variables/8/value", json!(3.5))).is_empty());
}

#[test]
fn source_not_empty() {
    assert_only_problem(&set(example(), "/variables/3/source", json!("")), "variables[3].source", "must not be empty");
}

#[test]
fn delimiter_only_with_array() {
    let doc = set(example(), "/variables/0/delimiter", json!(","));
    assert_only_problem(&doc, "variables[0].delimiter", "only used by an array variable");
}

#[test]
fn delimiter_is_one_of_the_four() {
    let doc = set(example(), "/variables/6/delimiter", json!("/"));
    assert_only_problem(&doc, "variables[6].delimiter", "is not one of , ; | or a tab");
    for ok in [",", ";", "|", "\t"] {
        assert!(problems(&set(example(), "/variables/6/delimiter", json!(ok))).is_empty(), "{ok:?}");
    }
}

#[test]
fn formats_not_empty() {
    let doc = set(example(), "/variables/5/input_format", json!(""));
    assert_only_problem(&doc, "variables[5].input_format", "input_format must not be empty");
    let doc = set(example(), "/variables/5/output_format", json!(" "));
    assert_only_problem(&doc, "variables[5].output_format", "output_format must not be empty");
}

#[test]
fn raw_output_only_on_strings() {
    let doc = set(example(), "/variables/4/output_format", json!("raw"));
    assert_only_problem(&doc, "variables[4].output_format", "raw only applies to string variables, not number");
    assert!(problems(&set(example(), "/variables/3/output_format", json!("raw"))).is_empty());
}

// ---- reference and parameters ----

#[test]
fn reference_name_syntax() {
    let doc = set(example(), "/reference/0/name", json!("known-vendors"));
    assert_only_problem(&doc, "reference[0].name", "not a valid reference name");
}

#[test]
fn reference_names_unique() {
    let doc = set(example(), "/reference/-", json!({"name": "known_vendors", "table": "vendors"}));
    assert_only_problem(&doc, "reference[1].name", "duplicate reference name `known_vendors`");
}

#[test]
fn reference_table_or_query() {
    let doc = set(example(), "/reference/0/table", json!("public.vendors"));
    assert_only_problem(&doc, "reference[0]", "either table or query, not both");
    let doc = remove(example(), "/reference/0/query");
    assert_only_problem(&doc, "reference[0]", "needs table or query");
}

#[test]
fn reference_query_reads() {
    let doc = set(example(), "/reference/0/query", json!("DELETE FROM vendors"));
    assert_only_problem(&doc, "reference[0].query", "must start with SELECT or WITH");
    let doc = set(example(), "/reference/0/query", json!("selection"));
    assert_only_problem(&doc, "reference[0].query", "must start with SELECT or WITH");
    for ok in ["  with v AS (SELECT 1) SELECT * FROM v", "select 1", "(SELECT 1)"] {
        assert!(problems(&set(example(), "/reference/0/query", json!(ok))).is_empty(), "{ok}");
    }
}

#[test]
fn reference_table_name() {
    let doc = remove(set(example(), "/reference/0/table", json!("a.b.c")), "/reference/0/query");
    assert_only_problem(&doc, "reference[0].table", "not a valid table name: it has 3 parts");
}

#[test]
fn parameter_names_are_identifiers() {
    let doc = set(example(), "/parameters/a b", json!("x"));
    assert_only_problem(&doc, "parameters[\"a b\"]", "not a valid parameter name");
}

#[test]
fn parameter_values_are_scalars() {
    let doc = set(example(), "/parameters/region", json!(["EU"]));
    assert_only_problem(&doc, "parameters.region", "must be a string, number or boolean, not an array");
    let doc = set(example(), "/parameters/region", Value::Null);
    assert_only_problem(&doc, "parameters.region", "not null");
}

// ---- settings ----

#[track_caller]
fn assert_setting_range(name: &str, bad: &[i64], good: &[i64], fragment: &str) {
    let path = format!("settings.{name}");
    for &v in bad {
        let doc = set(example(), &format!("/settings/{name}"), json!(v));
        assert_only_problem(&doc, &path, &format!("{fragment}, not {v}"));
    }
    for &v in good {
        let doc = set(example(), &format!("/settings/{name}"), json!(v));
        assert!(problems(&doc).is_empty(), "{name} = {v}");
    }
}

#[test]
fn max_concurrency_range() {
    assert_setting_range("max_concurrency", &[0, 65], &[1, 64], "must be between 1 and 64");
}

#[test]
fn chunk_size_range() {
    assert_setting_range("chunk_size", &[0, 100_001], &[1, 100_000], "must be between 1 and 100000");
}

#[test]
fn sql_time_limit_range() {
    assert_setting_range("sql_time_limit_s", &[0, 86_401], &[1, 86_400], "must be between 1 and 86400");
}

#[test]
fn sql_threads_range() {
    assert_setting_range("sql_threads", &[0, 65], &[1, 64], "must be between 1 and 64");
}

#[test]
fn sql_max_output_rows_range() {
    assert_setting_range("sql_max_output_rows", &[0], &[1, 10_000_000_000], "must be at least 1");
}

#[test]
fn sql_memory_limit_range() {
    assert_setting_range("sql_memory_limit_mb", &[0, 15], &[16, 65_536], "must be at least 16");
}

#[test]
fn timezone_is_iana() {
    let doc = set(example(), "/settings/timezone", json!("Mars/Olympus"));
    assert_only_problem(&doc, "settings.timezone", "`Mars/Olympus` is not a known time zone");
    assert!(problems(&set(example(), "/settings/timezone", json!("America/New_York"))).is_empty());
}

#[test]
fn phone_region_two_upper_case_letters() {
    for bad in ["us", "USA", "U1", "", "XX"] {
        let doc = set(example(), "/settings/phone_region", json!(bad));
        assert_only_problem(&doc, "settings.phone_region", "is not a region code");
    }
}

#[test]
fn notify_channel_identifier() {
    let doc = set(example(), "/settings/notify_channel", json!("sc-events"));
    assert_only_problem(&doc, "settings.notify_channel", "not a valid channel name");
    let doc = set(example(), "/settings/notify_channel", json!("c".repeat(64)));
    assert_only_problem(&doc, "settings.notify_channel", "not a valid channel name");
}

#[test]
fn ended_webhook_http_url() {
    let doc = set(example(), "/settings/ended_webhook", json!("ftp://example.com/x"));
    assert_only_problem(&doc, "settings.ended_webhook", "not an http(s) URL");
}

#[test]
fn schedule_syntax() {
    let scheduler = || set(example(), "/type", json!("scheduler"));
    let doc = set(scheduler(), "/settings/schedule", json!("61 * * * *"));
    assert_only_problem(&doc, "settings.schedule", "minute field `61`");
    let doc = set(scheduler(), "/settings/schedule", json!("every day"));
    assert_only_problem(&doc, "settings.schedule", "5 fields");
    let doc = set(scheduler(), "/settings/schedule", json!("90 seconds"));
    assert_only_problem(&doc, "settings.schedule", "1 to 59 seconds");
    assert!(problems(&set(scheduler(), "/settings/schedule", json!("@daily"))).is_empty());
    let doc = set(set(scheduler(), "/settings/schedule", json!("@daily")), "/settings/overlap", json!("sometimes"));
    let p = problems(&doc);
    assert!(p.iter().any(|p| p.path.contains("overlap") && p.message.contains("sometimes")), "{p:?}");
}

#[test]
fn only_scheduler_connectors_have_a_schedule() {
    let doc = set(example(), "/settings/schedule", json!("0 3 * * *"));
    assert_only_problem(&doc, "settings.schedule", "a spreadsheet connector cannot be scheduled");
    let doc = set(set(example(), "/type", json!("webhook")), "/settings/schedule", json!("0 3 * * *"));
    assert_only_problem(&doc, "settings.schedule", "runs on its cadence");
}

// ---- type rules applied on save ----

#[test]
fn input_format_must_suit_the_type() {
    // variables[5] is `launched`, a date.
    let p = problems(&set(example(), "/variables/5/input_format", json!("%Q")));
    assert!(p.iter().any(|p| p.path == "variables[5].input_format"), "{p:?}");
    let p = problems(&set(example(), "/variables/4/input_format", json!("DD/MM/YYYY")));
    assert!(p.iter().any(|p| p.path == "variables[4].input_format"), "a number takes no date layout: {p:?}");
}

#[test]
fn output_format_must_suit_the_type() {
    let p = problems(&set(example(), "/variables/4/output_format", json!("upper")));
    assert!(p.iter().any(|p| p.path == "variables[4].output_format"), "{p:?}");
}

#[test]
fn a_static_value_must_parse_as_its_type() {
    // variables[8] is `origin`, a static string; make it a number with a value that has no digits.
    let doc = set(example(), "/variables/8/type", json!("number"));
    assert_only_problem(&doc, "variables[8].value", "is not a number");
    let doc = set(set(example(), "/variables/8/type", json!("number")), "/variables/8/value", json!("$16.99"));
    assert!(problems(&doc).is_empty(), "{:?}", problems(&doc));
}

// ---- webhook signature ----

#[test]
fn webhook_signature_only_on_webhook_connectors_not_named_webhook() {
    let sig = json!({"header": "X-Hub-Signature-256", "secret": "gh", "prefix": "sha256="});
    let doc = set(example(), "/settings", json!({"webhook_signature": sig}));
    assert_only_problem(&doc, "settings.webhook_signature", "a spreadsheet connector takes no webhook calls");
    let webhook = set(set(doc, "/type", json!("webhook")), "/api_name", json!("webhook"));
    assert_only_problem(&webhook, "settings.webhook_signature", "named `webhook` cannot have a signed endpoint");
    assert!(problems(&set(webhook, "/api_name", json!("github_pushes"))).is_empty());
}

#[test]
fn webhook_signature_fields() {
    let base = set(example(), "/type", json!("webhook"));
    let with = |sig: Value| set(base.clone(), "/settings", json!({"webhook_signature": sig}));
    assert_only_problem(
        &with(json!({"header": "X Sig", "secret": "gh"})),
        "settings.webhook_signature.header",
        "not an HTTP header name",
    );
    assert_only_problem(
        &with(json!({"header": "X-Sig", "secret": "g-h"})),
        "settings.webhook_signature.secret",
        "not a secret name",
    );
    assert_only_problem(
        &with(json!({"header": "X-Sig", "secret": "gh", "scheme": "stripe", "tolerance_s": 0})),
        "settings.webhook_signature.tolerance_s",
        "between 1 and 86400",
    );
    let p = problems(&with(json!({"header": "X-Sig", "secret": "gh", "algorithm": "md5"})));
    assert!(p.iter().any(|p| p.path.contains("algorithm") && p.message.contains("md5")), "{p:?}");
}
