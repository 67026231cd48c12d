//! Schedules (SPEC §10): one pg_cron job per scheduled connector, named
//! `sc:<api_name>`, kept in step with the connector by every save in the
//! saving transaction (a rolled-back save leaves the job as it was). The job
//! runs `SELECT sc.run_scheduled('<api_name>')` in smartconnector's database
//! as the connector's owner, and is active only while the connector is live
//! (`operational`, `needs_attention`).
use crate::catalog::connectors::{self, Lock, Stored};
use crate::catalog::executions::{self, NewExecution};
use crate::error::{ScError, ScResult};
use crate::postgres::{as_superuser, role_facts, subtransaction, Changes};
use pgrx::prelude::*;
use sc_core::cron::Schedule;
use sc_core::document::{parse_document, ConnectorDocument, ConnectorType, Problem};

const PATH: &str = "settings.schedule";

/// Creates, changes, pauses or removes the pg_cron job of connector
/// `api_name` to match its stored row (none once it is dropped).
pub fn sync(api_name: &str) -> ScResult<()> {
    let stored = connectors::find(api_name, Lock::None)?;
    let wanted = stored.as_ref().and_then(|s| {
        let doc = parse_document(&s.document).ok()?;
        let schedule = doc.settings.schedule.filter(|_| doc.connector_type == ConnectorType::Scheduler)?;
        Some((schedule, s.owner.clone(), s.is_live()))
    });
    let job_name = format!("sc:{api_name}");
    as_superuser(|| {
        if !pg_cron_here()? {
            return match wanted {
                None => Ok(()),
                Some(_) => Err(no_pg_cron()),
            };
        }
        let existing = Spi::get_one_with_args::<i64>(
            "SELECT (SELECT jobid FROM cron.job WHERE jobname = $1 LIMIT 1)",
            &[job_name.as_str().into()],
        )?;
        let Some((schedule, owner, live)) = wanted else {
            if let Some(id) = existing {
                Spi::run_with_args("SELECT cron.unschedule($1::bigint)", &[id.into()])?;
            }
            return Ok(());
        };
        check_owner(&owner)?;
        // api_name is `^[a-z][a-z0-9_]{0,62}$` (checked by the document and the catalog): safe in a literal.
        let command = format!("SELECT sc.run_scheduled('{api_name}')");
        let database = crate::gucs::database();
        // The same job, whether pg_cron has it already (by id) or makes it now (by name).
        let (sql, job): (&str, pgrx::datum::DatumWithOid) = match existing {
            Some(id) => ("SELECT cron.alter_job($1::bigint, $2, $3, $4, $5, $6)", id.into()),
            None => ("SELECT cron.schedule_in_database($1, $2, $3, $4, $5, $6)", job_name.as_str().into()),
        };
        let args = [
            job,
            schedule.as_str().into(),
            command.as_str().into(),
            database.as_str().into(),
            owner.as_str().into(),
            live.into(),
        ];
        let written = subtransaction(Changes::Keep, || Spi::run_with_args(sql, &args).map_err(|e| e.to_string()));
        match written {
            Ok(()) => Ok(()),
            // pg_cron's own grammar differs between versions (`N seconds`, `$` came in 1.5).
            Err(why) if why.contains("invalid schedule") => Err(ScError::InvalidDocument(vec![Problem::new(
                PATH,
                format!("`{schedule}` is not a schedule the pg_cron of this server accepts ({why})"),
            )
            .with_hint(format!(
                "pg_cron {} reads five cron fields and @hourly, @daily, @weekly, @monthly, @yearly; `N seconds` and `$` need pg_cron 1.5 or later",
                pg_cron_version()?.unwrap_or_default()
            ))])),
            Err(why) => Err(ScError::Internal(format!("pg_cron refused the job {job_name}: {why}"))),
        }
    })
}

/// The time a tick running now fired: pg_cron starts a job at the minute its
/// schedule fires (at the second, for `N seconds`), and the job's
/// transaction a moment later. None when the connector has no schedule.
pub fn fired_now(doc: &ConnectorDocument) -> ScResult<Option<String>> {
    let Some(schedule) = doc.settings.schedule.as_deref().filter(|_| doc.connector_type == ConnectorType::Scheduler)
    else {
        return Ok(None);
    };
    let unit = match Schedule::parse(schedule) {
        Ok(Schedule::Every(_)) => "second",
        _ => "minute",
    };
    Ok(Spi::get_one_with_args::<String>("SELECT pg_catalog.date_trunc($1, pg_catalog.now())::text", &[unit.into()])?)
}

