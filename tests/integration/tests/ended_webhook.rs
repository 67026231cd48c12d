//! The "execution ended" webhook against a real HTTP receiver on 127.0.0.1:
//! body, headers and signature; retries after 5xx; a receiver that never
//! answers; a host that is not allowed.
use sc_integration::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver does with the n-th request.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Reads the request and never answers.
    Silent,
}

/// A request as the receiver got it.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    /// Answers the requests in turn with `answers` (the last one repeats).
    fn start(answers: Vec<Answer>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let seen = Arc::clone(&got);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                let answers = answers.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                    let mut headers = HashMap::new();
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                        }
                    }
                    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    let n = {
                        let mut all = seen.lock().unwrap();
                        all.push(Got { path, headers, body: String::from_utf8(body).unwrap() });
                        all.len()
                    };
                    match answers[(n - 1).min(answers.len() - 1)] {
                        Answer::Status(s) => {
                            let _ = write!(stream, "HTTP/1.1 {s} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                        }
                        Answer::Silent => std::thread::sleep(Duration::from_secs(60)),
                    }
                });
            }
        });
        Receiver { port, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/sc", self.port)
    }

    fn requests(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

fn set(c: &mut postgres::Client, guc: &str, value: Option<&str>) {
    set_setting(c, guc, value);
    // Let this backend (and the workers) take the new value.
    std::thread::sleep(Duration::from_millis(300));
}

fn doc(url: &str) -> serde_json::Value {
    serde_json::json!({
        "api_name": "itest_ended", "name": "itest_ended", "type": "spreadsheet", "status": "operational",
        "variables": [{"name": "email", "type": "email", "required": true}],
        "settings": {"ended_webhook": url, "ended_webhook_secret": "itest_ended_key"}
    })
}

/// (attempts, last_status, last_error, delivered, given up, next attempt pending) of the execution's delivery.
type State = (i32, Option<i32>, Option<String>, bool, bool, bool);

fn delivery(c: &mut postgres::Client, id: i64) -> Option<State> {
    c.query_opt(
        "SELECT attempts, last_status, last_error, delivered_at IS NOT NULL, given_up_at IS NOT NULL,
                next_attempt_at IS NOT NULL
           FROM sc.ended_webhook_deliveries WHERE execution_id = $1",
        &[&id],
    )
    .unwrap()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
}

fn run_once(c: &mut postgres::Client) -> i64 {
    let id = run_file(c, "itest_ended", b"email\nann@x.io\nnot an email\n", "people.csv");
    wait(c, id);
    id
}

#[test]
fn the_ended_webhook_is_signed_retried_bounded_and_only_sent_to_allowed_hosts() {
    let mut c = connect_ready();
    c.batch_execute(
        "SET client_min_messages = warning;
         SELECT sc_drop_connector(api_name) FROM sc.connectors WHERE api_name = 'itest_ended';
         SELECT sc_set_secret('itest_ended_key', 'generic', '{\"key\": \"receiver-s3cret\"}');",
    )
    .unwrap();
    let ok = Receiver::start(vec![Answer::Status(204)]);
    let flaky = Receiver::start(vec![Answer::Status(500), Answer::Status(503), Answer::Status(200)]);
    let silent = Receiver::start(vec![Answer::Silent]);
    let hosts = format!("127.0.0.1:{}, 127.0.0.1:{}, 127.0.0.1:{}", ok.port, flaky.port, silent.port);
    set(&mut c, "smartconnector.allowed_hosts", Some(&hosts));
    set(&mut c, "smartconnector.ended_webhook_timeout_s", Some("2"));
    set(&mut c, "smartconnector.ended_webhook_first_retry_s", Some("1"));

    // A host that is not allowed is refused when the connector is saved.
    let err = c.query_one("SELECT sc_create_connector($1)", &[&doc("http://127.0.0.2:9/x")]).unwrap_err();
    let text = err.as_db_error().map(|d| format!("{} {:?}", d.message(), d.detail())).unwrap_or_default();
    assert!(text.contains("smartconnector.allowed_hosts") && text.contains("settings.ended_webhook"), "{text}");

    // 1. Delivered at once: the body, its headers and the signature a receiver checks.
    save(&mut c, &doc(&ok.url()));
    let id = run_once(&mut c);
    let state = poll(Duration::from_secs(30), || delivery(&mut c, id).filter(|s| s.3)).expect("delivered");
    assert_eq!((state.0, state.1), (1, Some(204)));
    let got = ok.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/hooks/sc");
    assert_eq!(r.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["event"], "execution.ended");
    assert_eq!(body["execution_id"], id);
    assert_eq!(body["connector"], "itest_ended");
    let status: String = c.query_one("SELECT status FROM sc.executions WHERE id = $1", &[&id]).unwrap().get(0);
    assert_eq!(body["status"], status.as_str());
    assert_eq!(body["trigger"], "manual");
    assert_eq!(body["dry_run"], false);
    assert!(body["started_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    assert!(body["ended_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    assert_eq!(body["counts"]["variables (people_csv)"]["invalid"], 1, "{body}");
    assert_eq!(body["report"]["sql"], format!("SELECT sc_report({id})"));
    let delivery_id: i64 =
        c.query_one("SELECT id FROM sc.ended_webhook_deliveries WHERE execution_id = $1", &[&id]).unwrap().get(0);
    assert_eq!(r.headers["x-smartconnector-delivery"], delivery_id.to_string());
    // The receiver's check: HMAC-SHA256 over "<timestamp>.<body>" with the shared key.
    {
        use hmac::{Hmac, Mac};
        let ts = &r.headers["x-smartconnector-timestamp"];
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"receiver-s3cret").unwrap();
        mac.update(format!("{ts}.{}", r.body).as_bytes());
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r.headers["x-smartconnector-signature"], format!("sha256={hex}"));
        let age = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
            - ts.parse::<i64>().unwrap();
        assert!((0..120).contains(&age), "a fresh timestamp: {age} s old");
    }

    // 2. 500, then 503, then 200: delivered on the third attempt.
    save(&mut c, &doc(&flaky.url()));
    let id = run_once(&mut c);
    let state = poll(Duration::from_secs(60), || delivery(&mut c, id).filter(|s| s.3 || s.4)).expect("ended");
    assert_eq!((state.0, state.1, state.3), (3, Some(200), true), "{state:?}");
    assert_eq!(flaky.requests().len(), 3);
    let bodies: Vec<String> = flaky.requests().iter().map(|g| g.body.clone()).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every attempt sends the same bytes");

    // 3. A receiver that never answers: the execution is not held up; the attempt times out and waits to retry.
    save(&mut c, &doc(&silent.url()));
    let started = std::time::Instant::now();
    let id = run_once(&mut c);
    assert!(started.elapsed() < Duration::from_secs(30), "the execution ended on its own");
    let state = poll(Duration::from_secs(30), || delivery(&mut c, id).filter(|s| s.0 >= 1)).expect("an attempt");
    assert!(!state.3 && !state.4 && state.5, "not delivered, to be tried again: {state:?}");
    assert!(state.2.as_deref().is_some_and(|e| e.contains("timeout") || e.contains("timed out")), "{state:?}");
    // Meanwhile another receiver is served: one dead host does not hold up the rest.
    save(&mut c, &doc(&ok.url()));
    let other = run_once(&mut c);
    poll(Duration::from_secs(20), || delivery(&mut c, other).filter(|s| s.3)).expect("the other receiver got its call");

    // 4. A host no longer allowed at send time: given up, saying why.
    set(&mut c, "smartconnector.allowed_hosts", Some(&format!("127.0.0.1:{}", flaky.port)));
    let state = poll(Duration::from_secs(30), || delivery(&mut c, id).filter(|s| s.4)).expect("given up");
    assert!(!state.5);
    let reason: String = c
        .query_one("SELECT given_up_reason FROM sc.ended_webhook_deliveries WHERE execution_id = $1", &[&id])
        .unwrap()
        .get(0);
    assert!(reason.contains("not in smartconnector.allowed_hosts"), "{reason}");

    for guc in [
        "smartconnector.allowed_hosts",
        "smartconnector.ended_webhook_timeout_s",
        "smartconnector.ended_webhook_first_retry_s",
    ] {
        set(&mut c, guc, None);
    }
    c.batch_execute("SELECT sc_drop_connector('itest_ended'); SELECT sc_drop_secret('itest_ended_key')").unwrap();
}
