"""An environment's topology beyond its direct URL: replicas, pool mode, Redis roles and cluster.

The keys, beside ``database_url`` and ``pooler_url`` (docs/topology.md)::

    [environments.production]
    pool_mode = "transaction"                  # how pooler_url pools
    replicas = ["env:PROD_REPLICA_1_URL", "env:PROD_REPLICA_2_URL"]
    redis_cluster = ["rediss://redis-0:6379", "rediss://redis-1:6379"]

    [environments.production.redis.cache]     # an app's Redis role
    host = "cache.internal"                    # or url = "redis://..."
    port = 6379
    db = 2

Each replica, seed URL and role URL becomes a setting of its own (``replicas.1``,
``redis_cluster.1``, ``redis.cache.url``, ...), so secret references, masking and
``config show --origin`` work as for every other URL. Bad combinations are
refused here, at resolution, in one sentence: a replica whose URL names the
primary's server and database, ``redis_url`` beside ``redis_cluster``, a role given
both ``url`` and ``host``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dbenv.config.interpolation import MissingVariable
from dbenv.config.masking import mask_url
from dbenv.config.model import Origin, RedisRole, Secret, SecretURL, Setting
from dbenv.config.urls import target_of, validate_database_url, validate_redis_url
from dbenv.errors import InvalidURL, ProjectFileError

__all__ = [
    "POOL_MODES",
    "ROLE_KEYS",
    "TOPOLOGY_KEYS",
    "check_primary_apart",
    "check_redis_roles",
    "redis_roles",
    "resolve_topology",
    "secret_texts",
    "settings_list",
]

POOL_MODES = ("session", "transaction", "statement")
# the environment keys this module resolves (the generic layering skips them)
TOPOLOGY_KEYS = frozenset({"replicas", "redis_cluster", "redis"})
ROLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _urls(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    return None if ok else "a list of URLs (or secret references)"


def _role_port(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65535
    template = isinstance(value, str) and "${" in value
    return None if ok or template else "a port from 1 to 65535"


def _role_db(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "an integer of 0 or more (a Redis database index)"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "a non-empty string"


ROLE_KEYS: Mapping[str, Callable[[Any], str | None]] = {
    "url": _text,
    "host": _text,
    "port": _role_port,
    "db": _role_db,
    "password": _text,
    "prefix": _text,
    "cluster": _urls,
}


def check_redis_roles(value: Any) -> str | None:
    """Schema check of ``[environments.X.redis]``: a table of role tables."""
    if not isinstance(value, dict):
        return "a table of Redis roles ([environments.NAME.redis.cache], ...)"
    for role, table in value.items():
        if not ROLE_NAME.match(role):
            return f"a table of roles named with letters, digits and '_' ('{role}' is not)"
        if not isinstance(table, dict):
            return f"a table of role tables ('{role}' is not a table)"
    return None


def secret_texts(table: Mapping[str, Any]) -> list[str]:
    """The texts of an environment table's topology URLs (what may make a variable secret)."""
    texts = [v for key in ("replicas", "redis_cluster") for v in table.get(key, [])]
    for role in dict(table.get("redis", {})).values():
        if isinstance(role, dict):
            texts += [role[k] for k in ("url", "password") if isinstance(role.get(k), str)]
            texts += list(role.get("cluster", []))
    return [t for t in texts if isinstance(t, str)]


# -- resolution ---------------------------------------------------------------------

Expand = Callable[[str, str, Origin], Setting]
# settings.url_setting: a setting's value as a validated SecretURL (passed in: settings
# imports this module)
ToURL = Callable[[Setting, Callable[[str], None]], Setting]


def _path(setting: Setting) -> str | None:
    return setting.origin.source if setting.origin.kind == "project" else None


def _line(setting: Setting) -> int | None:
    return setting.origin.line if setting.origin.kind == "project" else None


def _listed(
    expand: Expand,
    to_url: ToURL,
    key: str,
    items: list[str],
    origin: Origin,
    validate: Callable[[str], None],
) -> Iterator[Setting]:
    for number, text in enumerate(items, 1):
        yield to_url(expand(f"{key}.{number}", text, origin), validate)


def resolve_topology(
    table: Mapping[str, Any],
    expand: Expand,
    origin_of: Callable[[tuple[str, ...]], Origin],
    to_url: ToURL,
) -> dict[str, Setting]:
    """One environment's topology settings, keyed ``replicas.1``, ``redis.cache.url``...

    ``expand(key, text, origin)`` interpolates a value and detects a secret
    reference; ``origin_of(path)`` is where a key under the environment was written.
    """
    settings: dict[str, Setting] = {}
    for key, validate in (
        ("replicas", validate_database_url),
        ("redis_cluster", validate_redis_url),
    ):
        items = table.get(key, [])
        for setting in _listed(expand, to_url, key, items, origin_of((key,)), validate):
            settings[setting.key] = setting
    for role, spec in dict(table.get("redis", {})).items():
        settings.update(_role_settings(role, spec, expand, to_url, origin_of))
    return settings


