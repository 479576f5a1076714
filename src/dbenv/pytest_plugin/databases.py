"""Database-side steps of the plugin's session: seeded templates, worker clones, reuse keys.

- A *seeded template* is the schema template (``dbenv.lifecycle.template``) cloned once
  more with the environment's seed files loaded and captured as reference rows,
  so every test sees the seed data and a data-only reset restores it.
- A *worker clone* (``<database>_gw0``) is made under a staging name, given the
  configured database's owner, settings and grants, stamped, and renamed into
  place: a run killed mid-clone leaves only a staging name the next run drops.
- The *reuse key* (template fingerprint + seed digest) is kept in
  ``dbenv.pytest_state``, one row per isolation scope; a database whose key
  matches is reused after a data-only reset instead of cloned again.

Nothing here drops a database by its name alone: a worker clone, its staging
copy or a leftover of a killed run is dropped only when it is stamped as this
project's environment (``owned``), a kept copy only when its stamp row names them.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.errors import DbenvError, GuardRefusal
from dbenv.pytest_plugin.names import suffixed, worker_database

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

_STATE_DDL = """
CREATE SCHEMA IF NOT EXISTS dbenv;
CREATE TABLE IF NOT EXISTS dbenv.pytest_state (scope text PRIMARY KEY, key text NOT NULL)
"""


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def seed_digest(paths: Iterable[Path]) -> str:
    """A short hash of the seed files' names and contents ('' without seed files)."""
    paths = list(paths)
    if not paths:
        return ""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:8]


def read_key(conn: psycopg.Connection[Any], env: Environment) -> str | None:
    """The reuse key recorded for ``env``'s scope in the connected database."""
    from dbenv.lifecycle.datareset import scope_key

    # a table this role may not read (made by an older dbenv as the admin) counts as
    # no key: the database is cloned again and labelled readable
    found = conn.execute(
        "SELECT to_regclass('dbenv.pytest_state') IS NOT NULL"
        " AND has_table_privilege('dbenv.pytest_state', 'SELECT, UPDATE')"
    ).fetchone()
    if not found or not found[0]:
        return None
    row = conn.execute(
        "SELECT key FROM dbenv.pytest_state WHERE scope = %s", [scope_key(env)]
    ).fetchone()
    return str(row[0]) if row else None


def write_key(
    conn: psycopg.Connection[Any], env: Environment, key: str, *, reader: str | None = None
) -> None:
    """Record ``key``; ``reader``: the role that reads it later, when not the connected one."""
    from psycopg import sql

    from dbenv.lifecycle.datareset import scope_key

    with conn.transaction():
        conn.execute(_STATE_DDL)
        conn.execute(
            "INSERT INTO dbenv.pytest_state VALUES (%s, %s) "
            "ON CONFLICT (scope) DO UPDATE SET key = excluded.key",
            [scope_key(env), key],
        )
        if reader:
            role = sql.Identifier(reader)
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA dbenv TO {}").format(role))
            conn.execute(
                sql.SQL("GRANT SELECT, INSERT, UPDATE ON dbenv.pytest_state TO {}").format(role)
            )


def exists(maint: psycopg.Connection[Any], database: str) -> bool:
    row = maint.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
    return row is not None


def seeded_template(project: Project, env: Environment, template: str, digest: str) -> str:
    """The template with the seed files loaded (built once per template and seed digest)."""
    from dbenv.lifecycle.datareset import capture_reference
    from dbenv.lifecycle.seed import read_files, seed_rows
    from dbenv.lifecycle.swap import terminate as _terminate
    from dbenv.lifecycle.template import _locked, connect_maintenance
    from dbenv.target import Target

    name = f"{template}_s{digest}"
    target = Target.of(env)
    with connect_maintenance(target, project, "template") as maint, _locked(maint, name):
        if exists(maint, name):
            return name
        staging = name + "_b"
        maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
        owner = maint.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [template]
        ).fetchone()
        _terminate(maint, template)
        owned = f" OWNER {ident(owner[0])}" if owner else ""
        maint.execute(f"CREATE DATABASE {ident(staging)} TEMPLATE {ident(template)}{owned}")
        try:
            url = target.on(staging)
            conn = postgres.connect(url, search_path=_search_path(env))
            with conn, conn.transaction():
                seed_rows(conn, env, read_files(env.seed_files))
                capture_reference(conn, env)
        except BaseException:
            maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
            raise
        maint.execute(f"ALTER DATABASE {ident(staging)} RENAME TO {ident(name)}")
    return name


def seed_scoped(project: Project, env: Environment) -> None:
    """Load the seed rows into the schema or prefix just reset, through the guard."""
    from dbenv.lifecycle.datareset import capture_reference
    from dbenv.lifecycle.seed import read_files, seed_rows
    from dbenv.safety.guard import destructive

    files = [str(path) for path in env.seed_files]
    arguments = {"by": "pytest", "files": files}
    with (
        destructive(project, env, "seed", arguments=arguments) as guarded,
        guarded.conn.transaction(),
    ):
        guarded.record(seed_rows(guarded.conn, env, read_files(env.seed_files)))
        capture_reference(guarded.conn, env)


def drop_templates(maint: psycopg.Connection[Any], template: str) -> None:
    """Drop a template and its seeded variants (``--dbenv-recreate``)."""
    rows = maint.execute(
        "SELECT datname FROM pg_database WHERE datname = %s OR left(datname, %s) = %s",
        [template, len(template) + 2, template + "_s"],
    ).fetchall()
    for (name,) in rows:
        maint.execute(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)")


