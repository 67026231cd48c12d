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
LOG=$(mktemp)
# Every cargo test line goes to the terminal and to $LOG, for the totals at the end.
run() { "$@" 2>&1 | tee -a "$LOG"; return "${PIPESTATUS[0]}"; }

say "layer 1: cargo test (sc-core, sc-engine)"
run cargo test -p sc-core -p sc-engine

say "layer 2: cargo pgrx test (#[pg_test])"
mkdir -p "$PGRX_DATA" && chown postgres:postgres "$PGRX_DATA"
run cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_DATA"

say "layer 3: integration tests against a preloaded cluster"
sc_install_extension
sc_cluster_stop "$ITEST_DATA"
rm -rf "$ITEST_DATA"
sc_cluster_start "$ITEST_DATA" "$PORT"
trap 'sc_cluster_stop "$ITEST_DATA"' EXIT
SC_TEST_PGPORT=$PORT SC_TEST_PGDATA=$ITEST_DATA run cargo test -p sc-integration -- --test-threads=1
passed=$(awk '/test result: ok\./ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^passed/) n += $i } END { print n + 0 }' "$LOG")
say "all test layers passed"
echo "tests: ${passed} passed, 0 failed"
