#!/bin/sh
# README "dbenv status": a backend on test and a frontend that thinks it is on
# development, both connected to the test database (seed 000's mix-up).
# Run as: dbenv run test -- sh two-clients.sh
for who in test:backend development:frontend; do
    PGAPPNAME="dbenv:dashtam:$who" psql -q -c "SELECT pg_sleep(120)" "$DATABASE_URL" >/dev/null 2>&1 &
done
# wait until both are connected, so status sees them
tries=0
until [ "$(psql -tA -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'dbenv:dashtam:%'" "$DATABASE_URL")" = 2 ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || { echo "the two clients did not connect" >&2; exit 1; }
    sleep 0.1
done
