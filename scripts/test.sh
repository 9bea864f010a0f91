#!/usr/bin/env bash
# Runs the whole suite against SQLite and PostgreSQL, leaving the machine as it found it:
# starts the local PostgreSQL 15 cluster if it is not running (and stops it again), creates a
# throwaway role and database, and drops them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_VER=${PG_VER:-15}
PG_CLUSTER=${PG_CLUSTER:-main}
DB=shopsphere_test_$$
ROLE=shopsphere_test
PW=shopsphere_test_pw
started_pg=0

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -u postgres bash -c "$1"; fi
}

cleanup() {
  set +e
  if [ -n "${SHOPSPHERE_TEST_PG_URL:-}" ] && [ "${own_db:-0}" = 1 ]; then
    as_postgres "psql -q -c 'DROP DATABASE IF EXISTS $DB WITH (FORCE)'" >/dev/null 2>&1
    as_postgres "psql -q -c 'DROP ROLE IF EXISTS $ROLE'" >/dev/null 2>&1
  fi
  if [ "$started_pg" = 1 ]; then pg_ctlcluster "$PG_VER" "$PG_CLUSTER" stop; fi
}
trap cleanup EXIT

if [ -z "${SHOPSPHERE_TEST_PG_URL:-}" ]; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    if ! pg_lsclusters -h | awk -v v="$PG_VER" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
      pg_ctlcluster "$PG_VER" "$PG_CLUSTER" start
      started_pg=1
    fi
    PORT=$(pg_lsclusters -h | awk -v v="$PG_VER" -v c="$PG_CLUSTER" '$1==v && $2==c {print $3}')
    as_postgres "psql -q -c \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$ROLE') THEN CREATE ROLE $ROLE LOGIN PASSWORD '$PW' CREATEDB; END IF; END\\\$\\\$\""
    as_postgres "psql -q -c 'CREATE DATABASE $DB OWNER $ROLE'"
    own_db=1
    export SHOPSPHERE_TEST_PG_URL="postgresql+psycopg://$ROLE:$PW@127.0.0.1:$PORT/$DB"
  elif [ "${CI:-}" = "true" ]; then
    echo "CI needs PostgreSQL: install postgresql-15 or set SHOPSPHERE_TEST_PG_URL" >&2
    exit 1
  fi
fi

# -p no:cacheprovider keeps the tree clean; -n 2 uses both cores.
python -m pytest -p no:cacheprovider -n 2 --dist loadgroup --timeout 900 "$@"
