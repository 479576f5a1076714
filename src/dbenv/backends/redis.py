"""Redis backend: the one module that imports redis-py.

It connects to an environment's Redis db index, measures a ping, and flushes an
environment's keys: ``FLUSHDB`` on its db index, or ``SCAN`` + ``DEL`` of its
``redis_prefix`` keys when it has one. A flush is refused (``GuardRefusal``,
check ``redis-shared``) when a protected environment uses the same server and db
index — unless both have distinct, non-overlapping key prefixes. The same server
is known by URL spelling and by identity (``INFO server``'s run_id), so an alias
of production's Redis is production's Redis.

An environment on a Redis Cluster (``redis_cluster``) is flushed by its
``redis_prefix`` only, on every master (``SCAN`` + ``UNLINK`` per node, never
``FLUSHDB``); without a prefix it is refused (``ConfigError``: it would empty a
whole cluster). It is refused (``redis-shared``) when any Redis of a protected
environment (its main one or a role) is a node of the same cluster, by address or
by node id (``backends.redis_cluster.identity``), whatever the prefixes; and a
single-node flush is refused when its node belongs to a protected environment's
cluster.

``snapshot`` saves the keys a flush would remove (``DUMP`` + ``PTTL`` of each, one
JSON line per key) before an overridden flush; ``restore_snapshot`` puts them back.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.backends import redis_cluster
from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, Secret
from dbenv.errors import ConfigError, ConnectionFailed, DbenvError, GuardRefusal

if TYPE_CHECKING:
    import redis

__all__ = [
    "FlushResult",
    "check_reachable",
    "client_of",
    "connect",
    "flush",
    "ping",
    "place_of",
    "restore_snapshot",
    "server_identity",
    "snapshot",
    "target_name",
    "views",
]


@dataclass(frozen=True)
class FlushResult:
    """What a flush removed: the db index, and the prefix and key count if prefixed."""

    environment: str
    db: int
    prefix: str | None
    keys_removed: int  # FLUSHDB: the db's size when it was flushed
    masters: int = 0  # a Redis Cluster: how many masters were flushed (0: a single node)
    role: str | None = None  # one of the app's Redis roles; None: the main Redis
    roles: tuple[FlushResult, ...] = ()  # the main result's: each declared role's flush


def views(env: Environment) -> list[tuple[str | None, Environment]]:
    """``env``'s main Redis (role None) and each declared role, as environments of their own.

    A role's view has the role's URL or cluster, db and prefix (not the main ones),
    so one flush, snapshot and ``redis-shared`` check serve every role.
    """
    from dataclasses import replace

    found: list[tuple[str | None, Environment]] = []
    if env.redis_url is not None or env.redis_cluster:
        found.append((None, replace(env, redis_roles={})))
    for name, role in env.redis_roles.items():
        view = replace(
            env,
            redis_url=None if role.cluster else role.url,
            redis_cluster=role.cluster,
            redis_db=role.db,
            redis_prefix=role.prefix,
            redis_roles={},
        )
        found.append((name, view))
    return found


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


def target_name(env: Environment) -> str:
    """``redis/<db index>``: what an override names for an environment without a database."""
    place = place_of(env)
    return f"redis/{place[2] if place else 0}"


def _overlap(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return True
    return a.startswith(b) or b.startswith(a)


def check_flush(env: Environment, protected_envs: Iterable[Environment]) -> list[str]:
    """Raise ``GuardRefusal`` when a protected environment shares the db index.

    By URL spelling first, then by identity (``server_identity``: ``INFO server``'s
    run_id): ``127.1``, a hostname of this machine or a proxy name of production's
    Redis are production's Redis. Returns notes: protected Redis servers that could
    not be reached, so were not compared (not a pass, not a failure).
    """
    others = [o for o in protected_envs if o.name != env.name and o.tier == "protected"]
    if env.redis_cluster:
        return redis_cluster.check_flush(env, others)
    mine = place_of(env)
    for other in others:
        if (
            mine is not None
            and place_of(other) == mine
            and _overlap(env.redis_prefix, other.redis_prefix)
        ):
            raise _shared(
                env, other, f"the same Redis server and db index ({mine[0]}:{mine[1]}/{mine[2]})"
            )
    return _by_identity(env, others) + redis_cluster.check_node(env, others)


def _by_identity(env: Environment, others: list[Environment]) -> list[str]:
    """The ``redis-shared`` refusal by run_id and db index; notes for the unreachable."""
    mine = place_of(env)
    candidates = [
        o for o in others if o.redis_url is not None and _overlap(env.redis_prefix, o.redis_prefix)
    ]
    if mine is None or env.redis_url is None or not candidates:
        return []
    run_id = server_identity(env.redis_url, remember_failure=False)
    if run_id is None:
        return []  # the flush itself will say that this Redis cannot be reached
    notes: list[str] = []
    for other in candidates:
        theirs, place = server_identity(other.redis_url or ""), place_of(other)
        if theirs is None:
            notes.append(
                f"protected environment '{other.name}''s Redis was not compared by identity:"
                " it could not be reached"
            )
        elif theirs == run_id and place is not None and place[2] == mine[2]:
            raise _shared(
                env,
                other,
                f"the same Redis server (by identity: run_id {run_id[:12]}..., though the URLs"
                f" are spelled differently) and db index {mine[2]}",
            )
    return notes


def _shared(env: Environment, other: Environment, what: str) -> GuardRefusal:
    return GuardRefusal(
        f"refused to flush '{env.name}': check 'redis-shared' failed — protected"
        f" environment '{other.name}' uses {what}.",
        check="redis-shared",
        hint=f"Give '{env.name}' its own redis_db (or distinct redis_prefix values).",
    )


# -- Redis Cluster --------------------------------------------------------------------


def _flush_cluster(env: Environment) -> FlushResult:
    """``SCAN`` + ``UNLINK`` of the prefix's keys on every master; refused up front when a
    master is failing (a flush that stops half-way is no flush)."""
    import redis as redis_lib

    prefix = redis_cluster.cluster_prefix(env)
    view = redis_cluster.describe(env.redis_cluster)
    failing = [f"{n.host}:{n.port}" for n in view.masters if n.failed]
    if failing or view.state != "ok":
        raise ConnectionFailed(
            f"the Redis Cluster of '{env.name}' is not healthy (cluster_state"
            f" {view.state}{', failing: ' + ', '.join(failing) if failing else ''});"
            " nothing was changed.",
            hint="Wait for the cluster to recover (dbenv status shows it), then retry.",
        )
    removed = 0
    for node in view.masters:
        client = redis_cluster.node_client(env.redis_cluster[0], node.host, node.port)
        try:
            for batch in _key_batches(client, prefix):
                removed += _unlink(client, batch)
        except redis_lib.RedisError as exc:
            raise ConnectionFailed(
                f"could not flush the Redis Cluster master {node.host}:{node.port} of"
                f" '{env.name}': {type(exc).__name__} ({removed} keys removed before).",
                hint="Check the cluster (dbenv status), then flush again.",
            ) from None
        finally:
            client.close()
    return FlushResult(env.name, 0, prefix, removed, masters=len(view.masters))


def _unlink(client: redis.Redis, keys: list[Any]) -> int:
    # one key a command: a multi-key UNLINK across slots is CROSSSLOT on a cluster node
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.unlink(key)
        return sum(int(n) for n in pipe.execute())


_identities: dict[str, str | None] = {}


def server_identity(
    url: Secret | str, *, timeout: float = 2, remember_failure: bool = True
) -> str | None:
    """The Redis server's ``run_id`` (random per server start), once per process; None
    when unreachable. Any spelling of one running server gives the same run_id.

    ``remember_failure``: an unreachable server is not asked again in this process
    (a protected one: not compared, a note); the target's is asked again, as it
    may be started later (the pytest plugin starts the local stack).
    """
    import hashlib

    import redis as redis_lib

    key = hashlib.sha256(_plain(url).encode()).hexdigest()
    if key not in _identities:
        try:
            client = connect(url, timeout=timeout)
        except ConfigError:
            return None
        try:
            _identities[key] = str(client.info("server")["run_id"])
        except (redis_lib.RedisError, KeyError, OSError):
            if not remember_failure:
                return None
            _identities[key] = None
        finally:
            client.close()
    return _identities[key]


def client_of(env: Environment) -> Any:
    """A client on ``env``'s Redis: its db index, or a ``RedisCluster`` on its seeds."""
    if env.redis_cluster:
        return redis_cluster.cluster_client(env.redis_cluster)
    place = place_of(env)
    return connect(env.redis_url or "", place[2] if place else None)


