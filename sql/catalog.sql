-- smartconnector catalog: schema sc, its tables, roles and grants.
-- Loaded first by the extension script (bootstrap). Hand-written; upgrade
-- scripts freeze later changes to it.

CREATE SCHEMA sc;
COMMENT ON SCHEMA sc IS 'smartconnector catalog: connectors, executions, per-row outcomes, files, webhook calls, secrets';

-- Roles are cluster-wide: create them once, keep them when the extension is
-- dropped (other databases may use them).
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'sc_operator') THEN
        CREATE ROLE sc_operator NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'sc_admin') THEN
        CREATE ROLE sc_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'sc_webhook') THEN
        CREATE ROLE sc_webhook NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'sc_webhook_anon') THEN
        CREATE ROLE sc_webhook_anon NOLOGIN;
    END IF;
END
$roles$;
COMMENT ON ROLE sc_admin IS 'smartconnector: defines connectors and secrets; also an operator';
COMMENT ON ROLE sc_operator IS 'smartconnector: runs and cancels connectors, reads executions and reports';
COMMENT ON ROLE sc_webhook IS 'smartconnector: may only post webhook calls (sc_api.webhook, through PostgREST)';
COMMENT ON ROLE sc_webhook_anon IS 'smartconnector: PostgREST''s db-anon-role; may only post signed calls to connectors that check a signature (sc_api.<api_name>)';
GRANT sc_operator TO sc_admin;

------------------------------------------------------------------------------
CREATE TABLE sc.connectors (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_name    text NOT NULL UNIQUE CHECK (api_name ~ '^[a-z][a-z0-9_]{0,62}$'),
    name        text NOT NULL,
    description text,
    type        text NOT NULL CHECK (type IN ('spreadsheet', 'webhook', 'scheduler')),
    status      text NOT NULL DEFAULT 'setup'
                CHECK (status IN ('setup', 'operational', 'needs_attention', 'inactive')),
    document    jsonb NOT NULL,
    owner       name NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  name NOT NULL DEFAULT current_user,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  name NOT NULL DEFAULT current_user
);
CREATE INDEX connectors_status_idx ON sc.connectors (status);
COMMENT ON TABLE sc.connectors IS 'One row per connector; document is the full connector document (export format) as last saved';
COMMENT ON COLUMN sc.connectors.id IS 'Internal key';
COMMENT ON COLUMN sc.connectors.api_name IS 'Stable unique identifier used by every API call';
COMMENT ON COLUMN sc.connectors.name IS 'Display name';
COMMENT ON COLUMN sc.connectors.description IS 'Free text';
COMMENT ON COLUMN sc.connectors.type IS 'spreadsheet, webhook or scheduler';
COMMENT ON COLUMN sc.connectors.status IS 'setup, operational, needs_attention or inactive; only operational and needs_attention run live';
COMMENT ON COLUMN sc.connectors.document IS 'The connector document; its status key mirrors the status column';
COMMENT ON COLUMN sc.connectors.owner IS 'Role a run acts as: load steps obey its privileges and row-level security';
COMMENT ON COLUMN sc.connectors.created_at IS 'When the connector was first saved';
COMMENT ON COLUMN sc.connectors.created_by IS 'Role that first saved it';
COMMENT ON COLUMN sc.connectors.updated_at IS 'When the document or status last changed';
COMMENT ON COLUMN sc.connectors.updated_by IS 'Role that last changed it';

