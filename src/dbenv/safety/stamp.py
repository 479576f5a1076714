"""The stamp: what a database says it is, and whether to believe it.

A stamp is two things written together:

- a row in ``dbenv.stamp`` (one per isolation scope: the whole database, a schema,
  or a table prefix) naming project, environment, tier, when, by whom, from where;
- a database-level marker, ``ALTER DATABASE ... SET dbenv.project/environment``
  (per scope for schema and prefix modes), which lives in ``pg_db_role_setting``.

``pg_dump``/``pg_restore`` and ``CREATE DATABASE ... TEMPLATE`` carry the table but
not the marker, so a database whose table says ``production`` while its marker is
missing or different is a *copy* — and the guard refuses to treat it as anything
else until someone re-stamps it on purpose.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from dbenv.config.model import Environment
from dbenv.errors import OperationError
from dbenv.safety.journal import host_name, os_user

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "Stamp",
    "StampState",
    "ensure_schema",
    "read_marker",
    "read_stamp",
    "read_stamp_state",
    "read_stamp_state_with",
    "scope_of",
    "stamp_state",
    "write_stamp",
]

StampState = Literal["ok", "absent", "other-environment", "other-project", "copy"]

_DDL = """
CREATE SCHEMA IF NOT EXISTS dbenv;
CREATE TABLE IF NOT EXISTS dbenv.stamp (
    scope text PRIMARY KEY,
    project text NOT NULL,
    environment text NOT NULL,
    tier text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    host text,
    dbenv_version text,
    tenants text[],
    made bigint[]
)
"""
# columns added after the first release: a stamp table from before lacks them
_LATER_COLUMNS = "ALTER TABLE dbenv.stamp ADD COLUMN IF NOT EXISTS tenants text[],"
_LATER_COLUMNS += " ADD COLUMN IF NOT EXISTS made bigint[]"


@dataclass(frozen=True)
class Stamp:
    """One stamp row: which project's which environment this scope belongs to."""

    project: str
    environment: str
    tier: str
    scope: str | None  # "schema:<name>", "prefix:<prefix>", or None (whole database)
    created_at: datetime | None
    created_by: str
    host: str
    dbenv_version: str


def scope_of(env: Environment) -> str | None:
    """The isolation scope an environment owns inside its database."""
    if env.isolation == "schema" and env.schema:
        return f"schema:{env.schema}"
    if env.isolation == "prefix" and env.prefix:
        return f"prefix:{env.prefix}"
    return None


def _marker_names(scope: str | None) -> tuple[str, str]:
    if scope is None:
        return "dbenv.project", "dbenv.environment"
    key = re.sub(r"[^a-z0-9]+", "_", scope.lower()).strip("_")[:40]
    key += "_" + hashlib.sha1(scope.encode()).hexdigest()[:8]
    return f"dbenv.project_{key}", f"dbenv.environment_{key}"


