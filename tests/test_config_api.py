"""The library API: dbenv.load, dbenv.banner, dbenv.missing_variables, and a light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dbenv
from dbenv.errors import MissingVariables
from fixtures.config.projects import BASIC, write_project


def test_load_active_environment(tmp_path: Path) -> None:
    write_project(tmp_path)
    env = dbenv.load(project=tmp_path, process_env={"APP_ENV": "test", "SECRET_KEY": "x"})
    assert env.name == "test"
    assert env.tier == "disposable"
    assert env.table("Agents") == "test_Agents"


def test_load_is_strict_and_lists_every_missing_variable(tmp_path: Path) -> None:
    toml = BASIC.replace('required = ["SECRET_KEY"]', 'required = ["SECRET_KEY", "REDIS_URL"]')
    write_project(tmp_path, toml)
    with pytest.raises(MissingVariables) as info:
        dbenv.load("test", project=tmp_path, process_env={})
    assert info.value.missing == ["SECRET_KEY", "REDIS_URL"]
    assert info.value.exit_code == 2


def test_load_overrides_win_over_the_process_environment(tmp_path: Path) -> None:
    write_project(tmp_path)
    env = dbenv.load(
        "test",
        project=tmp_path,
        process_env={"SECRET_KEY": "from-process", "DBENV_TEST_TIER": "protected"},
        overrides={"SECRET_KEY": "explicit", "DBENV_TEST_TIER": "disposable"},
    )
    assert env.variables["SECRET_KEY"].value == "explicit"
    assert env.variables["SECRET_KEY"].origin.kind == "argument"
    assert env.tier == "disposable"


def test_empty_required_variable_counts_as_missing(tmp_path: Path) -> None:
    write_project(tmp_path, files={".env.test": "SECRET_KEY=\n"})
    env = dbenv.load_project(project=tmp_path, process_env={}).environment("test")
    assert dbenv.missing_variables(env) == ["SECRET_KEY"]


def test_banner_matches_seed_000(tmp_path: Path) -> None:
    write_project(tmp_path)
    env = dbenv.load("test", project=tmp_path, process_env={"SECRET_KEY": "k"})
    line = dbenv.banner(env, tables=["Agents", "Sessions", "Conversations"])
    assert line == (
        "Environment: test · database: localhost:5432/dashtam · "
        "tables: test_Agents, test_Sessions, test_Conversations"
    )


def test_banner_never_shows_a_password(tmp_path: Path) -> None:
    write_project(tmp_path)
    process = {"DEV_DB_PASSWORD": "hunter2-secret"}
    env = dbenv.load("development", project=tmp_path, process_env=process)
    line = dbenv.banner(env)
    assert line == "Environment: development · database: localhost:5432/dashtam_dev"
    assert "hunter2" not in line


def test_import_dbenv_loads_no_driver_or_cli_framework() -> None:
    code = (
        "import sys, dbenv, dbenv.config\n"
        "heavy = [m for m in ('psycopg', 'sqlalchemy', 'redis', 'typer', 'rich', 'alembic')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
