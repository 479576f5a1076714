"""Layering: every precedence pair of layers, for settings and for variables."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from dbenv.config import override_name
from dbenv.config.urls import target_of
from fixtures.config.projects import project_at

SETTING_LAYERS = ("default", "project", "dotenv", "dotenv_env", "process", "argument")
# lowest first: what the project file sets for one environment beats the shared .env
VARIABLE_LAYERS = ("vars", "dotenv", "env_vars", "dotenv_env", "process", "argument")


def _port_project(tmp_path: Path, layers: set[str]):
    port = {name: 5500 + i for i, name in enumerate(SETTING_LAYERS)}
    toml = '[project]\nname = "app"\n[environments.test]\nhost = "db.internal"\n'
    if "project" in layers:
        toml += f"port = {port['project']}\n"
    files: dict[str, str] = {}
    if "dotenv" in layers:
        files[".env"] = f"DBENV_TEST_PORT={port['dotenv']}\n"
    if "dotenv_env" in layers:
        files[".env.test"] = f"DBENV_TEST_PORT={port['dotenv_env']}\n"
    env = {"DBENV_TEST_PORT": str(port["process"])} if "process" in layers else {}
    args = {"DBENV_TEST_PORT": str(port["argument"])} if "argument" in layers else {}
    return project_at(tmp_path, toml, process=env, overrides=args, files=files), port


@pytest.mark.parametrize(("low", "high"), list(itertools.combinations(SETTING_LAYERS, 2)))
def test_setting_precedence_pairs(tmp_path: Path, low: str, high: str) -> None:
    project, port = _port_project(tmp_path, {low, high})
    env = project.environment("test")
    setting = env.settings["port"]
    expected = 5432 if high == "default" else port[high]
    assert setting.value == expected
    kinds = {"dotenv_env": "dotenv"}
    assert setting.origin.kind == kinds.get(high, high)
    if high == "dotenv_env":
        assert setting.origin.source == ".env.test"
    assert env.database_url is not None
    assert target_of(env.database_url.masked).port == expected


def _variable_project(tmp_path: Path, layers: set[str]):
    value = {name: f"from-{name}" for name in VARIABLE_LAYERS}
    toml = '[project]\nname = "app"\n'
    if "vars" in layers:
        toml += f'[vars]\nFOO = "{value["vars"]}"\n'
    toml += "[environments.test]\n"
    if "env_vars" in layers:
        toml += f'[environments.test.vars]\nFOO = "{value["env_vars"]}"\n'
    files: dict[str, str] = {}
    if "dotenv" in layers:
        files[".env"] = f"FOO={value['dotenv']}\n"
    if "dotenv_env" in layers:
        files[".env.test"] = f"FOO={value['dotenv_env']}\n"
    env = {"FOO": value["process"]} if "process" in layers else {}
    args = {"FOO": value["argument"]} if "argument" in layers else {}
    return project_at(tmp_path, toml, process=env, overrides=args, files=files)


@pytest.mark.parametrize(("low", "high"), list(itertools.combinations(VARIABLE_LAYERS, 2)))
def test_variable_precedence_pairs(tmp_path: Path, low: str, high: str) -> None:
    project = _variable_project(tmp_path, {low, high})
    foo = project.environment("test").variables["FOO"]
    assert foo.value == f"from-{high}"
    kinds = {"vars": "project", "env_vars": "project", "dotenv_env": "dotenv"}
    assert foo.origin.kind == kinds.get(high, high)


def test_generic_database_url_in_process_env_does_not_redirect_a_setting(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "app"
    [environments.test]
    database_url = "postgresql://app@localhost/app_test"
    """
    project = project_at(tmp_path, toml, process={"DATABASE_URL": "postgresql://app@prod/app"})
    env = project.environment("test")
    assert env.database_url is not None
    assert env.database_url.reveal() == "postgresql://app@localhost/app_test"
    assert env.settings["database_url"].origin.line == 4


