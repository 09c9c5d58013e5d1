#!/usr/bin/env bash
# Starts a throw-away PostgreSQL as the postgres user in a temporary data
# directory on a spare loopback port, and exports TEST_DATABASE_URL.
# Source it: `. .ci/postgres.sh`. Stop it with `pg_stop_test`.
set -euo pipefail

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PG_TEST_PORT=${PG_TEST_PORT:-55432}
PG_TEST_DIR=$(mktemp -d /tmp/bounced-pg.XXXXXX)
chown postgres:postgres "$PG_TEST_DIR"
runuser -u postgres -- "$pg_bin/initdb" -D "$PG_TEST_DIR/data" -U postgres -A trust -E UTF8 >"$PG_TEST_DIR/initdb.log"
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w \
	-o "-p $PG_TEST_PORT -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start
export PG_TEST_DIR PG_TEST_PORT pg_bin
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_TEST_PORT/postgres?sslmode=disable"

pg_stop_test() {
	runuser -u postgres -- "$pg_bin/pg_ctl" -D "$PG_TEST_DIR/data" -m fast stop || true
}