------------------------------------------------------------------------------
CREATE TABLE sc.executions (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id       bigint REFERENCES sc.connectors (id) ON DELETE SET NULL,
    connector_api_name text NOT NULL,
    definition         jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'succeeded', 'partial_success', 'failed', 'cancelled')),
    trigger            text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'webhook', 'api')),
    started_by         name NOT NULL DEFAULT current_user,
    run_as             name NOT NULL,
    dry_run            boolean NOT NULL DEFAULT false,
    diff_check         boolean,
    params             jsonb,
    file_name          text,
    file_size          bigint,
    queued_at          timestamptz NOT NULL DEFAULT now(),
    fired_at           timestamptz,
    rerun_of           bigint REFERENCES sc.executions (id) ON DELETE SET NULL,
    started_at         timestamptz,
    ended_at           timestamptz,
    stage              text,
    progress           jsonb,
    stage_times        jsonb,
    counts             jsonb,
    error              text,
    engine_version     text,
    worker_pid         integer,
    cancel_requested   boolean NOT NULL DEFAULT false,
    only_failed        boolean NOT NULL DEFAULT false,
    purged_at          timestamptz
);
-- Retention's queue: ended executions that still have their files, oldest first.
CREATE INDEX executions_unpurged_idx ON sc.executions (ended_at) WHERE purged_at IS NULL AND ended_at IS NOT NULL;
CREATE INDEX executions_connector_idx ON sc.executions (connector_id, queued_at DESC);
CREATE INDEX executions_active_idx ON sc.executions (status, id) WHERE status IN ('queued', 'running');
COMMENT ON TABLE sc.executions IS 'One row per run of a connector, kept after the connector is dropped';
COMMENT ON COLUMN sc.executions.id IS 'Execution id returned by sc_run';
COMMENT ON COLUMN sc.executions.connector_id IS 'The connector (NULL once it is dropped)';
COMMENT ON COLUMN sc.executions.connector_api_name IS 'api_name of the connector at run time';
COMMENT ON COLUMN sc.executions.definition IS 'The connector document exactly as run';
COMMENT ON COLUMN sc.executions.status IS 'queued, running, succeeded, partial_success, failed or cancelled';
COMMENT ON COLUMN sc.executions.trigger IS 'manual, schedule, webhook or api';
COMMENT ON COLUMN sc.executions.started_by IS 'Role that started the run';
COMMENT ON COLUMN sc.executions.run_as IS 'Role the run acts as (the connector owner)';
COMMENT ON COLUMN sc.executions.dry_run IS 'True: the pipeline runs and reports but writes no entity table and no diff store';
COMMENT ON COLUMN sc.executions.diff_check IS 'Diff check for this run; NULL means the connector setting';
COMMENT ON COLUMN sc.executions.params IS 'SQL parameter overrides for this run';
COMMENT ON COLUMN sc.executions.file_name IS 'Name of the input file, if any';
COMMENT ON COLUMN sc.executions.file_size IS 'Size of the input file in bytes';
COMMENT ON COLUMN sc.executions.queued_at IS 'When sc_run was called';
COMMENT ON COLUMN sc.executions.fired_at IS 'trigger schedule: the time the schedule fired (input.schedule.schedule_trigger_time)';
COMMENT ON COLUMN sc.executions.rerun_of IS 'sc_rerun: the execution whose stored input this one ran again (its file, webhook batch or schedule time)';
COMMENT ON COLUMN sc.executions.started_at IS 'When a worker began the run';
COMMENT ON COLUMN sc.executions.ended_at IS 'When the run reached a final status';
COMMENT ON COLUMN sc.executions.stage IS 'Current or last stage, in pipeline order: starting, input, reference, sql, variables, diff_check, load (as "load: <step>"), sql_output, diff_store, report; done when it has ended';
COMMENT ON COLUMN sc.executions.progress IS 'Rows done / total of the stage running now: per scope while validating (scopes), per load step while it loads (steps), the SQL engine''s own report while the SQL runs (engine); a stage''s entry goes when the stage ends (its totals are in counts)';
COMMENT ON COLUMN sc.executions.stage_times IS 'Milliseconds each stage took, by stage name';
COMMENT ON COLUMN sc.executions.counts IS 'Rows per load step and outcome (created, updated, unchanged, skipped, failed), and per scope as "variables (<scope>)" (valid, invalid, with_warnings)';
COMMENT ON COLUMN sc.executions.error IS 'Why the run failed, in plain words';
COMMENT ON COLUMN sc.executions.engine_version IS 'chDB / ClickHouse version that ran the SQL';
COMMENT ON COLUMN sc.executions.worker_pid IS 'PID of the background worker running it';
COMMENT ON COLUMN sc.executions.cancel_requested IS 'Set by sc_cancel; the worker stops at the next chunk boundary';
COMMENT ON COLUMN sc.executions.only_failed IS 'sc_rerun(…, only_failed => true): this run took only the rows that failed in rerun_of (kept as its failed_rows file), without the input and SQL stages';
COMMENT ON COLUMN sc.executions.purged_at IS 'When retention (smartconnector.retention, sc_purge) removed its files, per-row outcomes and processed webhook calls; this row and its counts stay';

