"""Read-only commands in a project that selects no environment (no default, no APP_ENV).

`dbenv envs` lists every environment, and `dbenv config show/get NAME` shows the
one it names; neither needs a selection (issue 15.9). Commands that act on "the"
environment without naming it still say that none is selected.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.config import load_project
from dbenv.errors import NoEnvironmentSelected, UnknownEnvironment

PROJECT = """
[project]
name = "shop"

[environments.development]
database_url = "postgresql://shop@localhost:5432/shop_dev"

[environments.test]
tier = "disposable"
database_url = "postgresql://shop@localhost:5432/shop_test"
"""


@pytest.fixture(autouse=True)
def _no_selectors(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "dbenv.toml").write_text(textwrap.dedent(PROJECT))
    return tmp_path


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def test_envs_lists_every_environment_with_none_active(root: Path) -> None:
    result = invoke(root, "envs")
    assert result.exit_code == 0, result.output
    assert "none active" in result.output
    assert "shop_dev" in result.output and "shop_test" in result.output
    assert "*" not in result.output
    data = json.loads(invoke(root, "envs", "--json").output)
    assert data["active"] is None
    assert [row["active"] for row in data["environments"]] == [False, False]


def test_config_show_and_get_of_a_named_environment(root: Path) -> None:
    shown = invoke(root, "config", "show", "test")
    assert shown.exit_code == 0, shown.output
    assert "environment test" in shown.output and "(active)" not in shown.output
    assert "shop_test" in shown.output
    got = invoke(root, "config", "get", "test", "database_url")
    assert got.exit_code == 0, got.output
    assert got.output.strip() == "postgresql://shop@localhost:5432/shop_test"


def test_naming_no_environment_still_says_none_is_selected(root: Path) -> None:
    result = invoke(root, "config", "show")
    assert result.exit_code == 2
    assert "no environment selected" in result.output
    assert "Traceback" not in result.output


def test_a_selector_naming_an_undeclared_environment_is_still_an_error(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    result = invoke(root, "envs")
    assert result.exit_code == 2
    assert "unknown environment 'prod'" in result.output


def test_selected_name_is_none_only_when_nothing_selects(root: Path) -> None:
    project = load_project(project=root, process_env={})
    assert project.selected_name() is None
    with pytest.raises(NoEnvironmentSelected):
        project.active_name()
    assert load_project(project=root, process_env={"APP_ENV": "test"}).selected_name() == "test"
    with pytest.raises(UnknownEnvironment, match="unknown environment 'x'"):
        load_project(project=root, process_env={"APP_ENV": "x"}).selected_name()
