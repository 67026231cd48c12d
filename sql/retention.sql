-- Retention: executions that ended before a cutoff lose their files, their
-- per-row outcomes and their processed webhook calls; the execution row
-- (status, counts, error, times) stays, with purged_at set. Done in small
-- batches, each its own transaction (the launcher daily, sc_purge on demand),
-- with plain DELETEs: no table rewrite, and autovacuum reclaims the space.
-- Only ended executions are touched, and rows locked by anyone are skipped,
-- so a purge never waits for, or blocks, a running execution.

CREATE FUNCTION sc.purge_batch(cutoff timestamptz, max_executions integer DEFAULT 20) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT pg_catalog.array_agg(id) INTO ids
      FROM (SELECT id FROM sc.executions
             WHERE purged_at IS NULL AND ended_at IS NOT NULL AND ended_at < cutoff
             ORDER BY ended_at
             LIMIT max_executions
             FOR UPDATE SKIP LOCKED) batch;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM sc.execution_files WHERE execution_id = ANY (ids);
    DELETE FROM sc.execution_row_batches WHERE execution_id = ANY (ids);
    DELETE FROM sc.webhook_events WHERE execution_id = ANY (ids);
    -- Deliveries still being tried stay (the execution row stays too).
    DELETE FROM sc.ended_webhook_deliveries WHERE execution_id = ANY (ids) AND next_attempt_at IS NULL;
    UPDATE sc.executions SET purged_at = pg_catalog.now() WHERE id = ANY (ids);
    RETURN pg_catalog.cardinality(ids);
END $$;
COMMENT ON FUNCTION sc.purge_batch(timestamptz, integer) IS 'Retention, one batch: up to max_executions executions that ended before cutoff (oldest first) lose their files, per-row outcomes and processed webhook calls; returns how many. sc_purge and the launcher call it, one transaction per batch';

-- A procedure, so that it can commit after every batch (CALL it outside a
-- transaction block). Neither SECURITY DEFINER nor with a SET clause (such
-- procedures cannot commit), so every name in it is schema-qualified; it
-- runs with its caller's rights, and the privilege that counts is EXECUTE
-- on sc.purge_batch, granted with it.
CREATE PROCEDURE sc_purge(older_than interval DEFAULT NULL, INOUT purged bigint DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
    age interval := COALESCE(older_than, pg_catalog.current_setting('smartconnector.retention', true)::interval,
                             interval '30 days');
    cutoff timestamptz := pg_catalog.now() - age;
    n integer;
BEGIN
    IF age < interval '0' THEN
        RAISE EXCEPTION 'sc_purge: older_than must not be negative (got %)', age
              USING ERRCODE = '22023', HINT = 'Give an age such as interval ''30 days''.';
    END IF;
    purged := 0;
    LOOP
        n := sc.purge_batch(cutoff, 20);
        EXIT WHEN n = 0;
        purged := purged + n;
        COMMIT;
    END LOOP;
END $$;
COMMENT ON PROCEDURE sc_purge(interval, bigint) IS 'CALL sc_purge(interval ''7 days''): executions that ended longer ago than that (default: smartconnector.retention) lose their files, per-row outcomes and processed webhook calls, committed in batches of 20; their row and counts stay (purged_at). Returns how many were purged';
