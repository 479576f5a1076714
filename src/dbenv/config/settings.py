"""Resolving an environment's settings (``database_url``, ``tier``, ...).

Settings come from the project file over built-in defaults; a higher layer may
override one only through the environment-scoped variable ``DBENV_<ENV>_<KEY>``
(or an explicit argument of that name), so a generic ``DATABASE_URL`` never
redirects an environment by accident. The database URL may also be built from
parts or, with ``server = "local"``, from the running local stack's state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from dbenv.config.interpolation import MissingVariable, Resolver
from dbenv.config.local_state import (
    NOT_RUNNING,
    LocalState,
    local_database_name,
    read_local_state,
)
from dbenv.config.locator import KeyLines
from dbenv.config.masking import mask_url
from dbenv.config.model import LocalSettings, Origin, Secret, SecretURL, Setting, plain_text
from dbenv.config.schema import ISOLATIONS, SCALAR_SETTINGS, SERVERS, TIERS
from dbenv.config.topology import (
    POOL_MODES,
    TOPOLOGY_KEYS,
    check_primary_apart,
    expander,
    resolve_topology,
)
from dbenv.config.urls import (
    libpq_url,
    socket_url,
    url_from_parts,
    url_has_password,
    url_scheme,
    url_with_password,
    validate_database_url,
    validate_redis_url,
)
from dbenv.errors import ConfigError, DbenvError, EnvFileError, InvalidURL, ProjectFileError

DEFAULTS: Mapping[str, str] = {"tier": "protected", "isolation": "database"}
PARTS = ("host", "port", "database", "user", "password")
REFERENCE_KEYS = frozenset({"database_url", "admin_url", "pooler_url", "redis_url", "password"})
INT_KEYS = frozenset({"port", "redis_db"})
ENUMS: Mapping[str, tuple[str, ...]] = {
    "tier": TIERS,
    "isolation": ISOLATIONS,
    "server": SERVERS,
    "pool_mode": POOL_MODES,
}
URL_CHECKS: Mapping[str, Callable[[str], None]] = {
    "database_url": validate_database_url,
    "admin_url": validate_database_url,
    "pooler_url": validate_database_url,
    "redis_url": validate_redis_url,
}


def env_key(name: str) -> str:
    """How an environment's name appears in ``DBENV_<ENV>_<KEY>``."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def override_name(environment: str, key: str) -> str:
    """The variable that overrides setting ``key`` of ``environment``: ``DBENV_TEST_PORT``."""
    return f"DBENV_{env_key(environment)}_{key.upper()}"


@dataclass(frozen=True)
class SettingsContext:
    """What settings resolution needs to know about the project."""

    project: str
    environment: str
    table: Mapping[str, Any]
    label: str  # the project file as origins name it
    lines: KeyLines
    local: LocalSettings
    resolver: Resolver
    label_of: Callable[[Any], str]


def _where(origin: Origin) -> tuple[str | None, int | None]:
    if origin.kind in ("project", "dotenv", "local"):
        return origin.source, origin.line
    return None, None


def _bad(setting: Setting, expected: str) -> DbenvError:
    path, line = _where(setting.origin)
    shown = setting.display()
    message = f"setting '{setting.key}' = '{shown}' (from {setting.origin}) must be {expected}."
    kind = setting.origin.kind
    error = (
        ProjectFileError if kind == "project" else EnvFileError if kind == "dotenv" else ConfigError
    )
    return error(message, hint="Fix the value (see docs/configuration.md).", path=path, line=line)


def _expand(ctx: SettingsContext, key: str, text: str, origin: Origin, literal: bool) -> Setting:
    try:
        resolved = ctx.resolver.expand(
            text, origin, key=key, literal=literal, references=key in REFERENCE_KEYS
        )
    except MissingVariable as missing:
        return Setting(key, None, origin, note=f"${{{missing.name}}} is not set")
    return Setting(key, resolved.value, resolved.origin, resolved.secret, resolved.parts)