/// One tick, fired at `fired_at`, of a live scheduled connector whose row
/// the caller holds locked: queues an execution with trigger `schedule`, or
/// records in `sc.skipped_ticks` why not (the connector's `overlap`, or a
/// run for the same fire time already queued). The execution id, or None.
pub fn tick(stored: &Stored, doc: &ConnectorDocument, started_by: &str, fired_at: &str) -> ScResult<Option<i64>> {
    let overlap = doc.settings.overlap.unwrap_or_default();
    let blocker = match executions::fired(stored.id, fired_at)? {
        // pg_cron and the launcher's catch-up may both see one fire time: it runs once.
        Some(id) => Some((id, format!("execution {id} already ran for this time"))),
        None => executions::blocking_tick(stored.id, overlap)?,
    };
    if let Some((id, reason)) = blocker {
        executions::skip_tick(stored.id, fired_at, &reason, id)?;
        pgrx::notice!("connector \"{}\": tick of {fired_at} skipped ({reason})", doc.api_name);
        return Ok(None);
    }
    let id = executions::insert(&NewExecution {
        connector_id: stored.id,
        api_name: &doc.api_name,
        definition: &stored.document,
        trigger: "schedule",
        started_by,
        run_as: &stored.owner,
        dry_run: false,
        diff_check: None,
        params: None,
        file_name: None,
        file_size: None,
        fired_at: Some(fired_at),
        rerun_of: None,
        only_failed: false,
    })?;
    Ok(Some(id))
}

/// At server start (the launcher, before anything else): a live scheduled
/// connector whose schedule fired while the server was down runs once, for
/// the latest time it missed, not once per missed tick. A connector that has
/// never run on its schedule has missed nothing. Returns the runs queued.
pub fn catch_up() -> ScResult<usize> {
    if !pg_cron_here()? {
        return Ok(0);
    }
    let due: Vec<(String, i64)> = Spi::connect(|client| {
        let rows = client.select(
            "SELECT c.api_name, (extract(epoch FROM greatest(
                        (SELECT max(x.fired_at) FROM sc.executions x WHERE x.connector_id = c.id),
                        (SELECT max(t.fired_at) FROM sc.skipped_ticks t WHERE t.connector_id = c.id))) * 1000000)::bigint
               FROM sc.connectors c JOIN sc.cron_jobs() j ON j.api_name = c.api_name
              WHERE j.active AND c.type = 'scheduler' AND c.status IN ('operational', 'needs_attention')",
            None,
            &[],
        )?;
        let mut out = Vec::new();
        for row in rows {
            if let (Some(name), Some(last)) = (row.get::<String>(1)?, row.get::<i64>(2)?) {
                out.push((name, last));
            }
        }
        Ok::<_, pgrx::spi::Error>(out)
    })?;
    let now_us = Spi::get_one::<i64>("SELECT (extract(epoch FROM pg_catalog.now()) * 1000000)::bigint")?.unwrap_or(0);
    let mut queued = 0;
    for (api_name, last_us) in due {
        let Some(stored) = connectors::find(&api_name, Lock::ForUpdate)? else { continue };
        let Ok(doc) = parse_document(&stored.document) else { continue };
        let Some(schedule) = doc.settings.schedule.as_deref().and_then(|s| Schedule::parse(s).ok()) else { continue };
        let Some(missed_us) = schedule.latest_missed_micros(last_us, now_us) else { continue };
        let fired_at = Spi::get_one_with_args::<String>(
            "SELECT pg_catalog.to_timestamp($1::float8 / 1000000)::text",
            &[missed_us.into()],
        )?
        .unwrap_or_default();
        if tick(&stored, &doc, &stored.owner, &fired_at)?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

/// pg_cron runs a job as its user: a scheduled connector's owner must be a
/// role that can log in and is not a superuser.
fn check_owner(owner: &str) -> ScResult<()> {
    let facts = role_facts(owner)?;
    let problem = match facts {
        None => Some(
            Problem::new(PATH, format!("the connector's owner \"{owner}\" no longer exists, so nothing can run as it"))
                .with_hint("Import the connector again as an existing role (it becomes the owner)."),
        ),
        Some(f) if f.superuser => Some(
            Problem::new(
                PATH,
                format!("the connector's owner \"{owner}\" is a superuser; a schedule runs as the owner, never as a superuser"),
            )
            .with_hint("Save the connector as a role that is not a superuser (SET ROLE that_role; then sc_import_connector(…, 'replace')): it becomes the owner."),
        ),
        Some(f) if !f.login => Some(
            Problem::new(PATH, format!("pg_cron runs jobs as the connector's owner \"{owner}\", which cannot log in"))
                .with_hint(format!("ALTER ROLE \"{owner}\" LOGIN; (pg_cron connects as the job's role)")),
        ),
        Some(_) => None,
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(ScError::InvalidDocument(vec![p])),
    }
}

/// True when pg_cron is loaded at server start and created in this database.
fn pg_cron_here() -> ScResult<bool> {
    Ok(Spi::get_one::<bool>(
        "SELECT pg_catalog.to_regclass('cron.job') IS NOT NULL
            AND 'pg_cron' = ANY (pg_catalog.string_to_array(pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries'), ' ', ''), ','))",
    )?
    .unwrap_or(false))
}

fn pg_cron_version() -> ScResult<Option<String>> {
    Ok(Spi::get_one::<String>(
        "SELECT (SELECT extversion::text FROM pg_catalog.pg_extension WHERE extname = 'pg_cron')",
    )?)
}

fn no_pg_cron() -> ScError {
    let database = crate::gucs::database();
    ScError::NotReady {
        message: format!("a scheduled connector needs pg_cron, which is not set up in database \"{database}\""),
        hint: format!(
            "Add to postgresql.conf: shared_preload_libraries = 'smartconnector,pg_cron' and cron.database_name = '{database}'; restart the server; then in database \"{database}\": CREATE EXTENSION pg_cron;"
        ),
    }
}
