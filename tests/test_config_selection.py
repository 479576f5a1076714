"""Choosing the active environment: selector variables, .env, the default, unknown names."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbenv.errors import UnknownEnvironment
from fixtures.config.projects import BASIC, project_at


def test_default_when_nothing_selects(tmp_path: Path) -> None:
    project = project_at(tmp_path)
    assert project.active_name() == "development"
    assert project.environment().name == "development"
    assert project.declared_environment is None


def test_app_env_wins_over_environment_and_dotenv(tmp_path: Path) -> None:
    files = {".env": "APP_ENV=production\n"}
    project = project_at(
        tmp_path, process={"APP_ENV": "test", "ENVIRONMENT": "production"}, files=files
    )
    assert project.active_name() == "test"
    assert project.declared_environment == ("APP_ENV", "test")


def test_second_selector_in_process_beats_first_in_dotenv(tmp_path: Path) -> None:
    files = {".env": "APP_ENV=production\n"}
    project = project_at(tmp_path, process={"ENVIRONMENT": "test"}, files=files)
    assert project.active_name() == "test"
    assert project.declared_environment == ("ENVIRONMENT", "test")


def test_dotenv_selects_when_process_does_not(tmp_path: Path) -> None:
    project = project_at(tmp_path, files={".env": "ENVIRONMENT=test\n"})
    assert project.active_name() == "test"
    assert project.declared_environment is None


def test_custom_selectors(tmp_path: Path) -> None:
    toml = BASIC.replace('default = "development"', 'selectors = ["STAGE"]')
    project = project_at(tmp_path, toml, process={"STAGE": "production", "APP_ENV": "test"})
    assert project.active_name() == "production"
    assert project.environment().selectors == ("STAGE",)


def test_unknown_name_lists_declared_and_suggests(tmp_path: Path) -> None:
    project = project_at(tmp_path, process={"APP_ENV": "prodution"})
    with pytest.raises(UnknownEnvironment) as info:
        project.active_name()
    message = str(info.value)
    assert "'prodution'" in message
    assert "development, test, production" in message
    assert "Did you mean 'production'?" in message
    assert "$APP_ENV" in message
    assert info.value.exit_code == 2


def test_unknown_name_given_explicitly(tmp_path: Path) -> None:
    with pytest.raises(UnknownEnvironment, match="Did you mean 'test'"):
        project_at(tmp_path).environment("tset")


def test_unknown_name_from_dotenv_names_the_line(tmp_path: Path) -> None:
    project = project_at(tmp_path, files={".env": "X=1\nAPP_ENV=qa\n"})
    with pytest.raises(UnknownEnvironment, match=r"\.env:2"):
        project.active_name()


def test_no_selection_and_no_default(tmp_path: Path) -> None:
    toml = BASIC.replace('default = "development"', "")
    with pytest.raises(UnknownEnvironment, match="no environment selected"):
        project_at(tmp_path, toml).active_name()


def test_override_database_from_process(tmp_path: Path) -> None:
    assert project_at(tmp_path).override_database is None
    project = project_at(tmp_path, process={"DBENV_I_MEAN_IT": "dashtam_test"})
    assert project.override_database == "dashtam_test"


def test_environment_is_cached_and_frozen(tmp_path: Path) -> None:
    project = project_at(tmp_path)
    env = project.environment("test")
    assert project.environment("test") is env
    with pytest.raises(AttributeError):
        env.tier = "protected"  # type: ignore[misc]
    assert [e.name for e in project.environments()] == ["development", "test", "production"]
