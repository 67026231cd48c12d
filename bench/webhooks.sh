#!/usr/bin/env bash
# Webhook benchmark (docs/benchmarks.md "Webhook ingest"):
#  1. ingest: pgbench, CLIENTS clients for SECONDS s, each transaction what PostgREST sends for
#     POST /rpc/webhook with a 1 KB JSON body (BEGIN, the tx-vars statement, the main query,
#     COMMIT), against the same load doing a plain INSERT of the same columns into an ordinary
#     table; runs alternate, RUNS of each; calls/s and p99 latency per run, medians and the ratio.
#  2. a batch of BATCH buffered calls processed end to end (SQL extracting fields from the JSON
#     body, one load step into a table), its time from queued to ended.
# Starts a scratch cluster on port 5496 in /tmp/sc-bench-webhooks.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
DATA=/tmp/sc-bench-webhooks
PORT=5496
CLIENTS=${CLIENTS:-8}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-30}
RUNS=${RUNS:-3}
BATCH=${BATCH:-100000}
bash "$SC_ROOT/scripts/setup.sh"
sc_install_extension
sc_cluster_stop "$DATA"
rm -rf "$DATA"
sc_cluster_start "$DATA" "$PORT"
WORK=$(mktemp -d)
chmod 755 "$WORK"  # pgbench runs as postgres: it reads the scripts and writes its logs here
trap 'sc_cluster_stop "$DATA"; rm -rf "$WORK"' EXIT
P() { sc_psql "$PORT" "$@"; }

CONNECTOR="$(cat <<'SQL'
SELECT sc_import_connector('{"api_name": "bench_hooks", "name": "bench", "type": "webhook", "status": "inactive",
  "settings": {"cadence": "3 hours", "max_batch_calls": 1000000},
  "sql": "CREATE TABLE output.orders ENGINE = Memory AS SELECT JSONExtractString(body, ''order_no'') AS order_no, JSONExtractRaw(body, ''amount'') AS amount FROM input.webhooks_raw",
  "variables": [{"name": "order_no", "type": "string", "required": true}, {"name": "amount", "type": "number"}],
  "load_steps": [{"name": "orders", "table": "bench_orders", "match": [{"columns": {"order_no": "order_no"}}],
                  "map": [{"column": "order_no", "variable": "order_no"}, {"column": "amount", "variable": "amount"}]}]}'::jsonb);
SQL
)"
P <<'SQL'
CREATE EXTENSION smartconnector;
CREATE ROLE bench_sender NOLOGIN; GRANT sc_webhook TO bench_sender;
-- The baseline's table, written by the same role as the webhook calls.
CREATE TABLE public.bench_orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_no text UNIQUE, amount numeric);
CREATE TABLE public.bench_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, connector_id bigint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(), sender text NOT NULL, querystring text,
    headers jsonb, body text NOT NULL, sample boolean NOT NULL DEFAULT false, execution_id bigint);
GRANT INSERT ON public.bench_plain TO bench_sender;
SQL
P -c "$CONNECTOR" >/dev/null
# Live for the ingest runs (an inactive connector keeps calls as capped samples). Its cadence of
# 3 hours cuts one batch at the first call and none during the runs, which measure ingest alone.
P -c "SELECT sc_set_status('bench_hooks', 'operational')"

# A 1 KB JSON body.
body=$(python3 -c 'import json; print(json.dumps({"order_no": "X", "amount": 12.5, "customer": {"email": "a@example.com"}, "note": "n" * 900}))')
claims='{"role": "bench_sender", "sub": "bench", "sc_connector": "bench_hooks"}'
headers='{"content-type": "application/json", "user-agent": "bench/1"}'
cat > "$WORK/postgrest.sql" <<SQL
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
select set_config('search_path', '"sc_api"', true), set_config('role', 'bench_sender', true), set_config('request.jwt.claims', '$claims', true), set_config('request.method', 'POST', true), set_config('request.path', '/rpc/webhook', true), set_config('request.headers', '$headers', true), set_config('request.cookies', '{}', true);
WITH pgrst_source AS (SELECT pgrst_call.pgrst_scalar FROM (SELECT "sc_api"."webhook"('$body'::json) pgrst_scalar) pgrst_call) SELECT null::bigint AS total_result_set, 1 AS page_total, coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null') AS body, nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted FROM (SELECT "webhook".* FROM "pgrst_source" AS "webhook"   ) _postgrest_t;
COMMIT;
SQL
# The same load with the function call replaced by a plain INSERT of the same columns: what
# PostgREST itself costs (the transaction, the tx-vars statement) is in both.
cat > "$WORK/plain.sql" <<SQL
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
select set_config('search_path', '"sc_api"', true), set_config('role', 'bench_sender', true), set_config('request.jwt.claims', '$claims', true), set_config('request.method', 'POST', true), set_config('request.path', '/rpc/webhook', true), set_config('request.headers', '$headers', true), set_config('request.cookies', '{}', true);
INSERT INTO public.bench_plain (connector_id, sender, querystring, headers, body) VALUES (1, 'bench', '/rpc/webhook', '$headers', '$body');
COMMIT;
SQL

