-- Webhook ingest (SPEC §9): what PostgREST exposes, and where calls are kept.
--
-- Schema sc_api holds the ingest functions and nothing else, so PostgREST's
-- db-schemas = "sc_api" exposes exactly them (docs/webhooks.md). They take the
-- request body whole (a single unnamed parameter: PostgREST passes the raw
-- bytes for application/json, text/plain, text/xml and
-- application/octet-stream) and hand it to sc.ingest_webhook, which checks
-- the caller and stores the call. Answers: 202 and no body on success;
-- errors as PostgREST statuses through SQLSTATE PTnnn.
CREATE SCHEMA sc_api;
COMMENT ON SCHEMA sc_api IS 'smartconnector: the webhook ingest functions PostgREST exposes (db-schemas = "sc_api"); nothing else lives here';
REVOKE ALL ON SCHEMA sc_api FROM PUBLIC;
GRANT USAGE ON SCHEMA sc_api TO sc_webhook, sc_webhook_anon;

-- At most this many calls are kept as samples per inactive connector (the oldest go first).
CREATE FUNCTION sc.webhook_sample_cap() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 100';

-- Stores one call. Runs as the catalog's owner (called only by the
-- SECURITY DEFINER wrappers below), pinned search_path, every operator
-- schema-qualified. The caller is the role PostgREST switched to (the
-- `role` setting, which a definer function does not change).
-- `endpoint` is NULL for /rpc/webhook (the JWT names the connector) and the
-- connector's api_name for its signed endpoint /rpc/<api_name> (the
-- signature over the raw body is checked before anything is stored).
-- (No SET clause of its own: every caller is a wrapper that pins the
-- search_path already, and a SET clause costs a settings save per call.)
CREATE FUNCTION sc.ingest_webhook(body text, endpoint text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    claims   jsonb := NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    headers  jsonb := NULLIF(pg_catalog.current_setting('request.headers', true), '')::jsonb;
    allowed  jsonb;
    wanted   text;
    conn     record;
    refusal  text;
    caller   text := COALESCE(NULLIF(pg_catalog.current_setting('role'), 'none'), session_user::text);
BEGIN
    IF pg_catalog.octet_length(body) OPERATOR(pg_catalog.>) 262144 THEN
        RAISE SQLSTATE 'PT413' USING MESSAGE = 'Payload Too Large',
            DETAIL = pg_catalog.format('the body is %s bytes; at most 262144 (256 KB) are accepted', pg_catalog.octet_length(body));
    END IF;
    IF endpoint IS NOT NULL THEN
        wanted := endpoint;
    ELSE
        -- The connectors this caller may post to: claim sc_connectors (an array)
        -- or sc_connector (one name) of the JWT PostgREST verified.
        allowed := CASE WHEN pg_catalog.jsonb_typeof(claims OPERATOR(pg_catalog.->) 'sc_connectors') OPERATOR(pg_catalog.=) 'array'
                            THEN claims OPERATOR(pg_catalog.->) 'sc_connectors'
                        WHEN claims OPERATOR(pg_catalog.->>) 'sc_connector' IS NOT NULL
                            THEN pg_catalog.jsonb_build_array(claims OPERATOR(pg_catalog.->>) 'sc_connector')
                        ELSE '[]'::jsonb END;
        IF pg_catalog.jsonb_array_length(allowed) OPERATOR(pg_catalog.=) 0 THEN
            RAISE SQLSTATE 'PT401' USING MESSAGE = 'Unauthorized',
                DETAIL = 'the token names no connector (claim sc_connector or sc_connectors)';
        END IF;
        wanted := COALESCE(headers OPERATOR(pg_catalog.->>) 'x-sc-connector',
                                      CASE WHEN pg_catalog.jsonb_array_length(allowed) OPERATOR(pg_catalog.=) 1
                                           THEN allowed OPERATOR(pg_catalog.->>) 0 END);
        IF wanted IS NULL THEN
            RAISE SQLSTATE 'PT400' USING MESSAGE = 'Bad Request',
                DETAIL = 'the token names several connectors: say which one in the X-SC-Connector header';
        END IF;
        IF NOT allowed OPERATOR(pg_catalog.?) wanted THEN
            RAISE SQLSTATE 'PT403' USING MESSAGE = 'Forbidden',
                DETAIL = pg_catalog.format('the token may not post to connector "%s"', wanted);
        END IF;
    END IF;
    SELECT c.id, c.status, c.type,
           c.document OPERATOR(pg_catalog.->) 'settings' OPERATOR(pg_catalog.->) 'webhook_signature' AS signature
      INTO conn FROM sc.connectors c WHERE c.api_name OPERATOR(pg_catalog.=) wanted;
    IF NOT FOUND OR conn.type OPERATOR(pg_catalog.<>) 'webhook' OR (endpoint IS NOT NULL AND conn.signature IS NULL) THEN
        RAISE SQLSTATE 'PT404' USING MESSAGE = 'Not Found',
            DETAIL = pg_catalog.format(CASE WHEN endpoint IS NULL THEN 'no webhook connector "%s"'
                                            ELSE 'no webhook connector "%s" that checks a signature' END, wanted);
    END IF;
    IF conn.status OPERATOR(pg_catalog.=) 'setup' THEN
        RAISE SQLSTATE 'PT409' USING MESSAGE = 'Conflict',
            DETAIL = pg_catalog.format('connector "%s" is still being set up and takes no calls', wanted);
    END IF;
    IF endpoint IS NOT NULL THEN
        refusal := sc.webhook_signature_refusal(conn.signature, headers, body);
        IF refusal IS NOT NULL THEN
            RAISE SQLSTATE 'PT401' USING MESSAGE = 'Unauthorized', DETAIL = refusal;
        END IF;
    END IF;
    INSERT INTO sc.webhook_events (connector_id, sender, querystring, headers, body, sample)
    VALUES (conn.id,
            COALESCE(claims OPERATOR(pg_catalog.->>) 'sub', caller),
            NULLIF(pg_catalog.current_setting('request.path', true), ''),
            -- Credentials never stored.
            headers OPERATOR(pg_catalog.-) ARRAY['authorization', 'cookie', 'proxy-authorization', 'x-api-key', 'x-auth-token'],
            body,
            conn.status OPERATOR(pg_catalog.=) 'inactive');
    IF conn.status OPERATOR(pg_catalog.=) 'inactive' THEN
        DELETE FROM sc.webhook_events e
         WHERE e.connector_id OPERATOR(pg_catalog.=) conn.id AND e.sample
           AND e.id OPERATOR(pg_catalog.<) (SELECT s.id FROM sc.webhook_events s
                                             WHERE s.connector_id OPERATOR(pg_catalog.=) conn.id AND s.sample
                                             ORDER BY s.id DESC OFFSET sc.webhook_sample_cap() OPERATOR(pg_catalog.-) 1 LIMIT 1);
    END IF;
    PERFORM pg_catalog.set_config('response.status', '202', true);
END $$;
REVOKE ALL ON FUNCTION sc.ingest_webhook(text, text) FROM PUBLIC;

-- A connector's signed endpoint, /rpc/<api_name>: one overload per body type,
-- callable by sc_webhook_anon (PostgREST's db-anon-role). Created, replaced
-- and dropped with the connector's settings.webhook_signature by the save
-- (src/webhooks/endpoints.rs), as the catalog's owner.
CREATE FUNCTION sc.sync_webhook_endpoint(api_name text, wanted boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    body_type text;
BEGIN
    IF NOT wanted AND NOT EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = 'sc_api'::regnamespace AND p.proname = api_name) THEN
        RETURN;
    END IF;
    FOREACH body_type IN ARRAY ARRAY['json', 'text', 'xml'] LOOP
        IF wanted THEN
            EXECUTE format('CREATE OR REPLACE FUNCTION sc_api.%I(%s) RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER '
                           'SET search_path = pg_catalog, pg_temp AS %L',
                           api_name, body_type, format('SELECT sc.ingest_webhook($1::text, %L)', api_name));
            EXECUTE format('REVOKE ALL ON FUNCTION sc_api.%I(%s) FROM PUBLIC', api_name, body_type);
            EXECUTE format('GRANT EXECUTE ON FUNCTION sc_api.%I(%s) TO sc_webhook_anon', api_name, body_type);
            EXECUTE format('COMMENT ON FUNCTION sc_api.%I(%s) IS %L', api_name, body_type,
                           format('POST /rpc/%s (%s body): a signed call for connector %s, checked against its settings.webhook_signature',
                                  api_name, body_type, api_name));
        ELSE
            EXECUTE format('DROP FUNCTION IF EXISTS sc_api.%I(%s)', api_name, body_type);
        END IF;
    END LOOP;
    -- PostgREST reloads its schema cache, so the endpoint answers at once.
    NOTIFY pgrst, 'reload schema';
END $$;
REVOKE ALL ON FUNCTION sc.sync_webhook_endpoint(text, boolean) FROM PUBLIC;

-- The exposed overloads, one per body type PostgREST passes whole. EXECUTE
-- is checked for the caller (sc_webhook or a role granted it); they then run
-- as the catalog's owner, so callers need nothing in schema sc.
CREATE FUNCTION sc_api.webhook(json) RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$ SELECT sc.ingest_webhook($1::text) $$;
CREATE FUNCTION sc_api.webhook(text) RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$ SELECT sc.ingest_webhook($1) $$;
CREATE FUNCTION sc_api.webhook(xml) RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$ SELECT sc.ingest_webhook($1::text) $$;
COMMENT ON FUNCTION sc_api.webhook(json) IS 'POST /rpc/webhook with Content-Type application/json: stores the body for the connector the JWT names';
COMMENT ON FUNCTION sc_api.webhook(text) IS 'POST /rpc/webhook with Content-Type text/plain';
COMMENT ON FUNCTION sc_api.webhook(xml) IS 'POST /rpc/webhook with Content-Type text/xml';
REVOKE ALL ON FUNCTION sc_api.webhook(json), sc_api.webhook(text), sc_api.webhook(xml) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sc_api.webhook(json), sc_api.webhook(text), sc_api.webhook(xml) TO sc_webhook;
