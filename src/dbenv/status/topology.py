"""Status of an environment's topology: its pooler, its replicas and its Redis roles.

Every part is probed at once, on threads, each with the status's connect timeout
and a statement timeout, read-only, and never through a session that could hold
anything. What each probe reads:

- the primary (the direct ``database_url``): its identity (``safety.identity``)
  and its current WAL position;
- the pooler: a connection through it reads the server's identity, compared with
  the primary's (``leads_to_primary``: a pooler pointed at a copy or at another
  environment's server says so); its admin console's ``SHOW CONFIG`` gives the
  pool mode when the console answers, else the declared ``pool_mode`` is shown;
- each replica: ``pg_is_in_recovery()``, its system identifier (the same as its
  primary's when it streams from it), and its replay lag in bytes (the primary's
  WAL position minus the replica's replay position) and seconds (since the last
  replayed transaction, 0 when it has replayed all it received);
- each Redis role: a PING of its node (a cluster: its first seed, then the first
  answering seed's ``CLUSTER NODES`` / ``CLUSTER INFO``: masters, replicas, slots
  covered, ``cluster_state``); a ``redis_cluster`` of the environment's own is the
  role ``main``.

Nothing is raised: a part that cannot be reached is reported with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from dbenv.backends import postgres
from dbenv.config.model import Environment, SecretURL
from dbenv.errors import DbenvError
from dbenv.safety.identity import ServerIdentity, read_identity

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "PoolerStatus",
    "PrimaryStatus",
    "RedisRoleStatus",
    "ReplicaStatus",
    "TopologyStatus",
    "has_topology",
    "lsn_bytes",
    "primary_system",
    "replica_alone",
    "topology_status",
]

_OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=5000"
T = TypeVar("T")


@dataclass(frozen=True)
class PrimaryStatus:
    target: str  # masked
    reachable: bool
    system_identifier: str | None = None  # a string: JSON readers lose 64-bit integers
    in_recovery: bool | None = None
    error: str | None = None


@dataclass(frozen=True)
class PoolerStatus:
    target: str
    reachable: bool
    latency_ms: float | None = None
    pool_mode: str | None = None
    pool_mode_from: str | None = None  # "console" (SHOW CONFIG) or "declared"
    leads_to_primary: bool | None = None  # None: not compared (a side unreadable)
    server: str | None = None  # what the server behind it says it is
    error: str | None = None


@dataclass(frozen=True)
class ReplicaStatus:
    number: int
    target: str
    reachable: bool
    in_recovery: bool | None = None
    system_identifier: str | None = None
    same_system_as_primary: bool | None = None
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class RedisRoleStatus:
    role: str
    target: str
    reachable: bool
    cluster: bool = False
    latency_ms: float | None = None
    error: str | None = None
    prefix: str | None = None  # the key prefix its keys (and a flush) are confined to
    # a cluster's, from CLUSTER NODES / CLUSTER INFO (None for a single node)
    cluster_state: str | None = None  # ok | fail
    masters: int | None = None
    replicas: int | None = None
    slots_covered: int | None = None  # of 16384: assigned to a node not failing


@dataclass(frozen=True)
class TopologyStatus:
    primary: PrimaryStatus | None
    pooler: PoolerStatus | None
    replicas: tuple[ReplicaStatus, ...]
    redis_roles: tuple[RedisRoleStatus, ...]


def has_topology(env: Environment) -> bool:
    """Whether ``env`` declares more than a direct URL and one Redis."""
    return bool(env.pooler_url or env.replicas or env.redis_roles or env.redis_cluster)


def lsn_bytes(lsn: str) -> int:
    """A WAL position ``X/Y`` (hex) as a byte offset."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True)
class _Primary:
    status: PrimaryStatus
    identity: ServerIdentity | None = None
    lsn: str | None = None