# run NAME SCRIPT: calls/s and p99 latency (ms) of one pgbench run.
run() {
  local name=$1 script=$2 dir="$WORK/log-$1-$RANDOM"
  mkdir -p "$dir" && chown postgres "$dir"
  local out
  out=$(cd "$dir" && runuser -u postgres -- pgbench -h 127.0.0.1 -p "$PORT" -U postgres -n -M prepared \
        -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" -f "$script" -l postgres 2>&1) \
    || { echo "$out" >&2; die "pgbench failed ($name)"; }
  local tps p99
  tps=$(echo "$out" | awk '/^tps = / { print $3; exit }')
  # pgbench -l: one line per transaction; column 3 is its latency in microseconds.
  p99=$(cat "$dir"/pgbench_log.* | awk '{ print $3 }' | sort -n | awk '{ a[NR] = $1 } END { print a[int(NR * 0.99)] / 1000 }')
  echo "$name $tps $p99"
}

echo "== ingest: $CLIENTS clients, $SECONDS_PER_RUN s per run, $RUNS runs each, alternating"
results=()
for i in $(seq "$RUNS"); do
  results+=("$(run plain "$WORK/plain.sql")")
  results+=("$(run webhook "$WORK/postgrest.sql")")
done
printf '%s\n' "${results[@]}" | awk '{ printf "  %-8s %10.1f calls/s   p99 %7.2f ms\n", $1, $2, $3 }'
printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics
rows = [l.split() for l in sys.stdin if l.strip()]
med = lambda name, i: statistics.median(float(r[i]) for r in rows if r[0] == name)
p, w, pl, wl = med("plain", 1), med("webhook", 1), med("plain", 2), med("webhook", 2)
print(f"  median: plain {p:.1f} calls/s (p99 {pl:.2f} ms), webhook {w:.1f} calls/s (p99 {wl:.2f} ms)")
print(f"  ratio webhook / plain: {w / p:.2f}x (target >= 0.80x)")
'

echo "== batch: $BATCH buffered calls processed end to end"
# A fresh connector (no earlier batch, so its first one is cut at once), inactive while the calls are buffered.
for _ in $(seq 300); do
  [ "$(P -Atc "SELECT count(*) FROM sc.executions WHERE status IN ('queued', 'running')")" = 0 ] && break
  sleep 1
done
P -c "SELECT sc_drop_connector('bench_hooks')" >/dev/null
P -c "$CONNECTOR" >/dev/null
P -c "TRUNCATE public.bench_orders" >/dev/null
P -c "INSERT INTO sc.webhook_events (connector_id, sender, headers, body)
      SELECT c.id, 'bench', '{}', json_build_object('order_no', 'N' || g, 'amount', g % 1000, 'note', repeat('n', 900))::text
        FROM sc.connectors c, generate_series(1, $BATCH) g WHERE c.api_name = 'bench_hooks'" >/dev/null
P -c "SELECT sc_set_status('bench_hooks', 'operational')" >/dev/null
for _ in $(seq 600); do
  done_status=$(P -Atc "SELECT status FROM sc.executions WHERE connector_api_name = 'bench_hooks' AND status NOT IN ('queued', 'running')
                          AND id = (SELECT max(id) FROM sc.executions WHERE connector_api_name = 'bench_hooks')")
  [ -n "$done_status" ] && [ "$(P -Atc "SELECT count(*) FROM sc.webhook_events WHERE execution_id IS NULL AND NOT sample")" = 0 ] && break
  sleep 1
done
P -c "SELECT id, status, (SELECT count(*) FROM sc.webhook_events e WHERE e.execution_id = x.id) AS calls,
             round(extract(epoch FROM ended_at - queued_at)::numeric, 2) AS seconds, stage_times
        FROM sc.executions x WHERE connector_api_name = 'bench_hooks' ORDER BY id DESC LIMIT 1"
P -Atc "SELECT 'rows loaded: ' || count(*) FROM public.bench_orders"
