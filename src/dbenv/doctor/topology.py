"""The doctor's static topology rules: poolers, replicas and Redis, judged from the URLs.

- ``migrations-over-pooler``: an environment with a ``schema_source`` whose
  database URL is transaction-pooled (``pool_mode = "transaction"`` with no
  separate direct ``database_url``): migrations and dbenv's lock need a session
  (advisory locks, ``SET``, prepared statements do not survive a transaction pooler);
- ``replica-of-other-primary`` by spelling: a replica whose URL is another
  environment's ``database_url`` (``dbenv.doctor.topology_probe`` finds the ones
  streaming from it by system identifier);
- ``no-tls`` for a protected environment's ``pooler_url`` and replicas, as for
  its ``database_url``;
- ``redis-shared``: a disposable environment whose Redis (main node, a role, a
  cluster seed) is a protected environment's — the same node and db index, or any
  node of a protected environment's cluster (a cluster has one keyspace per node;
  a flush there is a flush of production's keys).

Nothing here connects; ``dbenv.doctor.topology_probe`` holds the rules that do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

from dbenv.config.model import Environment, SecretURL
from dbenv.config.urls import target_of
from dbenv.doctor.findings import Finding
from dbenv.errors import DbenvError

__all__ = ["topology_rules"]

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", ""}
_TLS_MODES = {"require", "verify-ca", "verify-full"}


def topology_rules(env: Environment, others: Sequence[Environment]) -> list[Finding]:
    """Every static topology finding of ``env`` (``others``: every resolved environment)."""
    return [
        *_migrations_rule(env),
        *_tls_rule(env),
        *_replica_spelled_rule(env, others),
        *_redis_shared_rule(env, others),
    ]


def _replica_spelled_rule(env: Environment, others: Sequence[Environment]) -> list[Finding]:
    """A replica whose URL names another environment's primary (found offline, by spelling)."""
    findings = []
    for number, url in enumerate(env.replicas, 1):
        where = _place(url)
        owner = next(
            (
                o.name
                for o in others
                if o.name != env.name and where and _place(o.database_url) == where
            ),
            None,
        )
        if owner is None:
            continue
        findings.append(
            Finding(
                "replica-of-other-primary",
                "error",
                env.name,
                f"'{env.name}''s replica {number} ({url.masked}) is environment '{owner}''s"
                " primary database_url, not a standby of its own.",
                f"Point it at a standby of '{env.name}''s primary; an app reading it reads"
                f" '{owner}''s data.",
            )
        )
    return findings


def _place(url: SecretURL | None) -> tuple[str, int, str] | None:
    if url is None or "://" not in url.masked:
        return None
    try:
        target = target_of(url.masked)
    except DbenvError:
        return None
    return target.host, target.port, target.database


def _migrations_rule(env: Environment) -> list[Finding]:
    if env.schema_source is None or env.pool_mode != "transaction":
        return []
    if env.database_url is not None and env.pooler_url is not None:
        pooled, direct = _place(env.pooler_url), _place(env.database_url)
        if pooled is None or direct is None or pooled != direct:
            return []  # pool_mode describes pooler_url; database_url is the direct one
    return [
        Finding(
            "migrations-over-pooler",
            "error",
            env.name,
            f"environment '{env.name}' builds its schema_source over a transaction-mode"
            ' pooler (pool_mode = "transaction" and no separate direct database_url);'
            " migrations and dbenv's lock need a session the pooler does not keep.",
            "Set database_url to the server's direct address and pooler_url to the pooled one"
            " (apps get DATABASE_URL pooled, migrations DIRECT_DATABASE_URL).",
        )
    ]


def _tls_rule(env: Environment) -> list[Finding]:
    if env.disposable:
        return []
    urls = [("pooler_url", env.pooler_url)]
    urls += [(f"replica {n}", url) for n, url in enumerate(env.replicas, 1)]
    findings = []
    for what, url in urls:
        if url is None or "://" not in url.masked:
            continue
        parts = urlsplit(url.masked)
        host = (parse_qs(parts.query).get("host", [""])[0] or parts.hostname or "").lower()
        mode = parse_qs(parts.query).get("sslmode", [""])[0].lower()
        if host in _LOOPBACK or host.startswith("/") or mode in _TLS_MODES:
            continue
        shown = f"sslmode={mode}" if mode else "no sslmode"
        findings.append(
            Finding(
                "no-tls",
                "warning",
                env.name,
                f"protected environment '{env.name}''s {what} connects to {host} with {shown};"
                " the connection may be unencrypted.",
                f"Add ?sslmode=require (better: verify-full) to its {what}.",
            )
        )
    return findings


# -- Redis --------------------------------------------------------------------------

Node = tuple[str, int]


def _redis_parts(env: Environment) -> Iterator[tuple[str, Node, str | None, bool]]:
    """(what, (host, port), db index or None for a cluster, is cluster) of each Redis."""
    yield from _nodes("redis", env.redis_url, env.redis_db, env.redis_cluster)
    for name, role in env.redis_roles.items():
        yield from _nodes(f"redis role '{name}'", role.url, role.db, role.cluster)


def _nodes(
    what: str, url: SecretURL | None, db: int | None, cluster: tuple[SecretURL, ...]
) -> Iterator[tuple[str, Node, str | None, bool]]:
    for seed in cluster:
        node = _node(seed)
        if node is not None:
            yield what, node[0], None, True
    if not cluster and url is not None:
        node = _node(url)
        if node is not None:
            yield what, node[0], str(db) if db is not None else node[1], False


def _node(url: SecretURL) -> tuple[Node, str] | None:
    if "://" not in url.masked:
        return None
    try:
        target = target_of(url.masked)
    except DbenvError:
        return None
    return (target.host, target.port), target.database


def _redis_shared_rule(env: Environment, others: Sequence[Environment]) -> list[Finding]:
    if not env.disposable:
        return []
    for other in others:
        if other.disposable or other.name == env.name:
            continue
        theirs = list(_redis_parts(other))
        for what, node, db, cluster in _redis_parts(env):
            for their_what, their_node, their_db, their_cluster in theirs:
                if node != their_node or not (cluster or their_cluster or db == their_db):
                    continue
                kind = "Redis Cluster" if their_cluster else f"Redis node and db {their_db}"
                where = f"{node[0]}:{node[1]}"
                return [
                    Finding(
                        "redis-shared",
                        "error",
                        env.name,
                        f"disposable environment '{env.name}''s {what} ({where}) is protected"
                        f" environment '{other.name}''s {kind} ({their_what}); a flush of"
                        f" '{env.name}' would empty '{other.name}''s keys.",
                        f"Give '{env.name}' a Redis of its own (another server, or another db"
                        " index on a single node; never a protected environment's cluster).",
                    )
                ]
    return []
