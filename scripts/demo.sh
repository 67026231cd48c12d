#!/usr/bin/env bash
# One command from a fresh machine: install everything, build and install the
# extension, start (or reuse) a local cluster in ./.pgdata, save the bundled
# connector (two load steps: vendors, then products), run it on the bundled
# workbook into tables it creates, print the execution summary and the
# counts per step and outcome, then run it again to show nothing is duplicated;
# then post three orders to the webhook example (examples/webhook_orders) as
# PostgREST would and show the batch that loads them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PORT=${SC_DEMO_PORT:-5499}

bash "$SC_ROOT/scripts/setup.sh"
sc_install_extension
# A preloaded library is only re-read at server start: restart on the new build.
sc_cluster_stop "$SC_ROOT/.pgdata"
sc_cluster_start "$SC_ROOT/.pgdata" "$PORT"

# The demo starts from scratch each run: the extension (connectors, executions, history) and the
# demo tables are dropped and made again. To keep them, stop and start the cluster with pg_ctl
# (README, "The demo cluster") instead of running this script again.
say "creating the extension afresh (the demo cluster is scratch space: connectors and history start empty) and the demo tables"
sc_psql "$PORT" -c "SET client_min_messages = warning; DROP EXTENSION IF EXISTS smartconnector CASCADE; DROP TABLE IF EXISTS public.products, public.vendors"
sc_psql "$PORT" -f "$SC_ROOT/examples/vendor_products/schema.sql"

say "saving the connector from examples/vendor_products/connector.json"
sc_psql "$PORT" -v doc="$(cat "$SC_ROOT/examples/vendor_products/connector.json")" <<'SQL'
SELECT sc_import_connector(:'doc'::jsonb, 'replace') AS imported \gx
SELECT api_name, type, status, owner FROM sc.connectors ORDER BY api_name;
SQL
say "running the connector on examples/vendor_products/products.xlsx"
sc_psql "$PORT" -v file="$(base64 -w0 "$SC_ROOT/examples/vendor_products/products.xlsx")" <<'SQL'
SELECT sc_run('vendor_products', decode(:'file', 'base64'), 'products.xlsx') AS id \gset
\echo execution :id queued; waiting for it to end
SELECT sc_wait(:id) AS status;
\pset format aligned
\pset tuples_only off
SELECT id, connector_api_name, status, trigger, started_by, engine_version,
       ended_at - started_at AS took, error
FROM sc.executions WHERE id = :id \gx
SELECT key AS stage, value AS ms FROM sc.executions, jsonb_each(stage_times) WHERE id = :id ORDER BY value::bigint DESC;
\echo 'validation per scope:'
SELECT substring(step FROM 'variables \((.*)\)') AS scope, v ->> 'valid' AS valid, v ->> 'invalid' AS invalid,
       v ->> 'with_warnings' AS with_warnings
FROM sc.executions, jsonb_each(counts) AS c(step, v) WHERE id = :id AND step LIKE 'variables (%' ORDER BY 1;
\echo 'load steps, rows per outcome:'
SELECT step, v ->> 'created' AS created, v ->> 'updated' AS updated, v ->> 'unchanged' AS unchanged,
       v ->> 'skipped' AS skipped, v ->> 'failed' AS failed
FROM sc.executions, jsonb_each(counts) AS c(step, v) WHERE id = :id AND step NOT LIKE 'variables (%' ORDER BY 1;
SELECT step, scope, row_number, outcome, array_to_string(errors || warnings, ' | ') AS messages
FROM sc.execution_rows WHERE execution_id = :id AND (errors IS NOT NULL OR warnings IS NOT NULL)
ORDER BY step, scope, row_number;
SELECT kind, name, size FROM sc.execution_files WHERE execution_id = :id ORDER BY kind;
\echo 'the tables it loaded:'
SELECT * FROM public.vendors ORDER BY id;
SELECT id, sku, name, price, launched, tags, source, vendor_id FROM public.products ORDER BY id;
\echo 'the same file again: every row matches, nothing is created'
SELECT sc_run('vendor_products', decode(:'file', 'base64'), 'products.xlsx') AS id2 \gset
SELECT sc_wait(:id2) AS status;
SELECT step, v ->> 'created' AS created, v ->> 'updated' AS updated, v ->> 'unchanged' AS unchanged,
       v ->> 'skipped' AS skipped, v ->> 'failed' AS failed
FROM sc.executions, jsonb_each(counts) AS c(step, v) WHERE id = :id2 AND step NOT LIKE 'variables (%' ORDER BY 1;
SQL

say "a webhook connector (examples/webhook_orders): three orders posted as PostgREST would, processed as one batch"
sc_psql "$PORT" -c "SET client_min_messages = warning; DROP TABLE IF EXISTS public.shop_orders, public.shop_order_lines" >/dev/null
sc_psql "$PORT" -f "$SC_ROOT/examples/webhook_orders/schema.sql" >/dev/null
sc_psql "$PORT" -v doc="$(cat "$SC_ROOT/examples/webhook_orders/connector.json")" >/dev/null <<'SQL'
SELECT sc_import_connector(:'doc'::jsonb, 'replace');
SQL
before=$(sc_psql "$PORT" -Atc "SELECT coalesce(max(id), 0) FROM sc.executions")
sc_psql "$PORT" -f "$SC_ROOT/examples/webhook_orders/post_samples.sql" >/dev/null
batch=""
for _ in $(seq 60); do   # the launcher cuts the batch within its 5 s backstop
  batch=$(sc_psql "$PORT" -Atc "SELECT max(id) FROM sc.executions WHERE connector_api_name = 'webhook_orders' AND id > $before")
  [ -n "$batch" ] && break
  sleep 1
done
[ -n "$batch" ] || die "no webhook batch was queued within 60 s"
sc_psql "$PORT" -v id="$batch" <<'SQL'
SELECT sc_wait(:id) AS status;
\pset format aligned
\pset tuples_only off
SELECT id, trigger, (SELECT count(*) FROM sc.webhook_events e WHERE e.execution_id = x.id) AS calls, status
FROM sc.executions x WHERE id = :id;
SELECT order_id, email, total FROM public.shop_orders ORDER BY order_id;
SELECT order_id, sku, qty FROM public.shop_order_lines ORDER BY order_id, sku;
SQL
first=$(sc_psql "$PORT" -Atc "SELECT min(id) FROM sc.executions WHERE connector_api_name = 'vendor_products'")
# psql -At prints the base64 text as it is (COPY would escape its line breaks); base64 -d ignores them.
sc_psql "$PORT" -Atc "SELECT encode(sc_report($first), 'base64')" | base64 -d > "$SC_ROOT/report.xlsx"
python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None" "$SC_ROOT/report.xlsx" \
  || die "the saved report is not a valid XLSX file"
say "the report of execution $first is in ./report.xlsx; for any execution:"
say "  psql -h 127.0.0.1 -p $PORT -U postgres -Atc \"SELECT encode(sc_report(<id>), 'base64')\" | base64 -d > report.xlsx"
say "done. Connect with: psql -h 127.0.0.1 -p $PORT -U postgres"
say "stop it:  runuser -u postgres -- $PG_BIN/pg_ctl -D $SC_ROOT/.pgdata stop"
say "start it: runuser -u postgres -- $PG_BIN/pg_ctl -D $SC_ROOT/.pgdata -l $SC_ROOT/.pgdata/server.log start"
say "(that keeps connectors and history; running scripts/demo.sh again starts from scratch)"
