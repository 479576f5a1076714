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
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.backends.postgres import lock_key
from dbenv.config.model import Environment
from dbenv.lifecycle.datareset import capture_reference
from dbenv.lifecycle.tablegraph import load_graph
from dbenv.sources.migrations import LiveWatch, check_built, run_after
from dbenv.sources.schema import SchemaSource, build, build_failure, load_schema_source, render
from dbenv.target import Target
from dbenv.testpoint import reached

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

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


def connect_maintenance(
    target: Target, project: Project, component: str
) -> psycopg.Connection[Any]:
    """An autocommit connection to the target's maintenance database."""
    return postgres.connect(
        target.maintenance,
        autocommit=True,
        application_name=f"dbenv:{project.name}:{target.environment}:{component}",
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
    key = lock_key(name)
    # the WHERE runs first: through a pooler (pid differs) no lock is taken, as it would
    # leak there and block every later session (docs/guard.md, "Poolers")
    row = conn.execute(
        "SELECT pg_advisory_lock(%s) FROM (SELECT 1) AS one WHERE pg_backend_pid() = %s",
        [key, conn.info.backend_pid],
    ).fetchone()
    if row is None:
        from dbenv.errors import GuardRefusal
        from dbenv.safety.checks import POOLED_HINT

        raise GuardRefusal(
            "refused to build or clone a template: check 'direct' failed — the maintenance"
            " connection goes through a connection pooler such as PgBouncer, where a session"
            " advisory lock leaks to other clients.",
            check="direct",
            hint=POOLED_HINT,
        )
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
    project: Project,
    env: Environment,
    source: SchemaSource | None = None,
    *,
    progress: Progress | None = None,
    lock_timeout: float | None = None,
    target: Target | None = None,
) -> Template:
    """The template for the environment's current schema source, built if missing.

    ``lock_timeout``: how long to wait for another process building the same
    template (None: as long as it takes — the pytest plugin's workers).
    ``target``: the environment's resolved target, when the caller has made it.
    """
    source = source or load_schema_source(project, env)
    target = target or Target.of(env)
    fp, script = render(project, env, source)
    name = template_name(project.name, fp)
    with (
        connect_maintenance(target, project, "template") as conn,
        _waiting(conn, target, project, name, lock_timeout, progress),
    ):
        found = read_template(conn, name)
        if found is not None:
            return found
        if progress:
            progress(f"building template {name} from {source.spec}")
        template = _build(project, env, target, source, conn, name, fp, script)
        _drop_stale(conn, project.name, source.spec, keep=name)
        return template


@contextmanager
def _waiting(
    conn: psycopg.Connection[Any],
    target: Target,
    project: Project,
    name: str,
    timeout: float | None,
    progress: Progress | None,
) -> Iterator[None]:
    """``_locked``, giving up after ``timeout`` naming who builds the template."""
    from psycopg import errors

    from dbenv.safety.lockwait import Watch

    if timeout is None:
        with _locked(conn, name):
            yield
        return
    row = conn.execute(
        "SELECT pg_backend_pid(), set_config('lock_timeout', %s, false)",
        [f"{max(1, int(timeout * 1000))}ms"],
    ).fetchone()
    watch = Watch(
        target.maintenance,
        project=project.name,
        what=f"building template {name}",
        timeout=timeout,
        progress=progress,
        application_name=f"dbenv:{project.name}:{target.environment}:watch",
    )
    watch.watch([int(row[0]) if row else conn.info.backend_pid])
    try:
        with _locked(conn, name):
            watch.stop()
            conn.execute("SET lock_timeout = 0")
            yield
    except errors.LockNotAvailable:
        raise watch.timed_out() from None
    finally:
        watch.stop()


def _build(
    project: Project,
    env: Environment,
    target: Target,
    source: SchemaSource,
    maint: psycopg.Connection[Any],
    name: str,
    fp: str,
    script: str | None,
) -> Template:
    from psycopg import Error

    staging = name + "_build"
    maint.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
    owner = target.user
    current = maint.execute("SELECT current_user").fetchone()
    owned = f" OWNER {ident(owner)}" if owner and current and owner != current[0] else ""
    maint.execute(f"CREATE DATABASE {ident(staging)}{owned}")
    url = target.on(staging)
    watch = LiveWatch.start(target.url, target.database)  # migrations must not go there
    try:
        with postgres.connect(url, application_name=f"dbenv:{project.name}:{env.name}:build") as c:
            build(project, env, source, c, url=url, script=script)
            c.commit()
            reached("reset:building")
            run_after(env, url)
            graph = load_graph(c, env)
            check_built(c, env, source, tuple(graph.tables), watch)
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
    """Drop this project's older templates of the same source (best effort), and
    half-built ones a killed dbenv left (those nobody holds the build lock of)."""
    from psycopg import Error

    stem = template_name(project, "")
    for (staging,) in conn.execute(
        "SELECT datname FROM pg_database WHERE left(datname, %s) = %s AND datname LIKE %s",
        [len(stem), stem, r"%\_build"],
    ).fetchall():
        key = lock_key(staging.removesuffix("_build"))
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
        if row and row[0]:
            try:
                with contextlib.suppress(Error):
                    conn.execute(f"DROP DATABASE IF EXISTS {ident(staging)} WITH (FORCE)")
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [key])
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

    ``prepare(database)`` runs on the copy before it is swapped in (the stamp and
    the journal go there). The target's owner, grants and settings carry over.
    """
    from dbenv.lifecycle import swap

    swap.terminate(maint, template.name)
    fresh = swap.create_aside(maint, target, template=template.name)
    try:
        if prepare is not None:
            prepare(fresh)
    except BaseException:
        swap.discard(maint, fresh)
        raise
    swap.swap_in(maint, target, fresh, phase="reset")
