"""Redis backend: the one module that imports redis-py.

It connects to an environment's Redis db index, measures a ping, and flushes an
environment's keys: ``FLUSHDB`` on its db index, or ``SCAN`` + ``DEL`` of its
``redis_prefix`` keys when it has one. A flush is refused (``GuardRefusal``,
check ``redis-shared``) when a protected environment uses the same server and db
index — unless both have distinct, non-overlapping key prefixes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, Secret
from dbenv.errors import ConfigError, ConnectionFailed, GuardRefusal

if TYPE_CHECKING:
    import redis

__all__ = ["FlushResult", "connect", "flush", "ping", "place_of"]


@dataclass(frozen=True)
class FlushResult:
    """What a flush removed: the db index, and the prefix and key count if prefixed."""

    environment: str
    db: int
    prefix: str | None
    keys_removed: int | None  # None: FLUSHDB (count unknown)


def _plain(url: Secret | str) -> str:
    return url.reveal() if isinstance(url, Secret) else url


def connect(url: Secret | str, db: int | None = None, *, timeout: float = 5) -> redis.Redis:
    """A client on ``url`` (db index ``db`` when given, else the URL's)."""
    import redis as redis_lib

    options: dict[str, Any] = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if db is not None:
        options["db"] = db
    try:
        return redis_lib.Redis.from_url(_plain(url), **options)
    except ValueError as exc:
        raise ConfigError(
            f"the Redis URL {mask_url(_plain(url))} does not parse: {exc}.",
            hint="Use redis://host:port/index (or rediss://, unix://).",
        ) from None


def ping(url: Secret | str, db: int | None = None, *, timeout: float = 5) -> float:
    """Round-trip time of a PING in seconds; ``ConnectionFailed`` when unreachable."""
    import redis as redis_lib

    client = connect(url, db, timeout=timeout)
    try:
        started = time.perf_counter()
        client.ping()
        return time.perf_counter() - started
    except redis_lib.RedisError as exc:
        raise ConnectionFailed(
            f"could not reach Redis at {mask_url(_plain(url))}: {type(exc).__name__}.",
            hint="Check that Redis is running and the URL is right (dbenv status).",
        ) from None
    finally:
        client.close()


def place_of(env: Environment) -> tuple[str, int, int] | None:
    """(host, port, db index) of the environment's Redis; None without a Redis URL."""
    from dbenv.config.urls import target_of

    if env.redis_url is None:
        return None
    target = target_of(env.redis_url.masked)
    index = env.redis_db if env.redis_db is not None else int(target.database or 0)
    return target.host, target.port, index


def _overlap(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return True
    return a.startswith(b) or b.startswith(a)


def check_flush(env: Environment, protected_envs: Iterable[Environment]) -> None:
    """Raise ``GuardRefusal`` when a protected environment shares the db index."""
    mine = place_of(env)
    for other in protected_envs:
        if other.name == env.name or other.tier != "protected":
            continue
        if (
            mine is not None
            and place_of(other) == mine
            and _overlap(env.redis_prefix, other.redis_prefix)
        ):
            raise GuardRefusal(
                f"refused to flush '{env.name}': check 'redis-shared' failed — protected"
                f" environment '{other.name}' uses the same Redis server and db index"
                f" ({mine[0]}:{mine[1]}/{mine[2]}).",
                check="redis-shared",
                hint=f"Give '{env.name}' its own redis_db (or distinct redis_prefix values).",
            )


def flush(env: Environment, protected_envs: Iterable[Environment]) -> FlushResult:
    """Clear the environment's Redis keys (its db index, or its prefix's keys)."""
    import redis as redis_lib

    if env.redis_url is None:
        raise ConfigError(
            f"environment '{env.name}' has no Redis URL to flush.",
            hint="Set redis_url (and redis_db) for it in dbenv.toml.",
        )
    check_flush(env, list(protected_envs))
    place = place_of(env)
    index = place[2] if place else 0
    client = connect(env.redis_url, index)
    try:
        if env.redis_prefix:
            removed = _delete_prefix(client, env.redis_prefix)
            return FlushResult(env.name, index, env.redis_prefix, removed)
        client.flushdb()
        return FlushResult(env.name, index, None, None)
    except redis_lib.RedisError as exc:
        raise ConnectionFailed(
            f"could not flush Redis db {index} of '{env.name}': {type(exc).__name__}.",
            hint="Check that Redis is running and the URL is right (dbenv status).",
        ) from None
    finally:
        client.close()


def _delete_prefix(client: redis.Redis, prefix: str) -> int:
    pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
    removed = 0
    batch: list[Any] = []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            removed += int(client.delete(*batch))
            batch.clear()
    if batch:
        removed += int(client.delete(*batch))
    return removed
