//! Functions in schema sc that smartconnector's own SQL calls: the signature
//! check of signed webhook endpoints (sql/webhooks.sql), the schedule tick of
//! pg_cron jobs and the next fire time of `sc.schedules` (sql/finalize.sql).
//! None is executable by PUBLIC (sql/finalize.sql).

#[pgrx::pg_schema]
mod sc {
    use crate::error::OrRaise;
    use crate::rules::runs;
    use crate::webhooks::endpoints;
    use pgrx::prelude::*;
    use pgrx::JsonB;

    /// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
    const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

    /// NULL when the call's signature verifies, else why it is refused.
    #[pg_extern(volatile)]
    fn webhook_signature_refusal(spec: JsonB, headers: Option<JsonB>, body: &str) -> Option<String> {
        // SAFETY: reads the current transaction's start time, always set inside a transaction.
        let started = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
        let now_unix = (started + PG_EPOCH_UNIX_US).div_euclid(1_000_000);
        endpoints::refusal(&spec.0, headers.as_ref().map(|h| &h.0), body, now_unix).or_raise()
    }

    /// One tick of a connector's schedule (its pg_cron job calls this as the
    /// connector's owner): the queued execution's id, NULL for a skipped tick.
    #[pg_extern(volatile)]
    fn run_scheduled(api_name: &str) -> Option<i64> {
        runs::scheduled(api_name).or_raise()
    }

    /// The first time after `after` at which `schedule` fires (UTC, as
    /// pg_cron reads it); NULL for a schedule that never fires or does not parse.
    #[pg_extern(stable)]
    fn next_fire_time(schedule: &str, after: TimestampWithTimeZone) -> Option<TimestampWithTimeZone> {
        let after_us = pg_sys::TimestampTz::from(after) + PG_EPOCH_UNIX_US;
        let next_us = sc_core::cron::Schedule::parse(schedule).ok()?.next_after_micros(after_us)?;
        TimestampWithTimeZone::try_from(next_us - PG_EPOCH_UNIX_US).ok()
    }
}
