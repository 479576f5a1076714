"""pytest-django under dbenv's plugin: Django's test database is dbenv's.

When pytest-django is active and Django's settings are configured, the plugin
registers these fixtures after both plugins, so they win:

- ``django_db_setup`` (pytest-django's session fixture that creates and migrates
  ``test_<NAME>``) gets the test environment's database from dbenv instead: the
  guard passed, cloned from the template the schema source built (``cmd:python
  manage.py migrate``), reused after a data-only reset while the fingerprint
  holds, an xdist worker's own clone. Django is pointed at it and neither creates
  nor migrates anything, so its test-database naming and keepdb rules never run:
  nothing Django would name can be a protected database. ``--create-db`` rebuilds
  (``--dbenv-recreate``); ``--reuse-db`` is dbenv's default.
- ``db`` is pytest-django's (both plugins have one; which one a session got
  depended on the order the entry points loaded).

Without configured Django settings, without a dbenv project, or with dbenv's
plugin turned off, the holder only settles ``db``: dbenv's when Django is not
configured, pytest-django's otherwise. It must never point Django at a database
dbenv did not prepare, nor leave an alias other than ``default`` (or a mirror of
it) pointing anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from dbenv.errors import ConfigError

if TYPE_CHECKING:
    from dbenv.config.model import Environment
    from dbenv.pytest_plugin.session import TestDatabases

ALIAS = "default"


def django_configured() -> bool:
    """pytest-django found a settings module (``--ds``, the ini, ``DJANGO_SETTINGS_MODULE``)."""
    import sys

    if "django" not in sys.modules:
        return False
    from django.conf import settings

    return bool(settings.configured)


def register(config: pytest.Config, *, enabled: bool, project: Path | None) -> None:
    """Register the fixtures that must win over pytest-django's (see the module docstring)."""
    if not django_configured():
        from dbenv.pytest_plugin import factories

        holder = _holder(db=factories.db())
    elif enabled and _has_project(config, project):
        holder = _holder(db=django_db, django_db_setup=dbenv_django_db_setup)
        if config.getoption("nomigrations", False):
            config.issue_config_time_warning(
                pytest.PytestWarning(
                    "dbenv: --no-migrations has no effect: dbenv's template is built by the "
                    "test environment's schema_source (docs/django.md)."
                ),
                stacklevel=2,
            )
    else:
        holder = _holder(db=django_db)
    config.pluginmanager.register(holder, "dbenv-django")


def _has_project(config: pytest.Config, project: Path | None) -> bool:
    """A dbenv project is there: without one, pytest-django keeps its own test database."""
    from dbenv.config.discovery import find_project_file
    from dbenv.errors import ProjectNotFound

    try:
        find_project_file(project=project, cwd=config.rootpath)
    except ProjectNotFound:
        return False
    return True


@pytest.fixture(name="db")
def django_db(_django_db_helper: None) -> None:
    """pytest-django's ``db``: the test may use Django's test database (in a transaction)."""
    return None


@pytest.fixture(name="django_db_setup", scope="session")
def dbenv_django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    dbenv_databases: TestDatabases,
) -> Iterator[None]:
    """pytest-django's test database, from dbenv (see the module docstring)."""
    from dbenv.pytest_plugin.factories import reported

    with reported(request.config):
        refuse_unsupported()  # before anything connects
        point_django_at(dbenv_databases.target().env)
    with django_db_blocker.unblock():
        _serialize_if_asked(request)
    yield
    with django_db_blocker.unblock():
        from django.db import connections

        connections.close_all()  # before dbenv's session ends (and may drop it)


def _holder(**fixtures: Any) -> ModuleType:
    """A plugin object holding ``fixtures`` (a module: they stay plain functions)."""
    holder = ModuleType("dbenv_django_fixtures")
    for name, fixture in fixtures.items():
        setattr(holder, name, fixture)
    return holder


def refuse_unsupported() -> None:
    """What dbenv cannot cover: another engine, aliases that are not mirrors of ``default``."""
    from django.conf import settings

    configured = settings.DATABASES
    engine = str(configured.get(ALIAS, {}).get("ENGINE", ""))
    if "postgresql" not in engine and "postgis" not in engine:
        raise ConfigError(
            f"DATABASES['{ALIAS}'] uses ENGINE '{engine}', but dbenv's test database is "
            "PostgreSQL.",
            hint="Use dbenv.integrations.django.databases() in the test settings, or turn "
            "dbenv's plugin off for this run (--dbenv-disable).",
        )
    _refuse_other_aliases(configured)


def point_django_at(env: Environment) -> None:
    """Give Django's ``default`` alias ``env``'s database (its direct URL's parts)."""
    from django.conf import settings
    from django.db import connections

    from dbenv.config.exports import target_values
    from dbenv.integrations.django import settings_for

    current = settings.DATABASES[ALIAS]
    # the direct URL the plugin prepared (a worker's clone), over TCP on the local stack
    direct = replace(env, pooler_url=None, export_forms={"URL": "plain_url"})
    wanted = settings_for(env, target_values(direct)["URL"])
    connections[ALIAS].close()
    for holder in (current, connections[ALIAS].settings_dict):
        options = {**holder.get("OPTIONS", {}), **wanted["OPTIONS"]}
        holder.update({k: v for k, v in wanted.items() if k not in ("ENGINE", "OPTIONS")})
        holder["OPTIONS"] = options
        holder.setdefault("TEST", {})["NAME"] = wanted["NAME"]


def _refuse_other_aliases(configured: dict[str, Any]) -> None:
    others = [
        alias
        for alias, values in configured.items()
        if alias != ALIAS and (values.get("TEST") or {}).get("MIRROR") != ALIAS
    ]
    if others:
        raise ConfigError(
            f"DATABASES has aliases dbenv does not prepare ({', '.join(sorted(others))}), "
            "so tests using them would reach their configured databases.",
            hint=f"Make them mirrors of '{ALIAS}' in the test settings (TEST = {{'MIRROR': "
            f"'{ALIAS}'}}), or leave them out of the test settings.",
        )


def _serialize_if_asked(request: pytest.FixtureRequest) -> None:
    """What Django's test database creation keeps for ``serialized_rollback`` tests."""
    try:
        from pytest_django.fixtures import _get_databases_for_setup
    except ImportError:  # older pytest-django: serialize for safety
        serialized: set[str] = {ALIAS}
    else:
        serialized = set(_get_databases_for_setup(request.session.items)[1])
    if ALIAS in serialized:
        from django.db import connections

        connection = connections[ALIAS]
        connection._test_serialized_contents = connection.creation.serialize_db_to_string()
