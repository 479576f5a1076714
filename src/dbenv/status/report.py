"""Status: where every environment points and what is there, read-only.

For each environment: tier, isolation, masked target, reachability and latency,
stamp state, Alembic revision or a catalog fingerprint, table count, the guard
checks a reset would fail right now (computed, not attempted), the databases an
interrupted dbenv left on its server (``leftovers``), the schema drift
from its ``reference`` environment (``status_drift``), and the
connected clients grouped by the environment their ``application_name`` declares
(``dbenv:<project>:<env>[:<component>]``). A database whose clients declare
different environments is flagged (seed 000: a backend on production and a
frontend on test). Status never writes and never waits: its sessions are
read-only with short lock and statement timeouts, and it takes no advisory lock.
An unreachable or misconfigured environment is reported, not raised.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.config.urls import Place, target_of
from dbenv.errors import DbenvError
from dbenv.safety.checks import facts_from, run_checks
from dbenv.safety.stamp import Stamp
from dbenv.status.drift import Drift, DriftReader
from dbenv.status.replica_read import ReplicaRead, on_replica, read_of, replica_url
from dbenv.status.topology import TopologyStatus, has_topology, topology_status

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

__all__ = ["EnvironmentStatus", "RedisStatus", "StatusReport", "parse_application_name", "status"]

UNDECLARED = "(undeclared)"


@dataclass(frozen=True)
class RedisStatus:
    target: str
    reachable: bool
    latency_ms: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment's row of ``dbenv status``."""

    name: str
    tier: str
    isolation: str
    target: str | None  # masked
    reachable: bool = False
    latency_ms: float | None = None
    error: str | None = None
    stamp_state: str | None = None
    stamp: Stamp | None = None
    alembic_revision: str | None = None
    fingerprint: str | None = None
    table_count: int | None = None
    clients: dict[str, int] = field(default_factory=dict)  # declared environment -> count
    components: dict[str, list[str]] = field(default_factory=dict)  # environment -> components
    redis: RedisStatus | None = None
    # the guard checks a reset would fail right now (empty: a reset would run)
    reset_refused_by: tuple[str, ...] = ()
    # schema drift from the environment's `reference` (None: it names none)
    drift: Drift | None = None
    # databases an interrupted dbenv left on the server (``dbenv.lifecycle.leftovers``)
    leftovers: tuple[str, ...] = ()
    # pooler, replicas, Redis roles, when declared (``dbenv.status.topology``)
    topology: TopologyStatus | None = None
    # the replica this row was read from (``--replica``), with its lag; None: the primary
    replica_read: ReplicaRead | None = None

    @property
    def mixed(self) -> bool:
        """Clients on this database declare more than one environment."""
        return len([name for name in self.clients if name != UNDECLARED]) > 1