def topology_status(env: Environment, *, timeout: int = 3) -> TopologyStatus:
    """Probe every part of ``env``'s topology at once (see the module docstring)."""
    with ThreadPoolExecutor(
        max_workers=4 + len(env.replicas), thread_name_prefix="dbenv-topo"
    ) as pool:
        primary = pool.submit(_primary, env.database_url, timeout)
        pooler = pool.submit(_through_pooler, env.pooler_url, timeout) if env.pooler_url else None
        console = pool.submit(_console_mode, env.pooler_url, timeout) if env.pooler_url else None
        replicas = [pool.submit(_replica, url, timeout) for url in env.replicas]
        roles = [
            pool.submit(
                _redis_role,
                name,
                _RedisPart(role.cluster or (role.url,), role.db, role.prefix, bool(role.cluster)),
                timeout,
            )
            for name, role in env.redis_roles.items()
            if role.url is not None
        ]
        if env.redis_cluster:  # the environment's own Redis is a cluster: "main"
            roles.insert(
                0,
                pool.submit(
                    _redis_role,
                    "main",
                    _RedisPart(env.redis_cluster, None, env.redis_prefix, True),
                    timeout,
                ),
            )
        main = primary.result()
        return TopologyStatus(
            main.status if env.database_url is not None else None,
            _pooler(env, pooler, console, main),
            tuple(_replica_row(n, f.result(), main) for n, f in enumerate(replicas, 1)),
            tuple(f.result() for f in roles),
        )


def replica_alone(url: SecretURL, number: int, *, timeout: int = 3) -> ReplicaStatus:
    """One replica probed without its primary: no byte lag, no system comparison
    (a read from the replica spares the primary even this connection)."""
    return _replica_row(number, _replica(url, timeout), _Primary(PrimaryStatus("", False)))


def primary_system(env: Environment, timeout: int = 3) -> str | None:
    """The system identifier of ``env``'s primary, or None when it cannot be read."""
    return _primary(env.database_url, timeout).status.system_identifier


def _guarded(probe: Callable[[], T], failed: Callable[[str], T]) -> T:
    """``probe()``, or ``failed(reason)`` when it raises (a probe never raises)."""
    try:
        return probe()
    except DbenvError as exc:
        return failed(exc.message.rstrip("."))
    except Exception as exc:  # a server that answers oddly is reported, never fatal
        return failed(f"could not read it: {type(exc).__name__}")


def _connect(url: SecretURL, timeout: int, **options: Any) -> psycopg.Connection[Any]:
    return postgres.connect(
        url, autocommit=True, connect_timeout=timeout, application_name="dbenv:status", **options
    )


def _primary(url: SecretURL | None, timeout: int) -> _Primary:
    if url is None:
        return _Primary(PrimaryStatus("", False, error="no database URL"))

    def probe() -> _Primary:
        with _connect(url, timeout, options=_OPTIONS) as conn:
            identity, _ = read_identity(conn)
            row = conn.execute(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()"
                " THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text"
            ).fetchone()
        assert row is not None
        system = None if identity.system is None else str(identity.system)
        status = PrimaryStatus(url.masked, True, system, bool(row[0]))
        return _Primary(status, identity, row[1])

    return _guarded(probe, lambda why: _Primary(PrimaryStatus(url.masked, False, error=why)))


@dataclass(frozen=True)
class _Pooled:
    latency_ms: float
    identity: ServerIdentity


def _through_pooler(url: SecretURL, timeout: int) -> _Pooled | str:
    def probe() -> _Pooled | str:
        # no startup options: PgBouncer refuses the ones it does not know
        with _connect(url, timeout) as conn:
            started = time.perf_counter()
            conn.execute("SELECT 1")
            latency = round((time.perf_counter() - started) * 1000, 3)
            identity, _ = read_identity(conn)
        return _Pooled(latency, identity)

    return _guarded(probe, lambda why: why)


def _console_mode(url: SecretURL, timeout: int) -> str | None:
    """The pool mode PgBouncer's admin console reports (database ``pgbouncer``), if it answers."""

    def probe() -> str | None:
        console = postgres.with_database(url, "pgbouncer")
        with postgres.connect(console, autocommit=True, connect_timeout=timeout) as conn:
            rows = conn.execute("SHOW CONFIG").fetchall()
        return next((str(row[1]) for row in rows if row and row[0] == "pool_mode"), None)

    return _guarded(probe, lambda why: None)