def check_reachable(env: Environment) -> None:
    """Raise ``ConnectionFailed`` unless ``env``'s Redis (node, or cluster) answers."""
    if env.redis_cluster:
        redis_cluster.describe(env.redis_cluster, timeout=2)
    elif env.redis_url is not None:
        ping(env.redis_url, None, timeout=2)  # the db index is check_index's


def check_index(env: Environment) -> None:
    """Refuse a db index the environment's Redis does not have (``ConfigError``).

    Asked before anything changes, so a reset does not rebuild the database and
    then fail on the flush. An unreachable Redis passes here: the flush says so.
    """
    import redis as redis_lib

    place = place_of(env)
    if env.redis_url is None or place is None:
        return  # a cluster has db 0 only
    client = connect(env.redis_url, place[2], timeout=2)
    try:
        client.ping()
    except redis_lib.ResponseError as exc:
        if "range" not in str(exc).lower():
            return
        raise ConfigError(
            f"environment '{env.name}' uses Redis db {place[2]}, which its Redis"
            f" ({mask_url(env.redis_url.masked)}) does not have.",
            hint="Set redis_db to an index the server has (0-15 by default;"
            " the server's 'databases' setting raises it).",
        ) from None
    except redis_lib.RedisError:
        return
    finally:
        client.close()


