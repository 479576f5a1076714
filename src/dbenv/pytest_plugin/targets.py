"""What the plugin prepares for a process: which xdist worker it is, and its target.

``derive`` turns the configured environment into the one an xdist worker uses:
its own database (``<database>_gw0``), schema (``test_gw0``) or prefix
(``test_gw0_``), and its own Redis db index (``worker_redis_db``).

A worker's Redis index must never be one another environment of the project uses
on the same server, protected or not (each worker flushes its index): ``gw0``
keeps the configured index, ``gw1`` and up take indexes above every index any
environment configures on that server, interleaved when several disposable
environments there have workers of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from dbenv.backends import postgres
from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, SecretURL
from dbenv.pytest_plugin.names import worker_database, worker_number

__all__ = ["Target", "WorkerInfo", "derive", "worker_redis_db"]


@dataclass(frozen=True)
class WorkerInfo:
    """Which xdist worker this process is (``id`` None without xdist)."""

    id: str | None = None
    count: int = 1


@dataclass(frozen=True)
class Target:
    """A prepared test database (or schema / prefix) the fixtures use."""

    env: Environment  # this worker's: its URL, schema or prefix is the clone's
    configured: Environment  # as dbenv.toml describes it
    database: str
    key: str
    reused: bool
    seconds: float
    template: str | None = None  # the schema template (database isolation)
    neighbours: tuple[Environment, ...] = ()  # the project's other environments (Redis)


def derive(
    env: Environment, worker: WorkerInfo, neighbours: Sequence[Environment] = ()
) -> Environment:
    """The environment a worker uses: its own database, schema or prefix, and Redis db.

    ``neighbours``: the project's other environments, whose Redis indexes it avoids.
    """
    if worker.id is None or env.database_url is None:
        return env
    changes: dict[str, Any] = {}
    if env.isolation == "database":
        base = postgres.url_parts(env.database_url.reveal()).get("dbname", "")
        clone = worker_database(base, worker.id)
        changes["database_url"] = _on(env.database_url, clone)
        # the pooler and the replicas reach the same clone (a replica replays its CREATE)
        if env.pooler_url is not None:
            changes["pooler_url"] = _on(env.pooler_url, clone)
        changes["replicas"] = tuple(_on(url, clone) for url in env.replicas)
    elif env.isolation == "schema" and env.schema:
        changes["schema"] = worker_database(env.schema, worker.id)
    elif env.isolation == "prefix" and env.prefix:
        changes["prefix"] = f"{env.prefix}{worker.id}_"
    if env.redis_url is not None:
        changes["redis_db"] = worker_redis_db(env, worker, neighbours)
    elif env.redis_cluster and env.redis_prefix:  # a cluster has db 0 only: a prefix each
        changes["redis_prefix"] = f"{env.redis_prefix}{worker.id}_"
    return replace(env, **changes)


def _on(url: SecretURL, database: str) -> SecretURL:
    """``url`` naming ``database`` instead."""
    plain = postgres.with_database(url.reveal(), database)
    return SecretURL(plain, masked=mask_url(plain))


def worker_redis_db(
    env: Environment, worker: WorkerInfo, neighbours: Sequence[Environment] = ()
) -> int:
    """The Redis db index worker ``worker`` of ``env`` uses (see the module's docstring)."""
    from dbenv.backends.redis import place_of

    place = place_of(env)
    own = place[2] if place else 0
    number = worker_number(worker.id)
    if place is None or number == 0:
        return own
    same_server = [
        (other, found)
        for other in neighbours
        if other.name != env.name
        and (found := place_of(other)) is not None
        and found[:2] == place[:2]
    ]
    top = max([own, *(found[2] for _, found in same_server)])
    with_workers = sorted({env.name, *(o.name for o, _ in same_server if o.disposable)})
    return top + 1 + (number - 1) * len(with_workers) + with_workers.index(env.name)
