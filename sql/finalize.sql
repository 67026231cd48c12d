-- Function privileges, applied after every function exists. Nothing is
-- executable by PUBLIC; each role gets what SPEC §11 gives it.
REVOKE ALL ON FUNCTION sc_create_connector(jsonb), sc_update_connector(text, jsonb),
    sc_export_connector(text), sc_import_connector(jsonb, text), sc_duplicate_connector(text, text),
    sc_drop_connector(text), sc_set_status(text, text), sc_set_secret(text, text, jsonb),
    sc_drop_secret(text), sc_run(text, bytea, text, jsonb, boolean, boolean), sc_wait(bigint, interval),
    sc_cancel(bigint), sc_report(bigint), sc_rerun(bigint, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sc_create_connector(jsonb), sc_update_connector(text, jsonb),
    sc_import_connector(jsonb, text), sc_duplicate_connector(text, text), sc_drop_connector(text),
    sc_set_status(text, text), sc_set_secret(text, text, jsonb), sc_drop_secret(text) TO sc_admin;
GRANT EXECUTE ON FUNCTION sc_export_connector(text), sc_run(text, bytea, text, jsonb, boolean, boolean),
    sc_wait(bigint, interval), sc_cancel(bigint), sc_report(bigint), sc_rerun(bigint, boolean, boolean) TO sc_operator;

-- Secrets: admins may list their names, never read a value; they are
-- written only through sc_set_secret and sc_drop_secret.
GRANT SELECT (name, kind, created_at, created_by, updated_at) ON sc.secrets TO sc_admin;

-- The signature check of signed webhook endpoints: only the ingest function calls it.
REVOKE ALL ON FUNCTION sc.webhook_signature_refusal(jsonb, jsonb, text) FROM PUBLIC;

-- Every scheduled connector in one place (SPEC §10): its schedule, its
-- pg_cron job, when it fires next, its last execution and its skipped ticks.
CREATE VIEW sc.schedules AS
SELECT c.api_name,
       c.status,
       c.document -> 'settings' ->> 'schedule' AS schedule,
       COALESCE(c.document -> 'settings' ->> 'overlap', 'skip') AS overlap,
       j.jobid,
       COALESCE(j.active, false) AS active,
       CASE WHEN j.active THEN sc.next_fire_time(j.schedule, now()) END AS next_fire_at,
       last.id AS last_execution_id,
       last.status AS last_status,
       last.trigger AS last_trigger,
       last.queued_at AS last_queued_at,
       last.ended_at AS last_ended_at,
       skipped.count AS skipped_ticks,
       skipped.last_fired_at AS last_skipped_at,
       skipped.last_reason AS last_skip_reason
  FROM sc.connectors c
  LEFT JOIN sc.cron_jobs() j ON j.api_name = c.api_name
  LEFT JOIN LATERAL (SELECT x.id, x.status, x.trigger, x.queued_at, x.ended_at FROM sc.executions x
                      WHERE x.connector_id = c.id ORDER BY x.id DESC LIMIT 1) last ON true
  LEFT JOIN LATERAL (SELECT count(*) AS count, max(t.fired_at) AS last_fired_at,
                            (array_agg(t.reason ORDER BY t.id DESC))[1] AS last_reason
                       FROM sc.skipped_ticks t WHERE t.connector_id = c.id) skipped ON true
 WHERE c.document -> 'settings' ? 'schedule';
COMMENT ON VIEW sc.schedules IS 'Scheduled connectors: schedule, pg_cron job (sc:<api_name>), next fire time (UTC), last execution, skipped ticks';
GRANT SELECT ON sc.schedules TO sc_operator;
REVOKE ALL ON FUNCTION sc.next_fire_time(text, timestamptz), sc.run_scheduled(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sc.next_fire_time(text, timestamptz), sc.run_scheduled(text) TO sc_operator;

-- What each function is for, as \df+ and pgAdmin show it.
COMMENT ON FUNCTION sc_create_connector(jsonb) IS 'Saves a new connector from its document (docs/connector.md), owned by the calling role; returns its api_name. Every problem of the document is reported at once.';
COMMENT ON FUNCTION sc_update_connector(text, jsonb) IS 'Replaces the document of a connector (same api_name); an omitted status keeps the current one.';
COMMENT ON FUNCTION sc_export_connector(text) IS 'The connector''s document with its current status, as sc_import_connector takes it.';
COMMENT ON FUNCTION sc_import_connector(jsonb, text) IS 'Saves a document from elsewhere: on_conflict skip (default) or replace; database checks decide operational or needs_attention. Returns {api_name, action, status, problems}.';
COMMENT ON FUNCTION sc_duplicate_connector(text, text) IS 'Copies a connector under a new api_name, in status setup, owned by the calling role.';
COMMENT ON FUNCTION sc_drop_connector(text) IS 'Removes a connector (refused while it has queued or running executions); its executions are kept.';
COMMENT ON FUNCTION sc_set_status(text, text) IS 'Sets a connector''s status: setup, operational, needs_attention or inactive (only the middle two run live, and have an active schedule).';
COMMENT ON FUNCTION sc_set_secret(text, text, jsonb) IS 'Creates or replaces a secret (credentials for the SQL stage, webhook signing keys); its values can never be read back.';
COMMENT ON FUNCTION sc_drop_secret(text) IS 'Drops a secret; false when there was none of that name.';
COMMENT ON FUNCTION sc_run(text, bytea, text, jsonb, boolean, boolean) IS 'Queues a run of a connector (input file for spreadsheet connectors, params, dry_run, diff_check); returns the execution id at once. A worker starts it when the caller commits.';
COMMENT ON FUNCTION sc_wait(bigint, interval) IS 'Waits until the execution ends and returns its final status; an error (57014) after timeout, the execution going on.';
COMMENT ON FUNCTION sc_rerun(bigint, boolean, boolean) IS 'Runs the connector (its current definition) again on the stored input of an ended execution: its file, webhook batch or schedule time; returns the new execution id (rerun_of names the one whose input it ran). With only_failed, only the SQL output rows that failed in that execution (a load step failed them, or skipped them for a missing related record) are validated and loaded again, without the SQL stage.';
COMMENT ON FUNCTION sc_cancel(bigint) IS 'Cancels a queued or running execution; false if it had already ended.';
COMMENT ON FUNCTION sc_report(bigint) IS 'The XLSX report of an ended execution. Save it from a shell: psql -Atc "SELECT encode(sc_report(<id>), ''base64'')" | base64 -d > report.xlsx';
COMMENT ON FUNCTION sc.next_fire_time(text, timestamptz) IS 'The first time after the given one at which a pg_cron schedule fires (UTC); NULL for one that never does.';
COMMENT ON FUNCTION sc.run_scheduled(text) IS 'One tick of a scheduled connector, called by its pg_cron job as the connector''s owner: the queued execution id, or NULL for a skipped tick (see sc.skipped_ticks).';
COMMENT ON FUNCTION sc.webhook_signature_refusal(jsonb, jsonb, text) IS 'Internal: why a signed webhook call is refused (NULL when its HMAC signature verifies).';
COMMENT ON FUNCTION sc.ingest_webhook(text, text) IS 'Internal: checks the caller of a webhook call and stores it (called by the sc_api functions).';
COMMENT ON FUNCTION sc.sync_webhook_endpoint(text, boolean) IS 'Internal: creates or drops the signed endpoint sc_api.<api_name> of a connector.';
COMMENT ON FUNCTION sc.webhook_sample_cap() IS 'How many calls an inactive webhook connector keeps as samples.';
COMMENT ON FUNCTION sc.skipped_tick_cap() IS 'How many skipped schedule ticks are kept per connector.';
COMMENT ON FUNCTION sc.cron_jobs() IS 'The pg_cron jobs of connectors (jobname sc:<api_name>), whoever owns them; nothing without pg_cron.';
COMMENT ON FUNCTION sc.forget_connector_rows() IS 'Internal trigger: removes a dropped connector''s webhook calls and diff-check store.';
COMMENT ON FUNCTION sc.refuse_deleting_busy_connector() IS 'Internal trigger: refuses deleting a connector that has queued or running executions.';

-- "Execution ended" webhook deliveries: operators see them (never the secret's value, only its name).
GRANT SELECT ON sc.ended_webhook_deliveries TO sc_operator;

-- Retention on demand: a DBA's (sc_admin's) operation.
REVOKE ALL ON FUNCTION sc.purge_batch(timestamptz, integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE sc_purge(interval, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sc.purge_batch(timestamptz, integer) TO sc_admin;
GRANT EXECUTE ON PROCEDURE sc_purge(interval, bigint) TO sc_admin;