def clone_worker(
    maint: psycopg.Connection[Any],
    project: Project,
    configured: Environment,
    worker_env: Environment,
    *,
    template: str,
    database: str,
    key: str,
) -> None:
    """Replace ``database`` with a stamped copy of ``template`` shaped like the configured db."""

    from dbenv.lifecycle.swap import carried as _carried
    from dbenv.lifecycle.swap import carry_over
    from dbenv.lifecycle.swap import terminate as _terminate

    base = postgres.url_parts(configured.database_url or "").get("dbname", "")
    staging = suffixed(database, "new")
    refuse_unless_ours(maint, project, worker_env, staging)
    maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
    owner, settings, grants = _carried(maint, base)
    _terminate(maint, template)
    owned = f" OWNER {ident(owner)}" if owner else ""
    maint.execute(f"CREATE DATABASE {ident(staging)} TEMPLATE {ident(template)}{owned}")
    try:
        carry_over(maint, staging, settings, grants, stamp_marker=True)
        label(project, worker_env, staging, key)
    except BaseException:
        maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
        raise
    refuse_unless_ours(maint, project, worker_env, database)
    maint.execute(f"DROP DATABASE IF EXISTS {ident(database)} WITH (FORCE)")
    maint.execute(f"ALTER DATABASE {ident(staging)} RENAME TO {ident(database)}")


def label(project: Project, env: Environment, database: str, key: str) -> None:
    """Stamp a fresh copy and record its reuse key, as the environment's own role.

    dbenv's schema is then the role's, as after ``dbenv reset``. The admin stamps
    where the role may not: not the database's owner, or on PostgreSQL 15 and later,
    where only a superuser may set the stamp's database-level marker. The key is
    read as the role on the next run, so the admin grants it the table.
    """
    from dbenv.errors import OperationError
    from dbenv.target import Target

    target = Target.of(env)
    try:
        _write_label(project, env, target.url, database, key)
    except OperationError:
        _write_label(project, env, target.maintenance, database, key, reader=target.user)


def _write_label(
    project: Project,
    env: Environment,
    url: str,
    database: str,
    key: str,
    *,
    reader: str | None = None,
) -> None:
    from dbenv.safety.stamp import write_stamp

    with postgres.connect(postgres.with_database(url, database), autocommit=True) as conn:
        write_stamp(conn, project.name, env)
        write_key(conn, env, key, reader=reader)


def owned(project: Project, env: Environment, database: str) -> tuple[str, Any]:
    """(stamp state, stamp row) of ``database`` read as ``env``'s role.

    ``ok`` means stamped as ``env`` of ``project``; ``unreadable`` that it could not
    be connected to or read (then it is not treated as ours).
    """
    from psycopg import Error

    from dbenv.safety.stamp import read_stamp_state
    from dbenv.target import Target

    url = Target.of(env).on(database)
    try:
        with postgres.connect(url, autocommit=True, connect_timeout=5) as conn:
            _, state, stamp = read_stamp_state(conn, project.name, env)
            return state, stamp
    except (DbenvError, Error):
        return "unreadable", None


def not_ours(project: str, env: Environment, database: str, state: str) -> GuardRefusal:
    return GuardRefusal(
        f"refused to replace '{database}': it exists but is not stamped as "
        f"{project}/{env.name}'s worker database (stamp: {state}).",
        check="stamp",
        hint=f"Drop or rename '{database}' yourself if it is disposable (a run killed "
        "while cloning can leave its '_new' staging copy unstamped).",
    )


def refuse_unless_ours(
    maint: psycopg.Connection[Any], project: Project, env: Environment, database: str
) -> None:
    """Raise ``GuardRefusal`` when ``database`` exists and is not stamped as ``env``'s."""
    if exists(maint, database):
        state, _ = owned(project, env, database)
        if state != "ok":
            raise not_ours(project.name, env, database, state)


def refuse_unless_kept(
    maint: psycopg.Connection[Any], project: Project, env: Environment, database: str
) -> None:
    """Raise unless ``database`` is absent or a copy of ``env``'s (its stamp row names it).

    A kept copy carries the stamp row but not the database-level marker: ``copy``.
    """
    if not exists(maint, database):
        return
    state, stamp = owned(project, env, database)
    if state in ("ok", "copy") and (stamp.project, stamp.environment) == (project.name, env.name):
        return
    raise GuardRefusal(
        f"refused to replace '{database}': it exists but is not a kept copy of "
        f"{project.name}/{env.name}'s database (stamp: {state}).",
        check="stamp",
        hint=f"Drop or rename '{database}' yourself if it is disposable.",
    )


def drop_other_workers(
    maint: psycopg.Connection[Any], project: Project, configured: Environment, count: int
) -> tuple[list[str], list[str]]:
    """Drop worker clones (and staging copies) a killed or wider earlier run left behind.

    Only those stamped as ``configured``'s; the others are left alone. Returns
    (dropped, left alone).
    """
    base = postgres.url_parts(configured.database_url or "").get("dbname", "")
    names = {worker_database(base, f"gw{n}") for n in range(count, 64)}
    names |= {suffixed(name, "new") for name in names}
    rows = maint.execute(
        "SELECT datname FROM pg_database WHERE datname = ANY(%s)", [sorted(names)]
    ).fetchall()
    dropped, left = [], []
    for (name,) in rows:
        if owned(project, configured, name)[0] != "ok":
            left.append(str(name))
            continue
        with contextlib.suppress(Exception):  # in use by a concurrent run: leave it
            maint.execute(f"DROP DATABASE IF EXISTS {ident(name)}")
            dropped.append(str(name))
    return dropped, left


def _search_path(env: Environment) -> str | None:
    return env.schema if env.isolation == "schema" else None
