"""Redis Cluster: what a cluster is made of, and who it is.

A cluster is reached through its seed URLs (``redis_cluster``); the first seed
that answers tells the rest: ``CLUSTER NODES`` (every node's id, address, role,
slots) and ``CLUSTER INFO`` (``cluster_state``, slots covered). A cluster's
identity is its nodes' ids: two spellings of one cluster (``localhost`` and
``127.0.0.1``, a DNS alias, another seed) share them, as ``INFO server``'s run_id
tells single Redis servers apart (``dbenv.backends.redis.server_identity``).

Keys are flushed node by node (``backends.redis``): a plain client on each master,
built from a seed URL's scheme and credentials with the master's announced
address. ``FLUSHDB`` is never sent to a cluster node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, Secret, SecretURL
from dbenv.errors import ConfigError, ConnectionFailed, DbenvError, GuardRefusal

if TYPE_CHECKING:
    import redis
    from redis.cluster import RedisCluster

__all__ = [
    "ClusterNode",
    "ClusterView",
    "check_flush",
    "check_node",
    "cluster_client",
    "cluster_prefix",
    "describe",
    "identity",
    "node_client",
]

TOTAL_SLOTS = 16384


@dataclass(frozen=True)
class ClusterNode:
    """One line of ``CLUSTER NODES``."""

    id: str
    host: str
    port: int
    master: bool
    slots: int  # how many slots it serves (a master)
    failed: bool  # flagged fail/pfail, or its link is down


@dataclass(frozen=True)
class ClusterView:
    """What the first answering seed says of its cluster."""

    seed: str  # masked: the seed that answered
    nodes: tuple[ClusterNode, ...]
    state: str  # cluster_state: ok | fail
    slots_covered: int  # cluster_slots_ok: assigned to a node not failing

    @property
    def masters(self) -> tuple[ClusterNode, ...]:
        return tuple(n for n in self.nodes if n.master)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(n.id for n in self.nodes)


def _plain(url: Secret | str) -> str:
    return url.reveal() if isinstance(url, Secret) else url


def node_client(seed: Secret | str, host: str, port: int, *, timeout: float = 5) -> redis.Redis:
    """A plain client on node ``host:port`` with ``seed``'s scheme and credentials."""
    import redis as redis_lib

    parts = urlsplit(_plain(seed))
    auth = parts.netloc.rpartition("@")[0]
    where = f"[{host}]" if ":" in host else host
    netloc = f"{auth}@{where}:{port}" if auth else f"{where}:{port}"
    url = urlunsplit(parts._replace(netloc=netloc, path="/0"))
    return redis_lib.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def _seed_client(seed: Secret | str, timeout: float) -> redis.Redis:
    import redis as redis_lib

    try:
        return redis_lib.Redis.from_url(
            _plain(seed), socket_connect_timeout=timeout, socket_timeout=timeout
        )
    except ValueError as exc:
        raise ConfigError(
            f"the Redis Cluster seed URL {mask_url(_plain(seed))} does not parse: {exc}.",
            hint="Use redis://host:port (or rediss://) for each redis_cluster seed.",
        ) from None


def parse_nodes(text: str) -> tuple[ClusterNode, ...]:
    """``CLUSTER NODES``' lines as ``ClusterNode``s (handshake nodes without an id skipped)."""
    nodes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        address, flags = fields[1].split("@")[0], set(fields[2].split(","))
        host, _, port = address.rpartition(":")
        if not port.isdigit() or "handshake" in flags or "noaddr" in flags:
            continue
        slots = 0
        for item in fields[8:]:
            if item.startswith("["):
                continue  # a slot being migrated or imported
            low, _, high = item.partition("-")
            slots += (int(high) if high else int(low)) - int(low) + 1
        failed = bool(flags & {"fail", "fail?"}) or fields[7] != "connected"
        nodes.append(
            ClusterNode(fields[0], host.strip("[]"), int(port), "master" in flags, slots, failed)
        )
    return tuple(nodes)


def _read(client: redis.Redis) -> tuple[tuple[ClusterNode, ...], dict[str, str]]:
    # "CLUSTER", "NODES" as two words: redis-py parses the one-word form into dicts whose
    # shape changes between its versions; the server's own text is stable
    run: Any = client.execute_command
    nodes, info = run("CLUSTER", "NODES"), run("CLUSTER", "INFO")
    nodes = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
    info = info.decode() if isinstance(info, bytes) else str(info)
    pairs = (line.partition(":") for line in info.splitlines())
    return parse_nodes(nodes), {k: v.strip() for k, _, v in pairs}


def describe(seeds: Sequence[Secret | str], *, timeout: float = 5) -> ClusterView:
    """The cluster as the first answering seed sees it.

    ``ConnectionFailed`` when no seed answers; ``ConfigError`` when a seed answers
    but is not a cluster node (``cluster-enabled no``: a single Redis).
    """
    import redis as redis_lib

    reasons = []
    for seed in seeds:
        client = _seed_client(seed, timeout)
        try:
            nodes, info = _read(client)
        except redis_lib.ResponseError as exc:
            if "cluster support disabled" not in str(exc).lower():
                reasons.append(f"{mask_url(_plain(seed))}: {str(exc)[:80]}")
                continue
            raise ConfigError(
                f"the Redis Cluster seed {mask_url(_plain(seed))} is a single Redis server"
                " (cluster support disabled), not a cluster node.",
                hint="List a cluster's nodes in redis_cluster, or use redis_url for a"
                " single Redis.",
            ) from None
        except redis_lib.RedisError as exc:
            reasons.append(f"{mask_url(_plain(seed))}: {type(exc).__name__}")
            continue
        finally:
            client.close()
        slots = info.get("cluster_slots_ok", "0")
        return ClusterView(
            mask_url(_plain(seed)),
            nodes,
            info.get("cluster_state", "unknown"),
            int(slots) if slots.isdigit() else 0,
        )
    raise ConnectionFailed(
        f"could not reach any seed of the Redis Cluster ({'; '.join(reasons) or 'no seeds'}).",
        hint="Check that the cluster is up and the redis_cluster URLs are right (dbenv status).",
    )


