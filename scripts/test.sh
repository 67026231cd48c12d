#!/usr/bin/env bash
# One command from a fresh machine: install everything, then run every test layer:
#   1. cargo test  (sc-core, sc-engine: pure Rust and the engine process)
#   2. cargo pgrx test  (#[pg_test] inside PostgreSQL)
#   3. integration tests against a cluster with smartconnector + pg_cron preloaded
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PORT=${SC_TEST_PORT:-5498}
ITEST_DATA=${SC_ITEST_PGDATA:-/tmp/sc-itest-pgdata}
PGRX_DATA=${SC_PGRX_PGDATA:-/tmp/sc-pgrx-test}

bash "$SC_ROOT/scripts/setup.sh"
cd "$SC_ROOT"

say "layer 1: cargo test (sc-core, sc-engine)"
cargo test -p sc-core -p sc-engine

say "layer 2: cargo pgrx test (#[pg_test])"
mkdir -p "$PGRX_DATA" && chown postgres:postgres "$PGRX_DATA"
cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_DATA"

say "layer 3: integration tests against a preloaded cluster"
sc_install_extension
sc_cluster_stop "$ITEST_DATA"
rm -rf "$ITEST_DATA"
sc_cluster_start "$ITEST_DATA" "$PORT"
trap 'sc_cluster_stop "$ITEST_DATA"' EXIT
SC_TEST_PGPORT=$PORT SC_TEST_PGDATA=$ITEST_DATA cargo test -p sc-integration -- --test-threads=1
say "all test layers passed"
