"""What ``dbenv run`` (and the pytest plugin) give the app: variables and targets.

``exported(env)`` is the one function that computes it: the environment's
variables, its selector variables (its name, or the values it declares for the
app), then every exported target variable, computed from the environment's own
database and Redis so they always win over what the shell or a ``.env`` had.

Target variables are named by the project, each with a *form*:

    [export]                       # every environment
    DATABASE_URL = "url+asyncpg"
    ALEMBIC_URL = "url+psycopg"
    POSTGRES_SERVER = "host"
    [environments.test.export]     # one environment (wins; false drops a name)

Defaults: ``DATABASE_URL = "url"`` (the form ``database_url`` was written in),
``REDIS_URL = "redis_url"``, and ``DBENV_SCHEMA`` / ``DBENV_TABLE_PREFIX`` /
``DBENV_REDIS_PREFIX`` when the environment has one. Every URL carries the whole
target: the Redis db index, the schema's ``search_path``; the database forms
come from ``pooler_url`` when the environment has one (applications go through
the pooler; dbenv itself keeps the direct ``database_url``); a local-stack
database is exported over TCP with its role's password (apps log in over TCP).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from dbenv.config.secret import MASK, Secret
from dbenv.config.urls import DRIVERS, with_scheme

if TYPE_CHECKING:
    from dbenv.config.model import Environment, SecretURL

Revealer = Callable[[Secret], str]

DEFAULT_EXPORTS: Mapping[str, str] = {
    "DATABASE_URL": "url",
    "REDIS_URL": "redis_url",
    "DBENV_SCHEMA": "schema",
    "DBENV_TABLE_PREFIX": "prefix",
    "DBENV_REDIS_PREFIX": "redis_prefix",
}
DATABASE_FORMS = (
    "url",
    *(f"url+{driver}" for driver in DRIVERS),
    "plain_url",
    "host",
    "port",
    "user",
    "password",
    "database",
    "schema",
    "prefix",
)
REDIS_FORMS = (
    "redis_url",
    "redis_host",
    "redis_port",
    "redis_db",
    "redis_password",
    "redis_prefix",
)
# the direct URL (migrations) and the replicas', in every driver's spelling
TOPOLOGY_FORMS = tuple(
    f"{base}{driver}"
    for base in ("direct_url", "replica_urls", "replica_url")
    for driver in ("", *(f"+{d}" for d in DRIVERS))
)
FORMS = (*DATABASE_FORMS, *REDIS_FORMS, "redis_cluster_urls", *TOPOLOGY_FORMS, "environment")
# forms that take a qualifier: `redis_host:cache` (a Redis role), `replica_url:2` (1-based)
ROLE_FORMS = (*REDIS_FORMS, "redis_cluster_urls")
# URL forms whose driver has no way to carry a search_path in the URL
NO_SEARCH_PATH = ("asyncpg", "pg8000")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_export_table(value: Any) -> str | None:
    """Schema check of an ``[export]`` table: ``NAME = "form"`` or ``NAME = false``."""
    if not isinstance(value, dict):
        return "a table of variable = form"
    for name, form in value.items():
        if not VARIABLE_NAME.match(name):
            return f"a table whose keys are variable names ('{name}' is not one)"
        if form is not False and not _known_form(form):
            return (
                f"a table of forms; '{name}' = {form!r} is none of: "
                + ", ".join(f for f in FORMS if "+" not in f or f.startswith("url+"))
                + " (a Redis form may name a role, redis_host:cache; replica_url a number,"
                " replica_url:1)"
            )
    return None


def _known_form(form: Any) -> bool:
    if not isinstance(form, str):
        return False
    base, colon, qualifier = form.partition(":")
    if not colon:
        return form in FORMS and form != "replica_url" and not form.startswith("replica_url+")
    if base in ROLE_FORMS:
        return bool(VARIABLE_NAME.match(qualifier))
    replica = base == "replica_url" or base.startswith("replica_url+")
    return replica and qualifier.isdigit() and int(qualifier) > 0


def form_roles(forms: Mapping[str, Any]) -> dict[str, str]:
    """The Redis roles an ``[export]`` table's forms name: variable -> role."""
    return {
        name: form.partition(":")[2]
        for name, form in forms.items()
        if isinstance(form, str) and form.partition(":")[0] in ROLE_FORMS and ":" in form
    }


