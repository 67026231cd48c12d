-- Function privileges, applied after every function exists. Nothing is
-- executable by PUBLIC; each role gets what SPEC §11 gives it.
REVOKE ALL ON FUNCTION sc_create_connector(jsonb), sc_update_connector(text, jsonb),
    sc_export_connector(text), sc_import_connector(jsonb, text), sc_duplicate_connector(text, text),
    sc_drop_connector(text), sc_set_status(text, text), sc_set_secret(text, text, jsonb),
    sc_drop_secret(text), sc_run(text, bytea, text, jsonb, boolean, boolean), sc_wait(bigint, interval),
    sc_cancel(bigint), sc_report(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sc_create_connector(jsonb), sc_update_connector(text, jsonb),
    sc_import_connector(jsonb, text), sc_duplicate_connector(text, text), sc_drop_connector(text),
    sc_set_status(text, text), sc_set_secret(text, text, jsonb), sc_drop_secret(text) TO sc_admin;
GRANT EXECUTE ON FUNCTION sc_export_connector(text), sc_run(text, bytea, text, jsonb, boolean, boolean),
    sc_wait(bigint, interval), sc_cancel(bigint), sc_report(bigint) TO sc_operator;

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
