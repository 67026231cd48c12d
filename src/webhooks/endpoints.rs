//! Signed endpoints (SPEC §9): a webhook connector whose document declares
//! `settings.webhook_signature` gets its own function `sc_api.<api_name>`,
//! which PostgREST exposes as `POST /rpc/<api_name>` to its anonymous role
//! `sc_webhook_anon`; the call is stored only when its HMAC signature over
//! the raw body verifies (`sc_core::signature`).
use crate::catalog::secrets;
use crate::error::ScResult;
use crate::postgres::as_superuser;
use pgrx::prelude::*;
use sc_core::document::{ConnectorDocument, ConnectorType, WebhookSignature};
use serde_json::Value;

/// Creates, replaces or drops the connector's signed endpoint to match its
/// saved document (None: the connector is gone), in the saving transaction.
pub fn sync(api_name: &str, doc: Option<&ConnectorDocument>) -> ScResult<()> {
    let wanted =
        doc.is_some_and(|d| d.connector_type == ConnectorType::Webhook && d.settings.webhook_signature.is_some());
    as_superuser(|| Spi::run_with_args("SELECT sc.sync_webhook_endpoint($1, $2)", &[api_name.into(), wanted.into()]))?;
    Ok(())
}

/// Why a signed call is refused, or None when its signature verifies.
/// `spec` is the connector's `settings.webhook_signature`, `headers` the
/// request's headers as PostgREST passes them (lower-case names).
pub fn refusal(spec: &Value, headers: Option<&Value>, body: &str, now_unix: i64) -> ScResult<Option<String>> {
    let Ok(spec) = serde_json::from_value::<WebhookSignature>(spec.clone()) else {
        pgrx::warning!("a signed webhook call was refused: the connector's settings.webhook_signature does not parse");
        return Ok(Some("the connector cannot check signatures now".into()));
    };
    let Some(key) = secrets::signing_key(&spec.secret)? else {
        // The sender learns nothing about the configuration; the log says what is wrong.
        pgrx::warning!(
            "a signed webhook call was refused: secret \"{}\" named by settings.webhook_signature does not exist or has no `key` value",
            spec.secret
        );
        return Ok(Some("the connector cannot check signatures now".into()));
    };
    let header = headers.and_then(|h| h.get(spec.header.to_ascii_lowercase())).and_then(Value::as_str);
    Ok(sc_core::signature::verify(&spec, key.as_bytes(), header, body.as_bytes(), now_unix).err().map(|r| r.0))
}
