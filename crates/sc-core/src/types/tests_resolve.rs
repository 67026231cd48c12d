//! resolve(): static values, blanks, required/optional failures, arrays, string formats; no panics.

use proptest::prelude::*;

use super::*;
use crate::document::VariableType;

fn var(name: &str, t: VariableType) -> Variable {
    Variable {
        name: name.to_owned(),
        source: None,
        scope: None,
        var_type: t,
        required: false,
        array: false,
        delimiter: None,
        input_format: None,
        output_format: None,
        value: None,
    }
}

fn required(mut v: Variable) -> Variable {
    v.required = true;
    v
}

fn array(mut v: Variable, delimiter: Option<&str>) -> Variable {
    v.array = true;
    v.delimiter = delimiter.map(str::to_owned);
    v
}

fn with_output(mut v: Variable, f: &str) -> Variable {
    v.output_format = Some(f.to_owned());
    v
}

fn with_static(mut v: Variable, value: serde_json::Value) -> Variable {
    v.value = Some(value);
    v
}

/// What a row should come out as: value text, error, warning (`None` = absent).
struct Want {
    value: Option<&'static str>,
    error: Option<&'static str>,
    warning: Option<&'static str>,
}

const fn ok(v: &'static str) -> Want {
    Want { value: Some(v), error: None, warning: None }
}
const NULL: Want = Want { value: None, error: None, warning: None };
const fn error(e: &'static str) -> Want {
    Want { value: None, error: Some(e), warning: None }
}
const fn warning(value: Option<&'static str>, w: &'static str) -> Want {
    Want { value, error: None, warning: Some(w) }
}