@dataclass(frozen=True)
class StatusReport:
    project: str
    environments: tuple[EnvironmentStatus, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (every target already masked)."""
        rows = []
        for env in self.environments:
            row = asdict(env)
            row["mixed"] = env.mixed
            row["replica_read"] = env.replica_read.to_dict() if env.replica_read else None
            if env.stamp is not None and env.stamp.created_at is not None:
                row["stamp"]["created_at"] = env.stamp.created_at.isoformat()
            rows.append(row)
        return {"project": self.project, "environments": rows}


def parse_application_name(text: str) -> tuple[str, str, str | None] | None:
    """(project, environment, component) from ``dbenv:<project>:<env>[:<component>]``."""
    parts = text.split(":")
    if len(parts) < 3 or parts[0] != "dbenv" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2], parts[3] if len(parts) > 3 and parts[3] else None


def status(
    project: Project,
    *,
    names: Sequence[str] | None = None,
    timeout: int = 3,
    replica: int | None = None,
) -> StatusReport:
    """The status of the named environments (default: all of them).

    ``replica``: read each chosen environment that declares replicas from its
    replica of that number (``--replica``); bad input when none of them declares
    any, or one has fewer.
    """
    chosen = list(names) if names else list(project.environment_names)
    if replica is not None:
        _check_replica(project, chosen, replica)
    drift = DriftReader(project, timeout)
    rows = tuple(_one(project, n, timeout, drift, replica) for n in chosen)
    return StatusReport(project.name, rows)


def _check_replica(project: Project, names: list[str], number: int) -> None:
    """Every environment read from a replica has replica ``number``; at least one is."""
    with_replicas = []
    for name in names:
        try:
            env = project.environment(name)
        except DbenvError:
            continue  # reported on its row
        if env.replicas:
            replica_url(env, number)  # fewer replicas: bad input before anything is read
            with_replicas.append(env)
    if not with_replicas:
        from dbenv.errors import UsageError

        raise UsageError(
            f"none of {', '.join(repr(n) for n in names)} declares replicas to read from.",
            hint="Add replicas under [environments.NAME], or leave out --replica.",
        )


def _one(
    project: Project, name: str, timeout: int, drift: DriftReader, replica: int | None
) -> EnvironmentStatus:
    try:
        env = project.environment(name)
    except DbenvError as exc:
        return EnvironmentStatus(name, "?", "?", None, error=exc.message)
    if not has_topology(env):
        return _primary_row(project, env, timeout, drift)
    from concurrent.futures import ThreadPoolExecutor

    number = replica if replica is not None and env.replicas else None
    # the topology's probes run while the primary (or the replica read) is inspected
    with ThreadPoolExecutor(1, thread_name_prefix="dbenv-status") as pool:
        topology = pool.submit(topology_status, env, timeout=timeout)
        if number is None:
            return _replace(_primary_row(project, env, timeout, drift), topology=topology.result())
        row = _primary_row(project, on_replica(env, number), timeout, drift, on_replica=True)
        found = topology.result()
        read = read_of(env, number, found=found.replicas[number - 1])
        return _replace(row, topology=found, replica_read=read)


def _primary_row(
    project: Project,
    env: Environment,
    timeout: int,
    drift: DriftReader,
    *,
    on_replica: bool = False,
) -> EnvironmentStatus:
    target = env.database_url.masked if env.database_url else None
    base = EnvironmentStatus(env.name, env.tier, env.isolation, target, redis=_redis(env))
    if env.database_url is None:
        return _replace(base, error="no database URL (is the local stack up? dbenv up)")
    try:
        row = _inspect(project, env, base, timeout, on_replica=on_replica)
    except DbenvError as exc:
        return _replace(base, error=exc.message, drift=_unread(env))
    if not row.reachable or row.error:
        return _replace(row, drift=_unread(env))
    return _replace(row, drift=drift.drift(env))


def _unread(env: Environment) -> Drift | None:
    """An environment that could not be inspected has no known drift (when it has a reference)."""
    if env.reference is None:
        return None
    return Drift(env.reference, error=f"'{env.name}' could not be inspected")


def _replace(status: EnvironmentStatus, **changes: Any) -> EnvironmentStatus:
    from dataclasses import replace

    return replace(status, **changes)


def _inspect(
    project: Project,
    env: Environment,
    base: EnvironmentStatus,
    timeout: int,
    *,
    on_replica: bool = False,
) -> EnvironmentStatus:
    from psycopg import Error

    assert env.database_url is not None
    options = "-c default_transaction_read_only=on -c lock_timeout=1000 -c statement_timeout=5000"
    if env.isolation == "schema" and env.schema:
        options += f" -c search_path={env.schema}"
    conn = postgres.connect(
        env.database_url,
        autocommit=True,
        connect_timeout=timeout,
        application_name=f"dbenv:{project.name}:{env.name}:status",
        options=options,
    )
    try:
        started = time.perf_counter()
        conn.execute("SELECT 1")
        latency = round((time.perf_counter() - started) * 1000, 3)
        clients, components = _clients(conn, project)
        facts = facts_from(conn, project, env)
        checks = run_checks(project, env, "reset", facts)
        # read on a replica, check 'replica' fails for the replica itself; a reset
        # runs on the primary, so it says nothing about one
        refused = tuple(r.check for r in checks if not r.passed)
        if on_replica:
            refused = tuple(c for c in refused if c != "replica")
        return _replace(
            base,
            reachable=True,
            latency_ms=latency,
            stamp_state=facts.state,
            stamp=facts.stamp,
            reset_refused_by=refused,
            alembic_revision=_alembic_revision(conn, env),
            fingerprint=_fingerprint(conn, project, env),
            table_count=_table_count(conn, project, env),
            clients=clients,
            components=components,
            leftovers=_leftovers(conn, project, env),
        )
    except Error as exc:
        return _replace(base, reachable=True, error=f"could not inspect: {type(exc).__name__}")
    finally:
        conn.close()


def _leftovers(
    conn: psycopg.Connection[Any], project: Project, env: Environment
) -> tuple[str, ...]:
    from dbenv.lifecycle.leftovers import leftovers

    database = postgres.url_parts(env.database_url or "").get("dbname", "")
    return leftovers(conn, database, project.name)


def _scope(project: Project, env: Environment) -> dict[str, Any]:
    """What of the database is ``env``'s: its schema, its prefix, or — for the
    unprefixed side of seed 000 — everything but other environments' prefixes."""
    return {
        "schema": env.schema if env.isolation == "schema" else None,
        "prefix": env.prefix if env.isolation == "prefix" else None,
        "others": [] if env.isolation == "prefix" else _sharing_prefixes(project, env),
    }


def _sharing_prefixes(project: Project, env: Environment) -> list[str]:
    """Prefixes of the project's prefix-mode environments in ``env``'s database."""
    mine = _target(env)
    if mine is None:
        return []
    found = []
    for name in project.environment_names:
        try:
            other = project.environment(name)
        except DbenvError:
            continue
        sharing = other.isolation == "prefix" and other.name != env.name
        if sharing and other.prefix and _target(other) == mine:
            found.append(other.prefix)
    return found


def _target(env: Environment) -> Place | None:
    if env.database_url is None:
        return None
    try:
        return target_of(env.database_url.masked)
    except DbenvError:
        return None


def _fingerprint(conn: psycopg.Connection[Any], project: Project, env: Environment) -> str:
    return postgres.catalog_fingerprint(conn, **_scope(project, env))


def _table_count(conn: psycopg.Connection[Any], project: Project, env: Environment) -> int:
    row = conn.execute(
        """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbenv')
          AND n.nspname NOT LIKE 'pg\\_%%'
          AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s)
          AND (%(prefix)s::text IS NULL OR (n.nspname = current_schema()
               AND left(c.relname, length(%(prefix)s)) = %(prefix)s))
          AND NOT EXISTS (SELECT 1 FROM unnest(%(others)s::text[]) AS o(p)
                          WHERE n.nspname = current_schema()
                            AND left(c.relname, length(o.p)) = o.p)
        """,
        _scope(project, env),
    ).fetchone()
    return int(row[0]) if row else 0


def _alembic_revision(conn: psycopg.Connection[Any], env: Environment) -> str | None:
    from psycopg import sql

    table = env.table("alembic_version")
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{table}"',)).fetchone()
    if not row or not row[0]:
        return None
    found = conn.execute(
        sql.SQL("SELECT version_num FROM {} LIMIT 1").format(sql.Identifier(table))
    ).fetchone()
    return str(found[0]) if found else None


def _clients(
    conn: psycopg.Connection[Any], project: Project
) -> tuple[dict[str, int], dict[str, list[str]]]:
    rows = conn.execute(
        "SELECT coalesce(application_name, '') FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    ).fetchall()
    clients: dict[str, int] = {}
    components: dict[str, list[str]] = {}
    for (name,) in rows:
        parsed = parse_application_name(str(name))
        if parsed is None:
            key, component = UNDECLARED, None
        else:
            key = parsed[1] if parsed[0] == project.name else f"{parsed[0]}:{parsed[1]}"
            component = parsed[2]
        clients[key] = clients.get(key, 0) + 1
        if component and component not in components.setdefault(key, []):
            components[key].append(component)
    return clients, components


def _redis(env: Environment) -> RedisStatus | None:
    if env.redis_url is None:
        return None
    from dbenv.backends import redis as redis_backend

    target = env.redis_url.masked
    try:
        latency = redis_backend.ping(env.redis_url, env.redis_db, timeout=2)
    except DbenvError as exc:
        return RedisStatus(target, False, error=exc.message)
    return RedisStatus(target, True, round(latency * 1000, 3))