def _layered(ctx: SettingsContext) -> dict[str, Setting]:
    settings = {key: Setting(key, value, Origin("default")) for key, value in DEFAULTS.items()}
    for key, value in ctx.table.items():
        if key == "vars" or key in TOPOLOGY_KEYS:  # topology: resolve_topology
            continue
        origin = Origin(
            "project", ctx.label, ctx.lines.line_of(("environments", ctx.environment, key))
        )
        if key == "schema_source" and isinstance(value, list):
            value = ",".join(value)  # the list form of the comma-separated module list
        if isinstance(value, str):
            settings[key] = _expand(ctx, key, value, origin, literal=False)
        else:
            settings[key] = Setting(key, tuple(value) if isinstance(value, list) else value, origin)
    for key in SCALAR_SETTINGS:
        raw = ctx.resolver.raw(override_name(ctx.environment, key))
        if raw is not None:
            settings[key] = _expand(ctx, key, raw.text, raw.origin, raw.literal)
    return settings


def _coerce(setting: Setting) -> Setting:
    value = setting.value
    if value is None:
        return setting
    if setting.key in INT_KEYS and not isinstance(value, int):
        text = value if isinstance(value, str) else None
        if text is None or not text.strip().isdigit():
            raise _bad(setting, "an integer")
        return replace(setting, value=int(text))
    if setting.key in ENUMS and value not in ENUMS[setting.key]:
        raise _bad(setting, "one of " + ", ".join(ENUMS[setting.key]))
    if setting.key == "guard_pattern":
        if value is False:
            return replace(setting, value="")  # explicitly no name pattern
        try:
            re.compile(str(value))
        except re.error:
            raise _bad(setting, "a valid regular expression") from None
    return setting


def _checked(setting: Setting, url: str, validate: Callable[[str], None] | None = None) -> None:
    try:
        (validate or URL_CHECKS[setting.key])(url)
    except InvalidURL as exc:
        path, line = _where(setting.origin)
        raise InvalidURL(
            f"{exc.message[:-1]} (setting '{setting.key}' from {setting.origin}).",
            hint=exc.hint,
            path=path,
            line=line,
        ) from None


def url_setting(setting: Setting, validate: Callable[[str], None] | None = None) -> Setting:
    """``setting`` with its value as a validated ``SecretURL``.

    ``validate``: the URL check, when the key is not one of ``URL_CHECKS``'
    (``replicas.1``, ``redis.cache.url``: ``dbenv.config.topology``).
    """
    value = setting.value
    if value is None or isinstance(value, SecretURL):
        return setting
    if isinstance(value, str):
        _checked(setting, value, validate)
        return replace(setting, value=SecretURL(value, masked=mask_url(value)))
    if not isinstance(value, Secret):
        raise _bad(setting, "a URL string")
    secret = value
    masked = secret.masked
    if "://" in masked:
        _checked(setting, masked, validate)
        masked = mask_url(masked)

    def reveal() -> str:
        plain = secret.reveal()
        _checked(setting, plain, validate)
        return plain

    return replace(setting, value=SecretURL(reveal, masked=masked))


def _parts_url(ctx: SettingsContext, settings: Mapping[str, Setting]) -> Setting:
    given = tuple((k, settings[k].origin) for k in PARTS if k in settings)
    origin = Origin("project", ctx.label, ctx.lines.line_of(("environments", ctx.environment)))
    unresolved = [settings[k].note for k in PARTS if k in settings and settings[k].note]
    if unresolved:
        return Setting("database_url", None, origin, parts=given, note=unresolved[0])

    def value(key: str, default: Any = None) -> Any:
        return settings[key].value if key in settings else default

    host, port = str(value("host", "localhost")), int(value("port", 5432))
    database = str(value("database", local_database_name(ctx.project, ctx.environment)))
    user, password = value("user"), value("password")

    def build(secret: str | None) -> str:
        return url_from_parts(host=host, port=port, database=database, user=user, password=secret)

    if isinstance(password, Secret):
        url = SecretURL(lambda: build(password.reveal()), masked=mask_url(build("x")))
    else:
        plain = build(password)
        url = SecretURL(plain, masked=mask_url(plain))
    return Setting("database_url", url, origin, parts=given)