------------------------------------------------------------------------------
CREATE TABLE sc.execution_row_batches (
    execution_id bigint NOT NULL REFERENCES sc.executions (id) ON DELETE CASCADE,
    scope        text NOT NULL,
    step         text NOT NULL DEFAULT '',
    first_row    bigint NOT NULL,
    last_row     bigint NOT NULL,
    row_numbers  bigint[] NOT NULL,
    outcomes     text[] NOT NULL
                 CHECK (outcomes <@ ARRAY['valid', 'invalid', 'created', 'updated', 'skipped', 'unchanged', 'failed']::text[]),
    record_ids   text[],
    errors       text[],
    warnings     text[],
    match_keys   text[],
    sources      text[],
    lines        bigint[],
    PRIMARY KEY (execution_id, scope, step, first_row)
);
-- lz4 where the server has it: these arrays are compressed on every chunk's
-- insert, and pglz cost several times lz4's time for a similar size.
DO $$
BEGIN
    ALTER TABLE sc.execution_row_batches
        ALTER COLUMN row_numbers SET COMPRESSION lz4, ALTER COLUMN outcomes SET COMPRESSION lz4,
        ALTER COLUMN record_ids SET COMPRESSION lz4, ALTER COLUMN errors SET COMPRESSION lz4,
        ALTER COLUMN warnings SET COMPRESSION lz4, ALTER COLUMN sources SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL; -- a server built without lz4 keeps its default (pglz)
END $$;
COMMENT ON TABLE sc.execution_row_batches IS 'Storage of sc.execution_rows: the outcomes of one chunk (or batch) of rows as parallel arrays, one table row per chunk and step; read sc.execution_rows instead';
COMMENT ON COLUMN sc.execution_row_batches.first_row IS 'Lowest row number of the batch';
COMMENT ON COLUMN sc.execution_row_batches.last_row IS 'Highest row number of the batch';
COMMENT ON COLUMN sc.execution_row_batches.record_ids IS 'Record id per row; NULL when no row of the batch has one';
COMMENT ON COLUMN sc.execution_row_batches.errors IS 'Per row: its errors joined by U+001E, NULL when none; NULL when no row of the batch has any';
COMMENT ON COLUMN sc.execution_row_batches.warnings IS 'Per row: its warnings joined by U+001E, as errors';
COMMENT ON COLUMN sc.execution_row_batches.sources IS 'Per row: the input it was read from (file.xlsx!Sheet); NULL when no row of the batch has one';
COMMENT ON COLUMN sc.execution_row_batches.lines IS 'Per row: its line in that input; NULL when no row of the batch has one';

-- One row per row and step, unnested from the batches (writing one table row
-- per chunk instead of per row is what keeps outcome recording cheap).
CREATE VIEW sc.execution_rows AS
SELECT b.execution_id, b.scope, r.row_number, b.step, r.outcome, r.record_id,
       pg_catalog.string_to_array(r.errors, E'\x1e') AS errors,
       pg_catalog.string_to_array(r.warnings, E'\x1e') AS warnings,
       r.match_key, r.source, r.line
FROM sc.execution_row_batches b
CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(b.row_numbers), pg_catalog.unnest(b.outcomes),
                              pg_catalog.unnest(b.record_ids), pg_catalog.unnest(b.errors),
                              pg_catalog.unnest(b.warnings), pg_catalog.unnest(b.match_keys),
                              pg_catalog.unnest(b.sources), pg_catalog.unnest(b.lines))
     AS r(row_number, outcome, record_id, errors, warnings, match_key, source, line);
