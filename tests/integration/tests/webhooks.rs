//! Webhook ingest through PostgREST, replayed statement by statement
//! (`sc_integration::postgrest_rpc`, shared/postgrest-rpc.md): what a sender
//! gets back, and what is stored.
use sc_integration::*;
use serde_json::json;

const ANON: &str = "itest_anon";

fn webhook_doc(api_name: &str, status: &str) -> serde_json::Value {
    json!({
        "api_name": api_name, "name": api_name, "type": "webhook", "status": status,
        "sql": "CREATE TABLE output.calls ENGINE = Memory AS SELECT body FROM input.webhooks_raw",
        "variables": [{"name": "body", "type": "string"}]
    })
}

/// Roles as a PostgREST deployment has them: a sender role granted
/// sc_webhook, an anonymous role without it.
fn roles(c: &mut postgres::Client) {
    c.batch_execute(&format!(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'itest_sender') THEN CREATE ROLE itest_sender NOLOGIN; END IF;
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ANON}') THEN CREATE ROLE {ANON} NOLOGIN; END IF;
         END $$;
         GRANT sc_webhook TO itest_sender;"
    ))
    .unwrap();
}

fn post(c: &mut postgres::Client, role: &str, claims: serde_json::Value, param_type: &str, body: &str) -> Reply {
    let headers = json!({"content-type": "application/json", "authorization": "Bearer secret.jwt.token",
                         "user-agent": "GitHub-Hookshot/1", "host": "api.example.com"});
    postgrest_rpc(c, &Rpc { role, claims, headers, function: "webhook", param_type, body }, ANON)
}

