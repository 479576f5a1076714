"""Reset an environment's database to its schema source, through the guard.

- database isolation: clone the template for the source's fingerprint (built on
  first use or when the source changed) over the environment's database; where
  the role may not create databases, drop and rebuild the schemas in place.
- schema isolation: drop and rebuild only the environment's schema.
- prefix isolation: drop and rebuild only the prefixed tables, sequences and
  types; objects of other environments in the same schema are never touched
  (no CASCADE: a dependency from outside the prefix stops the reset).
- ``data_only``: empty just the tables that hold rows (``datareset``).

Afterwards every expected table is verified to exist; the environment's Redis db
is flushed (never one a protected environment uses).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dbenv.config.model import Environment
from dbenv.errors import OperationError, UsageError
from dbenv.lifecycle import datareset
from dbenv.lifecycle.tablegraph import (
    SYSTEM_SCHEMAS,
    display_name,
    load_graph,
    quote,
    scope_condition,
)
from dbenv.sources.migrations import check_built, run_after
from dbenv.sources.schema import (
    SchemaSource,
    build,
    build_failure,
    expected_tables,
    fingerprint,
    load_schema_source,
)
from dbenv.target import Target
from dbenv.testpoint import reached

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project
    from dbenv.safety.guarded import Guarded

__all__ = ["ResetResult", "fingerprint", "load_schema_source", "reset", "verify_tables"]

Progress = Callable[[str], None]
Method = Literal["template", "schemas", "schema", "prefix", "data"]


@dataclass(frozen=True)
class ResetResult:
    """What a reset did."""

    environment: str
    method: Method
    tables: tuple[str, ...]  # verified present afterwards
    emptied: tuple[str, ...] = ()  # data-only: tables emptied or restored
    template: str | None = None
    template_built: bool = False
    fingerprint: str | None = None
    redis_flushed: bool = False
    rows_deleted: Mapping[str, int] = field(default_factory=dict)  # data-only, per table
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


def reset(
    project: Project,
    env: Environment,
    *,
    data_only: bool = False,
    override: str | None = None,
    keep: Iterable[str] = (),
    progress: Progress | None = None,
    target: Target | None = None,
) -> ResetResult:
    """Reset ``env`` (guarded); ``keep``: tables a data-only reset leaves alone.

    ``target``: the environment's resolved target, when the caller has made it
    (else it is made here, once, and handed to the guard and the template).
    """
    from dbenv.safety.guard import destructive, refuse_protected

    started = time.monotonic()
    keep = tuple(keep)
    if keep and not data_only:
        raise UsageError(
            f"--keep {keep[0]} applies only to a data-only reset: a full reset rebuilds"
            " every table, kept or not.",
            hint=f"Add --data-only to empty the other tables (dbenv reset {env.name}"
            f" --data-only --keep {keep[0]}), or drop --keep.",
        )
    refuse_protected(project, env, "reset", override=override)
    source = None if data_only else load_schema_source(project, env)
    protected = _redis_check(project, env, progress)  # refuse before anything changed
    arguments = {"data_only": data_only, "source": source.spec if source else None}
    target = target or Target.of(env)
    with destructive(
        project,
        env,
        "reset",
        override=override,
        arguments=arguments,
        progress=progress,
        target=target,
    ) as guarded:
        if source is None:
            result = _data_only(guarded.conn, env, keep=keep)
        elif env.isolation == "database":
            result = _database_reset(project, env, source, guarded, progress)
        else:
            result = _scoped_reset(project, env, source, guarded, progress)
        guarded.record(_rows_affected(result))
        flushed = _flush_redis(env, protected, progress)
    return _with(result, redis_flushed=flushed, seconds=time.monotonic() - started)


def _with(result: ResetResult, **changes: Any) -> ResetResult:
    from dataclasses import replace

    return replace(result, **changes)


def _data_only(
    conn: psycopg.Connection[Any], env: Environment, *, keep: Iterable[str]
) -> ResetResult:
    deleted: dict[str, int] = {}
    with conn.transaction():
        plan = datareset.plan(conn, env, keep=keep)
        # this connection ends here: nothing to prepare
        emptied = datareset.run(conn, plan, prepare=False, deleted=deleted)
        reached("reset-data:emptied")
    rows = {display_name(t): n for t, n in deleted.items()}
    return ResetResult(env.name, "data", _shown(plan.tables), _shown(emptied), rows_deleted=rows)


def _rows_affected(result: ResetResult) -> dict[str, int]:
    """The journal's rows: rows deleted where the reset counted them (data-only).

    A data-only reset counts its DELETEs' rows (free: the statements report them);
    a rebuild or template clone replaces whole tables, whose rows are not counted.
    """
    if result.method != "data":
        return {"tables": len(result.tables)}
    return {
        "deleted": sum(result.rows_deleted.values()),
        "emptied": len(result.emptied),
        **{f"deleted:{t}": n for t, n in sorted(result.rows_deleted.items())},
    }


def _database_reset(
    project: Project,
    env: Environment,
    source: SchemaSource,
    guarded: Guarded,
    progress: Progress | None,
) -> ResetResult:
    from dbenv.lifecycle.template import (
        clone_into,
        connect_maintenance,
        ensure_template,
        may_create_databases,
    )

    target, database = guarded.target, guarded.target.database
    with connect_maintenance(target, project, "reset") as maint:
        allowed = may_create_databases(maint, database)
        user = maint.execute("SELECT current_user").fetchone()
        if allowed:
            template = ensure_template(
                project,
                env,
                source,
                progress=progress,
                lock_timeout=project.lock_timeout,
                target=target,
            )
            if progress:
                progress(f"cloning {template.name} into {database}")
            guarded.before_drop()
            clone_into(maint, template, database, prepare=guarded.prepare_copy)
    if not allowed:
        who = user[0] if user else "this role"
        note = (
            f"role {who} may not create databases here: rebuilt the schemas in place "
            "instead of cloning a template (slower)"
        )
        if progress:
            progress(note)
        result = _rebuild_database_in_place(project, env, source, guarded, progress)
        return _with(result, notes=(note,))
    guarded.database_recreated()
    tables = verify_tables(guarded.conn, env, template.tables)
    return ResetResult(
        env.name,
        "template",
        tables,
        template=template.name,
        template_built=template.built,
        fingerprint=template.fingerprint,
    )


def _rebuild_database_in_place(
    project: Project,
    env: Environment,
    source: SchemaSource,
    guarded: Guarded,
    progress: Progress | None,
) -> ResetResult:
    conn = guarded.conn

    def drop() -> None:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname <> ALL(%s) "
            "AND nspname NOT LIKE 'pg\\_%%' ORDER BY 1",
            [list(SYSTEM_SCHEMAS)],
        ).fetchall()
        for (schema,) in rows:
            conn.execute(f"DROP SCHEMA {quote(schema)} CASCADE")
        conn.execute("CREATE SCHEMA public")

    return _rebuild(project, env, source, guarded, drop, "schemas", progress)


def _scoped_reset(
    project: Project,
    env: Environment,
    source: SchemaSource,
    guarded: Guarded,
    progress: Progress | None,
) -> ResetResult:
    conn = guarded.conn
    if env.isolation == "schema":
        assert env.schema is not None
        schema = quote(env.schema)

        def drop() -> None:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")

        return _rebuild(project, env, source, guarded, drop, "schema", progress)
    return _rebuild(
        project, env, source, guarded, lambda: _drop_prefixed(conn, env), "prefix", progress
    )


def _rebuild(
    project: Project,
    env: Environment,
    source: SchemaSource,
    guarded: Guarded,
    drop: Callable[[], None],
    method: Method,
    progress: Progress | None,
) -> ResetResult:
    """Drop and build in one transaction (Alembic, a command: drop, then their own)."""
    from psycopg import Error

    conn, url = guarded.conn, guarded.target.url
    try:
        # Alembic, a cmd: source and build.after commands run in processes of their own:
        # they must see the drop (and the built schema) committed
        if source.runs_apart:
            with conn.transaction():
                drop()
            build(project, env, source, conn, url=url, progress=progress)
        elif env.build_after:
            with conn.transaction():
                drop()
                build(project, env, source, conn, url=url, progress=progress)
        if source.runs_apart or env.build_after:
            run_after(env, url)
            with conn.transaction():
                datareset.capture_reference(conn, env)
        else:
            with conn.transaction():
                drop()
                build(project, env, source, conn, url=url, progress=progress)
                datareset.capture_reference(conn, env)
    except Error as exc:
        raise build_failure(
            source,
            exc,
            doing=f"rebuilding '{env.name}' from {source.spec}",
            hint="Nothing was changed (the rebuild runs in one transaction); fix the cause "
            "and reset again.",
        ) from None
    expected = expected_tables(source, env)
    graph_tables = verify_tables(conn, env, expected or ())
    check_built(conn, env, source, graph_tables)  # built in place: no live database apart
    return ResetResult(env.name, method, graph_tables)


def _drop_prefixed(conn: psycopg.Connection[Any], env: Environment) -> None:
    """Drop the prefix's tables, then its free-standing sequences and types. No CASCADE."""
    scope, params = scope_condition(env)
    graph = load_graph(conn, env)
    if graph.tables:
        conn.execute(f"DROP TABLE {', '.join(graph.tables)}")
    sequences = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
        f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND {scope}",
        params,
    ).fetchall()
    if sequences:
        conn.execute(f"DROP SEQUENCE {', '.join(s[0] for s in sequences)}")
    types = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, c.typname) FROM pg_type c "
        "JOIN pg_namespace n ON n.oid = c.typnamespace "
        f"WHERE c.typtype = 'e' AND {scope.replace('c.relname', 'c.typname')}",
        params,
    ).fetchall()
    if types:
        conn.execute(f"DROP TYPE {', '.join(t[0] for t in types)}")