COMMENT ON VIEW sc.execution_rows IS 'Per-row outcome of one execution: validation (step = '''') and each load step';
COMMENT ON COLUMN sc.execution_rows.execution_id IS 'The execution';
COMMENT ON COLUMN sc.execution_rows.scope IS 'Output table (scope) the row belongs to';
COMMENT ON COLUMN sc.execution_rows.row_number IS '1-based row number within the scope';
COMMENT ON COLUMN sc.execution_rows.step IS 'Load step name; empty string for variable validation';
COMMENT ON COLUMN sc.execution_rows.outcome IS 'valid/invalid (validation) or created, updated, skipped, unchanged, failed (load step)';
COMMENT ON COLUMN sc.execution_rows.record_id IS 'Primary key of the entity row matched or created, as text';
COMMENT ON COLUMN sc.execution_rows.errors IS 'Errors, each naming the variable or the database message';
COMMENT ON COLUMN sc.execution_rows.warnings IS 'Warnings, e.g. an optional variable whose value failed its type';
COMMENT ON COLUMN sc.execution_rows.source IS 'The input of the uploaded file the row was read from: the file name, or file.xlsx!Sheet; NULL when the scope''s rows do not carry their lines (SQL that does not select _line)';
COMMENT ON COLUMN sc.execution_rows.line IS 'The row''s line in that input: the CSV line where its record starts, or the sheet''s row number as Excel shows it';
COMMENT ON COLUMN sc.execution_rows.match_key IS 'Load steps: the row''s values of the step''s match columns, e.g. email = "ann@x.io" (the first rule the row has in full), to find it in the file';

------------------------------------------------------------------------------
CREATE TABLE sc.execution_files (
    execution_id bigint NOT NULL REFERENCES sc.executions (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('input', 'sql_output', 'report', 'failed_rows')),
    name         text NOT NULL,
    part         integer NOT NULL DEFAULT 0 CHECK (part >= 0),
    content      bytea NOT NULL,
    size         bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, kind, name, part)
);
ALTER TABLE sc.execution_files ALTER COLUMN content SET STORAGE EXTERNAL;
COMMENT ON TABLE sc.execution_files IS 'Files of an execution: its input, the SQL output and the XLSX report';
COMMENT ON COLUMN sc.execution_files.execution_id IS 'The execution';
COMMENT ON COLUMN sc.execution_files.kind IS 'input, sql_output, report, or failed_rows (the SQL output rows that failed to load, for sc_rerun(…, only_failed => true))';
COMMENT ON COLUMN sc.execution_files.name IS 'File name (the input keeps the name it was given)';
COMMENT ON COLUMN sc.execution_files.part IS 'Large files are stored in parts of 8 MiB (0, 1, …); the file is their concatenation in part order';
COMMENT ON COLUMN sc.execution_files.content IS 'File bytes (of this part)';
COMMENT ON COLUMN sc.execution_files.size IS 'Length of content (this part) in bytes';
COMMENT ON COLUMN sc.execution_files.created_at IS 'When the file was stored';

------------------------------------------------------------------------------
-- Unlogged: a cache. After a crash it is empty and the next run matches every
-- row again (load steps are idempotent), which costs time, never data.
-- A run reads all hashes of its scope once, into memory, before validating
-- (SPEC §5). No uniqueness: a run stores only hashes it did not find, so a
-- hash is repeated only when a file holds the same row twice or two runs of
-- a connector overlap.
CREATE UNLOGGED TABLE sc.row_hashes (
    connector_id bigint NOT NULL,
    scope        text COLLATE "C" NOT NULL,
    hash         bytea NOT NULL CHECK (octet_length(hash) = 16),
    execution_id bigint NOT NULL
);
-- A run reads its scope's hashes in one pass (no probe per row): a b-tree on
-- (connector, scope), compact for its repeated keys (deduplication).
CREATE INDEX row_hashes_scope_idx ON sc.row_hashes (connector_id, scope);
COMMENT ON TABLE sc.row_hashes IS 'Diff-check store: hashes of rows a connector loaded without error (SPEC §5); a row whose hash is here is unchanged. Unlogged: a crash empties it, which only makes the next run match every row';
COMMENT ON COLUMN sc.row_hashes.connector_id IS 'Connector whose runs loaded the row; deleting the connector deletes its hashes (trigger on sc.connectors)';
COMMENT ON COLUMN sc.row_hashes.scope IS 'Output table (scope) of the row';
COMMENT ON COLUMN sc.row_hashes.hash IS 'SHA-256 (first 16 bytes) over the connector''s fingerprint (variables, load steps, time zone, phone region) and the SQL output cells the scope''s variables read, taken before validation';
COMMENT ON COLUMN sc.row_hashes.execution_id IS 'The execution that stored this hash';

-- The (connector, scope) pairs with hashes in sc.row_hashes, so a run with
-- nothing stored yet (a first load) skips the lookup of every row's hash.
-- Unlogged like sc.row_hashes: a crash empties both together.
CREATE UNLOGGED TABLE sc.row_hash_scopes (
    connector_id bigint NOT NULL,
    scope        text COLLATE "C" NOT NULL,
    PRIMARY KEY (connector_id, scope)
);
COMMENT ON TABLE sc.row_hash_scopes IS 'The connectors and scopes that have hashes in sc.row_hashes; diff checking skips the lookup for the others';

-- No foreign key to sc.connectors from the row hashes or the webhook calls
-- (checking it for every stored hash or call cost more than the insert): a
-- deleted connector takes its hashes and its calls with it here.
CREATE FUNCTION sc.forget_connector_rows() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM sc.row_hash_scopes h USING gone g WHERE h.connector_id = g.id;
    DELETE FROM sc.row_hashes h USING gone g WHERE h.connector_id = g.id;
    DELETE FROM sc.webhook_events w USING gone g WHERE w.connector_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER connectors_forget_rows AFTER DELETE ON sc.connectors
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION sc.forget_connector_rows();

-- A connector with a queued or running execution cannot be deleted, by
-- sc_drop_connector or by any DELETE (its worker still reads the row).
CREATE FUNCTION sc.refuse_deleting_busy_connector() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM sc.executions e
                WHERE e.connector_id OPERATOR(pg_catalog.=) OLD.id
                  AND e.status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running'])) THEN
        RAISE EXCEPTION 'connector "%" has a queued or running execution', OLD.api_name
            USING ERRCODE = 'object_in_use',
                  HINT = 'Cancel it with sc_cancel(id) (see sc.executions), then drop the connector.';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER connectors_refuse_busy_delete BEFORE DELETE ON sc.connectors
    FOR EACH ROW EXECUTE FUNCTION sc.refuse_deleting_busy_connector();

CREATE TABLE sc.webhook_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id bigint NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    sender       text NOT NULL,
    querystring  text,
    headers      jsonb,
    body         text NOT NULL CHECK (octet_length(body) <= 262144),
    sample       boolean NOT NULL DEFAULT false,
    -- No ON DELETE action: an execution with calls cannot be deleted, so a
    -- processed call can never become pending again (and be processed twice).
    execution_id bigint REFERENCES sc.executions (id)
);
CREATE INDEX webhook_events_pending_idx ON sc.webhook_events (connector_id, id)
    WHERE execution_id IS NULL AND NOT sample;
-- Retention finds an execution's calls; ingest (execution_id NULL) never touches it.
CREATE INDEX webhook_events_execution_idx ON sc.webhook_events (execution_id) WHERE execution_id IS NOT NULL;
COMMENT ON TABLE sc.webhook_events IS 'Webhook calls buffered until the connector''s next run';
COMMENT ON COLUMN sc.webhook_events.id IS 'Arrival order';
COMMENT ON COLUMN sc.webhook_events.connector_id IS 'The webhook connector it was posted to; deleting the connector deletes its calls (trigger on sc.connectors: no foreign key, whose check would cost every ingest)';
COMMENT ON COLUMN sc.webhook_events.received_at IS 'When it arrived';
COMMENT ON COLUMN sc.webhook_events.sender IS 'PostgreSQL role or JWT subject that posted it';
COMMENT ON COLUMN sc.webhook_events.querystring IS 'Query string of the HTTP request, if known';
COMMENT ON COLUMN sc.webhook_events.headers IS 'HTTP request headers, if known';
COMMENT ON COLUMN sc.webhook_events.body IS 'Request body, UTF-8, at most 256 KB';
COMMENT ON COLUMN sc.webhook_events.sample IS 'Posted while the connector was inactive: kept as a sample, never processed';
COMMENT ON COLUMN sc.webhook_events.execution_id IS 'Execution that processed it; NULL while pending';

------------------------------------------------------------------------------
CREATE TABLE sc.secrets (
    name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$'),
    kind       text NOT NULL CHECK (kind IN ('postgresql', 'mysql', 's3', 'url', 'generic')),
    value      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT current_user,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sc.secrets IS 'Credentials for external sources, exposed to SQL as named collections; readable by no ordinary role';
COMMENT ON COLUMN sc.secrets.name IS 'Named collection name used in SQL, e.g. postgresql(my_pg, table=''t'')';
COMMENT ON COLUMN sc.secrets.kind IS 'postgresql, mysql, s3, url or generic';
COMMENT ON COLUMN sc.secrets.value IS 'Key/value pairs of the named collection; never shown in messages';
COMMENT ON COLUMN sc.secrets.created_at IS 'When it was first stored';
COMMENT ON COLUMN sc.secrets.created_by IS 'Role that stored it';
COMMENT ON COLUMN sc.secrets.updated_at IS 'When its value last changed';

------------------------------------------------------------------------------
-- Privileges. Nothing in sc is open to PUBLIC; sc.secrets to nobody. No
-- ordinary role writes any table of sc: the sc_* functions check the
-- caller's rights (role, and ownership of the connector) and then write as
-- the catalog's owner, so a document is always validated and a connector
-- can never be made to run as a role its changer could not act as.
REVOKE ALL ON SCHEMA sc FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA sc FROM PUBLIC;
GRANT USAGE ON SCHEMA sc TO sc_operator, sc_admin;
GRANT SELECT ON sc.connectors, sc.executions, sc.execution_rows, sc.execution_row_batches, sc.execution_files, sc.row_hashes, sc.row_hash_scopes TO sc_operator;
GRANT SELECT ON sc.webhook_events TO sc_admin;
