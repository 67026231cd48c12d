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
