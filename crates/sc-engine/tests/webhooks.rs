//! A webhook connector's input: the batch as `input.webhooks_raw` (strings)
//! and `input.webhooks` (timestamp as DateTime, body as JSON or NULL).

mod common;

use common::*;

#[test]
fn the_typed_view_parses_timestamps_and_json_bodies() {
    let dir = exec_dir();
    let raw = table(
        dir.path(),
        0,
        "webhooks_raw",
        &["timestamp", "sender", "querystring", "headers", "body"],
        &[
            vec![
                Some("2026-11-29 10:00:01.250000"),
                Some("shop"),
                None,
                Some("{}"),
                Some("{\"order\": 7, \"lines\": [{\"sku\": \"A\"}]}"),
            ],
            vec![Some("2026-11-29 10:00:02.000000"), Some("shop"), None, Some("{}"), Some("order=8")],
        ],
    );
    let mut j = job(
        Some(
            "CREATE TABLE output.o ENGINE = Memory AS
               SELECT toString(timestamp) AS ts, toTypeName(timestamp) AS ts_type, toString(body.order) AS order_no,
                      toString(body.lines[1].sku) AS sku, body IS NULL AS not_json, r.body AS raw
               FROM input.webhooks w JOIN input.webhooks_raw r ON toString(w.timestamp) = substring(r.timestamp, 1, 26)
               ORDER BY ts",
        ),
        vec![raw],
    );
    j.meta.connector_type = "webhook".into();
    let m = ok(run(dir.path(), &j));
    assert_eq!(
        rows(dir.path(), &m, "o"),
        vec![
            vec![
                Some("2026-11-29 10:00:01.250000".to_string()),
                Some("DateTime64(6, 'UTC')".to_string()),
                Some("7".to_string()),
                Some("A".to_string()),
                Some("0".to_string()),
                Some("{\"order\": 7, \"lines\": [{\"sku\": \"A\"}]}".to_string()),
            ],
            vec![
                Some("2026-11-29 10:00:02.000000".to_string()),
                Some("DateTime64(6, 'UTC')".to_string()),
                Some(String::new()),
                Some(String::new()),
                Some("1".to_string()),
                Some("order=8".to_string()),
            ],
        ]
    );
}
