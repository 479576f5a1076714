"""The plugin gives the process the test environment's variables before the app's conftest.

Issue 14.6: an app whose conftest builds its engine from its settings at import
time emptied development's database under plain `pytest`, because the plugin
exported nothing. Here an app conftest reads ``DATABASE_URL`` (development's URL
as its default) at import; with the plugin it gets the test database, and
development's rows survive a test that DELETEs everything. A process that
already names a protected environment's database or Redis is refused before
any test runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import psycopg
import pytest

from pytest_plugin_support import PluginProject, drop_project_databases, make_project
from servers import PgServer, RedisServer

PLUGIN = ("-p", "dbenv")

APP_CONFTEST = """
import os

import pytest
from sqlalchemy import create_engine

DEVELOPMENT = {dev!r}  # the app's own default: its developer's database
URL = os.environ.get("DATABASE_URL", DEVELOPMENT)
engine = create_engine(URL.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.fixture
def app_engine(dbenv_url):  # dbenv_url: the plugin prepares the test database
    return engine
"""

APP_TESTS = """
import os

from sqlalchemy import text
from conftest import engine


def test_cleans_up_like_the_app_does(app_engine, dbenv_url):
    with app_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (name) VALUES ('from the app')"))
        assert conn.execute(text("SELECT current_database()")).scalar() == {test!r}
        conn.execute(text("DELETE FROM users"))


def test_sees_the_environment():
    print(f"ENGINE_DATABASE={{engine.url.database}} APP_ENV={{os.environ.get('APP_ENV', '-')}}")
"""


@pytest.fixture(autouse=True)
def _clean_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", "REDIS_URL", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in sys.modules if n in ("models", "conftest", "appsettings")]:
        del sys.modules[name]


@pytest.fixture
def app(
    pytester: pytest.Pytester, pg_server: PgServer, redis_server: RedisServer
) -> Iterator[tuple[PluginProject, str]]:
    """A project whose protected development has a database with rows and Redis db 0."""
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, redis_url=redis_server.url)
    dev_db = f"{made.tag}_dev"
    dev_url = pg_server.dsn_for(dev_db)
    with (pytester.path / "dbenv.toml").open("a") as toml:
        toml.write(
            f'\n[environments.development]\ndatabase_url = "{dev_url}"\n'
            f'redis_url = "{redis_server.url}"\nredis_db = 0\n'
        )
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dev_db}"')
    with psycopg.connect(dev_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, name text)")
        conn.execute("INSERT INTO users (name) VALUES ('ada'), ('grace'), ('edsger')")
    pytester.makeconftest(APP_CONFTEST.format(dev=dev_url))
    pytester.makepyfile(test_app=APP_TESTS.format(test=made.test_database))
    try:
        yield made, dev_url
    finally:
        drop_project_databases(made)


def _dev_rows(dev_url: str) -> int:
    with psycopg.connect(dev_url) as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
    return int(row[0]) if row else -1


def test_the_apps_import_time_engine_gets_the_test_database_and_development_survives(
    pytester: pytest.Pytester, app: tuple[PluginProject, str]
) -> None:
    made, dev_url = app
    result = pytester.runpytest(*PLUGIN, "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*ENGINE_DATABASE={made.test_database} APP_ENV=test*"])
    assert _dev_rows(dev_url) == 3
    assert made.query(made.test_database, "SELECT count(*) FROM users") == [(0,)]
    # the variables are this session's only: the process has its own back
    assert "DATABASE_URL" not in os.environ and "APP_ENV" not in os.environ

    # the control: without the export the same conftest names development
    control = pytester.runpytest(
        *PLUGIN, "-s", "-p", "no:cacheprovider", "--dbenv-no-export", "-k", "sees"
    )
    control.stdout.fnmatch_lines([f"*ENGINE_DATABASE={made.tag}_dev APP_ENV=-*"])
    assert _dev_rows(dev_url) == 3


@pytest.mark.parametrize(
    ("variable", "form", "kind"),
    [
        ("DATABASE_URL", "{dev}", "database"),
        ("SQLALCHEMY_DATABASE_URI", "{dev_async}", "database"),
        ("CACHE_URL", "{redis}/0", "Redis"),
    ],
)
def test_a_shell_variable_naming_a_protected_target_refuses_the_session(
    pytester: pytest.Pytester,
    app: tuple[PluginProject, str],
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    form: str,
    kind: str,
) -> None:
    made, dev_url = app
    value = form.format(
        dev=dev_url,
        dev_async=dev_url.replace("postgresql://", "postgresql+asyncpg://"),
        redis=redis_server.url,
    )
    monkeypatch.setenv(variable, value)
    result = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str()
    assert (
        f"dbenv: refused to start the tests: ${variable} names protected environment "
        f"'development''s {kind}"
    ) in text
    assert "Traceback" not in text and "During handling" not in text
    assert "passed" not in result.stdout.str()
    assert _dev_rows(dev_url) == 3
    assert os.environ[variable] == value  # nothing changed
    assert "APP_ENV" not in os.environ
    assert made.databases() == [f"{made.tag}_dev"]  # the test database was not made


APP_SETTINGS = """
import os


class Settings:
    def __init__(self):
        self.database_url = os.environ.get("DATABASE_URL", {dev!r})


settings = Settings()
"""


def test_app_settings_read_before_the_plugin_acted_refuse_the_session(
    pytester: pytest.Pytester, app: tuple[PluginProject, str]
) -> None:
    made, dev_url = app
    pytester.makepyfile(appsettings=APP_SETTINGS.format(dev=dev_url))
    pytester.syspathinsert()
    # -p imports the app's settings before any plugin hook runs
    result = pytester.runpytest("-p", "appsettings", *PLUGIN, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str()
    assert (
        "dbenv: refused to start the tests: appsettings.settings.database_url names "
        "protected environment 'development''s database"
    ) in text
    assert "Traceback" not in text
    assert _dev_rows(dev_url) == 3
    assert made.databases() == [f"{made.tag}_dev"]


def test_the_opt_out_key_is_validated_and_honoured(
    pytester: pytest.Pytester, app: tuple[PluginProject, str]
) -> None:
    made, dev_url = app
    ini = pytester.path / "pytest.ini"
    base = ini.read_text()
    ini.write_text(base + "dbenv_export = maybe\n")
    bad = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "dbenv_export is 'maybe' in pytest.ini:3; write dbenv_export = true or "
        "dbenv_export = false." in bad.stderr.str()
    )
    assert "Traceback" not in bad.stderr.str()

    ini.write_text(base + "dbenv_export = false\n")
    off = pytester.runpytest(*PLUGIN, "-s", "-p", "no:cacheprovider", "-k", "sees")
    off.stdout.fnmatch_lines([f"*ENGINE_DATABASE={made.tag}_dev APP_ENV=-*"])  # nothing set
    assert _dev_rows(dev_url) == 3


XDIST_TESTS = """
import os

from sqlalchemy import text
from sqlalchemy.engine import make_url
from conftest import engine


def test_worker_a(app_engine, dbenv_url):
    assert engine.url.database == make_url(dbenv_url).database
    assert engine.url.database.endswith("_" + os.environ["PYTEST_XDIST_WORKER"])
    with app_engine.begin() as conn:
        conn.execute(text("DELETE FROM users"))


def test_worker_b(app_engine, dbenv_url):
    assert engine.url.database == make_url(dbenv_url).database
"""


def test_each_xdist_worker_gets_its_own_database(
    pytester: pytest.Pytester, app: tuple[PluginProject, str]
) -> None:
    made, dev_url = app
    pytester.makepyfile(test_app=XDIST_TESTS)
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert _dev_rows(dev_url) == 3
    workers = {f"{made.test_database}_gw0", f"{made.test_database}_gw1"}
    assert workers <= set(made.databases())


SPLIT_TESTS = """
import os


def test_split_variables():
    print("SPLIT=" + os.environ["POSTGRES_DB"] + "@" + os.environ["POSTGRES_PORT"])
    print("REDIS=" + os.environ["REDIS_URL"].rsplit("/", 1)[1])
"""


def test_the_projects_export_forms_are_set_and_a_shell_holding_developments_refuses(
    pytester: pytest.Pytester,
    app: tuple[PluginProject, str],
    pg_server: PgServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made, dev_url = app
    with (pytester.path / "dbenv.toml").open("a") as toml:
        toml.write('\n[export]\nPOSTGRES_DB = "database"\nPOSTGRES_SERVER = "host"\n')
        toml.write('POSTGRES_PORT = "port"\n')
    pytester.makepyfile(test_app=SPLIT_TESTS)
    result = pytester.runpytest(*PLUGIN, "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    # the test environment's database and Redis db index (redis_db = 5), not the shell's
    result.stdout.fnmatch_lines([f"*SPLIT={made.test_database}@{pg_server.port}*", "*REDIS=5*"])

    monkeypatch.setenv("POSTGRES_DB", f"{made.tag}_dev")
    monkeypatch.setenv("POSTGRES_PORT", str(pg_server.port))
    refused = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "dbenv: refused to start the tests: $POSTGRES_DB and the variables beside it name "
        "protected environment 'development''s database or Redis"
    ) in refused.stderr.str()
    # another server's database of that name is not development's
    monkeypatch.setenv("POSTGRES_PORT", "1")
    pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert _dev_rows(dev_url) == 3


EARLY_CONFTEST = """
import os

import psycopg
import pytest

SEEN = {}


@pytest.fixture(scope="session", autouse=True)
def app_session_setup():
    # the app's own session fixture, asking dbenv for nothing: it connects to the
    # database it was told about before any dbenv fixture made it
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        SEEN["database"] = conn.execute("SELECT current_database()").fetchone()[0]
        SEEN["users"] = conn.execute("SELECT count(*) FROM users").fetchone()[0]
"""

EARLY_TESTS = """
import os

from conftest import SEEN


def test_the_worker_database_was_there_first():
    assert SEEN["database"].endswith("_" + os.environ["PYTEST_XDIST_WORKER"])
    assert SEEN["users"] == 0
"""


def test_a_worker_database_exists_before_the_apps_own_session_fixtures(
    pytester: pytest.Pytester, app: tuple[PluginProject, str]
) -> None:
    # minimal-fastapi-postgres-template's session fixture connects to its database to
    # CREATE its own: under xdist the worker's exported database did not exist yet.
    _, dev_url = app
    pytester.makeconftest(EARLY_CONFTEST)
    pytester.makepyfile(test_app=EARLY_TESTS)
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert _dev_rows(dev_url) == 3
