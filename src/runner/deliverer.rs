//! The deliveries worker: sends the "execution ended" webhooks queued in
//! `sc.ended_webhook_deliveries`, outside every execution.
//!
//! The HTTP requests run on threads of their own (they never touch
//! PostgreSQL); this process only reads what is due and records results,
//! each in a short transaction. At most [`IN_FLIGHT`] requests run at once
//! and at most [`PER_HOST`] to one host, and every request is bounded by
//! `smartconnector.ended_webhook_timeout_s`, so a slow or dead receiver can
//! delay neither an execution, nor the launcher, nor the other receivers.
//! The host is checked against `smartconnector.allowed_hosts` before every
//! attempt (a changed setting applies), redirects are not followed, and a
//! delivery lost in flight by a crash or restart is simply due again: at
//! least once.
use crate::catalog::deliveries::{self, Due, Recorded};
use crate::postgres::{pin_search_path, transaction};
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use sc_core::ended::{self, Attempt, Next};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

/// Most requests in flight.
const IN_FLIGHT: usize = 8;
/// Most requests in flight to one host.
const PER_HOST: usize = 2;

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn sc_deliverer_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(Some(&super::database()), None);
    if let Err(e) = pin_search_path() {
        warning!("smartconnector deliveries: cannot set its search_path: {e}");
    }
    let (done_tx, done_rx) = mpsc::channel::<(i64, Attempt)>();
    // Delivery id → (host, attempts before this one).
    let mut in_flight: HashMap<i64, (String, i32)> = HashMap::new();
    loop {
        if BackgroundWorker::sighup_received() {
            // SAFETY: re-reads postgresql.conf, as every process does on SIGHUP.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        while let Ok((id, attempt)) = done_rx.try_recv() {
            if let Some((_, before)) = in_flight.remove(&id) {
                record(id, before, &attempt);
            }
        }
        if in_flight.len() < IN_FLIGHT
            && matches!(transaction(|| super::installed("sc.ended_webhook_deliveries")), Ok(true))
        {
            start_due(&mut in_flight, &done_tx);
        }
        let nap = if in_flight.is_empty() { Duration::from_secs(1) } else { Duration::from_millis(100) };
        if !BackgroundWorker::wait_latch(Some(nap)) {
            break;
        }
    }
    // SAFETY: the normal way for a background worker to end (1: restarted if it was killed).
    unsafe { pg_sys::proc_exit(1) };
}

/// Starts the due deliveries there is room for.
fn start_due(in_flight: &mut HashMap<i64, (String, i32)>, done: &mpsc::Sender<(i64, Attempt)>) {
    let busy: Vec<i64> = in_flight.keys().copied().collect();
    let due = match transaction(move || deliveries::due(64, busy)) {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return warning!("smartconnector deliveries: cannot read what is due: {e}"),
        Err(e) => return warning!("smartconnector deliveries: cannot read what is due: {e}"),
    };
    let allowed = crate::gucs::allowed_hosts();
    for d in due {
        if in_flight.len() >= IN_FLIGHT {
            break;
        }
        let Some((host, _)) = ended::host_port(&d.url) else {
            give_up(d.id, &format!("{} is not an http(s) URL", d.url));
            continue;
        };
        if !ended::host_allowed(&d.url, &allowed) {
            give_up(d.id, &format!("host {host} is not in smartconnector.allowed_hosts"));
            continue;
        }
        if in_flight.values().filter(|(h, _)| *h == host).count() >= PER_HOST {
            continue; // its turn comes when one to that host ends
        }
        let key = match &d.secret {
            None => None,
            Some(name) => match transaction(|| crate::catalog::secrets::signing_key(name)) {
                Ok(Ok(Some(k))) => Some(k),
                _ => {
                    give_up(d.id, &format!("secret \"{name}\" (ended_webhook_secret) no longer exists"));
                    continue;
                }
            },
        };
        in_flight.insert(d.id, (host, d.attempts));
        let timeout = Duration::from_secs(crate::gucs::ENDED_WEBHOOK_TIMEOUT_S.get().max(1) as u64);
        let tx = done.clone();
        let id = d.id;
        let started = std::thread::Builder::new().name(format!("sc-delivery-{id}")).spawn(move || {
            // Whatever happens, a result comes back (else the delivery would stay in flight).
            let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| post(&d, key.as_deref(), timeout)))
                .unwrap_or_else(|_| Attempt::Error("the HTTP client failed unexpectedly".into()));
            let _ = tx.send((d.id, attempt));
        });
        if let Err(e) = started {
            in_flight.remove(&id);
            warning!("smartconnector deliveries: cannot start a thread: {e}");
            break;
        }
    }
}

/// One POST (on a thread of its own: no PostgreSQL here).
fn post(d: &Due, key: Option<&str>, timeout: Duration) -> Attempt {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent("smartconnector")
        .build()
        .into();
    let mut req =
        agent.post(&d.url).header("Content-Type", "application/json").header(ended::DELIVERY_HEADER, d.id.to_string());
    if let Some(key) = key {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |t| t.as_secs() as i64);
        req = req
            .header(ended::TIMESTAMP_HEADER, now.to_string())
            .header(ended::SIGNATURE_HEADER, ended::signature(key.as_bytes(), now, d.body.as_bytes()));
    }
    match req.send(d.body.as_bytes()) {
        Ok(resp) => Attempt::Status(resp.status().as_u16()),
        Err(e) => Attempt::Error(e.to_string()),
    }
}

/// Records an attempt and what follows from it.
fn record(id: i64, before: i32, attempt: &Attempt) {
    let first = Duration::from_secs(crate::gucs::ENDED_WEBHOOK_FIRST_RETRY_S.get().max(1) as u64);
    let next = ended::next(before as u32 + 1, attempt, first);
    let (status, error) = match attempt {
        Attempt::Status(s) => (Some(i32::from(*s)), (!(200..300).contains(s)).then(|| format!("HTTP {s}"))),
        Attempt::Error(e) => (None, Some(e.clone())),
    };
    let reason = match &next {
        Next::GiveUp(r) => Some(r.clone()),
        _ => None,
    };
    let r = Recorded {
        status,
        error: error.as_deref(),
        retry_in_s: match next {
            Next::RetryIn(d) => Some(d.as_secs_f64()),
            _ => None,
        },
        delivered: next == Next::Delivered,
        given_up: reason.as_deref(),
    };
    if let Err(e) =
        transaction(|| deliveries::record(id, &r)).map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string()))
    {
        warning!("smartconnector deliveries: cannot record delivery {id}: {e}");
    }
}

/// Ends a delivery that cannot be attempted, saying why.
fn give_up(id: i64, why: &str) {
    let why = why.to_owned();
    let done = transaction(move || deliveries::give_up(id, &why));
    if let Err(e) = done.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
        warning!("smartconnector deliveries: cannot record delivery {id}: {e}");
    }
}