def _local_urls(ctx: SettingsContext, settings: dict[str, Setting]) -> None:
    state = read_local_state(ctx.local.data_dir)
    if state is None:
        missing = Origin("local", NOT_RUNNING)
        for key in ("database_url", "admin_url"):
            settings.setdefault(key, Setting(key, None, missing, note=NOT_RUNNING))
        return
    origin = Origin("local", ctx.label_of(state.path))
    part = settings.get("database")
    database = str(part.value) if part and part.value else None
    database = database or local_database_name(ctx.project, ctx.environment)
    user = str(settings["user"].value if "user" in settings else database)
    socket = socket_url(
        socket_dir=state.socket_dir, port=state.pg_port, database=database, user=user
    )
    if "database_url" not in settings:
        settings["database_url"] = _local_database_url(ctx, settings, socket, user, origin)
        _local_topology(ctx, settings, state, database, user, origin)
    urls = {
        "admin_url": socket_url(
            socket_dir=state.socket_dir,
            port=state.pg_port,
            database="postgres",
            user=state.superuser,
        ),
    }
    if state.redis_port is not None:
        urls["redis_url"] = f"redis://127.0.0.1:{state.redis_port}"
    for key, url in urls.items():
        settings.setdefault(key, Setting(key, SecretURL(url, masked=mask_url(url)), origin))


def _local_topology(
    ctx: SettingsContext,
    settings: dict[str, Setting],
    state: LocalState,
    database: str,
    user: str,
    origin: Origin,
) -> None:
    """The running stack's PgBouncer and replica as ``pooler_url`` / ``replicas.1``.

    Only where the environment's own database comes from the stack and it
    declares none of its own; the role's password is the database URL's.
    """
    if state.pooler_port is not None and "pooler_url" not in settings:
        tcp = url_from_parts(
            host="127.0.0.1", port=state.pooler_port, database=database, user=user, password=None
        )
        settings["pooler_url"] = _local_database_url(
            ctx, settings, tcp, user, origin, key="pooler_url"
        )
        settings.setdefault("pool_mode", Setting("pool_mode", "transaction", origin))
    if state.replica_port is not None and state.replica_socket_dir and "replicas" not in ctx.table:
        socket = socket_url(
            socket_dir=state.replica_socket_dir,
            port=state.replica_port,
            database=database,
            user=user,
        )
        settings["replicas.1"] = _local_database_url(
            ctx, settings, socket, user, origin, key="replicas.1"
        )


def _local_database_url(
    ctx: SettingsContext,
    settings: dict[str, Setting],
    socket: str,
    user: str,
    origin: Origin,
    *,
    key: str = "database_url",
) -> Setting:
    """The local stack's URL with the role's password: configured, or generated once.

    Over the socket the password is not asked; apps that log in over TCP need it
    (``dbenv run`` exports the TCP form), and ``provision`` gives it to the role.
    """
    from dbenv.config.local_password import generated_password, password_file

    configured = settings.get("password")
    if configured is not None and configured.value is None:  # ${VAR} not set
        return Setting(key, None, configured.origin, note=configured.note)
    password = configured.value if configured is not None else None
    if password is None:
        password = generated_password(ctx.local.data_dir, user)
        kept = ctx.label_of(password_file(ctx.local.data_dir, user))
        settings["password"] = Setting("password", password, Origin("local", kept), secret=True)
    secret = password

    def reveal() -> str:
        return url_with_password(socket, plain_text(secret))

    url = SecretURL(reveal, masked=mask_url(url_with_password(socket, "x")))
    parts = (("password", settings["password"].origin),)
    return Setting(key, url, origin, parts=parts)