def _has_table(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create ``dbenv`` and its stamp table when missing (or add its later columns)."""
    if _has_table(conn, "dbenv.stamp"):
        # CREATE/ALTER ... IF NOT EXISTS would still need the privilege: look first
        row = conn.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'dbenv.stamp'::regclass"
            " AND attname IN ('tenants', 'made') AND NOT attisdropped"
        ).fetchone()
        if row is None or row[0] < 2:
            conn.execute(_LATER_COLUMNS)
        return
    with conn.transaction():
        for statement in filter(str.strip, _DDL.split(";")):
            conn.execute(statement)


def read_stamp(conn: psycopg.Connection[Any], env: Environment) -> Stamp | None:
    """The stamp row of the environment's scope, or None."""
    if not _has_table(conn, "dbenv.stamp"):
        return None
    scope = scope_of(env)
    row = conn.execute(
        "SELECT project, environment, tier, created_at, coalesce(created_by, ''),"
        " coalesce(host, ''), coalesce(dbenv_version, '') FROM dbenv.stamp WHERE scope = %s",
        (scope or "",),
    ).fetchone()
    if row is None:
        return None
    return Stamp(row[0], row[1], row[2], scope, row[3], row[4], row[5], row[6])


def read_marker(conn: psycopg.Connection[Any], env: Environment) -> tuple[str, str] | None:
    """(project, environment) from the database-level marker of the scope, or None."""
    rows = conn.execute(
        "SELECT unnest(s.setconfig) FROM pg_db_role_setting s"
        " JOIN pg_database d ON d.oid = s.setdatabase"
        " WHERE d.datname = current_database() AND s.setrole = 0"
    ).fetchall()
    return _marker_of([str(r[0]) for r in rows], env)


def _marker_of(settings: list[str], env: Environment) -> tuple[str, str] | None:
    values = dict(item.split("=", 1) for item in settings if "=" in item)
    project_key, env_key = _marker_names(scope_of(env))
    if project_key not in values or env_key not in values:
        return None
    return values[project_key], values[env_key]


def stamp_state(conn: psycopg.Connection[Any], project: str, env: Environment) -> StampState:
    """Compare the stamp with (project, env): ok, absent, other-*, or copy."""
    stamp = read_stamp(conn, env)
    marker = read_marker(conn, env) if stamp is not None else None
    return _state_of(stamp, marker, project, env)


def _state_of(
    stamp: Stamp | None, marker: tuple[str, str] | None, project: str, env: Environment
) -> StampState:
    if stamp is None:
        return "absent"
    if marker != (stamp.project, stamp.environment):
        return "copy"
    if stamp.project != project:
        return "other-project"
    if stamp.environment != env.name:
        return "other-environment"
    return "ok"


# The database, the scope's stamp row and the database-level settings in one round
# trip (plus the caller's extra columns); it fails (UndefinedTable) where there is
# no stamp table yet.
_STATE = """
SELECT current_database(), s.project, s.environment, s.tier, s.created_at,
       coalesce(s.created_by, ''), coalesce(s.host, ''), coalesce(s.dbenv_version, ''),
       ARRAY(SELECT unnest(r.setconfig) FROM pg_db_role_setting r
             JOIN pg_database d ON d.oid = r.setdatabase
             WHERE d.datname = current_database() AND r.setrole = 0){extra}
FROM (SELECT 1) AS one LEFT JOIN dbenv.stamp s ON s.scope = %s
"""


def read_stamp_state(
    conn: psycopg.Connection[Any], project: str, env: Environment
) -> tuple[str, StampState, Stamp | None]:
    """(current database, ``stamp_state``, ``read_stamp``) in one query when it can.

    The one query may fail (no stamp table yet, or not readable): then the
    step-by-step reads run instead and decide. Outside autocommit only those run,
    as a failed query would abort the caller's transaction.
    """
    database, state, stamp, _ = read_stamp_state_with(conn, project, env, "")
    return database, state, stamp


def read_stamp_state_with(
    conn: psycopg.Connection[Any],
    project: str,
    env: Environment,
    columns: str,
    *,
    unprivileged: str | None = None,
) -> tuple[str, StampState, Stamp | None, tuple[Any, ...] | None]:
    """``read_stamp_state`` plus the values of extra ``columns`` read in the same query.

    ``unprivileged``: the columns to try instead when ``columns`` may not be read
    (the role lacks a privilege one of them needs). The extra values are None when
    the one query could not run (the caller reads them its own way then).
    """
    from psycopg import errors

    scope = scope_of(env)
    row = None
    attempts = [columns] if unprivileged is None else [columns, unprivileged]
    while conn.autocommit and attempts and row is None:
        extra = attempts.pop(0)
        query = _STATE.replace("{extra}", f", {extra}" if extra else "")
        try:
            row = conn.execute(query, (scope or "",)).fetchone()
        except errors.UndefinedTable:
            break
        except errors.InsufficientPrivilege:
            continue
    if row is None:
        stamp = read_stamp(conn, env)
        return _current_database(conn), stamp_state(conn, project, env), stamp, None
    stamp = None
    if row[1] is not None:
        stamp = Stamp(row[1], row[2], row[3], scope, row[4], row[5], row[6], row[7])
    marker = _marker_of([str(item) for item in row[8] or ()], env)
    return str(row[0]), _state_of(stamp, marker, project, env), stamp, tuple(row[9:])


def write_stamp(conn: psycopg.Connection[Any], project: str, env: Environment) -> Stamp:
    """Write (or refresh) the stamp row and the database-level marker of the scope.

    The marker needs the database's owner or a superuser; without it the error
    says so and leaves the table untouched.
    """
    from psycopg import errors, sql

    version = _dbenv_version()
    scope = scope_of(env)
    project_key, env_key = _marker_names(scope)
    try:
        ensure_schema(conn)
        with conn.transaction():
            row = conn.execute(
                """
                INSERT INTO dbenv.stamp AS s (scope, project, environment, tier, created_at,
                    created_by, host, dbenv_version, tenants)
                VALUES (%s, %s, %s, %s, now(), %s, %s, %s, %s)
                ON CONFLICT (scope) DO UPDATE SET project = excluded.project,
                    environment = excluded.environment, tier = excluded.tier,
                    created_at = excluded.created_at, created_by = excluded.created_by,
                    host = excluded.host, dbenv_version = excluded.dbenv_version,
                    tenants = excluded.tenants,
                    made = CASE WHEN s.project = excluded.project
                                 AND s.environment = excluded.environment THEN s.made END
                RETURNING created_at
                """,
                (
                    scope or "",
                    project,
                    env.name,
                    env.tier,
                    os_user(),
                    host_name(),
                    version,
                    list(env.tenants) if scope is None else None,
                ),
            ).fetchone()
            for key, value in ((project_key, project), (env_key, env.name)):
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                        sql.Identifier(_current_database(conn)),
                        sql.SQL(key),
                        sql.Literal(value),
                    )
                )
    except errors.InsufficientPrivilege:
        raise OperationError(
            f"could not stamp '{env.name}': only the database's owner or a superuser may"
            " set its database-level marker.",
            hint="Set admin_url for this environment, or run dbenv provision as its owner.",
        ) from None
    created = row[0] if row else None
    return Stamp(project, env.name, env.tier, scope, created, os_user(), host_name(), version)


def _current_database(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_database()").fetchone()
    return str(row[0]) if row else ""


def _dbenv_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dbenv")
    except PackageNotFoundError:
        return "unknown"
