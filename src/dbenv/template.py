"""Template databases: build a schema once per fingerprint, clone it in milliseconds.

A template is named ``dbenv_tpl_<project>_<fingerprint>`` and lives on the same
server as the environment. It is built under a temporary name and renamed when
complete, so a process killed mid-build leaves nothing that looks finished. Its
database comment records what it holds (project, source, fingerprint, tables).

A clone never leaves the target missing: the copy is made under a temporary
name, stamped, given the target's owner, grants and database settings, and then
swapped in by two renames in one transaction; the old database is dropped last.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.datareset import capture_reference
from dbenv.errors import OperationError
from dbenv.sources import SchemaSource, build, build_failure, load_schema_source, render
from dbenv.tablegraph import load_graph

if TYPE_CHECKING:
    import psycopg

Progress = Callable[[str], None]
PREFIX = "dbenv_tpl_"


@dataclass(frozen=True)
class Template:
    """A built template database and what it holds."""

    name: str
    fingerprint: str
    source: str
    tables: tuple[str, ...]  # qualified table names
    reference: tuple[str, ...] = ()  # tables whose rows the source inserted
    built: bool = False  # built by this call (not reused)


def template_name(project: str, fp: str) -> str:
    slug = re.sub(r"[^a-z0-9_]", "_", project.lower())[:24]
    return f"{PREFIX}{slug}_{fp[:16]}"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect_maintenance(env: Environment, project: Any, component: str) -> psycopg.Connection[Any]:
    from dbenv.guard import maintenance_url

    return postgres.connect(
        maintenance_url(env),
        autocommit=True,
        application_name=f"dbenv:{project.name}:{env.name}:{component}",
    )


def may_create_databases(conn: psycopg.Connection[Any], target: str | None = None) -> bool:
    """Whether the connected role may create databases (and replace ``target``)."""
    row = conn.execute(
        """SELECT r.rolsuper, r.rolcreatedb,
                  (SELECT pg_has_role(d.datdba, 'MEMBER') FROM pg_database d
                   WHERE d.datname = %s)
           FROM pg_roles r WHERE r.rolname = current_user""",
        [target],
    ).fetchone()
    if row is None:
        return False
    superuser, createdb, owns_target = row
    return bool(superuser or (createdb and owns_target is not False))


@contextmanager
def _locked(conn: psycopg.Connection[Any], name: str) -> Iterator[None]:
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    conn.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [key])


def read_template(conn: psycopg.Connection[Any], name: str) -> Template | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        [name],
    ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        info = json.loads(row[0])
        return Template(
            name,
            info["fingerprint"],
            info["source"],
            tuple(info["tables"]),
            tuple(info.get("reference", ())),
        )
    except (ValueError, KeyError, TypeError):
        return None


def ensure_template(
    project: Any,
    env: Environment,
    source: SchemaSource | None = None,
    *,
    progress: Progress | None = None,
) -> Template:
    """The template for the environment's current schema source, built if missing."""
    source = source or load_schema_source(project, env)
    fp, script = render(project, env, source)
    name = template_name(project.name, fp)
    with connect_maintenance(env, project, "template") as conn, _locked(conn, name):
        found = read_template(conn, name)
        if found is not None:
            return found
        if progress:
            progress(f"building template {name} from {source.spec}")
        template = _build(project, env, source, conn, name, fp, script)
        _drop_stale(conn, project.name, source.spec, keep=name)
        return template


def _build(
    project: Any,
    env: Environment,
    source: SchemaSource,
    maint: psycopg.Connection[Any],
    name: str,
    fp: str,
    script: str | None,
) -> Template:
    from psycopg import Error

    from dbenv.guard import target_url

    staging = name + "_build"
    maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
    owner = postgres.url_parts(target_url(env)).get("user")
    current = maint.execute("SELECT current_user").fetchone()
    owned = f" OWNER {ident(owner)}" if owner and current and owner != current[0] else ""
    maint.execute(f"CREATE DATABASE {ident(staging)}{owned}")
    url = postgres.with_database(target_url(env), staging)
    try:
        with postgres.connect(url, application_name=f"dbenv:{project.name}:{env.name}:build") as c:
            build(project, env, source, c, url=url, script=script)
            c.commit()
            graph = load_graph(c, env)
            reference = capture_reference(c, env, graph)
            tables = tuple(graph.tables)
            c.commit()
    except Error as exc:
        maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
        raise build_failure(
            source,
            exc,
            doing=f"building the schema from {source.spec}",
            hint="Nothing in the environment was changed; check the server and reset again.",
        ) from None
    except BaseException:
        maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
        raise
    info = {
        "project": project.name,
        "source": source.spec,
        "fingerprint": fp,
        "tables": list(tables),
        "reference": list(reference),
    }
    from psycopg import sql

    maint.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(staging), sql.Literal(json.dumps(info))
        )
    )
    maint.execute(f"ALTER DATABASE {ident(staging)} RENAME TO {ident(name)}")
    return Template(name, fp, source.spec, tables, reference, built=True)