def test_scoped_variable_overrides_setting_with_its_origin(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "app"
    [environments.test]
    database_url = "postgresql://app@localhost/app_test"
    """
    project = project_at(
        tmp_path,
        toml,
        files={".env.test": "DBENV_TEST_DATABASE_URL=postgresql://ci@ci-db/app_ci\n"},
    )
    setting = project.environment("test").settings["database_url"]
    assert str(setting.value) == "postgresql://ci@ci-db/app_ci"
    assert (setting.origin.source, setting.origin.line) == (".env.test", 1)


def test_override_name() -> None:
    assert override_name("dev-box", "database_url") == "DBENV_DEV_BOX_DATABASE_URL"


def test_scoped_override_for_one_environment_leaves_others_alone(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "app"
    [environments.test]
    database_url = "postgresql://app@localhost/app_test"
    [environments.dev-box]
    database_url = "postgresql://app@localhost/app_dev"
    """
    env = {"DBENV_DEV_BOX_DATABASE_URL": "postgresql://app@elsewhere/x"}
    project = project_at(tmp_path, toml, process=env)
    assert str(project.environment("test").database_url) == "postgresql://app@localhost/app_test"
    assert str(project.environment("dev-box").database_url) == "postgresql://app@elsewhere/x"


def test_env_files_read_and_missing_are_reported(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "app"
    [environments.test]
    env_files = [".env.test", ".env.test.local"]
    """
    project = project_at(tmp_path, toml, files={".env": "A=1\n", ".env.test": "B=2\n"})
    env = project.environment("test")
    assert env.files_read == (tmp_path / ".env", tmp_path / ".env.test")
    assert env.files_missing == (tmp_path / ".env.test.local",)
    assert env.env_files[-1] == tmp_path / ".env.test.local"


def test_implicit_env_files_may_be_absent(tmp_path: Path) -> None:
    env = project_at(tmp_path, '[project]\nname = "app"\n[environments.test]\n').environment("test")
    assert env.env_files == (tmp_path / ".env", tmp_path / ".env.test")
    assert env.files_read == ()
    assert env.files_missing == ()


def test_process_variables_are_visible_only_when_declared_required_or_referenced(
    tmp_path: Path,
) -> None:
    toml = """
    [project]
    name = "app"
    [vars]
    GREETING = "hello ${WHO}"
    [environments.test]
    required = ["API_HOST"]
    """
    env = {"WHO": "world", "API_HOST": "api", "UNRELATED": "x"}
    variables = project_at(tmp_path, toml, process=env).environment("test").variables
    assert variables["GREETING"].value == "hello world"
    assert variables["API_HOST"].origin.kind == "process"
    assert "WHO" in variables
    assert "UNRELATED" not in variables


def test_process_values_are_literal_not_interpolated(tmp_path: Path) -> None:
    toml = '[project]\nname = "app"\n[vars]\nPW = "x"\n[environments.test]\n'
    project = project_at(tmp_path, toml, process={"PW": "pa$$w${rd"})
    assert project.environment("test").variables["PW"].value == "pa$$w${rd"


def test_parts_build_the_database_url(tmp_path: Path) -> None:
    toml = """
    [project]
    name = "My-App"
    [environments.test]
    host = "db.internal"
    user = "app user"
    password = "p@ss/word"
    """
    env = project_at(tmp_path, toml).environment("test")
    assert env.database_url is not None
    assert (
        env.database_url.reveal()
        == "postgresql://app%20user:p%40ss%2Fword@db.internal:5432/my_app_test"
    )
    assert "p%40ss" not in str(env.database_url)
    assert [name for name, _ in env.settings["database_url"].parts] == [
        "host",
        "port",
        "user",
        "password",
    ]
    assert env.settings["port"].origin.kind == "default"


def test_schema_source_env_form_is_not_a_secret_reference(tmp_path: Path) -> None:
    toml = '[project]\nname = "app"\n[environments.staging]\n[environments.test]\n'
    files = {".env": "DBENV_TEST_SCHEMA_SOURCE=env:staging\n"}
    env = project_at(tmp_path, toml, files=files).environment("test")
    assert env.schema_source == "env:staging"
    assert env.variables["DBENV_TEST_SCHEMA_SOURCE"].value == "env:staging"
    assert env.exports()["DBENV_TEST_SCHEMA_SOURCE"] == "env:staging"
    toml += 'schema_source = "env:staging"\n'
    assert project_at(tmp_path, toml).environment("test").schema_source == "env:staging"
