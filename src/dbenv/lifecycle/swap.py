"""Build a database aside and swap it in: a reader sees the old database or the new, never half.

Every operation that replaces a whole database (reset from a template, restore,
clone) builds the new one under ``<target>_dbenv_new``, with the target's owner,
grants and database settings, stamps it, then renames the target to
``<target>_dbenv_old`` and the new one to the target in one transaction; the old
database is dropped last, in the background. A process killed before the swap
leaves the target as it was plus a ``_dbenv_new`` leftover; killed after it, the
new target plus an ``_dbenv_old`` one. Both are dropped by the next operation on
that target (under the guard's lock, so never while another one builds) and
listed by ``dbenv status`` meanwhile (``dbenv.lifecycle.leftovers``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dbenv.errors import OperationError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "aside_names",
    "carried",
    "create_aside",
    "discard",
    "drop_database",
    "drop_leftovers",
    "swap_in",
    "terminate",
]

NEW, OLD = "_dbenv_new", "_dbenv_old"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def aside_names(target: str) -> tuple[str, str]:
    """(new, old): where the copy is built, where the replaced database goes."""
    return f"{target[:48]}{NEW}", f"{target[:48]}{OLD}"


def drop_database(maint: psycopg.Connection[Any], name: str) -> None:
    maint.execute(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)".encode())


def drop_leftovers(maint: psycopg.Connection[Any], target: str) -> None:
    """Drop what a killed earlier operation on ``target`` left (call under the guard's lock)."""
    for leftover in aside_names(target):
        drop_database(maint, leftover)


def create_aside(
    maint: psycopg.Connection[Any], target: str, *, template: str | None = None, how: str = ""
) -> str:
    """Create ``<target>_dbenv_new`` like ``target`` (owner, settings, grants); returns its name.

    ``template``: copy that database (``how``: e.g. `` STRATEGY WAL_LOG``); else empty.
    """

    fresh, _ = aside_names(target)
    drop_leftovers(maint, target)
    owner, settings, grants = carried(maint, target)
    me = maint.execute("SELECT current_user").fetchone()
    owned = f" OWNER {ident(owner)}" if owner and me and owner != me[0] else ""
    copied = f" TEMPLATE {ident(template)}" if template else ""
    maint.execute(f"CREATE DATABASE {ident(fresh)}{copied}{how}{owned}".encode())
    # the stamp's marker is written for the new database by its own stamp
    carry_over(maint, fresh, settings, grants, stamp_marker=False)
    return fresh


def carry_over(
    maint: psycopg.Connection[Any],
    database: str,
    settings: list[str],
    grants: list[tuple[str, str | None]],
    *,
    stamp_marker: bool,
) -> None:
    """Give ``database`` the settings and grants :func:`carried` read from another one."""
    from psycopg import sql

    for setting in settings:
        key, _, value = setting.partition("=")
        if key.startswith("dbenv.") and not stamp_marker:
            continue
        maint.execute(
            sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                sql.Identifier(database), sql.SQL(key), sql.Literal(value)
            )
        )
    for privilege, grantee in grants:
        maint.execute(
            sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                sql.SQL(privilege),
                sql.Identifier(database),
                sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
            )
        )


def swap_in(maint: psycopg.Connection[Any], target: str, fresh: str, *, phase: str) -> None:
    """Rename ``target`` away and ``fresh`` in (one transaction), then drop the old one.

    ``phase``: the operation, naming its test pause points (``dbenv.testpoint``).
    """
    from dbenv.testpoint import reached

    _, old = aside_names(target)
    try:
        reached(f"{phase}:built")
        _swap(maint, target, fresh, old)
    except BaseException:
        discard(maint, fresh)
        raise
    try:
        reached(f"{phase}:swapped")
    finally:
        _drop_in_background(maint, old)


def discard(maint: psycopg.Connection[Any], fresh: str) -> None:
    """Drop a copy that will not be swapped in (best effort: the next run drops it too)."""
    import contextlib

    with contextlib.suppress(Exception):
        drop_database(maint, fresh)


def carried(
    maint: psycopg.Connection[Any], target: str
) -> tuple[str | None, list[str], list[tuple[str, str | None]]]:
    row = maint.execute(
        """SELECT pg_get_userbyid(d.datdba),
                  coalesce((SELECT s.setconfig FROM pg_db_role_setting s
                            WHERE s.setdatabase = d.oid AND s.setrole = 0), '{}'),
                  ARRAY(SELECT a.privilege_type || '|' || coalesce(pg_get_userbyid(a.grantee), '')
                        FROM aclexplode(d.datacl) a
                        WHERE a.grantee <> 0 AND a.grantee <> d.datdba
                        UNION
                        SELECT a.privilege_type || '|' FROM aclexplode(d.datacl) a
                        WHERE a.grantee = 0)
           FROM pg_database d WHERE d.datname = %s""",
        [target],
    ).fetchone()
    if row is None:
        return None, [], []
    grants = [(g.split("|")[0], g.split("|")[1] or None) for g in row[2]]
    return row[0], list(row[1]), grants


def terminate(maint: psycopg.Connection[Any], database: str) -> None:
    maint.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    )


def _swap(maint: psycopg.Connection[Any], target: str, fresh: str, old: str) -> None:
    """Rename target away and the copy in, in one transaction; retry while clients linger."""
    from psycopg import errors

    exists = maint.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone()
    for attempt in range(20):
        terminate(maint, target)
        try:
            with maint.transaction():
                if exists:
                    maint.execute(f"ALTER DATABASE {ident(target)} RENAME TO {ident(old)}".encode())
                maint.execute(f"ALTER DATABASE {ident(fresh)} RENAME TO {ident(target)}".encode())
            return
        except errors.ObjectInUse:
            time.sleep(0.05 * (attempt + 1))
    raise OperationError(
        f"could not swap in the new '{target}': clients keep reconnecting to it; it was left"
        " as it was.",
        hint="Stop the processes using it (dbenv status lists them) and run it again.",
    )


def _drop_in_background(maint: psycopg.Connection[Any], name: str) -> None:
    """Drop the swapped-out database without waiting for it.

    DROP DATABASE makes the server checkpoint, which can take longer than the whole
    clone. The statement goes out on a connection of its own that is then closed:
    the server finishes a statement it has started before it notices the client
    left. Should it not, the next operation drops the leftover first.
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    dsn = make_conninfo(maint.info.dsn, password=maint.info.password)
    conn = psycopg.connect(dsn, autocommit=True)
    conn.pgconn.send_query(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)".encode())
    conn.pgconn.flush()
    conn.close()
