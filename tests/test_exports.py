"""What `dbenv run` exports: URL forms, named variables and their forms, selector values.

The computation (``dbenv.config.exports.exported``) is checked here on resolved
projects; the servers are reached through these values in test_exports_servers.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.commands.config import config_show
from dbenv.config.exports import exported
from dbenv.errors import ProjectFileError, UnknownEnvironment
from fixtures.config.projects import project_at

APP = """
[project]
name = "shop"
default = "development"

[export]
ALEMBIC_URL = "url+psycopg"
POSTGRES_SERVER = "host"
POSTGRES_PORT = "port"
POSTGRES_USER = "user"
POSTGRES_PASSWORD = "password"
POSTGRES_DB = "database"
DATABASE__DB = "database"
REDIS_CACHE_HOST = "redis_host"
REDIS_CACHE_PORT = "redis_port"
CACHE_DB = "redis_db"

[environments.development]
database_url = "postgresql+asyncpg://shop:dev-pw-1@db.internal:6432/shop_dev"
redis_url = "redis://cache.internal:6380"
redis_db = 0

[environments.test]
tier = "disposable"
database_url = "postgres://shop@localhost:5432/shop_test"
password = "test-pw-2"
redis_url = "redis://:redis-pw-3@localhost:6379/0"
redis_db = 3
redis_prefix = "t:"
selector_values = { ENVIRONMENT = "testing" }

[environments.test.export]
POSTGRES_DB = false
APP_DB_URL = "url+asyncpg"
"""


@pytest.mark.parametrize(
    ("scheme", "exported_scheme"),
    [
        ("postgresql+asyncpg", "postgresql+asyncpg"),
        ("postgresql+psycopg", "postgresql+psycopg"),
        ("postgresql+psycopg2", "postgresql+psycopg2"),
        ("postgresql+pg8000", "postgresql+pg8000"),
        ("postgres", "postgres"),
    ],
)
def test_dbenv_connects_plain_and_exports_the_declared_form(
    tmp_path: Path, scheme: str, exported_scheme: str
) -> None:
    toml = f"""
    [project]
    name = "a"
    [environments.dev]
    database_url = "{scheme}://u:pw@localhost:5433/a_dev"
    """
    env = project_at(tmp_path, toml).environment("dev")
    assert env.database_url is not None
    assert env.database_url.reveal() == "postgresql://u:pw@localhost:5433/a_dev"
    assert env.database_url.masked == "postgresql://u:****@localhost:5433/a_dev"
    assert env.url_scheme == scheme
    assert exported(env)["DATABASE_URL"] == f"{exported_scheme}://u:pw@localhost:5433/a_dev"
    # what the project file says is what config show says
    assert env.settings["database_url"].display().startswith(f"{scheme}://u:****@")


def test_named_variables_get_their_forms(tmp_path: Path) -> None:
    env = project_at(tmp_path, APP).environment("development")
    values = exported(env)
    assert values["DATABASE_URL"] == "postgresql+asyncpg://shop:dev-pw-1@db.internal:6432/shop_dev"
    assert values["ALEMBIC_URL"] == "postgresql+psycopg://shop:dev-pw-1@db.internal:6432/shop_dev"
    parts = ("POSTGRES_SERVER", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD")
    assert [values[k] for k in parts] == ["db.internal", "6432", "shop", "dev-pw-1"]
    assert values["POSTGRES_DB"] == values["DATABASE__DB"] == "shop_dev"
    assert values["REDIS_URL"] == "redis://cache.internal:6380/0"
    assert (values["REDIS_CACHE_HOST"], values["REDIS_CACHE_PORT"]) == ("cache.internal", "6380")
    assert values["CACHE_DB"] == "0"
    assert values["APP_ENV"] == values["ENVIRONMENT"] == "development"


def test_an_environment_export_table_adds_and_drops_names(tmp_path: Path) -> None:
    env = project_at(tmp_path, APP).environment("test")
    values = exported(env)
    assert "POSTGRES_DB" not in values  # false drops a project-level name
    assert values["APP_DB_URL"] == "postgresql+asyncpg://shop:test-pw-2@localhost:5432/shop_test"
    assert values["DATABASE_URL"] == "postgres://shop:test-pw-2@localhost:5432/shop_test"
    # the Redis URL carries the whole target: its db index and password
    assert values["REDIS_URL"] == "redis://:redis-pw-3@localhost:6379/3"
    assert values["DBENV_REDIS_PREFIX"] == "t:"
    assert values["ENVIRONMENT"] == "testing" and values["APP_ENV"] == "test"


def test_config_show_lists_exports_masked(tmp_path: Path) -> None:
    shown = config_show(project_at(tmp_path, APP), "test")
    exports = {v.key: v.value for v in shown.exports}
    assert exports["POSTGRES_PASSWORD"] == "****"
    assert exports["DATABASE_URL"] == "postgres://shop:****@localhost:5432/shop_test"
    assert exports["REDIS_URL"] == "redis://:****@localhost:6379/3"
    assert exports["ENVIRONMENT"] == "testing"
    text = repr(shown)
    for plain in ("test-pw-2", "redis-pw-3"):
        assert plain not in text


def test_schema_environment_urls_carry_the_search_path(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "a"
    [export]
    SYNC_URL = "url+psycopg2"
    [environments.test]
    isolation = "schema"
    schema = "test_s"
    database_url = "postgresql://u@localhost/a"
    """
    values = exported(project_at(tmp_path, toml).environment("test"))
    assert values["DATABASE_URL"] == "postgresql://u@localhost/a?options=-csearch_path%3Dtest_s"
    assert values["SYNC_URL"].startswith("postgresql+psycopg2://u@localhost/a?options=")
    assert values["DBENV_SCHEMA"] == "test_s"


