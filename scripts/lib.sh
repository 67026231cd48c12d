#!/usr/bin/env bash
# Shared helpers for scripts/*.sh: build/install the extension, run a local cluster.
# Source it; every function is idempotent.

SC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "== $*"; }
die() { echo "ERROR: $*" >&2; exit 1; }

# Builds and installs the extension into the system PostgreSQL 15.
sc_install_extension() {
  say "building and installing the extension (cargo pgrx install)"
  local log="$SC_ROOT/target/sc-install.log"
  mkdir -p "$SC_ROOT/target"
  # cargo pgrx install overwrites the library in place; a running server that
  # has it mapped would crash. Renaming it first gives the new build a new
  # file, and running servers keep the old one until they restart.
  local libdir
  libdir=$(/usr/bin/pg_config --pkglibdir)
  if [ -f "$libdir/smartconnector.so" ]; then
    mv -f "$libdir/smartconnector.so" "$libdir/smartconnector.so.old"
  fi
  (cd "$SC_ROOT" && cargo pgrx install --pg-config /usr/bin/pg_config --release >"$log" 2>&1) \
    || { tail -30 "$log" >&2
         [ -f "$libdir/smartconnector.so" ] || mv -f "$libdir/smartconnector.so.old" "$libdir/smartconnector.so" 2>/dev/null
         die "cargo pgrx install failed (full log: $log)"; }
  say "building and installing the engine process (sc-engine)"
  (cd "$SC_ROOT" && cargo build --release -q -p sc-engine --bin sc-engine) \
    || die "cargo build -p sc-engine failed (run it in $SC_ROOT to see why)"
  rm -f "$libdir/smartconnector.so.old"
  install -d -m 755 /usr/local/lib/smartconnector
  # install(1) removes the old file before writing, so a running engine keeps its own copy.
  install -m 755 "$SC_ROOT/target/release/sc-engine" /usr/local/lib/smartconnector/sc-engine
}

# sc_pgrx_test ARGS...: `cargo pgrx test` without touching the installed
# extension. cargo pgrx test installs a debug build (library, control file and
# an install script that also creates the test functions) into PostgreSQL's
# directories. Writing over a smartconnector.so that a running server has
# mapped crashes that server, and leaving the debug build there would have the
# next (re)started server or CREATE EXTENSION use it. So the installed library
# is renamed aside first (running servers keep their mapping of it), the
# control and script files are copied aside, and all are put back afterwards.
sc_pgrx_test() {
  local libdir extdir kept
  libdir=$(/usr/bin/pg_config --pkglibdir)
  extdir="$(/usr/bin/pg_config --sharedir)/extension"
  kept=$(mktemp -d)
  local so="$libdir/smartconnector.so"
  [ -f "$so" ] && mv -f "$so" "$kept/smartconnector.so"
  cp -p "$extdir"/smartconnector.control "$extdir"/smartconnector--*.sql "$kept/" 2>/dev/null || true
  local rc=0
  (cd "$SC_ROOT" && cargo pgrx test "$@") || rc=$?
  rm -f "$extdir"/smartconnector.control "$extdir"/smartconnector--*.sql
  for f in "$kept"/smartconnector.control "$kept"/smartconnector--*.sql; do
    [ -f "$f" ] && cp -p "$f" "$extdir/"
  done
  if [ -f "$kept/smartconnector.so" ]; then
    mv -f "$kept/smartconnector.so" "$so"
  else
    rm -f "$so"
  fi
  rm -rf "$kept"
  return $rc
}

# sc_cluster_start DATADIR PORT: starts (or reuses) a cluster owned by postgres,
# with smartconnector and pg_cron preloaded, listening on 127.0.0.1:PORT.
sc_cluster_start() {
  local data=$1 port=$2
  if [ ! -f "$data/PG_VERSION" ]; then
    say "initdb $data"
    mkdir -p "$data"
    chown postgres:postgres "$data"
    chmod 700 "$data"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$data" --auth=trust -U postgres -E UTF8 \
      --locale=C.UTF-8 >/dev/null || die "initdb failed in $data"
    cat >> "$data/postgresql.conf" <<CONF

# --- smartconnector ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_preload_libraries = 'smartconnector,pg_cron'
cron.database_name = 'postgres'
max_worker_processes = 16
CONF
  fi
  sed -i "s/^port = .*/port = $port/; s/^#port = .*/port = $port/" "$data/postgresql.conf"
  if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    return 0
  fi
  say "starting PostgreSQL on 127.0.0.1:$port ($data)"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null \
    || { tail -20 "$data/server.log" >&2; die "PostgreSQL did not start; see $data/server.log"; }
}

# sc_cluster_stop DATADIR
sc_cluster_stop() {
  local data=$1
  if [ -f "$data/postmaster.pid" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# sc_psql PORT [psql args...]
sc_psql() {
  local port=$1; shift
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}
