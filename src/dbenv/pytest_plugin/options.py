"""The plugin's options: each is a command-line flag and an ini key of the same name.

``--dbenv-env`` / ``dbenv_env`` and so on; a flag beats the ini key, which beats
the default. Read once per session into a frozen ``PluginOptions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

ASYNC_DRIVERS = ("psycopg", "asyncpg")


@dataclass(frozen=True)
class PluginOptions:
    environment: str = "test"
    reuse: bool = True
    recreate: bool = False
    keep_failed: bool = False
    disabled: bool = False
    project: Path | None = None
    async_driver: str = "psycopg"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("dbenv", "dbenv: an isolated test database for every test")
    group.addoption(
        "--dbenv-env",
        dest="dbenv_env",
        default=None,
        metavar="NAME",
        help="environment the tests run against (default: test; ini: dbenv_env)",
    )
    group.addoption(
        "--dbenv-reuse",
        dest="dbenv_reuse",
        action="store_true",
        default=None,
        help="keep the template and test databases across runs while the schema "
        "source is unchanged (default; ini: dbenv_reuse)",
    )
    group.addoption(
        "--dbenv-no-reuse",
        dest="dbenv_reuse",
        action="store_false",
        help="drop the template and worker databases at the end of the session",
    )
    group.addoption(
        "--dbenv-recreate",
        dest="dbenv_recreate",
        action="store_true",
        default=None,
        help="rebuild the template and the test databases (ini: dbenv_recreate)",
    )
    group.addoption(
        "--dbenv-keep-failed",
        dest="dbenv_keep_failed",
        action="store_true",
        default=None,
        help="keep a copy of a failed test's database and print its name (ini: dbenv_keep_failed)",
    )
    group.addoption(
        "--dbenv-disable",
        dest="dbenv_disable",
        action="store_true",
        default=None,
        help="turn the plugin off: its fixtures skip (ini: dbenv_disable; "
        "-p no:dbenv removes it entirely)",
    )
    group.addoption(
        "--dbenv-project",
        dest="dbenv_project",
        default=None,
        metavar="PATH",
        help="dbenv.toml (or its directory) to use (default: found from the rootdir)",
    )
    group.addoption(
        "--dbenv-no-export",
        dest="dbenv_export",
        action="store_false",
        default=None,
        help="do not set the test environment's variables in the pytest process before "
        "conftests are imported (ini: dbenv_export = false)",
    )
    group.addoption(
        "--dbenv-async-driver",
        dest="dbenv_async_driver",
        default=None,
        choices=ASYNC_DRIVERS,
        help="driver of async_sa_session: psycopg (default) or asyncpg",
    )
    parser.addini("dbenv_env", "environment the tests run against", default="test")
    parser.addini("dbenv_reuse", "keep templates across runs", type="bool", default=True)
    parser.addini(
        "dbenv_recreate", "rebuild templates and test databases", type="bool", default=False
    )
    parser.addini("dbenv_keep_failed", "keep failed tests' databases", type="bool", default=False)
    parser.addini("dbenv_disable", "turn the dbenv plugin off", type="bool", default=False)
    parser.addini("dbenv_project", "dbenv.toml (or its directory) to use", default="")
    parser.addini("dbenv_async_driver", "psycopg or asyncpg", default="psycopg")
    # read as text and checked by the plugin: a wrong value is one sentence, not a traceback
    parser.addini(
        "dbenv_export",
        "set the test environment's variables before conftests are imported (true/false)",
        default="true",
    )


def read_options(config: pytest.Config, *, early: bool = False) -> PluginOptions:
    """The options; ``early``: before pytest parsed its arguments (initial conftests)."""

    def pick(name: str) -> object:
        if early:
            flag = getattr(config.known_args_namespace, name, None)
        else:
            flag = config.getoption(name, None)
        return flag if flag is not None else config.getini(name)

    project = str(pick("dbenv_project") or "")
    driver = str(pick("dbenv_async_driver") or "psycopg")
    if driver not in ASYNC_DRIVERS:
        raise pytest.UsageError(
            f"dbenv_async_driver is '{driver}'; use one of: {', '.join(ASYNC_DRIVERS)}."
        )
    root = config.rootpath
    return PluginOptions(
        environment=str(pick("dbenv_env") or "test"),
        reuse=bool(pick("dbenv_reuse")),
        recreate=bool(pick("dbenv_recreate")),
        keep_failed=bool(pick("dbenv_keep_failed")),
        disabled=bool(pick("dbenv_disable")),
        project=(root / project) if project else None,
        async_driver=driver,
    )
