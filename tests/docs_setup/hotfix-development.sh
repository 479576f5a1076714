#!/bin/sh
# README "Has the database drifted": someone hotfixed development by hand (added a
# column, dropped an index, shrank a column). Run as: dbenv run development -- sh hotfix-development.sh
exec psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "
    ALTER TABLE users ADD COLUMN legacy_code text;
    DROP INDEX ix_audit_connection_time;
    ALTER TABLE users ALTER COLUMN name TYPE varchar(50);"