def topology_defaults(
    *, pooled: bool, replicas: bool, cluster: bool, roles: tuple[str, ...]
) -> dict[str, str]:
    """The default names of what an environment's topology adds (docs/topology.md)."""
    forms = {}
    if pooled:
        forms["DIRECT_DATABASE_URL"] = "direct_url"
    if replicas:
        forms["DATABASE_REPLICA_URLS"] = "replica_urls"
    if cluster:
        forms["REDIS_CLUSTER_URLS"] = "redis_cluster_urls"
    for role in roles:
        forms[f"REDIS_{role.upper()}_URL"] = f"redis_url:{role}"
    return forms


def export_forms(
    *tables: Mapping[str, Any], defaults: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The defaults, then each table in order (later wins; ``false`` drops a name).

    ``defaults``: the environment's topology defaults, added to ``DEFAULT_EXPORTS``.
    """
    forms = {**DEFAULT_EXPORTS, **(defaults or {})}
    for table in tables:
        for name, form in table.items():
            if form is False:
                forms.pop(name, None)
            else:
                forms[name] = str(form)
    return forms


def url_driver(form: str, env: Environment) -> str:
    """The driver a URL form names: ``url`` keeps the one ``database_url`` was written with."""
    if form == "url":
        return env.url_scheme.partition("+")[2]
    return form.partition("+")[2] if form.startswith("url+") else ""


def _reveal(secret: Secret) -> str:
    return secret.reveal()


def _parts(url: str) -> tuple[SplitResult, dict[str, str]]:
    parts = urlsplit(url)
    return parts, dict(parse_qsl(parts.query))


def _tcp(url: str) -> str:
    """A local-stack socket URL as the same server over TCP (apps log in over TCP)."""
    parts, query = _parts(url)
    if not query.get("host", "").startswith("/"):
        return url
    port = query.pop("port", "5432")
    query.pop("host")
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))


def _with_search_path(url: str, schema: str) -> str:
    parts, query = _parts(url)
    query["options"] = f"-csearch_path={schema}"
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _database_value(form: str, env: Environment, url: str) -> str | None:
    if form == "schema":
        return env.schema if env.isolation == "schema" else None
    if form == "prefix":
        return env.prefix if env.isolation == "prefix" else None
    parts, query = _parts(url)
    if form == "host":
        return query.get("host") or parts.hostname or "localhost"
    if form == "port":
        return query.get("port") or str(parts.port or 5432)
    if form == "user":
        return query.get("user") or unquote(parts.username or "")
    if form == "password":
        return query.get("password") or unquote(parts.password or "")
    if form == "database":
        return query.get("dbname") or unquote(parts.path.lstrip("/"))
    if env.isolation == "schema" and env.schema:
        url = _with_search_path(url, env.schema)
    driver = url_driver(form, env)
    scheme = "postgres" if form == "url" and env.url_scheme == "postgres" else "postgresql"
    return with_scheme(url, f"{scheme}+{driver}" if driver else scheme)


def _redis_index(env: Environment, url: str) -> int:
    """The environment's Redis db index: ``redis_db``, else the URL's (path or ``?db=``)."""
    return _index(env.redis_db, url)


def _index(db: int | None, url: str) -> int:
    """Redis db index ``db``, else the URL's (path or ``?db=``)."""
    if db is not None:
        return db
    parts, query = _parts(url)
    text = parts.path.strip("/") if parts.scheme.lower() != "unix" else ""
    text = text or query.get("db", "0")
    return int(text) if text.isdigit() else 0


def redis_target_url(url: str, db: int | None) -> str:
    """``url`` carrying db index ``db`` (in the path, or ``?db=`` for ``unix://``)."""
    if db is None:
        return url
    parts, query = _parts(url)
    if parts.scheme.lower() == "unix":
        query["db"] = str(db)
        # urlunsplit would write unix:/path (no netloc); redis-py wants unix:///path
        return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def _redis_value(form: str, url: str, db: int | None, prefix: str | None) -> str | None:
    if form == "redis_prefix":
        return prefix or None
    parts, _ = _parts(url)
    index = _index(db, url)
    if form == "redis_url":
        return redis_target_url(url, index)
    if form == "redis_host":
        return parts.path if parts.scheme.lower() == "unix" else parts.hostname or "localhost"
    if form == "redis_port":
        return str(parts.port or 6379)
    if form == "redis_db":
        return str(index)
    return unquote(parts.password or "")  # redis_password


def target_values(env: Environment, reveal: Revealer = _reveal) -> dict[str, str]:
    """Every exported target variable of ``env``, computed through ``reveal``.

    A name whose target the environment lacks (no Redis, no schema, no third
    replica) is left out.
    """
    values: dict[str, str] = {}
    for name, form in env.export_forms.items():
        value = _form_value(form, env, reveal)
        if value is not None:
            values[name] = value
    return values


def _url(url: SecretURL | None, reveal: Revealer) -> str | None:
    return None if url is None else reveal(url)


def _app_url(url: SecretURL | None, env: Environment, reveal: Revealer) -> str | None:
    """A database URL as apps get it: a local-stack socket URL over TCP."""
    plain = _url(url, reveal)
    return _tcp(plain) if plain is not None and env.server == "local" else plain


def _form_value(form: str, env: Environment, reveal: Revealer) -> str | None:
    base, _, qualifier = form.partition(":")
    if form == "environment":
        return env.name
    if base in (*REDIS_FORMS, "redis_cluster_urls"):
        return _redis_form(base, qualifier, env, reveal)
    if base.startswith("direct_url"):
        direct = _app_url(env.database_url, env, reveal)
        return None if direct is None else _database_value(_url_form(base), env, direct)
    if base.startswith("replica_url"):
        return _replica_form(base, qualifier, env, reveal)
    # applications get the pooled URL when there is one; dbenv keeps the direct one
    database = _app_url(env.pooler_url or env.database_url, env, reveal)
    return None if database is None else _database_value(form, env, database)


def _url_form(base: str) -> str:
    """``direct_url+asyncpg`` / ``replica_urls+asyncpg`` as the plain ``url+asyncpg`` form."""
    driver = base.partition("+")[2]
    return f"url+{driver}" if driver else "url"


def _replica_form(base: str, qualifier: str, env: Environment, reveal: Revealer) -> str | None:
    urls = [_app_url(url, env, reveal) for url in env.replicas]
    shown = [_database_value(_url_form(base), env, url) for url in urls if url is not None]
    if base.startswith("replica_urls"):
        return ",".join(v for v in shown if v) or None
    number = int(qualifier) if qualifier.isdigit() else 0
    return shown[number - 1] if 0 < number <= len(shown) else None


def _redis_form(base: str, role_name: str, env: Environment, reveal: Revealer) -> str | None:
    """A Redis form of the main Redis, or of role ``role_name`` when the environment has it."""
    role = env.redis_roles.get(role_name) if role_name else None
    if role is not None:
        url, db, prefix, cluster = role.url, role.db, role.prefix, role.cluster
    else:  # a role this environment does not declare is served by its main Redis
        cluster = env.redis_cluster
        url = cluster[0] if cluster else env.redis_url
        db, prefix = env.redis_db, env.redis_prefix
    if base == "redis_cluster_urls":
        return ",".join(reveal(seed) for seed in cluster) or None
    plain = _url(url, reveal)
    return None if plain is None else _redis_value(base, plain, None if cluster else db, prefix)


def lost_redis_index(env: Environment) -> tuple[str, ...]:
    """Exported Redis host/port names whose app cannot see the environment's db index.

    An app that builds ``redis://{host}:{port}`` from them uses db 0; when the
    environment's index is another, and no ``redis_url``/``redis_db`` form is
    exported, the app reaches db 0 (another environment's) instead of its own.
    """
    if env.redis_url is None or not env.export_forms:
        return ()
    # the default REDIS_URL carries the index, but an app that reads host and port
    # reads its own names; another name in a redis_url/redis_db form says it is seen
    carriers = {n for n, f in env.export_forms.items() if f in ("redis_url", "redis_db")}
    if carriers - {"REDIS_URL"}:
        return ()
    if _redis_index(env, env.redis_url.masked) == 0:
        return ()
    parts = ("redis_host", "redis_port")
    return tuple(name for name, form in env.export_forms.items() if form in parts)


def masked_target_values(env: Environment) -> dict[str, str]:
    """``target_values`` as it may be shown: passwords masked, nothing resolved."""
    shown = target_values(env, lambda secret: secret.masked)
    for name, form in env.export_forms.items():
        base = form.partition(":")[0]
        # a URL that is a secret reference as a whole shows nothing of itself
        opaque = any("://" not in url.masked for url in _sources(form, env))
        if (base in ("password", "redis_password") or opaque) and shown.get(name):
            shown[name] = MASK
    return shown


def _sources(form: str, env: Environment) -> tuple[SecretURL, ...]:
    """The URLs a form's value is computed from."""
    base, _, role_name = form.partition(":")
    if base in (*REDIS_FORMS, "redis_cluster_urls"):
        role = env.redis_roles.get(role_name) if role_name else None
        if role is not None:
            return role.cluster or tuple(u for u in (role.url,) if u is not None)
        return env.redis_cluster or tuple(u for u in (env.redis_url,) if u is not None)
    if base.startswith("replica_urls"):
        return env.replicas
    if base.startswith("replica_url"):
        number = int(role_name) if role_name.isdigit() else 0
        return env.replicas[number - 1 : number] if number > 0 else ()
    chosen = (
        env.database_url if base.startswith("direct_url") else env.pooler_url or env.database_url
    )
    return () if chosen is None else (chosen,)


def _layered(
    env: Environment, variables: Mapping[str, str], targets: Mapping[str, str]
) -> dict[str, str]:
    """Lowest first: the variables, the selector variables, the target variables
    (which therefore always win). ``exported`` and ``masked_exported`` both go
    through here, so what is shown is what is given."""
    values = dict(variables)
    values.update({selector: env.selector_value(selector) for selector in env.selectors})
    values.update(targets)
    return values


def exported(env: Environment, revealer: Revealer = _reveal) -> dict[str, str]:
    """What a child process started for ``env`` is given, revealed."""
    variables = {
        key: revealer(setting.value) if isinstance(setting.value, Secret) else str(setting.value)
        for key, setting in env.variables.items()
    }
    return _layered(env, variables, target_values(env, revealer))


def masked_exported(env: Environment) -> dict[str, str]:
    """``exported`` as it may be shown, nothing resolved: each variable as ``dbenv
    config show`` shows it (``Setting.display``), targets as ``masked_target_values``."""
    variables = {key: setting.display() for key, setting in env.variables.items()}
    return _layered(env, variables, masked_target_values(env))


__all__ = [
    "DEFAULT_EXPORTS",
    "FORMS",
    "check_export_table",
    "export_forms",
    "exported",
    "form_roles",
    "lost_redis_index",
    "masked_exported",
    "masked_target_values",
    "redis_target_url",
    "target_values",
    "topology_defaults",
]
