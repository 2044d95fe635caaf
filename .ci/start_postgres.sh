#!/usr/bin/env bash
# Start a throw-away PostgreSQL on 127.0.0.1 for the store tests and print its SQLAlchemy URL.
# Installs the Debian packages when missing. Usage in CI:
#   export APPEALS_TEST_PG_URL="$(.ci/start_postgres.sh)"
# Stop it with: .ci/start_postgres.sh stop
set -euo pipefail
PGPORT="${PGPORT:-55432}"
PGDATA_DIR="${APPEALS_PG_DIR:-${TMPDIR:-/tmp}/appeals-pg}"
DB=appeals_test
export DEBIAN_FRONTEND=noninteractive

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq postgresql) >&2
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"

as_owner() {
  # PostgreSQL refuses to run as root: use the packaged `postgres` user when we are root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-start}" = stop ]; then
  as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" -m fast stop >&2 || true
  exit 0
fi

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
  mkdir -p "$PGDATA_DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR"
  as_owner "$BIN/initdb" -D "$PGDATA_DIR" -U appeals --auth=trust -E UTF8 --locale=C.UTF-8 >&2
fi
if ! as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w \
    -o "-h 127.0.0.1 -p $PGPORT -k $PGDATA_DIR" start >&2
fi
if ! as_owner "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U appeals -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
  as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U appeals "$DB" >&2
fi
echo "postgresql+psycopg://appeals@127.0.0.1:$PGPORT/$DB"