def _drop_stale(conn: psycopg.Connection[Any], project: str, spec: str, *, keep: str) -> None:
    """Drop this project's older templates of the same source (best effort)."""
    from psycopg import Error

    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE left(datname, %s) = %s AND datname <> %s",
        [len(PREFIX), PREFIX, keep],
    ).fetchall()
    for (other,) in rows:
        found = read_template(conn, other)
        if (
            found is None
            or found.source != spec
            or other != template_name(project, found.fingerprint)
        ):
            continue
        with contextlib.suppress(Error):  # being cloned right now: the next rebuild drops it
            conn.execute(f"DROP DATABASE IF EXISTS {ident(other)}")


def clone_into(
    maint: psycopg.Connection[Any],
    template: Template,
    target: str,
    *,
    prepare: Callable[[str], None] | None = None,
) -> None:
    """Replace database ``target`` by a copy of ``template``, never leaving it missing.

    ``prepare(url_database_name)`` runs on the copy before it is swapped in (the
    stamp goes there). The target's owner, grants and settings carry over.
    """
    from psycopg import sql

    fresh, old = f"{target[:48]}_dbenv_new", f"{target[:48]}_dbenv_old"
    for leftover in (fresh, old):
        maint.execute(f"DROP DATABASE IF EXISTS {ident(leftover)} WITH (FORCE)")
    owner, settings, grants = _carried(maint, target)
    me = maint.execute("SELECT current_user").fetchone()
    owned = f" OWNER {ident(owner)}" if owner and me and owner != me[0] else ""
    _terminate(maint, template.name)
    maint.execute(f"CREATE DATABASE {ident(fresh)} TEMPLATE {ident(template.name)}{owned}")
    for setting in settings:
        key, _, value = setting.partition("=")
        maint.execute(
            sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                sql.Identifier(fresh), sql.SQL(key), sql.Literal(value)
            )
        )
    for privilege, grantee in grants:
        maint.execute(
            sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                sql.SQL(privilege),
                sql.Identifier(fresh),
                sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
            )
        )
    if prepare is not None:
        prepare(fresh)
    _swap(maint, target, fresh, old)
    _drop_in_background(maint, old)


def _drop_in_background(maint: psycopg.Connection[Any], name: str) -> None:
    """Drop the swapped-out database without waiting for it.

    DROP DATABASE makes the server checkpoint, which can take longer than the whole
    clone. The statement goes out on a connection of its own that is then closed:
    the server finishes a statement it has started before it notices the client
    left. Should it not, the next clone drops the leftover first.
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    dsn = make_conninfo(maint.info.dsn, password=maint.info.password)
    conn = psycopg.connect(dsn, autocommit=True)
    conn.pgconn.send_query(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)".encode())
    conn.pgconn.flush()
    conn.close()


def _carried(
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


def _terminate(maint: psycopg.Connection[Any], database: str) -> None:
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
        _terminate(maint, target)
        try:
            with maint.transaction():
                if exists:
                    maint.execute(f"ALTER DATABASE {ident(target)} RENAME TO {ident(old)}")
                maint.execute(f"ALTER DATABASE {ident(fresh)} RENAME TO {ident(target)}")
            return
        except errors.ObjectInUse:
            time.sleep(0.05 * (attempt + 1))
    raise OperationError(
        f"could not swap in the new '{target}': clients keep reconnecting to it.",
        hint="Stop the processes using it (dbenv status lists them) and reset again.",
    )
