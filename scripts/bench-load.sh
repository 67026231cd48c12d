#!/usr/bin/env bash
# Load-step benchmark (docs/benchmarks.md): installs the extension, starts a
# scratch cluster on port 5497 in /tmp/sc-bench-pgdata, runs bench/src/load_bench.rs.
# Extra arguments go to the bench (--rows N, --chunk N, --rounds N, --quick: one round).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DATA=/tmp/sc-bench-pgdata
PORT=5497
bash "$SC_ROOT/scripts/setup.sh"
# The second baseline (issue 18): Debian's pgloader.
command -v pgloader >/dev/null || { say "installing pgloader (a baseline of the bench)"; apt-get install -y -q pgloader >/dev/null; }
sc_install_extension
sc_cluster_stop "$DATA"
rm -rf "$DATA"
sc_cluster_start "$DATA" "$PORT"
trap 'sc_cluster_stop "$DATA"' EXIT
(cd "$SC_ROOT" && SC_BENCH_PGPORT=$PORT cargo run --release -q -p sc-bench --bin load-bench -- "$@")