def flush(env: Environment, protected_envs: Iterable[Environment]) -> FlushResult:
    """Clear the environment's Redis keys (its db index, or its prefix's keys)."""
    import redis as redis_lib

    if env.redis_cluster:
        check_flush(env, list(protected_envs))
        return _flush_cluster(env)
    if env.redis_url is None:
        raise ConfigError(
            f"environment '{env.name}' has no Redis URL to flush.",
            hint="Set redis_url (and redis_db) for it in dbenv.toml.",
        )
    check_flush(env, list(protected_envs))
    check_index(env)
    place = place_of(env)
    index = place[2] if place else 0
    client = connect(env.redis_url, index)
    try:
        if env.redis_prefix:
            removed = _delete_prefix(client, env.redis_prefix)
            return FlushResult(env.name, index, env.redis_prefix, removed)
        with client.pipeline(transaction=True) as pipe:  # MULTI: the size is what went
            pipe.dbsize()
            pipe.flushdb()
            size, _ = pipe.execute()
        return FlushResult(env.name, index, None, int(size))
    except redis_lib.RedisError as exc:
        raise ConnectionFailed(
            f"could not flush Redis db {index} of '{env.name}': {type(exc).__name__}.",
            hint="Check that Redis is running and the URL is right (dbenv status).",
        ) from None
    finally:
        client.close()


def _delete_prefix(client: redis.Redis, prefix: str) -> int:
    removed = 0
    for batch in _key_batches(client, prefix):
        removed += int(client.delete(*batch))
    return removed


def _key_batches(client: redis.Redis, prefix: str | None) -> Iterator[list[Any]]:
    """The environment's keys (all of the db without a prefix), 1000 at a time."""
    pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix or "") + "*"
    batch: list[Any] = []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            yield batch
            batch = []
    if batch:
        yield batch


def snapshot(env: Environment, root: Path) -> Path:
    """Save the keys a flush of ``env`` would remove; returns the file.

    ``<root>/.dbenv/snapshots/<env>-redis<db>-<UTC>.jsonl``: one line per key with
    its ``DUMP`` payload and remaining time to live (base64; ``restore_snapshot``).
    """
    import redis as redis_lib

    place = place_of(env)
    index = place[2] if place else 0
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kind = "redis-cluster" if env.redis_cluster else f"redis{index}"
    path = root / ".dbenv" / "snapshots" / f"{env.name}-{kind}-{when}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("w", encoding="utf-8") as out:
            for client in _snapshot_clients(env, index):
                try:
                    for batch in _key_batches(client, env.redis_prefix):
                        _write_dumps(client, batch, out)
                finally:
                    client.close()
    except (redis_lib.RedisError, DbenvError) as exc:
        path.unlink(missing_ok=True)
        raise ConnectionFailed(
            f"the safety snapshot of {kind} failed ({type(exc).__name__}); nothing was changed.",
            hint="Check that Redis is running and the URL is right (dbenv status).",
        ) from None
    return path


def _snapshot_clients(env: Environment, index: int) -> Iterator[redis.Redis]:
    """A client on the db (single node), or one per master of the cluster (its prefix)."""
    if not env.redis_cluster:
        yield connect(env.redis_url or "", index)
        return
    redis_cluster.cluster_prefix(env)
    for node in redis_cluster.describe(env.redis_cluster).masters:
        yield redis_cluster.node_client(env.redis_cluster[0], node.host, node.port)


def _write_dumps(client: redis.Redis, keys: list[Any], out: Any) -> None:
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.dump(key)
            pipe.pttl(key)
        replies = pipe.execute()
    for key, payload, ttl in zip(keys, replies[::2], replies[1::2], strict=True):
        if payload is None:
            continue  # expired between SCAN and DUMP
        record = {
            "key": base64.b64encode(key).decode(),
            "ttl": max(int(ttl), 0),
            "dump": base64.b64encode(payload).decode(),
        }
        out.write(json.dumps(record) + "\n")


def restore_snapshot(env: Environment, path: Path) -> int:
    """Put the keys of a ``snapshot`` file back into ``env``'s db (replacing); returns the count."""
    import redis as redis_lib

    place = place_of(env)
    client: Any = (
        redis_cluster.cluster_client(env.redis_cluster)  # routes each key to its slot's master
        if env.redis_cluster
        else connect(env.redis_url or "", place[2] if place else 0)
    )
    restored = 0
    try:
        with client.pipeline(transaction=False) as pipe:
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                key, payload = base64.b64decode(record["key"]), base64.b64decode(record["dump"])
                pipe.restore(key, record["ttl"], payload, replace=True)
                restored += 1
            pipe.execute()
    except redis_lib.RedisError as exc:
        raise ConnectionFailed(
            f"could not restore the Redis snapshot {path.name} into '{env.name}': "
            f"{type(exc).__name__}.",
            hint="Check that the Redis server is up and reachable, then retry.",
        ) from None
    finally:
        client.close()
    return restored