fn stored(c: &mut postgres::Client, connector: &str) -> Vec<(String, String, bool, serde_json::Value)> {
    c.query(
        "SELECT e.body, e.sender, e.sample, e.headers FROM sc.webhook_events e JOIN sc.connectors c ON c.id = e.connector_id
          WHERE c.api_name = $1 ORDER BY e.id",
        &[&connector],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

#[test]
fn a_posted_body_is_kept_byte_for_byte_without_credentials() {
    let mut c = connect_ready();
    roles(&mut c);
    save(&mut c, &webhook_doc("itest_orders", "operational"));
    let claims = json!({"sub": "shop-42", "sc_connector": "itest_orders"});
    // Key order, spacing and a trailing newline, as the sender wrote them.
    let raw = "{\"z\": 1,   \"a\": [1, 2.50], \"nested\": {\"b\": null}}\n";
    assert_eq!(post(&mut c, "itest_sender", claims.clone(), "json", raw), Reply { status: 202, error: None });
    assert_eq!(
        post(&mut c, "itest_sender", claims.clone(), "text", "order=7&paid=true"),
        Reply { status: 202, error: None }
    );
    assert_eq!(post(&mut c, "itest_sender", claims, "xml", "<order id=\"7\"><paid/></order>").status, 202);
    let rows = stored(&mut c, "itest_orders");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, raw);
    assert_eq!(rows[1].0, "order=7&paid=true");
    assert_eq!(rows[2].0, "<order id=\"7\"><paid/></order>");
    assert_eq!(rows[0].1, "shop-42", "the sender is the token's subject");
    assert!(!rows[0].2, "an operational connector's calls are pending, not samples");
    assert_eq!(rows[0].3["user-agent"], "GitHub-Hookshot/1");
    assert!(rows[0].3.get("authorization").is_none(), "credentials are never stored: {}", rows[0].3);
    c.batch_execute("DELETE FROM sc.webhook_events").unwrap();
}

#[test]
fn senders_get_statuses_they_understand() {
    let mut c = connect_ready();
    roles(&mut c);
    save(&mut c, &webhook_doc("itest_orders2", "operational"));
    save(&mut c, &webhook_doc("itest_draft", "setup"));
    let to = |name: &str| json!({"sc_connector": name});
    let big = format!("\"{}\"", "x".repeat(262_144));
    let cases = [
        ("itest_sender", to("itest_orders2"), "{}", 202),
        ("itest_sender", to("itest_orders2"), big.as_str(), 413),
        ("itest_sender", to("itest_nope"), "{}", 404),
        ("itest_sender", to("itest_draft"), "{}", 409),
        ("itest_sender", json!({}), "{}", 401),
        ("itest_sender", json!({"sc_connectors": ["itest_a", "itest_b"]}), "{}", 400),
        ("itest_sender", json!({"sc_connectors": ["itest_orders2", "itest_draft"]}), "{}", 400),
        // A role without sc_webhook: anonymous → 401, authenticated → 403 (EXECUTE is not PUBLIC's).
        (ANON, to("itest_orders2"), "{}", 401),
        ("itest_no_such_role", to("itest_orders2"), "{}", 401),
    ];
    for (role, claims, body, expected) in cases {
        let reply = post(&mut c, role, claims.clone(), "json", body);
        assert_eq!(reply.status, expected, "{role} {claims}: {reply:?}");
    }
    // Several connectors in the token: the X-SC-Connector header picks one it names.
    let headers = json!({"x-sc-connector": "itest_orders2"});
    let claims = json!({"sc_connectors": ["itest_orders2", "itest_draft"]});
    let rpc = Rpc {
        role: "itest_sender",
        claims: claims.clone(),
        headers,
        function: "webhook",
        param_type: "json",
        body: "{}",
    };
    assert_eq!(postgrest_rpc(&mut c, &rpc, ANON).status, 202);
    let rpc = Rpc { headers: json!({"x-sc-connector": "itest_other"}), ..rpc };
    assert_eq!(postgrest_rpc(&mut c, &rpc, ANON).status, 403);
    // Nothing was stored for any refused call.
    assert_eq!(stored(&mut c, "itest_orders2").len(), 2);
    assert!(stored(&mut c, "itest_draft").is_empty());
    c.batch_execute("DELETE FROM sc.webhook_events").unwrap();
}

#[test]
fn an_inactive_connector_keeps_a_capped_set_of_samples() {
    let mut c = connect_ready();
    roles(&mut c);
    save(&mut c, &webhook_doc("itest_paused", "inactive"));
    let claims = json!({"sc_connector": "itest_paused"});
    for i in 0..105 {
        assert_eq!(post(&mut c, "itest_sender", claims.clone(), "json", &format!("{{\"n\": {i}}}")).status, 202);
    }
    let rows = stored(&mut c, "itest_paused");
    assert_eq!(rows.len(), 100, "at most 100 samples per connector");
    assert!(rows.iter().all(|r| r.2), "all kept as samples");
    assert_eq!(rows[0].0, "{\"n\": 5}", "the oldest went first");
    c.batch_execute("DELETE FROM sc.webhook_events").unwrap();
}

#[test]
fn postgrest_can_reach_nothing_but_the_ingest_functions() {
    let mut c = connect_ready();
    let exposed: Vec<String> = c
        .query(
            // Besides /rpc/webhook, only the signed endpoints of connectors that check a signature.
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'sc_api'::regnamespace
                AND p.proname NOT IN (SELECT api_name FROM sc.connectors
                                       WHERE type = 'webhook' AND document->'settings' ? 'webhook_signature')
             UNION ALL SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'sc_api'::regnamespace
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(exposed, ["sc_api.webhook(json)", "sc_api.webhook(text)", "sc_api.webhook(xml)"]);
    let public_may: bool = c
        .query_one(
            "SELECT bool_or(has_function_privilege('public', p.oid, 'EXECUTE')) FROM pg_proc p
              WHERE p.pronamespace = 'sc_api'::regnamespace",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!public_may, "EXECUTE is revoked from PUBLIC");
    let sc_reachable: bool =
        c.query_one("SELECT has_schema_privilege('sc_webhook', 'sc', 'USAGE')", &[]).unwrap().get(0);
    assert!(!sc_reachable, "sc_webhook reaches nothing in schema sc");
    let sc_reachable: bool =
        c.query_one("SELECT has_schema_privilege('sc_webhook_anon', 'sc', 'USAGE')", &[]).unwrap().get(0);
    assert!(!sc_reachable, "sc_webhook_anon reaches nothing in schema sc");
}

/// An anonymous call to a signed endpoint, as PostgREST sends it for a
/// request without a token: its anonymous role, claims holding only that role.
fn post_signed(c: &mut postgres::Client, function: &str, headers: serde_json::Value, body: &str) -> Reply {
    let rpc = Rpc { role: "sc_webhook_anon", claims: json!({}), headers, function, param_type: "json", body };
    postgrest_rpc(c, &rpc, "sc_webhook_anon")
}

fn endpoint_exists(c: &mut postgres::Client, name: &str) -> bool {
    c.query_one(
        "SELECT count(*) = 3 FROM pg_proc WHERE pronamespace = 'sc_api'::regnamespace AND proname = $1",
        &[&name],
    )
    .unwrap()
    .get(0)
}

#[test]
fn a_signing_sender_posts_anonymously_to_its_connectors_own_endpoint() {
    let mut c = connect_ready();
    roles(&mut c);
    // GitHub's documented example: key "It's a Secret to Everybody", body "Hello, World!".
    c.batch_execute("SELECT sc_set_secret('itest_gh_key', 'generic', '{\"key\": \"It''s a Secret to Everybody\"}')")
        .unwrap();
    let mut doc = webhook_doc("itest_signed", "operational");
    doc["settings"] = json!({"webhook_signature":
        {"header": "X-Hub-Signature-256", "secret": "itest_gh_key", "prefix": "sha256="}});
    save(&mut c, &doc);
    assert!(endpoint_exists(&mut c, "itest_signed"), "saving creates /rpc/itest_signed");
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let headers = |sig: &str| {
        json!({"content-type": "application/json", "x-hub-signature-256": sig,
                                     "x-github-event": "push", "host": "api.example.com"})
    };
    // PostgREST hands a JSON body to the json overload; the signature is over these bytes.
    let body = "\"Hello, World!\"";
    let sig = format!(
        "sha256={}",
        sc_core::signature::sign(
            sc_core::document::HmacAlgorithm::Sha256,
            sc_core::document::SignatureEncoding::Hex,
            b"It's a Secret to Everybody",
            body.as_bytes()
        )
    );
    assert_eq!(post_signed(&mut c, "itest_signed", headers(&sig), body), Reply { status: 202, error: None });
    // The documented example, posted as text/plain.
    let rpc = Rpc {
        role: "sc_webhook_anon",
        claims: json!({}),
        headers: headers(good),
        function: "itest_signed",
        param_type: "text",
        body: "Hello, World!",
    };
    assert_eq!(postgrest_rpc(&mut c, &rpc, "sc_webhook_anon").status, 202);
    // A wrong or missing signature: 401, saying why, and nothing stored.
    let wrong = post_signed(&mut c, "itest_signed", headers(good), body);
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong.error.as_deref().is_some_and(|e| e.contains("does not match")), "{wrong:?}");
    let missing = post_signed(&mut c, "itest_signed", json!({"content-type": "application/json"}), body);
    assert_eq!(missing.status, 401, "{missing:?}");
    assert!(missing.error.as_deref().is_some_and(|e| e.contains("no X-Hub-Signature-256 header")), "{missing:?}");
    let rows = stored(&mut c, "itest_signed");
    assert_eq!(rows.len(), 2, "only the two signed calls are stored");
    assert_eq!(rows[0].0, body);
    assert_eq!(rows[1].0, "Hello, World!");
    assert_eq!(rows[0].1, "sc_webhook_anon", "no token: the sender is the role");
    assert_eq!(rows[0].3["x-hub-signature-256"], sig.as_str(), "the signature stays with the call");

    // Anonymous callers reach nothing else: not /rpc/webhook, not a connector without a signature.
    save(&mut c, &webhook_doc("itest_unsigned", "operational"));
    assert!(!endpoint_exists(&mut c, "itest_unsigned"));
    assert_eq!(post_signed(&mut c, "webhook", headers(&sig), body).status, 401);
    assert_eq!(post_signed(&mut c, "itest_unsigned", headers(&sig), body).status, 404);
    // A token's role may not use a signed endpoint either (it is the anonymous role's).
    let rpc = Rpc {
        role: "itest_sender",
        claims: json!({"sc_connector": "itest_signed"}),
        headers: headers(&sig),
        function: "itest_signed",
        param_type: "json",
        body,
    };
    assert_eq!(postgrest_rpc(&mut c, &rpc, "sc_webhook_anon").status, 403);

    // Stripe's scheme: the time is signed with the body and must be recent.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    doc["settings"]["webhook_signature"] =
        json!({"header": "Stripe-Signature", "secret": "itest_gh_key", "scheme": "stripe", "tolerance_s": 300});
    save(&mut c, &doc);
    let stripe = |t: u64| {
        let signed = format!("{t}.{body}");
        let v1 = sc_core::signature::sign(
            sc_core::document::HmacAlgorithm::Sha256,
            sc_core::document::SignatureEncoding::Hex,
            b"It's a Secret to Everybody",
            signed.as_bytes(),
        );
        json!({"stripe-signature": format!("t={t},v1={v1}")})
    };
    assert_eq!(post_signed(&mut c, "itest_signed", stripe(now), body).status, 202);
    let old = post_signed(&mut c, "itest_signed", stripe(now - 3600), body);
    assert_eq!(old.status, 401, "{old:?}");
    assert!(old.error.as_deref().is_some_and(|e| e.contains("at most 300 s")), "{old:?}");
    assert_eq!(stored(&mut c, "itest_signed").len(), 3);

    // A connector in setup refuses signed calls like any other.
    doc["status"] = json!("setup");
    save(&mut c, &doc);
    assert_eq!(post_signed(&mut c, "itest_signed", stripe(now), body).status, 409);

    // Removing the signature removes the endpoint; so does dropping the connector.
    let mut plain = doc.clone();
    plain.as_object_mut().unwrap().remove("settings");
    save(&mut c, &plain);
    assert!(!endpoint_exists(&mut c, "itest_signed"));
    save(&mut c, &doc);
    assert!(endpoint_exists(&mut c, "itest_signed"));
    // The launcher may have cut a batch of the stored calls: a connector is dropped once its runs end.
    c.batch_execute(
        "SELECT sc_wait(id) FROM sc.executions
          WHERE connector_api_name IN ('itest_signed', 'itest_unsigned') AND status IN ('queued', 'running')",
    )
    .unwrap();
    c.batch_execute("SELECT sc_drop_connector('itest_signed'), sc_drop_connector('itest_unsigned')").unwrap();
    assert!(!endpoint_exists(&mut c, "itest_signed"));
    assert!(stored(&mut c, "itest_signed").is_empty(), "the connector's calls went with it");
}

#[test]
fn a_signature_naming_a_missing_secret_is_a_document_problem() {
    let mut c = connect_ready();
    let mut doc = webhook_doc("itest_signed_nokey", "operational");
    doc["settings"] = json!({"webhook_signature": {"header": "X-Sig", "secret": "itest_no_such_secret"}});
    let err = c.query_one("SELECT sc_create_connector($1)", &[&doc]).unwrap_err();
    let text = format!("{:?}", err.as_db_error().expect("a database error"));
    assert!(text.contains("settings.webhook_signature.secret"), "{text}");
    assert!(text.contains("itest_no_such_secret"), "{text}");
    assert!(!endpoint_exists(&mut c, "itest_signed_nokey"), "a refused save creates no endpoint");
}

/// A live webhook connector (cadence 30 s) loading each call's `order` and
/// `sku` into a new table `table`, matched on the order number, with no calls
/// left from an earlier run; returns the newest execution id before it.
fn orders_connector(c: &mut postgres::Client, api_name: &str, table: &str) -> i64 {
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS public.{table};
         CREATE TABLE public.{table} (id serial PRIMARY KEY, order_no text UNIQUE, sku text);
         DELETE FROM sc.webhook_events WHERE connector_id IN (SELECT id FROM sc.connectors WHERE api_name = '{api_name}');"
    ))
    .unwrap();
    save(
        c,
        &json!({
            "api_name": api_name, "name": api_name, "type": "webhook", "status": "operational",
            "settings": {"cadence": "30 seconds", "max_batch_calls": 1000},
            "sql": "CREATE TABLE output.orders ENGINE = Memory AS
                      SELECT toString(body.order) AS order_no, toString(body.sku) AS sku, sender FROM input.webhooks",
            "variables": [{"name": "order_no", "type": "string", "required": true},
                          {"name": "sku", "type": "string"}, {"name": "sender", "type": "string"}],
            "load_steps": [{"name": "orders", "table": table,
                            "match": [{"columns": {"order_no": "order_no"}}],
                            "map": [{"column": "order_no", "variable": "order_no"},
                                    {"column": "sku", "variable": "sku", "conflict": "overwrite"}]}]
        }),
    );
    c.query_one("SELECT coalesce(max(id), 0) FROM sc.executions", &[]).unwrap().get(0)
}