def _role_settings(
    role: str,
    spec: Mapping[str, Any],
    expand: Expand,
    to_url: ToURL,
    origin_of: Callable[[tuple[str, ...]], Origin],
) -> dict[str, Setting]:
    def origin(key: str) -> Origin:
        return origin_of(("redis", role, key))

    given = [k for k in ("url", "host", "cluster") if k in spec]
    if len(given) != 1:
        where = origin(given[1] if len(given) > 1 else "url")
        found = " and ".join(given) if given else "none of them"
        raise ProjectFileError(
            f"Redis role '{role}' ({where}) must give one of url, host or cluster;"
            f" it gives {found}.",
            hint=f"Keep one in [environments.NAME.redis.{role}] (docs/topology.md).",
            path=where.source,
            line=where.line,
        )
    prefix = f"redis.{role}"
    settings: dict[str, Setting] = {}
    if "cluster" in spec:
        seeds = _listed(
            expand,
            to_url,
            f"{prefix}.cluster",
            spec["cluster"],
            origin("cluster"),
            validate_redis_url,
        )
        settings.update({s.key: s for s in seeds})
    elif "url" in spec:
        url = to_url(expand(f"{prefix}.url", spec["url"], origin("url")), validate_redis_url)
        settings[url.key] = url
    else:
        settings[f"{prefix}.url"] = _role_url(prefix, spec, expand, origin)
    if "db" in spec:
        settings[f"{prefix}.db"] = Setting(f"{prefix}.db", int(spec["db"]), origin("db"))
    if "prefix" in spec:
        settings[f"{prefix}.prefix"] = expand(f"{prefix}.prefix", spec["prefix"], origin("prefix"))
    return settings


def _role_url(
    prefix: str, spec: Mapping[str, Any], expand: Expand, origin: Callable[[str], Origin]
) -> Setting:
    """A role given as host/port(/password) as a ``redis://`` URL setting."""
    host = expand(f"{prefix}.host", spec["host"], origin("host"))
    port = spec.get("port", 6379)
    password = (
        expand(f"{prefix}.password", spec["password"], origin("password"))
        if "password" in spec
        else None
    )
    parts = ((f"{prefix}.host", host.origin),) + (
        ((f"{prefix}.password", password.origin),) if password is not None else ()
    )
    for piece in (host, password):
        if piece is not None and piece.value is None:
            return Setting(f"{prefix}.url", None, origin("host"), parts=parts, note=piece.note)

    def build(secret: str | None) -> str:
        auth = f":{secret}@" if secret else ""
        return f"redis://{auth}{host.value}:{port}"

    value = password.value if password is not None else None
    if isinstance(value, Secret):
        secret = value
        url = SecretURL(lambda: build(secret.reveal()), masked=mask_url(build("x")))
    else:
        plain = build(None if value is None else str(value))
        url = SecretURL(plain, masked=mask_url(plain))
    return Setting(f"{prefix}.url", url, origin("host"), secret=password is not None, parts=parts)


def expander(resolver: Any) -> Expand:
    """An ``Expand`` over a ``Resolver``: references detected, a missing ``${VAR}`` noted."""

    def expand(key: str, text: str, origin: Origin) -> Setting:
        try:
            resolved = resolver.expand(text, origin, key=key, references=True)
        except MissingVariable as missing:
            return Setting(key, None, origin, note=f"${{{missing.name}}} is not set")
        return Setting(key, resolved.value, resolved.origin, resolved.secret, resolved.parts)

    return expand


def settings_list(settings: Mapping[str, Setting], key: str) -> tuple[SecretURL, ...]:
    """The resolved URLs ``key.1``, ``key.2``... in order (an unresolved one is left out)."""
    found = []
    number = 1
    while f"{key}.{number}" in settings:
        value = settings[f"{key}.{number}"].value
        if isinstance(value, SecretURL):
            found.append(value)
        number += 1
    return tuple(found)


def redis_roles(table: Mapping[str, Any], settings: Mapping[str, Setting]) -> dict[str, RedisRole]:
    """The environment's declared Redis roles, from its resolved settings."""
    roles = {}
    for role in dict(table.get("redis", {})):
        prefix = f"redis.{role}"
        cluster = settings_list(settings, f"{prefix}.cluster")
        url = settings.get(f"{prefix}.url")
        db, named = settings.get(f"{prefix}.db"), settings.get(f"{prefix}.prefix")
        roles[role] = RedisRole(
            role,
            url=cluster[0]
            if cluster
            else url.value
            if url and isinstance(url.value, SecretURL)
            else None,
            db=int(db.value) if db is not None and isinstance(db.value, int) else None,
            prefix=str(named.value) if named is not None and named.value else None,
            cluster=cluster,
        )
    return roles


def check_primary_apart(
    environment: str, settings: Mapping[str, Setting], table: Mapping[str, Any]
) -> None:
    """Refuse a replica that names the primary, and ``redis_url`` beside ``redis_cluster``.

    Only what the URLs say as written is compared (a reference that is not
    resolved here is compared by ``status``/``check``, which connect).
    """
    primary = settings.get("database_url")
    place = _place(primary.value) if primary is not None else None
    number = 1
    while place is not None and f"replicas.{number}" in settings:
        replica = settings[f"replicas.{number}"]
        if _place(replica.value) == place:
            raise ProjectFileError(
                f"replica {number} of environment '{environment}' ({replica.origin}) names its"
                f" primary's server and database ({place[0]}:{place[1]}/{place[2]}); a replica"
                " is a standby's URL.",
                hint="Point it at the standby server, or remove it from replicas.",
                path=_path(replica),
                line=_line(replica),
            )
        number += 1
    if "redis_url" in table and "redis_cluster" in table:
        cluster = settings.get("redis_cluster.1")
        where = cluster.origin if cluster is not None else Origin("project")
        raise ProjectFileError(
            f"environment '{environment}' gives both redis_url and redis_cluster ({where});"
            " a cluster is reached through its seed URLs.",
            hint="Keep one: redis_cluster for a Redis Cluster, redis_url for a single node.",
            path=where.source or None,
            line=where.line,
        )


def _place(value: object) -> tuple[str, int, str] | None:
    if not isinstance(value, SecretURL) or "://" not in value.masked:
        return None
    try:
        target = target_of(value.masked)
    except InvalidURL:
        return None
    return target.host, target.port, target.database