def verify_tables(
    conn: psycopg.Connection[Any], env: Environment, expected: Iterable[str]
) -> tuple[str, ...]:
    """Every expected table (bare or qualified name) exists; returns the tables present."""
    scope, params = scope_condition(env)
    rows = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, c.relname), n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {scope}",
        params,
    ).fetchall()
    qualified = {f"{quote(r[1])}.{quote(r[2])}" for r in rows}
    present = qualified | {r[2] for r in rows} | {r[0] for r in rows}
    missing = [t for t in expected if t not in present]
    if missing:
        raise OperationError(
            f"after the reset of '{env.name}' these expected tables are missing: "
            f"{', '.join(missing)}.",
            hint="The schema source and the database disagree; reset again, or check the source.",
        )
    return _shown(qualified)


def _shown(tables: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(display_name(t) for t in tables))


def _redis_check(
    project: Project, env: Environment, progress: Progress | None
) -> list[Environment]:
    """The protected environments; refuses now if one shares the env's Redis db."""
    if env.redis_url is None and not env.redis_cluster:
        return []
    from dbenv.backends import redis
    from dbenv.safety.checks import protected_environments

    # an environment that does not resolve here (production's secrets unset on a CI
    # machine) is skipped, as flush and the guard's shared check skip it
    protected = protected_environments(project, env)
    for note in redis.check_flush(env, protected):
        if progress is not None:
            progress(f"note: {note}")
    redis.check_index(env)
    return protected


def _flush_redis(env: Environment, protected: list[Environment], progress: Progress | None) -> bool:
    if env.redis_url is None and not env.redis_cluster:
        return False
    from dbenv.backends import redis

    if progress:
        progress(f"flushing Redis of '{env.name}'")
    redis.flush(env, protected)
    return True
