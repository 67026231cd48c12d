#!/usr/bin/env bash
# Installs everything smartconnector needs on a fresh Debian 12 machine of this
# project's kind. Idempotent: a second run prints nothing and changes nothing.
#   apt packages, cargo-pgrx (pinned), `cargo pgrx init --pg15`, and libchdb.so
#   (pinned npm package, sha256-checked) into $SC_LIB_DIR.
set -euo pipefail

PGRX_VERSION=0.18.1
CHDB_NPM_PACKAGE=@chdb/lib-linux-x64-gnu
CHDB_VERSION=26.5.3
CHDB_TGZ_SHA256=b874e449710950da3abd7e20376f7bb3387d9e03adcc7082f022be18dfdf316a
SC_LIB_DIR=${SC_LIB_DIR:-/usr/local/lib/smartconnector}
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo build-essential pkg-config)

say() { echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs apt packages and writes $SC_LIB_DIR)"

# 1. Debian packages ---------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing apt packages: ${missing[*]}"
  apt-get update -qq || die "apt-get update failed; check that Debian's package mirror is reachable"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi
# The Debian package starts a default cluster on 5432; we run our own clusters.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi

# 2. cargo-pgrx at the pinned version ----------------------------------------
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || die "cargo not found; this machine kind ships Rust 1.95 via rustup"
if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  say "installing cargo-pgrx $PGRX_VERSION (about 5 minutes)"
  cargo install cargo-pgrx --version "=$PGRX_VERSION" --locked --quiet \
    || die "cargo install cargo-pgrx failed; check crates.io is reachable"
fi
if ! grep -qs 'pg15 *= *"/usr/bin/pg_config"' "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  say "cargo pgrx init --pg15 /usr/bin/pg_config"
  cargo pgrx init --pg15 /usr/bin/pg_config >/dev/null || die "cargo pgrx init failed"
fi

# 3. libchdb.so from the pinned npm package -----------------------------------
stamp="$SC_LIB_DIR/libchdb.version"
if [ ! -f "$SC_LIB_DIR/libchdb.so" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$CHDB_VERSION" ]; then
  command -v npm >/dev/null || die "npm not found; install Node.js/npm to fetch $CHDB_NPM_PACKAGE"
  say "fetching $CHDB_NPM_PACKAGE@$CHDB_VERSION (about 160 MB)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$CHDB_NPM_PACKAGE@$CHDB_VERSION" >/dev/null 2>"$tmp/npm.err") \
    || die "npm pack $CHDB_NPM_PACKAGE@$CHDB_VERSION failed ($(tail -1 "$tmp/npm.err")); check the npm registry is reachable and retry"
  tgz=$(ls "$tmp"/*.tgz)
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  [ "$got" = "$CHDB_TGZ_SHA256" ] \
    || die "checksum mismatch for $CHDB_NPM_PACKAGE@$CHDB_VERSION: expected $CHDB_TGZ_SHA256, got $got. Do not use this file; retry, and if it persists the registry copy changed: review and update CHDB_TGZ_SHA256 in scripts/setup.sh"
  tar -xzf "$tgz" -C "$tmp" package/libchdb.so || die "the package has no libchdb.so"
  install -d -m 755 "$SC_LIB_DIR"
  install -m 755 "$tmp/package/libchdb.so" "$SC_LIB_DIR/libchdb.so.tmp"
  mv -f "$SC_LIB_DIR/libchdb.so.tmp" "$SC_LIB_DIR/libchdb.so"
  echo "$CHDB_VERSION" > "$stamp"
  say "libchdb.so $CHDB_VERSION installed in $SC_LIB_DIR"
fi