/// The newest execution of `api_name` after execution `after`, once queued.
fn next_execution(c: &mut postgres::Client, api_name: &str, after: i64) -> i64 {
    poll(std::time::Duration::from_secs(90), || {
        c.query_opt(
            "SELECT id FROM sc.executions WHERE connector_api_name = $1 AND id > $2 ORDER BY id DESC LIMIT 1",
            &[&api_name, &after],
        )
        .unwrap()
        .map(|r| r.get(0))
    })
    .unwrap_or_else(|| panic!("no execution of {api_name} after {after} was queued"))
}

/// Execution id of every call of `api_name`, in the order the calls arrived.
fn owners(c: &mut postgres::Client, api_name: &str) -> Vec<Option<i64>> {
    c.query(
        "SELECT e.execution_id FROM sc.webhook_events e JOIN sc.connectors k ON k.id = e.connector_id
          WHERE k.api_name = $1 ORDER BY e.id",
        &[&api_name],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn calls_pending_across_a_server_restart_are_processed_once_after_it() {
    let mut c = connect_ready();
    roles(&mut c);
    let before = orders_connector(&mut c, "itest_hook_restart", "itest_restart_orders");
    let claims = json!({"sc_connector": "itest_hook_restart"});
    let order = |n: u32| format!("{{\"order\": {n}, \"sku\": \"S-{n}\"}}");
    // The first call is a batch at once; the next three wait for the 30 s cadence…
    assert_eq!(post(&mut c, "itest_sender", claims.clone(), "json", &order(1)).status, 202);
    let first = next_execution(&mut c, "itest_hook_restart", before);
    assert_eq!(wait(&mut c, first), "succeeded", "{:?}", field(&mut c, first, "error"));
    for n in 2..=4 {
        assert_eq!(post(&mut c, "itest_sender", claims.clone(), "json", &order(n)).status, 202);
    }
    assert_eq!(owners(&mut c, "itest_hook_restart"), [Some(first), None, None, None]);
    // …and the server restarts while they are pending.
    drop(c);
    restart_server(&std::env::var("SC_TEST_PGDATA").expect("SC_TEST_PGDATA"));
    let mut c = reconnect(std::time::Duration::from_secs(60));
    let second = next_execution(&mut c, "itest_hook_restart", first);
    assert_eq!(wait(&mut c, second), "succeeded", "{:?}", field(&mut c, second, "error"));
    assert_eq!(owners(&mut c, "itest_hook_restart"), [Some(first), Some(second), Some(second), Some(second)]);
    let loaded: Vec<String> = c
        .query("SELECT order_no FROM public.itest_restart_orders ORDER BY order_no", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(loaded, ["1", "2", "3", "4"], "every call loaded once");
    c.batch_execute("SELECT sc_set_status('itest_hook_restart', 'inactive')").unwrap();
}

#[test]
fn a_call_committed_while_a_batch_is_cut_waits_for_the_next_batch() {
    let mut c = connect_ready();
    roles(&mut c);
    let before = orders_connector(&mut c, "itest_hook_race", "itest_race_orders");
    let claims = json!({"sc_connector": "itest_hook_race"});
    // A sender's call whose transaction is still open while the launcher cuts a batch.
    let mut slow = connect();
    slow.batch_execute(
        "BEGIN;
         SELECT set_config('role', 'itest_sender', true),
                set_config('request.jwt.claims', '{\"role\": \"itest_sender\", \"sc_connector\": \"itest_hook_race\"}', true);
         SELECT sc_api.webhook('{\"order\": 2, \"sku\": \"late\"}'::json);",
    )
    .unwrap();
    assert_eq!(post(&mut c, "itest_sender", claims, "json", "{\"order\": 1, \"sku\": \"first\"}").status, 202);
    let first = next_execution(&mut c, "itest_hook_race", before);
    slow.batch_execute("COMMIT").unwrap();
    assert_eq!(wait(&mut c, first), "succeeded", "{:?}", field(&mut c, first, "error"));
    // The open call was not visible to the cut: it is not in the batch, and not lost.
    // (It took its id first, in the open transaction: calls are listed by id.)
    assert_eq!(owners(&mut c, "itest_hook_race"), [None, Some(first)]);
    // It becomes the next batch once the cadence has passed, and only that one.
    let second = next_execution(&mut c, "itest_hook_race", first);
    assert_eq!(wait(&mut c, second), "succeeded", "{:?}", field(&mut c, second, "error"));
    assert_eq!(owners(&mut c, "itest_hook_race"), [Some(second), Some(first)]);
    let loaded: Vec<(String, String)> = c
        .query("SELECT order_no, sku FROM public.itest_race_orders ORDER BY order_no", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(loaded, [("1".into(), "first".into()), ("2".into(), "late".into())]);
    c.batch_execute("SELECT sc_set_status('itest_hook_race', 'inactive')").unwrap();
}

#[test]
fn pending_calls_become_one_batch_that_a_webhook_execution_loads() {
    let mut c = connect_ready();
    roles(&mut c);
    let before = orders_connector(&mut c, "itest_hooks", "itest_hook_orders");
    let claims = json!({"sub": "shop", "sc_connector": "itest_hooks"});
    for i in 1..=3 {
        let body = format!("{{\"order\": {i}, \"sku\": \"S-{i}\"}}");
        assert_eq!(post(&mut c, "itest_sender", claims.clone(), "json", &body).status, 202);
    }
    // The launcher cuts the batch within its 5 s backstop and starts it.
    let id: i64 = poll(std::time::Duration::from_secs(60), || {
        c.query_opt(
            "SELECT x.id FROM sc.executions x JOIN sc.connectors k ON k.id = x.connector_id
              WHERE k.api_name = 'itest_hooks' AND x.trigger = 'webhook' AND x.id > $1 ORDER BY x.id DESC LIMIT 1",
            &[&before],
        )
        .unwrap()
        .map(|r| r.get(0))
    })
    .expect("a webhook execution is queued");
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    let in_batch: i64 =
        c.query_one("SELECT count(*) FROM sc.webhook_events WHERE execution_id = $1", &[&id]).unwrap().get(0);
    assert_eq!(in_batch, 3, "every pending call is in the batch");
    let loaded: Vec<(String, String)> = c
        .query("SELECT order_no, sku FROM public.itest_hook_orders ORDER BY order_no", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(loaded, [("1".into(), "S-1".into()), ("2".into(), "S-2".into()), ("3".into(), "S-3".into())]);
    // A call posted now waits for the cadence (30 s) although the launcher
    // looks every 5 s: it is still pending after more than one look.
    assert_eq!(post(&mut c, "itest_sender", claims, "json", "{\"order\": 4}").status, 202);
    std::thread::sleep(std::time::Duration::from_secs(7));
    let pending: i64 = c
        .query_one(
            "SELECT count(*) FROM sc.webhook_events e JOIN sc.connectors k ON k.id = e.connector_id
              WHERE k.api_name = 'itest_hooks' AND e.execution_id IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(pending, 1);
    c.batch_execute(
        "SELECT sc_set_status('itest_hooks', 'inactive');
         DELETE FROM sc.webhook_events WHERE execution_id IS NULL;",
    )
    .unwrap();
}

#[test]
fn a_killed_batch_keeps_its_calls_and_later_calls_form_the_next_batch() {
    let mut c = connect_ready();
    roles(&mut c);
    save(
        &mut c,
        &json!({
            "api_name": "itest_hook_kill", "name": "kill", "type": "webhook", "status": "operational",
            "settings": {"cadence": "30 seconds"},
            // Slow on purpose: the worker is killed while the SQL runs.
            "sql": "CREATE TABLE output.o ENGINE = Memory AS
                      SELECT toString(count()) AS x FROM input.webhooks_raw, numbers(100000000000)",
            "variables": [{"name": "x", "type": "string"}]
        }),
    );
    let claims = json!({"sc_connector": "itest_hook_kill"});
    for body in ["{\"n\": 1}", "{\"n\": 2}"] {
        assert_eq!(post(&mut c, "itest_sender", claims.clone(), "json", body).status, 202);
    }
    let (id, pid): (i64, i32) = poll(std::time::Duration::from_secs(60), || {
        c.query_opt(
            "SELECT id, worker_pid FROM sc.executions
              WHERE connector_api_name = 'itest_hook_kill' AND stage = 'sql' AND worker_pid IS NOT NULL",
            &[],
        )
        .unwrap()
        .map(|r| (r.get(0), r.get(1)))
    })
    .expect("the batch's execution reaches the SQL stage");
    // SAFETY: sending a signal to a process of the test cluster.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    await_crash_restart(c);
    let mut c = reconnect(std::time::Duration::from_secs(60));
    let status = poll(std::time::Duration::from_secs(60), || {
        let s = field(&mut c, id, "status")?;
        (s != "running").then_some(s)
    });
    assert_eq!(status.as_deref(), Some("failed"));
    // Its calls stay attached to it (visible, to be re-run), none went back to pending.
    let attached: i64 =
        c.query_one("SELECT count(*) FROM sc.webhook_events WHERE execution_id = $1", &[&id]).unwrap().get(0);
    assert_eq!(attached, 2);
    // A call after the restart is the next batch, alone, once the cadence has passed.
    assert_eq!(post(&mut c, "itest_sender", claims, "json", "{\"n\": 3}").status, 202);
    let next: i64 = poll(std::time::Duration::from_secs(60), || {
        c.query_opt("SELECT id FROM sc.executions WHERE connector_api_name = 'itest_hook_kill' AND id > $1", &[&id])
            .unwrap()
            .map(|r| r.get(0))
    })
    .expect("the next batch is queued after the cadence");
    let bodies: Vec<String> = c
        .query("SELECT body FROM sc.webhook_events WHERE execution_id = $1 ORDER BY id", &[&next])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(bodies, ["{\"n\": 3}"]);
    c.execute("SELECT sc_cancel($1)", &[&next]).unwrap();
    c.batch_execute("SELECT sc_set_status('itest_hook_kill', 'inactive')").unwrap();
}

#[test]
fn the_webhook_example_loads_orders_and_their_lines() {
    let mut c = connect_ready();
    c.batch_execute(
        "DROP TABLE IF EXISTS public.shop_orders, public.shop_order_lines;
         SET client_min_messages = warning;
         SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'webhook_orders';",
    )
    .unwrap();
    c.batch_execute(include_str!("../../../examples/webhook_orders/schema.sql")).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../examples/webhook_orders/connector.json")).unwrap();
    save(&mut c, &doc);
    let before: i64 = c.query_one("SELECT coalesce(max(id), 0) FROM sc.executions", &[]).unwrap().get(0);
    c.batch_execute(include_str!("../../../examples/webhook_orders/post_samples.sql")).unwrap();
    let id: i64 = poll(std::time::Duration::from_secs(60), || {
        c.query_opt(
            "SELECT x.id FROM sc.executions x JOIN sc.connectors k ON k.id = x.connector_id
              WHERE k.api_name = 'webhook_orders' AND x.id > $1 ORDER BY x.id DESC LIMIT 1",
            &[&before],
        )
        .unwrap()
        .map(|r| r.get(0))
    })
    .expect("the batch is queued");
    assert_eq!(wait(&mut c, id), "succeeded", "{:?}", field(&mut c, id, "error"));
    let orders: Vec<(String, Option<String>, Option<String>)> = c
        .query("SELECT order_id, email, total::text FROM public.shop_orders ORDER BY order_id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        orders,
        [
            ("A-1001".into(), Some("ann@example.com".into()), Some("45.00".into())),
            ("A-1002".into(), Some("bo@example.com".into()), Some("9.90".into()))
        ]
    );
    let lines: Vec<(String, String, i32)> = c
        .query("SELECT order_id, sku, qty FROM public.shop_order_lines ORDER BY order_id, sku", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        lines,
        [
            ("A-1001".into(), "CUP-3".into(), 1),
            ("A-1001".into(), "TEA-1".into(), 3),
            ("A-1002".into(), "TEA-2".into(), 3)
        ]
    );
    c.batch_execute("SELECT sc_set_status('webhook_orders', 'inactive')").unwrap();
}

#[test]
fn a_batch_is_re_run_from_its_calls_which_stay_with_it() {
    let mut c = connect_ready();
    roles(&mut c);
    let before = orders_connector(&mut c, "itest_hook_rerun", "itest_rerun_orders");
    let claims = json!({"sc_connector": "itest_hook_rerun"});
    for n in 1..=2 {
        let body = format!("{{\"order\": {n}, \"sku\": \"S-{n}\"}}");
        assert_eq!(post(&mut c, "itest_sender", claims.clone(), "json", &body).status, 202);
    }
    let batch = next_execution(&mut c, "itest_hook_rerun", before);
    assert_eq!(wait(&mut c, batch), "succeeded", "{:?}", field(&mut c, batch, "error"));
    c.batch_execute("DELETE FROM public.itest_rerun_orders").unwrap();
    let again: i64 = c.query_one("SELECT sc_rerun($1)", &[&batch]).unwrap().get(0);
    assert_eq!(wait(&mut c, again), "succeeded", "{:?}", field(&mut c, again, "error"));
    let loaded: i64 = c.query_one("SELECT count(*) FROM public.itest_rerun_orders", &[]).unwrap().get(0);
    assert_eq!(loaded, 2, "the batch's calls loaded again");
    assert_eq!(owners(&mut c, "itest_hook_rerun"), [Some(batch), Some(batch)], "each call stays with its batch");
    // The report says which batch was the input.
    let bytes: Vec<u8> = c.query_one("SELECT sc_report($1)", &[&again]).unwrap().get(0);
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let summary = book.worksheet_range("Summary").unwrap();
    let fact = |name: &str| summary.rows().find(|r| r[0] == name).map(|r| r[1].to_string());
    assert_eq!(
        fact("Input"),
        Some(format!("2 webhook calls, the batch of execution {batch} (sc.webhook_events.execution_id = {batch})"))
    );
    assert_eq!(fact("Re-run of"), Some(batch.to_string()));
    c.batch_execute("SELECT sc_set_status('itest_hook_rerun', 'inactive')").unwrap();
}
