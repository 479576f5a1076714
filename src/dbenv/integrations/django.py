"""Django integration: ``DATABASES`` from the active dbenv environment, in one call.

    # settings.py
    from dbenv.integrations.django import databases
    DATABASES = databases()

``databases()`` resolves the active environment the way every dbenv verb does
(its selectors, ``DJANGO_SETTINGS_MODULE`` among them when the project lists
it, then ``[project] default``) and returns Django's dict for it: the URL parts
``dbenv run`` would export (the pooler's when there is one, a local-stack
database over TCP), ``application_name = dbenv:<project>:<env>`` and, with
schema isolation, the schema's ``search_path``.

When the process holds the URL variable the project exports (``DATABASE_URL``
by default) that value wins: it is how ``dbenv run``, a ``cmd:`` schema build
(``python manage.py migrate`` pointed at the template being built) and the
pytest plugin's xdist workers hand Django the database they prepared. It must
never name another environment's protected database: such a value is refused,
and so is a Django test database name (``test_<NAME>``, or ``TEST["NAME"]``)
that would be one, since Django's test runner drops its test database when it
exists.

Errors are Django's ``ImproperlyConfigured``, one sentence that never shows a
password. Django is imported only inside ``databases()``: importing dbenv never
loads it. The pytest-django side lives in ``dbenv.pytest_plugin.django``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from dbenv.errors import ConfigError, DbenvError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment

__all__ = ["database_settings", "databases", "settings_for"]

ENGINE = "django.db.backends.postgresql"
# forms whose exported value is a whole database URL (docs/configuration.md)
_URL_FORMS = ("url", "plain_url")
# libpq parameters a URL query may carry that Django passes through OPTIONS
_PASSED_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "options")


@dataclass(frozen=True)
class Chosen:
    """The database Django gets and where that came from (for the refusals' sentences)."""

    url: str
    source: str  # "" when computed from dbenv.toml, else the variable's name


def databases(
    environment: str | None = None,
    *,
    project: Path | str | None = None,
    alias: str = "default",
    **extra: Any,
) -> dict[str, dict[str, Any]]:
    """Django's ``DATABASES`` for ``environment`` (default: the active one).

    ``extra`` goes into the alias's dict as given (``CONN_MAX_AGE=60``,
    ``ATOMIC_REQUESTS=True``, ``TEST={...}``); an ``OPTIONS`` dict is merged
    over dbenv's. ``project``: the ``dbenv.toml`` (or its directory); by default
    it is found from the directory of the module calling this (settings.py),
    whatever the working directory.
    """
    start = _caller_directory() if project is None else None
    try:
        loaded = _load(project, start)
        return {alias: database_settings(loaded, environment, **extra)}
    except DbenvError as error:
        from django.core.exceptions import ImproperlyConfigured

        hint = f" {error.hint}" if error.hint else ""
        raise ImproperlyConfigured(f"dbenv: {error}{hint}") from None


def _caller_directory() -> Path | None:
    """The directory of the module two frames up (the settings module calling ``databases``)."""
    file = sys._getframe(2).f_globals.get("__file__")
    return Path(file).resolve().parent if file else None


def _load(project: Path | str | None, start: Path | None) -> Project:
    from dbenv.config import load_project

    return load_project(project=project, cwd=start)


def database_settings(
    loaded: Project, environment: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One alias's dict for ``environment`` of ``loaded`` (raises ``ConfigError``)."""
    from dbenv import missing_variables
    from dbenv.errors import MissingVariables

    name = environment or _agreed_environment(loaded)
    env = loaded.environment(name)
    missing = missing_variables(env)
    if missing:
        raise MissingVariables(env.name, missing)
    chosen = _chosen_url(loaded, env)
    result = settings_for(env, chosen.url)
    options = {**result["OPTIONS"], **dict(extra.pop("OPTIONS", {}))}
    result.update(extra)
    result["OPTIONS"] = options
    _refuse_protected(loaded, env, chosen, result)
    return result


def settings_for(env: Environment, url: str) -> dict[str, Any]:
    """Django's dict for database ``url`` of ``env`` (a pure function: no server, no files)."""
    if env.isolation == "prefix":
        raise ConfigError(
            f"environment '{env.name}' uses prefix isolation, which Django cannot follow "
            "(its table names come from the models' db_table).",
            hint=f"Give '{env.name}' a database of its own (isolation = \"database\") or a "
            'schema (isolation = "schema").',
        )
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    options: dict[str, Any] = {"application_name": _application_name(env)}
    options.update({k: v for k, v in query.items() if k in _PASSED_PARAMETERS})
    if env.isolation == "schema" and env.schema and "search_path" not in options.get("options", ""):
        options["options"] = f"-c search_path={env.schema}"
    return {
        "ENGINE": ENGINE,
        "NAME": query.get("dbname") or unquote(parts.path.lstrip("/")),
        "USER": query.get("user") or unquote(parts.username or ""),
        "PASSWORD": query.get("password") or unquote(parts.password or ""),
        "HOST": query.get("host") or parts.hostname or "",
        "PORT": query.get("port") or (str(parts.port) if parts.port else ""),
        "OPTIONS": options,
    }


def _application_name(env: Environment) -> str:
    return f"dbenv:{env.project}:{env.name}"[:63]


def _agreed_environment(loaded: Project) -> str:
    """The active environment; selectors set in the process must not name two.

    ``python manage.py`` sets ``DJANGO_SETTINGS_MODULE`` itself (``setdefault``): with
    it among the selectors, ``APP_ENV=test`` beside development's settings module
    would give test's database to development's settings.
    """
    active = loaded.active_name()
    for selector in loaded.selectors:
        value = loaded.process_env.get(selector)
        if not value:
            continue
        claimed = loaded.claimants(selector, value)
        if claimed and active not in claimed:
            first = next(s for s in loaded.selectors if loaded.process_env.get(s))
            raise ConfigError(
                f"${first} selects environment '{active}' but ${selector}={value} is "
                f"'{claimed[0]}''s, so the settings and the database would disagree.",
                hint=f"Set both for one environment, or start the process with "
                f"`dbenv run {active} -- ...`, which sets every selector.",
            )
    return active


def _chosen_url(loaded: Project, env: Environment) -> Chosen:
    """The process's exported URL variable when set, else the URL ``dbenv run`` would export."""
    names = [n for n, f in env.export_forms.items() if f in _URL_FORMS or f.startswith("url+")]
    for name in names:
        value = loaded.process_env.get(name, "")
        if "://" in value:
            return Chosen(value, name)
    plain = replace(env, export_forms={"URL": "plain_url"})
    from dbenv.config.exports import target_values

    url = target_values(plain).get("URL")
    if url is None:
        raise ConfigError(
            f"environment '{env.name}' has no database.",
            hint=_no_database_hint(env),
        )
    return Chosen(url, "")


def _no_database_hint(env: Environment) -> str:
    if env.server == "local":
        return "Start the local stack with `dbenv up`, then start Django again."
    return (
        f"Give it one in dbenv.toml (database_url, or host/database under "
        f"[environments.{env.name}])."
    )


def _refuse_protected(
    loaded: Project, env: Environment, chosen: Chosen, result: Mapping[str, Any]
) -> None:
    """Neither the URL taken from the process nor Django's test database may be protected."""
    from dbenv.safety.checks import place_of, url_target

    places = _protected_places(loaded, env)
    own = place_of(env)
    if chosen.source:
        found = url_target(chosen.url)
        key = None if found is None else (found.host, found.port, found.database)
        if key in places and key != own:
            raise ConfigError(
                f"${chosen.source} names protected environment '{places[key]}''s database, "
                f"not '{env.name}''s, so Django would use it.",
                hint=f"Unset {chosen.source}, or start the process with "
                f"`dbenv run {env.name} -- ...`.",
            )
    test = dict(result.get("TEST") or {})
    test_name = test.get("NAME") or f"test_{result['NAME']}"
    host = "localhost" if str(result["HOST"]).startswith("/") else str(result["HOST"])
    probe = url_target(f"postgresql://{host or 'localhost'}:{result['PORT'] or 5432}/{test_name}")
    key = None if probe is None else (probe.host, probe.port, probe.database)
    if key in places:
        raise ConfigError(
            f"Django's test database for '{env.name}' would be '{test_name}', which is "
            f"protected environment '{places[key]}''s database: Django's test runner drops "
            "its test database when it exists.",
            hint="Name another one in TEST['NAME'] (databases(TEST={'NAME': ...})), or run the "
            "tests with pytest-django and dbenv's plugin, which never uses Django's naming.",
        )


def _protected_places(loaded: Project, env: Environment) -> dict[tuple[str, int, str], str]:
    """(host, port, database) -> name of each protected environment other than ``env``."""
    from dbenv.safety.checks import place_of, protected_environments, url_target

    places: dict[tuple[str, int, str], str] = {}
    for other in protected_environments(loaded, env):
        place = place_of(other)
        if place is not None:
            places[place] = other.name
        pooled = None if other.pooler_url is None else url_target(other.pooler_url.masked)
        if pooled is not None:
            places[(pooled.host, pooled.port, pooled.database)] = other.name
    return places