def _check_isolation(ctx: SettingsContext, settings: Mapping[str, Setting]) -> None:
    isolation = settings["isolation"]
    needed = {"schema": "schema", "prefix": "prefix"}.get(str(isolation.value))
    if needed and not (needed in settings and settings[needed].value):
        path, line = _where(isolation.origin)
        raise ProjectFileError(
            f"environment '{ctx.environment}' uses {needed} isolation but sets no {needed} "
            f"(isolation from {isolation.origin}).",
            hint=f'Add {needed} = "..." to [environments.{ctx.environment}].',
            path=path,
            line=line,
        )


def resolve_settings(ctx: SettingsContext) -> dict[str, Setting]:
    """Every setting of the environment, typed, validated, with its origin."""
    settings = {key: _coerce(s) for key, s in _layered(ctx).items()}
    _check_isolation(ctx, settings)
    given_url = "database_url" in settings
    if "server" in settings and settings["server"].value == "local":
        _local_urls(ctx, settings)
    elif not given_url and any(k in settings for k in PARTS):
        settings.setdefault("host", Setting("host", "localhost", Origin("default")))
        settings.setdefault("port", Setting("port", 5432, Origin("default")))
        settings["database_url"] = _parts_url(ctx, settings)
    elif given_url and "password" in settings:
        settings["database_url"] = _url_with_password(
            ctx, url_setting(settings["database_url"]), settings["password"]
        )
    for key in URL_CHECKS:
        if key in settings:
            settings[key] = url_setting(settings[key])
    settings.update(_topology(ctx))
    check_primary_apart(ctx.environment, settings, ctx.table)
    return settings


def _topology(ctx: SettingsContext) -> dict[str, Setting]:
    """Replicas, the Redis cluster's seeds and the Redis roles (``dbenv.config.topology``)."""

    def origin_of(path: tuple[str, ...]) -> Origin:
        return Origin(
            "project", ctx.label, ctx.lines.line_of(("environments", ctx.environment, *path))
        )

    return resolve_topology(ctx.table, expander(ctx.resolver), origin_of, url_setting)


def _url_with_password(ctx: SettingsContext, url: Setting, password: Setting) -> Setting:
    """``database_url`` without a password of its own, completed by ``password``."""
    if password.value is None:
        return replace(url, value=None, note=password.note or url.note)
    if url.value is None:
        return url
    assert isinstance(url.value, SecretURL)
    target, secret = url.value, password.value

    def both() -> ProjectFileError:
        path, line = _where(password.origin)
        return ProjectFileError(
            f"environment '{ctx.environment}' has a password both in database_url (from "
            f"{url.origin}) and in password (from {password.origin}).",
            hint="Keep one: remove the password from the URL, or the password key.",
            path=path,
            line=line,
        )

    if "://" in target.masked and url_has_password(target.masked):
        raise both()

    def reveal() -> str:
        plain = target.reveal()
        if url_has_password(plain):
            raise both()
        return url_with_password(plain, plain_text(secret))

    masked = url_with_password(target.masked, "x") if "://" in target.masked else target.masked
    combined = SecretURL(reveal, masked=mask_url(masked))
    return replace(url, value=combined, parts=(*url.parts, ("password", password.origin)))


def libpq_secret(url: SecretURL | None) -> SecretURL | None:
    """``url`` in the plain ``postgresql://`` form dbenv connects with (psycopg).

    ``postgresql+asyncpg://`` and ``postgres://`` name the same target; the form
    as written stays in the setting (what ``config show`` and exports use).
    """
    if url is None or "://" not in url.masked or libpq_url(url.masked) == url.masked:
        return url
    source = url
    return SecretURL(lambda: libpq_url(source.reveal()), masked=libpq_url(url.masked))


def declared_scheme(setting: Setting | None) -> str:
    """The scheme ``database_url`` was written with (``postgresql+asyncpg``), lower-cased."""
    value = setting.value if setting is not None else None
    if isinstance(value, SecretURL) and "://" in value.masked:
        return url_scheme(value.masked)
    return "postgresql"
