"""What the plugin prepares for a process: which xdist worker it is, and its target.

``derive`` turns the configured environment into the one an xdist worker uses:
its own database (``<database>_gw0``), schema (``test_gw0``) or prefix
(``test_gw0_``), and its own Redis db index (``redis_db`` + worker number).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dbenv.backends import postgres
from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, SecretURL
from dbenv.pytest_plugin.names import worker_database, worker_number

__all__ = ["Target", "WorkerInfo", "derive"]


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


def derive(env: Environment, worker: WorkerInfo) -> Environment:
    """The environment a worker uses: its own database, schema or prefix, and Redis db."""
    if worker.id is None or env.database_url is None:
        return env
    changes: dict[str, Any] = {}
    if env.isolation == "database":
        plain = env.database_url.reveal()
        base = postgres.url_parts(plain).get("dbname", "")
        url = postgres.with_database(plain, worker_database(base, worker.id))
        changes["database_url"] = SecretURL(url, masked=mask_url(url))
    elif env.isolation == "schema" and env.schema:
        changes["schema"] = worker_database(env.schema, worker.id)
    elif env.isolation == "prefix" and env.prefix:
        changes["prefix"] = f"{env.prefix}{worker.id}_"
    if env.redis_url is not None:
        from dbenv.backends.redis import place_of

        place = place_of(env)
        changes["redis_db"] = (place[2] if place else 0) + worker_number(worker.id)
    return replace(env, **changes)
