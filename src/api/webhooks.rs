//! The signature check the ingest function (sql/webhooks.sql) calls for a
//! signed endpoint. In schema sc, not executable by PUBLIC (sql/finalize.sql);
//! it runs as the catalog's owner.

#[pgrx::pg_schema]
mod sc {
    use crate::error::OrRaise;
    use crate::webhooks::endpoints;
    use pgrx::prelude::*;
    use pgrx::JsonB;

    /// NULL when the call's signature verifies, else why it is refused.
    #[pg_extern(volatile)]
    fn webhook_signature_refusal(spec: JsonB, headers: Option<JsonB>, body: &str) -> Option<String> {
        // SAFETY: reads the current transaction's start time, always set inside a transaction.
        let started = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
        // Microseconds since 2000-01-01 → seconds since 1970-01-01.
        let now_unix = started.div_euclid(1_000_000) + 946_684_800;
        endpoints::refusal(&spec.0, headers.as_ref().map(|h| &h.0), body, now_unix).or_raise()
    }
}
