-- Schedules (SPEC §10): pg_cron runs each scheduled connector; what its
-- ticks did is kept here. Jobs are created, changed and removed by the saves
-- (src/schedules.rs); sc.schedules (sql/finalize.sql) shows them all.

-- Ticks that started nothing, and why (the connector's previous run was
-- still queued or running). Kept with their connector; at most
-- sc.skipped_tick_cap() per connector, the oldest dropped.
CREATE TABLE sc.skipped_ticks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id bigint NOT NULL REFERENCES sc.connectors (id) ON DELETE CASCADE,
    fired_at     timestamptz NOT NULL,
    reason       text NOT NULL,
    execution_id bigint REFERENCES sc.executions (id) ON DELETE SET NULL
);
CREATE INDEX skipped_ticks_connector_idx ON sc.skipped_ticks (connector_id, id);
COMMENT ON TABLE sc.skipped_ticks IS 'Schedule ticks that started no execution: the time the schedule fired, why, and the execution still queued or running';
GRANT SELECT ON sc.skipped_ticks TO sc_operator;

CREATE FUNCTION sc.skipped_tick_cap() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 1000';

-- The pg_cron jobs of connectors (jobname sc:<api_name>), whoever owns them;
-- nothing when pg_cron is not installed in this database. Runs as the
-- catalog's owner: pg_cron shows each role only its own jobs.
CREATE FUNCTION sc.cron_jobs() RETURNS TABLE (api_name text, jobid bigint, schedule text, active boolean, username text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.to_regclass('cron.job') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT substr(j.jobname, 4), j.jobid, j.schedule, j.active, j.username FROM cron.job j WHERE j.jobname LIKE ''sc:%''';
END $$;
REVOKE ALL ON FUNCTION sc.cron_jobs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sc.cron_jobs() TO sc_operator;