@pytest.mark.parametrize("where", ["database_url", "export"])
def test_schema_isolation_refuses_a_url_form_that_cannot_carry_it(
    tmp_path: Path, where: str
) -> None:
    scheme = "postgresql+asyncpg" if where == "database_url" else "postgresql"
    export = '[export]\nAPP_URL = "url+asyncpg"\n' if where == "export" else ""
    toml = f"""
[project]
name = "a"
{export}
[environments.test]
isolation = "schema"
schema = "s"
database_url = "{scheme}://u@localhost/a"
"""
    with pytest.raises(ProjectFileError, match="cannot carry its search_path") as caught:
        project_at(tmp_path, toml).environment("test")
    assert caught.value.line == (4 if where == "export" else 7)


def test_prefix_environment_exports_its_prefix(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "a"
    [environments.test]
    isolation = "prefix"
    prefix = "test_"
    database_url = "postgresql://u@localhost/a"
    """
    assert exported(project_at(tmp_path, toml).environment("test"))["DBENV_TABLE_PREFIX"] == "test_"


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('[export]\nDB = "uri"\n', "'DB' = 'uri' is none of"),
        ('[export]\nDB = "url+mysql"\n', "'DB' = 'url+mysql' is none of"),
        ('[export]\n"BAD-NAME" = "url"\n', "'BAD-NAME' is not one"),
        ("[environments.test.export]\nDB = 3\n", "'DB' = 3 is none of"),
    ],
)
def test_bad_export_tables_are_exit_2_with_file_and_line(
    tmp_path: Path, table: str, needle: str
) -> None:
    toml = f'[project]\nname = "a"\n[environments.test]\ntier = "disposable"\n{table}'
    (tmp_path / "dbenv.toml").write_text(toml)
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "config", "show", "test"])
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and "dbenv.toml:" in result.stderr
    assert "Traceback" not in result.output


# --- selector values ------------------------------------------------------------------


def test_a_declared_selector_value_selects_its_environment(tmp_path: Path) -> None:
    project = project_at(tmp_path, APP, process={"ENVIRONMENT": "testing"})
    assert project.active_name() == "test"
    dotenv = project_at(tmp_path / "b", APP, files={".env": "ENVIRONMENT=testing\n"})
    assert dotenv.active_name() == "test"


def test_a_value_two_environments_declare_is_ambiguous(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "a"
    [environments.development]
    selector_values = { ENVIRONMENT = "local" }
    [environments.test]
    selector_values = { ENVIRONMENT = ["local", "testing"] }
    """
    project = project_at(tmp_path, toml, process={"ENVIRONMENT": "local"})
    with pytest.raises(UnknownEnvironment, match="'development' or 'test'"):
        project.active_name()
    # the environment's name still selects it; the first value is what the app gets
    named = project_at(tmp_path, toml, process={"APP_ENV": "test", "ENVIRONMENT": "local"})
    assert named.active_name() == "test"
    assert exported(named.environment("test"))["ENVIRONMENT"] == "local"


def test_selector_values_must_name_a_selector(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "a"
    selectors = ["APP_ENV"]
    [environments.test]
    selector_values = { ENVIRONMENT = "testing" }
    """
    with pytest.raises(ProjectFileError, match="not a selector variable") as caught:
        project_at(tmp_path, toml)
    assert caught.value.line == 5


def test_the_guard_accepts_a_declared_value_of_the_target(tmp_path: Path) -> None:
    from dbenv.safety.checks import check_declared

    project = project_at(tmp_path, APP, process={"ENVIRONMENT": "testing"})
    assert check_declared(project, project.environment("test"), "reset").passed
    assert not check_declared(project, project.environment("development"), "reset").passed


# --- run: the targets win over the shell, .env and the project's variables -------------


def test_run_targets_win_over_shell_and_dotenv(tmp_path: Path) -> None:
    files = {".env": "POSTGRES_DB=from_dotenv\nREDIS_URL=redis://elsewhere:6379/0\n"}
    root = project_at(tmp_path, APP, files=files).root
    out = tmp_path / "out.txt"
    code = (
        f"import os; open({str(out)!r}, 'w').write(' '.join(os.environ[k] for k in "
        "('POSTGRES_DB', 'DATABASE_URL', 'REDIS_URL', 'ENVIRONMENT')))"
    )
    result = CliRunner().invoke(
        app,
        ["--project", str(root), "run", "development", "--", sys.executable, "-c", code],
        env={"DATABASE_URL": "postgresql://prod@prod-db/shop", "POSTGRES_DB": "shop"},
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().split() == [
        "shop_dev",
        "postgresql+asyncpg://shop:dev-pw-1@db.internal:6432/shop_dev",
        "redis://cache.internal:6380/0",
        "development",
    ]


# --- layers -------------------------------------------------------------------------


def test_environment_vars_beat_the_shared_dotenv_and_show_it(tmp_path: Path) -> None:
    toml = APP + '\n[environments.test.vars]\nSECRET_KEY_NAME = "from-project-test"\n'
    files = {".env": "SECRET_KEY_NAME=from-dotenv\n", ".env.test": ""}
    project = project_at(tmp_path, toml, files=files)
    setting = project.environment("test").variables["SECRET_KEY_NAME"]
    assert setting.value == "from-project-test"
    assert str(setting.origin).startswith("dbenv.toml:")
    assert project.environment("development").variables["SECRET_KEY_NAME"].value == "from-dotenv"
    result = CliRunner().invoke(
        app, ["--project", str(project.root), "config", "show", "test", "--origin"]
    )
    assert result.exit_code == 0, result.output
    assert "project env files (.env) < [environments.<name>.vars]" in result.stdout


def test_config_get_reads_an_exported_variable(tmp_path: Path) -> None:
    root = project_at(tmp_path, APP).root
    runner = CliRunner()
    server = runner.invoke(
        app, ["--project", str(root), "config", "get", "test", "POSTGRES_SERVER"]
    )
    assert server.exit_code == 0 and server.stdout.strip() == "localhost"
    masked = runner.invoke(app, ["--project", str(root), "config", "get", "test", "REDIS_URL"])
    assert masked.stdout.strip() == "redis://:****@localhost:6379/3"
    plain = runner.invoke(
        app, ["--project", str(root), "config", "get", "test", "POSTGRES_PASSWORD", "--reveal"]
    )
    assert plain.exit_code == 0 and plain.stdout.strip() == "test-pw-2"
    toml = '[project]\nname = "a"\n[export]\nCACHE = "redis_host"\n[environments.x]\n'
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "dbenv.toml").write_text(toml)
    none = runner.invoke(app, ["--project", str(tmp_path / "b"), "config", "get", "x", "CACHE"])
    assert none.exit_code == 2 and "has no such target" in none.stderr


@pytest.mark.parametrize(
    ("extra", "index", "warned"),
    [
        ("", 1, True),
        ('CACHE_DB = "redis_db"\n', 1, False),
        ('CACHE_URL = "redis_url"\n', 1, False),
        ("", 0, False),
    ],
)
def test_check_warns_when_host_and_port_lose_the_redis_index(
    tmp_path: Path, extra: str, index: int, warned: bool
) -> None:
    from dbenv.doctor.check import run_checks

    toml = (
        '[project]\nname = "a"\ndefault = "test"\n[export]\nREDIS_CACHE_HOST = "redis_host"\n'
        f'REDIS_CACHE_PORT = "redis_port"\n{extra}[environments.test]\ntier = "disposable"\n'
        f'redis_url = "redis://localhost:6379"\nredis_db = {index}\n'
    )
    report = run_checks(project_at(tmp_path, toml))
    found = [f for f in report.findings if f.rule == "redis-index-not-exported"]
    assert bool(found) == warned
    if warned:
        assert found[0].severity == "warning"
        assert "REDIS_CACHE_HOST, REDIS_CACHE_PORT" in found[0].message


def test_a_unix_socket_redis_exports_its_index_and_path(tmp_path: Path) -> None:
    toml = (
        '[project]\nname = "a"\n[export]\nSOCK = "redis_host"\nIDX = "redis_db"\n'
        '[environments.test]\nredis_url = "unix:///run/redis.sock?db=4"\n'
    )
    values = exported(project_at(tmp_path, toml).environment("test"))
    assert values["REDIS_URL"] == "unix:///run/redis.sock?db=4"
    assert (values["SOCK"], values["IDX"]) == ("/run/redis.sock", "4")