def _pooler(
    env: Environment,
    pooled: Future[_Pooled | str] | None,
    console: Future[str | None] | None,
    primary: _Primary,
) -> PoolerStatus | None:
    if env.pooler_url is None or pooled is None or console is None:
        return None
    target = env.pooler_url.masked
    found, mode = pooled.result(), console.result()
    mode_from = "console" if mode else "declared" if env.pool_mode else None
    mode = mode or env.pool_mode
    if isinstance(found, str):
        return PoolerStatus(target, False, pool_mode=mode, pool_mode_from=mode_from, error=found)
    leads = None if primary.identity is None else found.identity.same_database(primary.identity)
    return PoolerStatus(
        target,
        True,
        found.latency_ms,
        mode,
        mode_from,
        leads,
        found.identity.describe(),
    )


@dataclass(frozen=True)
class _Replica:
    target: str
    in_recovery: bool
    system: str | None
    replay_lsn: str | None
    lag_seconds: float | None


_REPLICA_QUERY = (
    "SELECT pg_is_in_recovery(), {system}, pg_last_wal_replay_lsn()::text,"
    " CASE WHEN NOT pg_is_in_recovery() THEN NULL"
    " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END"
)


def _replica(url: SecretURL, timeout: int) -> _Replica | ReplicaStatus:
    def probe() -> _Replica | ReplicaStatus:
        from psycopg import errors

        with _connect(url, timeout, options=_OPTIONS) as conn:
            try:
                query = _REPLICA_QUERY.format(
                    system="(SELECT system_identifier FROM pg_control_system())::text"
                )
                row = conn.execute(query).fetchone()
            except errors.InsufficientPrivilege:
                row = conn.execute(_REPLICA_QUERY.format(system="NULL::text")).fetchone()
        assert row is not None
        lag = None if row[3] is None else round(float(row[3]), 3)
        return _Replica(url.masked, bool(row[0]), row[1], row[2], lag)

    return _guarded(probe, lambda why: ReplicaStatus(0, url.masked, False, error=why))


def _replica_row(number: int, found: _Replica | ReplicaStatus, primary: _Primary) -> ReplicaStatus:
    if isinstance(found, ReplicaStatus):
        return ReplicaStatus(number, found.target, False, error=found.error)
    main = primary.status.system_identifier
    same = None if found.system is None or main is None else found.system == main
    lag_bytes = None
    if found.in_recovery and found.replay_lsn and primary.lsn:
        lag_bytes = max(0, lsn_bytes(primary.lsn) - lsn_bytes(found.replay_lsn))
    return ReplicaStatus(
        number,
        found.target,
        True,
        found.in_recovery,
        found.system,
        same,
        lag_bytes,
        found.lag_seconds,
    )


@dataclass(frozen=True)
class _RedisPart:
    urls: tuple[SecretURL, ...]  # a node's URL, or a cluster's seeds
    db: int | None
    prefix: str | None
    cluster: bool


def _redis_role(role: str, part: _RedisPart, timeout: int) -> RedisRoleStatus:
    """A PING of a single node; a cluster's PING of its first seed plus its nodes and slots."""
    from dbenv.backends import redis as redis_backend
    from dbenv.backends import redis_cluster

    urls, prefix, cluster, url = part.urls, part.prefix, part.cluster, part.urls[0]

    def probe() -> RedisRoleStatus:
        latency = round(
            redis_backend.ping(url, None if cluster else part.db, timeout=timeout) * 1000, 3
        )
        if not cluster:
            return RedisRoleStatus(role, url.masked, True, False, latency, prefix=prefix)
        try:
            view = redis_cluster.describe(urls, timeout=timeout)
        except DbenvError as exc:  # it answered a PING, but says it is no cluster
            why = exc.message.rstrip(".")
            return RedisRoleStatus(role, url.masked, True, True, latency, why, prefix)
        masters = len(view.masters)
        return RedisRoleStatus(
            role,
            url.masked,
            True,
            True,
            latency,
            prefix=prefix,
            cluster_state=view.state,
            masters=masters,
            replicas=len(view.nodes) - masters,
            slots_covered=view.slots_covered,
        )

    return _guarded(
        probe,
        lambda why: RedisRoleStatus(role, url.masked, False, cluster, error=why, prefix=prefix),
    )
