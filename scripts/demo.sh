#!/usr/bin/env bash
# One command from a fresh machine: install everything, build and install the
# extension, start (or reuse) a local cluster in ./.pgdata, create a sample
# connector from a bundled document and print it back.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PORT=${SC_DEMO_PORT:-5499}

bash "$SC_ROOT/scripts/setup.sh"
sc_install_extension
sc_cluster_start "$SC_ROOT/.pgdata" "$PORT"

say "creating the extension afresh (the demo cluster is scratch space) and the demo tables"
sc_psql "$PORT" -c "SET client_min_messages = warning; DROP EXTENSION IF EXISTS smartconnector CASCADE"
sc_psql "$PORT" -f "$SC_ROOT/examples/vendor_products/schema.sql"

say "saving the connector from examples/vendor_products/connector.json"
sc_psql "$PORT" -v doc="$(cat "$SC_ROOT/examples/vendor_products/connector.json")" <<'SQL'
SELECT sc_import_connector(:'doc'::jsonb, 'replace') AS imported \gx
SELECT api_name, type, status, owner FROM sc.connectors ORDER BY api_name;
\echo 'exported document:'
\pset format unaligned
\pset tuples_only on
SELECT jsonb_pretty(sc_export_connector('vendor_products'));
SQL
say "done. Connect with: psql -h 127.0.0.1 -p $PORT -U postgres   (stop: runuser -u postgres -- $PG_BIN/pg_ctl -D $SC_ROOT/.pgdata stop)"
