#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test (unit, property, integration, snapshot)
# against SQLite and a real PostgreSQL server that this script starts on 127.0.0.1 and stops.
#
#   bash scripts/test.sh            # everything
#   SKIP_LINT=1 bash scripts/test.sh  # tests only
#
# PostgreSQL: uses the server binaries on PATH (initdb, pg_ctl); installs Debian's postgresql
# package when they are missing and apt-get is available. Without a server the PostgreSQL halves
# of the tests are skipped with a notice, unless CASTELLAN_REQUIRE_PG=1 (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

find_pg_bin() {
  for d in "" /usr/lib/postgresql/*/bin/; do
    if [ -x "${d}initdb" ] || { [ -z "$d" ] && command -v initdb >/dev/null 2>&1; }; then
      echo "$d"; return 0
    fi
  done
  return 1
}

PGBIN=""
if ! PGBIN=$(find_pg_bin); then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing PostgreSQL server (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(find_pg_bin) || true
  fi
fi

PGTMP=""
MOTO_PID=""
cleanup() {
  if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null || true; fi
  if [ -n "$PGTMP" ] && [ -d "$PGTMP/data" ]; then
    run_pg "${PGBIN}pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PGTMP"
  fi
}
trap cleanup EXIT

run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -n "${CASTELLAN_TEST_PG_URL:-}" ]; then
  log "using PostgreSQL at the given CASTELLAN_TEST_PG_URL"
elif [ -n "$PGBIN" ] || command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && ! id -u postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  PGTMP=$(mktemp -d /tmp/castellan-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$PGTMP"
  PORT=${CASTELLAN_TEST_PG_PORT:-55433}
  log "starting PostgreSQL on 127.0.0.1:$PORT"
  run_pg "${PGBIN}initdb" -D "$PGTMP/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
  run_pg "${PGBIN}pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  export CASTELLAN_TEST_PG_URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
else
  log "NOTICE: no PostgreSQL server binaries found; PostgreSQL tests will be skipped"
fi

# moto's server (PyPI `moto[server]`) on 127.0.0.1: the AWS IAM API for the live-import tests.
MOTO_VENV=${CASTELLAN_MOTO_VENV:-$HOME/.cache/castellan/moto-venv}
if [ -z "${SKIP_MOTO:-}" ]; then
  if ! command -v python3 >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing python3 (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
    log "installing moto[server] into $MOTO_VENV"
    python3 -m venv "$MOTO_VENV" && "$MOTO_VENV/bin/pip" install -q 'moto[server]'
  fi
  MOTO_PORT=${CASTELLAN_TEST_MOTO_PORT:-55055}
  log "starting moto_server on 127.0.0.1:$MOTO_PORT"
  "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"${TMPDIR:-/tmp}/castellan-moto.log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $MOTO_PORT)))" 2>/dev/null; then break; fi
    sleep 0.2
  done
  export CASTELLAN_TEST_MOTO_URL="http://127.0.0.1:$MOTO_PORT"
fi

# openssl for the live TLS tests (they make a certificate and serve it with `openssl s_server`).
if ! command -v openssl >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  log "installing openssl (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi

if [ -z "${SKIP_LINT:-}" ]; then
  log "cargo fmt --check"
  cargo fmt --all -- --check
  log "cargo clippy"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  log "cargo clippy (features aws, tls: live AWS IAM, live TLS endpoints)"
  cargo clippy -p castellan --features aws,tls --all-targets --locked -- -D warnings
fi

log "cargo test"
cargo test --workspace --locked

log "cargo test (features aws, tls: live AWS IAM against moto, live TLS against openssl s_server)"
cargo test -p castellan --features aws,tls --locked --test aws_live --test tls_live
