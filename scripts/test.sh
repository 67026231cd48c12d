#!/usr/bin/env bash
# One command from a fresh machine: install everything, then run every test layer:
#   0. cargo fmt --check and cargo clippy -D warnings
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

say "layer 0: formatting and lints (cargo fmt --check, cargo clippy -D warnings)"
cargo fmt --all -- --check || die "cargo fmt --check: run 'cargo fmt --all' and commit the result"
cargo clippy --workspace --all-targets --quiet -- -D warnings || die "cargo clippy reported the problems above"
echo "test result: ok. 2 passed; 0 failed (rustfmt, clippy)" | tee -a "$LOG"

# The release build for layer 3 is installed and its cluster started first, so
# the layers below run beside a live server with the library preloaded, as on
# a developer's machine with the demo running: layer 2 must leave it alone.
sc_install_extension
sc_cluster_stop "$ITEST_DATA"
rm -rf "$ITEST_DATA"
sc_cluster_start "$ITEST_DATA" "$PORT"
trap 'sc_cluster_stop "$ITEST_DATA"' EXIT
installed_so="$(/usr/bin/pg_config --pkglibdir)/smartconnector.so"
installed_sums() {
  sha256sum "$installed_so" "$(/usr/bin/pg_config --sharedir)"/extension/smartconnector* | cut -d' ' -f1
}
release_sums=$(installed_sums)

say "layer 1: cargo test (sc-core, sc-engine)"
run cargo test -p sc-core -p sc-engine

say "layer 2: cargo pgrx test (#[pg_test])"
mkdir -p "$PGRX_DATA" && chown postgres:postgres "$PGRX_DATA"
# One test at a time: many tests create the same demo tables and connector, and
# in parallel their transactions can deadlock on those names.
RUST_TEST_THREADS=1 run sc_pgrx_test pg15 --runas postgres --pgdata "$PGRX_DATA"

say "check: layer 2 left the running server and the installed release build alone"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$ITEST_DATA" status >/dev/null \
  || die "the layer-3 server stopped while layer 2 ran (see $ITEST_DATA/server.log)"
launchers=$(sc_psql "$PORT" -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'smartconnector launcher'")
[ "$launchers" = 1 ] || die "the smartconnector launcher of the layer-3 server is gone ($launchers running)"
[ "$(installed_sums)" = "$release_sums" ] \
  || die "layer 2 left another build than the release one installed (library or extension scripts)"
echo "test result: ok. 1 passed; 0 failed (server and installed library untouched by layer 2)" | tee -a "$LOG"

say "layer 3: integration tests against a preloaded cluster"
SC_TEST_PGPORT=$PORT SC_TEST_PGDATA=$ITEST_DATA run cargo test -p sc-integration -- --test-threads=1
passed=$(awk '/test result: ok\./ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^passed/) n += $i } END { print n + 0 }' "$LOG")
say "all test layers passed"
echo "tests: ${passed} passed, 0 failed"
