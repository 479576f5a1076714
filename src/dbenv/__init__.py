"""dbenv: keep an application's PostgreSQL and Redis databases apart across environments.

The library API: resolve the active environment, check its required variables,
and log seed 000's start-up banner. Importing ``dbenv`` loads no database driver
and no CLI framework; the library never prints.

    env = dbenv.load()                  # APP_ENV / ENVIRONMENT, then the default
    log.info(dbenv.banner(env, tables=["Agents", "Sessions"]))
    psycopg.connect(env.database_url.reveal())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from dbenv import _moved
from dbenv.config import Environment, Project, load_project
from dbenv.config.urls import target_of
from dbenv.errors import DbenvError, InvalidURL, MissingVariables

__all__ = [
    "DbenvError",
    "Environment",
    "Project",
    "banner",
    "load",
    "load_project",
    "missing_variables",
]
__version__ = "0.1.0"

_moved.install()  # the pre-0.2 module names (dbenv.guard, dbenv.reset, ...) still import


def missing_variables(env: Environment) -> list[str]:
    """The environment's required variables that no layer sets (or sets empty)."""
    missing = []
    for name in env.required:
        setting = env.variables.get(name)
        if setting is None or setting.value == "":
            missing.append(name)
    return missing


def load(
    env: str | None = None,
    *,
    project: Path | str | None = None,
    process_env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Environment:
    """The environment ``env`` (default: the active one), strictly checked.

    ``overrides``: explicit variables, above every other layer (``DBENV_<ENV>_<KEY>``
    names override settings, e.g. ``{"DBENV_TEST_PORT": "6543"}``).

    Raises ``MissingVariables`` listing every required variable that is missing,
    and any other ``ConfigError`` the project file or env files cause.
    """
    loaded = load_project(project=project, process_env=process_env, overrides=overrides)
    resolved = loaded.environment(env)
    missing = missing_variables(resolved)
    if missing:
        raise MissingVariables(resolved.name, missing)
    return resolved


def _target(env: Environment) -> str:
    if env.database_url is None:
        return "(none)"
    try:
        return str(target_of(env.database_url.masked))
    except InvalidURL:
        return env.database_url.masked


def banner(env: Environment, tables: Iterable[str] | None = None) -> str:
    """``Environment: test · database: localhost:5432/app · tables: test_Agents, ...``.

    Table names are logical; prefix isolation shows their physical names.
    """
    line = f"Environment: {env.name} · database: {_target(env)}"
    if env.isolation == "schema" and env.schema:
        line += f" (schema {env.schema})"
    if tables is not None:
        line += " · tables: " + ", ".join(env.table(name) for name in tables)
    return line