def identity(urls: Sequence[Secret | str], *, timeout: float = 2) -> frozenset[str] | None:
    """The node ids of the cluster ``urls`` lead to; empty for a single (non-cluster)
    Redis; None when none of them answers."""
    try:
        return describe(urls, timeout=timeout).ids
    except ConfigError:
        return frozenset()
    except ConnectionFailed:
        return None


def cluster_client(seeds: Sequence[Secret | str], *, timeout: float = 5) -> RedisCluster:
    """redis-py's ``RedisCluster`` on the seeds (it discovers every node)."""
    from redis.cluster import ClusterNode as Startup
    from redis.cluster import RedisCluster

    first = urlsplit(_plain(seeds[0]))
    options: dict[str, Any] = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if first.password:
        options["password"] = unquote(first.password)
    if first.username:
        options["username"] = unquote(first.username)
    if first.scheme == "rediss":
        options["ssl"] = True
    node: Any = Startup  # redis-py leaves its __init__ untyped
    startup = []
    for seed in seeds:
        parts = urlsplit(_plain(seed))
        startup.append(node(parts.hostname or "127.0.0.1", parts.port or 6379))
    return RedisCluster(startup_nodes=startup, **options)


# -- the guard's redis-shared check ------------------------------------------------


def _parts(env: Environment) -> list[tuple[str, tuple[SecretURL, ...], bool]]:
    """(what, URLs, is a cluster) of each Redis ``env`` uses: its main one and its roles."""
    parts = []
    if env.redis_cluster:
        parts.append(("Redis Cluster", env.redis_cluster, True))
    elif env.redis_url is not None:
        parts.append(("Redis", (env.redis_url,), False))
    for name, role in env.redis_roles.items():
        urls = role.cluster or tuple(u for u in (role.url,) if u is not None)
        if urls:
            parts.append((f"Redis role '{name}'", urls, bool(role.cluster)))
    return parts


def _address(url: SecretURL | str) -> tuple[str, int] | None:
    from dbenv.config.urls import target_of

    try:
        target = target_of(url.masked if isinstance(url, SecretURL) else url)
    except DbenvError:
        return None
    return target.host, target.port


def cluster_prefix(env: Environment) -> str:
    """The key prefix a flush of ``env``'s Redis Cluster removes; refuses without one."""
    if not env.redis_prefix:
        raise ConfigError(
            f"environment '{env.name}''s Redis is a Redis Cluster and it has no redis_prefix;"
            " dbenv flushes a cluster only by key prefix, never the whole cluster, so"
            " nothing was changed.",
            hint=f"Give '{env.name}' a redis_prefix (e.g. \"{env.name}:\") its app's keys use.",
        )
    return env.redis_prefix


def check_flush(env: Environment, others: list[Environment]) -> list[str]:
    """Refuse when a protected environment's Redis is a node of ``env``'s cluster."""
    cluster_prefix(env)
    try:
        mine = describe(env.redis_cluster, timeout=2)
    except ConnectionFailed:
        return []  # the flush itself will say that the cluster cannot be reached
    nodes = {_address(f"redis://{n.host}:{n.port}") for n in mine.nodes}
    addresses = {_address(u) for u in env.redis_cluster} | nodes
    notes: list[str] = []
    for other in others:
        for what, urls, _ in _parts(other):
            spelled = next((a for u in urls if (a := _address(u)) in addresses), None)
            if spelled is not None:
                raise _cluster_shared(env, other, what, f"node {spelled[0]}:{spelled[1]}")
            ids = identity(urls)
            if ids is None:
                notes.append(_not_compared(other, what))
            elif ids & mine.ids:
                shared = sorted(ids & mine.ids)[0]
                raise _cluster_shared(env, other, what, f"by node id {shared[:12]}...")
    return notes


def check_node(env: Environment, others: list[Environment]) -> list[str]:
    """Refuse a single-node flush whose node is in a protected environment's cluster."""
    clusters = [(o, what, urls) for o in others for what, urls, cluster in _parts(o) if cluster]
    if env.redis_url is None or not clusters:
        return []
    mine = _address(env.redis_url)
    for other, what, urls in clusters:
        if mine is not None and mine in {_address(u) for u in urls}:
            raise _cluster_shared(env, other, what, f"node {mine[0]}:{mine[1]}")
    my_ids = identity([env.redis_url])
    if not my_ids:
        return []  # a single Redis (or unreachable: the flush says so)
    notes = []
    for other, what, urls in clusters:
        ids = identity(urls)
        if ids is None:
            notes.append(_not_compared(other, what))
        elif ids & my_ids:
            raise _cluster_shared(env, other, what, f"by node id {sorted(my_ids)[0][:12]}...")
    return notes


def _not_compared(other: Environment, what: str) -> str:
    return (
        f"protected environment '{other.name}''s {what} was not compared by identity:"
        " it could not be reached"
    )


def _cluster_shared(env: Environment, other: Environment, what: str, how: str) -> GuardRefusal:
    return GuardRefusal(
        f"refused to flush '{env.name}': check 'redis-shared' failed — its Redis is part of"
        f" the Redis Cluster protected environment '{other.name}' uses ({what}, {how});"
        " dbenv never flushes a cluster a protected environment uses.",
        check="redis-shared",
        hint=f"Give '{env.name}' a Redis (or a Redis Cluster) of its own.",
    )