#[test]
fn resolve_rules() {
    use VariableType::*;
    let long = "x".repeat(150);
    let long_msg = format!("variable \"n\": \"{}…\" is not a number (no digits)", "x".repeat(100));
    let long_msg: &'static str = Box::leak(long_msg.into_boxed_str());
    let rows: Vec<(Variable, Option<&str>, Want)> = vec![
        // plain values
        (var("price", Number), Some("$16.99 USD"), ok("16.99")),
        (var("s", String), Some("  padded  "), ok("padded")),
        (with_output(var("s", String), "raw"), Some("  padded  "), ok("  padded  ")),
        (with_output(var("s", String), "upper"), Some(" abc "), ok("ABC")),
        (with_output(var("s", String), "lower"), Some("ÄBC"), ok("äbc")),
        (with_output(var("d", Date), "%d.%m.%Y"), Some("2024-05-04"), ok("2024-05-04")),
        // e-mail: the domain is always lower-cased, the whole address with `lower`
        (var("mail", Email), Some(" Ann.Lee@Example.COM "), ok("Ann.Lee@example.com")),
        (with_output(var("mail", Email), "lower"), Some("Ann.Lee@Example.COM"), ok("ann.lee@example.com")),
        // blanks: NULL, or an error when required
        (var("n", Number), None, NULL),
        (var("n", Number), Some(""), NULL),
        (var("n", Number), Some(" \t "), NULL),
        (with_output(var("s", String), "raw"), Some("   "), NULL),
        (required(var("price", Number)), None, error("variable \"price\" is required but blank")),
        (required(var("price", Number)), Some("  "), error("variable \"price\" is required but blank")),
        // invalid: an error when required, else NULL and a warning
        (required(var("price", Number)), Some("abc"), error("variable \"price\": \"abc\" is not a number (no digits)")),
        (var("price", Number), Some("abc"), warning(None, "variable \"price\": \"abc\" is not a number (no digits)")),
        (
            var("flag", Boolean),
            Some("maybe"),
            warning(None, "variable \"flag\": \"maybe\" is not a boolean (expected true/false"),
        ),
        (
            required(var("mail", Email)),
            Some("nobody"),
            error("variable \"mail\": \"nobody\" is not an e-mail address (no @)"),
        ),
        (
            var("when", Date),
            Some("2024-13-01"),
            warning(None, "variable \"when\": \"2024-13-01\" is not a date (month 13 does not exist)"),
        ),
        (var("n", Number), Some(long.as_str()), warning(None, long_msg)),
        (var("n", Number), Some("a\"b\nc"), warning(None, r#"variable "n": "a\"b\nc" is not a number (no digits)"#)),
        // static values replace the cell
        (with_static(var("n", Number), serde_json::json!(16.99)), Some("cell"), ok("16.99")),
        (with_static(var("b", Boolean), serde_json::json!(true)), None, ok("true")),
        (with_static(var("s", String), serde_json::json!(" fixed ")), Some("cell"), ok("fixed")),
        (with_static(var("d", Date), serde_json::json!("2024-05-04")), None, ok("2024-05-04")),
        (with_static(var("n", Number), serde_json::json!(null)), Some("5"), NULL),
        (
            required(with_static(var("n", Number), serde_json::json!("none"))),
            Some("5"),
            error("variable \"n\": \"none\" is not a number (no digits)"),
        ),
        // arrays: split, trim, drop empty items, parse each
        (array(var("tags", String), None), Some(" a, b ,,c "), ok(r#"["a","b","c"]"#)),
        (array(var("n", Number), Some(";")), Some("1,234.5; 2 ;"), ok("[1234.5,2]")),
        (array(var("n", Number), Some("|")), Some("1|2|3"), ok("[1,2,3]")),
        (array(var("n", Number), Some("\t")), Some("1\t2"), ok("[1,2]")),
        (array(var("n", Number), Some("\\t")), Some("1\t2"), ok("[1,2]")),
        (array(var("d", Date), None), Some("2024-05-04,45416"), ok(r#"["2024-05-04","2024-05-04"]"#)),
        (array(var("n", Number), None), Some(" , ,"), NULL),
        (required(array(var("n", Number), None)), Some(","), error("variable \"n\" is required but blank")),
        (
            array(var("n", Number), None),
            Some("1, x, 3"),
            warning(Some("[1,3]"), "variable \"n\": item \"x\" is not a number (no digits)"),
        ),
        (
            array(var("n", Number), None),
            Some("x,y"),
            warning(
                None,
                "variable \"n\": item \"x\" is not a number (no digits); item \"y\" is not a number (no digits)",
            ),
        ),
        (
            required(array(var("n", Number), None)),
            Some("1, x"),
            error("variable \"n\": item \"x\" is not a number (no digits)"),
        ),
        (array(var("n", Number), None), Some("a,b,c,d,e,f,g"), warning(None, "; and 2 more invalid items")),
        (array(with_output(var("s", String), "raw"), Some("|")), Some(" a | b|"), ok(r#"[" a "," b"]"#)),
    ];
    let ctx = Context::default();
    let mut failures = Vec::new();
    for (v, cell, want) in &rows {
        let got = resolve(v, *cell, &ctx);
        let text = got.value.as_ref().map(TypedValue::to_text);
        let contains = |have: &Option<std::string::String>, part: Option<&str>| match (have, part) {
            (None, None) => true,
            (Some(h), Some(p)) => h.contains(p),
            _ => false,
        };
        if text.as_deref() != want.value || !contains(&got.error, want.error) || !contains(&got.warning, want.warning) {
            failures.push(format!("{} {cell:?}: got {got:?}", v.name));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn check_variable_reports_bad_formats_and_static_values() {
    let ctx = Context::default();
    assert_eq!(check_variable(&var("n", VariableType::Number), &ctx), Ok(()));
    let mut v = var("n", VariableType::Number);
    v.input_format = Some("european".into());
    v.output_format = Some("%Y".into());
    assert_eq!(check_variable(&v, &ctx).map_err(|p| p.len()), Err(2));
    let v = with_static(var("n", VariableType::Number), serde_json::json!("none"));
    assert_eq!(check_variable(&v, &ctx), Err(vec!["variable \"n\": \"none\" is not a number (no digits)".to_owned()]));
}

const ALL: [VariableType; 8] = [
    VariableType::String,
    VariableType::Number,
    VariableType::Boolean,
    VariableType::Date,
    VariableType::Datetime,
    VariableType::Email,
    VariableType::Phone,
    VariableType::Uuid,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No text, in any type, format or zone, makes parsing or resolving panic.
    #[test]
    fn never_panics(
        raw in prop_oneof![
            any::<std::string::String>(),
            "[-+0-9.,:/ ()$eETZapm]{0,40}",
            "[0-9]{1,20}(\\.[0-9]{0,12})?",
        ],
        format in prop_oneof![
            Just(None),
            Just(Some("decimal_comma")),
            Just(Some("DD/MM/YYYY")),
            Just(Some("%d.%m.%Y %H:%M %z")),
            Just(Some("%s")),
        ],
    ) {
        let ctx = Context { timezone: "America/Sao_Paulo".parse().unwrap(), phone_region: "DE".into() };
        for t in ALL {
            if let Ok(v) = parse_value(t, &raw, format, &ctx) {
                let _ = v.to_text();
                let _ = v.render(Some(&raw));
            }
            let mut v = array(var("v", t), Some(";"));
            v.input_format = format.map(str::to_owned);
            v.required = true;
            let _ = resolve(&v, Some(&raw), &ctx);
            let _ = check_input_format(t, &raw);
            let _ = check_output_format(t, &raw);
        }
    }
}
