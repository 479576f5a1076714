"""Finding and validating the project file: walking up, pyproject, errors with file:line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dbenv.config import load_project
from dbenv.config.locator import locate
from dbenv.errors import ProjectFileError, ProjectNotFound
from fixtures.config.projects import BASIC, project_at, write_project


def test_walks_up_from_a_subdirectory(tmp_path: Path) -> None:
    write_project(tmp_path)
    deep = tmp_path / "src" / "app" / "models"
    deep.mkdir(parents=True)
    project = load_project(cwd=deep, process_env={})
    assert project.path == tmp_path / "dbenv.toml"
    assert project.root == tmp_path
    assert project.name == "dashtam"


def test_pyproject_tool_dbenv_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "pkg"\n\n[tool.dbenv.project]\nname = "svc"\n\n'
        '[tool.dbenv.environments.test]\ntier = "disposable"\ndatabse_url = "x"\n'
    )
    with pytest.raises(ProjectFileError) as info:
        load_project(cwd=tmp_path, process_env={})
    assert info.value.line == 9
    assert "database_url" in str(info.value)


def test_pyproject_tool_dbenv_loads(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "pkg"\n\n[tool.dbenv.project]\nname = "svc"\ndefault = "test"\n\n'
        '[tool.dbenv.environments.test]\ntier = "disposable"\n'
        'database_url = "postgresql://app@localhost/svc_test"\n'
    )
    project = load_project(cwd=tmp_path, process_env={})
    assert project.path == tmp_path / "pyproject.toml"
    assert project.name == "svc"
    env = project.environment()
    assert env.tier == "disposable"
    assert env.settings["tier"].origin.line == 9
    assert env.settings["tier"].origin.source == "pyproject.toml"


def test_pyproject_without_tool_dbenv_is_skipped_while_walking(tmp_path: Path) -> None:
    write_project(tmp_path)
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "pkg"\n')
    assert load_project(cwd=inner, process_env={}).path == tmp_path / "dbenv.toml"


def test_explicit_project_file_and_directory(tmp_path: Path) -> None:
    write_project(tmp_path / "a")
    by_dir = load_project(project=tmp_path / "a", process_env={})
    by_file = load_project(project=tmp_path / "a" / "dbenv.toml", process_env={})
    assert by_dir.path == by_file.path == (tmp_path / "a" / "dbenv.toml").resolve()


def test_not_found_says_where_it_looked_and_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound) as info:
        load_project(cwd=tmp_path, process_env={})
    text = str(info.value)
    assert str(tmp_path) in text
    assert "dbenv init" in text
    assert info.value.exit_code == 2


def test_explicit_directory_without_project_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match="dbenv init"):
        load_project(project=tmp_path, process_env={})


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    toml = '[project]\nname = "x"\n\n[environments.test]\ntier = disposable\n'
    with pytest.raises(ProjectFileError) as info:
        project_at(tmp_path, toml)
    assert info.value.line == 5
    assert "dbenv.toml:5" in str(info.value)


def test_unknown_key_suggests_nearest_with_file_and_line(tmp_path: Path) -> None:
    toml = BASIC.replace('isolation = "prefix"', 'isolaton = "prefix"')
    with pytest.raises(ProjectFileError) as info:
        project_at(tmp_path, toml)
    message = str(info.value)
    assert "'isolaton'" in message
    assert "Did you mean 'isolation'?" in message
    assert info.value.line == 14
    assert f"{tmp_path / 'dbenv.toml'}:14" in message


def test_unknown_top_level_and_project_keys(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="Did you mean 'environments'"):
        project_at(tmp_path, BASIC + "\n[enviroments.x]\ntier = 'protected'\n")
    toml = BASIC.replace('default = "development"', 'defualt = "development"')
    with pytest.raises(ProjectFileError, match="Did you mean 'default'"):
        project_at(tmp_path, toml)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('tier = "throwaway"', "one of 'protected', 'disposable'"),
        ('isolation = "table"', "one of 'database', 'schema', 'prefix'"),
        ("port = 99999", "an integer port"),
        ('required = "SECRET_KEY"', "a list of strings"),
        ('guard_pattern = "test("', "a valid regular expression"),
        ("redis_db = true", "an integer"),
        ('server = "remote"', "one of 'local'"),
        ("components = { web = 1 }", "a table of strings"),
        ('schema_source = ["sql:a.sql", "b.sql"]', "first item starts with sqlalchemy:"),
        ("schema_source = []", "a string, or a list of module names"),
        ('schema_source = ["sqlalchemy:app", 3]', "a string, or a list of module names"),
    ],
)
def test_mistyped_values_are_errors_with_line(tmp_path: Path, line: str, expected: str) -> None:
    toml = f'[project]\nname = "x"\n[environments.test]\n{line}\n'
    with pytest.raises(ProjectFileError) as info:
        project_at(tmp_path, toml)
    assert expected in str(info.value)
    assert info.value.line == 4


def test_a_listed_schema_source_is_the_comma_form(tmp_path: Path) -> None:
    toml = (
        '[project]\nname = "x"\n[environments.test]\n'
        'schema_source = ["sqlalchemy:app.db", "app.models:Base.metadata"]\n'
    )
    env = project_at(tmp_path, toml).environment("test")
    assert env.schema_source == "sqlalchemy:app.db,app.models:Base.metadata"
    assert env.settings["schema_source"].origin.line == 4


def test_selectors_must_be_a_non_empty_list(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="non-empty list") as info:
        project_at(tmp_path, "[project]\nname = 'x'\nselectors = []\n")
    assert info.value.line == 3


def test_missing_name_default_and_shares_with_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="no name"):
        project_at(tmp_path, "[project]\ndefault = 'x'\n")
    with pytest.raises(ProjectFileError, match="default environment 'stagin'"):
        project_at(tmp_path, "[project]\nname='x'\ndefault='stagin'\n[environments.staging]\n")
    toml = (
        "[project]\nname='x'\n[environments.a]\nshares_with = ['prod']\n[environments.production]\n"
    )
    with pytest.raises(ProjectFileError, match="shares_with 'prod'") as info:
        project_at(tmp_path, toml)
    assert info.value.line == 4


def test_schema_and_prefix_isolation_need_their_name(tmp_path: Path) -> None:
    toml = "[project]\nname='x'\n[environments.test]\nisolation = 'schema'\n"
    project = project_at(tmp_path, toml)
    with pytest.raises(ProjectFileError, match="sets no schema") as info:
        project.environment("test")
    assert info.value.line == 4


def test_sync_and_diff_tables_are_reserved(tmp_path: Path) -> None:
    toml = BASIC + "\n[sync.profiles.reference]\nmirror = ['countries']\n[diff]\nignore = []\n"
    project = project_at(tmp_path, toml)
    assert project.sync["profiles"]["reference"]["mirror"] == ["countries"]
    assert project.diff == {"ignore": []}


def test_local_table_is_exposed(tmp_path: Path) -> None:
    project = project_at(tmp_path, BASIC + "\n[local]\nport = 6543\nredis = false\n")
    assert project.local.data_dir == tmp_path / ".dbenv"
    assert (project.local.port, project.local.redis) == (6543, False)


def test_locator_handles_dotted_keys_quotes_and_multiline_strings() -> None:
    text = (
        "[environments.test]\n"
        'vars.FOO = "1"\n'
        'note = """\nfake = 1\n"""\n'
        '"quoted.key" = 2\n'
        "[[tool.dbenv.x]]\n"
        "y = 3\n"
    )
    lines = locate(text)
    assert lines.line_of(("environments", "test", "vars", "FOO")) == 2
    assert ("environments", "test", "fake") not in lines.lines
    assert lines.line_of(("environments", "test", "quoted.key")) == 6
    assert lines.line_of(("tool", "dbenv", "x", "y")) == 8
    assert lines.line_of(("environments", "test", "vars", "FOO", "deeper")) == 2


def test_unreadable_project_file(tmp_path: Path) -> None:
    path = write_project(tmp_path) / "dbenv.toml"
    path.write_bytes(b"\xff\xfe[project]")
    with pytest.raises(ProjectFileError, match="UTF-8"):
        load_project(project=path, process_env={})
    assert os.path.exists(path)
