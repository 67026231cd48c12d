-- The "execution ended" webhook: one row per POST to send, written in the
-- transaction that records the execution's end (so it is never lost, also
-- not by a restart), sent by the deliveries worker outside any execution.
CREATE TABLE sc.ended_webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id    bigint NOT NULL REFERENCES sc.executions (id) ON DELETE CASCADE,
    url             text NOT NULL,
    secret          text,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz DEFAULT pg_catalog.now(),
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    given_up_at     timestamptz,
    given_up_reason text,
    CHECK (next_attempt_at IS NULL OR (delivered_at IS NULL AND given_up_at IS NULL))
);
CREATE INDEX ended_webhook_deliveries_due_idx ON sc.ended_webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX ended_webhook_deliveries_execution_idx ON sc.ended_webhook_deliveries (execution_id);
COMMENT ON TABLE sc.ended_webhook_deliveries IS 'Every "execution ended" webhook POST (settings.ended_webhook): what is sent, each attempt''s result, and whether it was delivered or given up';
COMMENT ON COLUMN sc.ended_webhook_deliveries.id IS 'Delivery id, sent as X-Smartconnector-Delivery on every attempt (receivers may dedupe on it)';
COMMENT ON COLUMN sc.ended_webhook_deliveries.execution_id IS 'The execution whose end it announces';
COMMENT ON COLUMN sc.ended_webhook_deliveries.url IS 'The receiver (settings.ended_webhook when the execution ended)';
COMMENT ON COLUMN sc.ended_webhook_deliveries.secret IS 'Name of the sc secret that signs it (settings.ended_webhook_secret), NULL: unsigned';
COMMENT ON COLUMN sc.ended_webhook_deliveries.body IS 'The JSON body, the same bytes on every attempt (README, "The execution ended webhook")';
COMMENT ON COLUMN sc.ended_webhook_deliveries.created_at IS 'When the execution ended';
COMMENT ON COLUMN sc.ended_webhook_deliveries.attempts IS 'Attempts made so far';
COMMENT ON COLUMN sc.ended_webhook_deliveries.next_attempt_at IS 'When it is tried (again); NULL once delivered or given up';
COMMENT ON COLUMN sc.ended_webhook_deliveries.last_attempt_at IS 'When the last attempt ended';
COMMENT ON COLUMN sc.ended_webhook_deliveries.last_status IS 'HTTP status of the last answer, NULL when there was none';
COMMENT ON COLUMN sc.ended_webhook_deliveries.last_error IS 'Why the last attempt got no answer (timeout, connection refused, …), or what the answer was when it is not 2xx';
COMMENT ON COLUMN sc.ended_webhook_deliveries.delivered_at IS 'When the receiver answered 2xx';
COMMENT ON COLUMN sc.ended_webhook_deliveries.given_up_at IS 'When it stopped being tried';
COMMENT ON COLUMN sc.ended_webhook_deliveries.given_up_reason IS 'Why: the attempts ran out, the receiver refused (4xx, a redirect), or its host is no longer allowed';
