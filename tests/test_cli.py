"""The CLI: init, envs, config show/get, run, check; exit codes and messages for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.config import load_project

FIXTURES = Path(__file__).parent / "fixtures"

PROJECT = """
[project]
name = "shop"
default = "development"
secret_timeout = 1

[vars]
LOG_LEVEL = "info"

[environments.development]
database_url = "postgresql://shop@localhost:5432/shop_dev"
redis_url = "redis://localhost:6379"
redis_db = 0

[environments.test]
tier = "disposable"
database_url = "postgresql://shop:${TEST_DB_PASSWORD}@localhost:5432/shop_test"
required = ["CALLBACK_PORT"]

[environments.test.vars]
WORKERS = "1"
"""


@pytest.fixture(autouse=True)
def _no_selectors(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", "TEST_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def make_project(root: Path, toml: str = PROJECT, files: dict[str, str] | None = None) -> Path:
    (root / "dbenv.toml").write_text(textwrap.dedent(toml))
    defaults = {".env.test": "TEST_DB_PASSWORD=pw-for-tests\nCALLBACK_PORT=8182\n"}
    for name, text in {**defaults, **(files or {})}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def assert_bad_input(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("dbenv: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr


# --- init ---------------------------------------------------------------------------


def test_init_writes_a_loadable_project_example_and_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("__pycache__/")
    result = CliRunner().invoke(app, ["init", str(tmp_path), "--name", "acme"])
    assert result.exit_code == 0, result.output
    project = load_project(project=tmp_path, process_env={})
    assert project.name == "acme"
    assert project.environment_names == (
        "local",
        "development",
        "test",
        "staging",
        "production",
    )
    assert project.environment("test").disposable
    assert not project.environment("production").disposable
    # local, development and test live on the embedded stack: `dbenv up` serves them
    assert [e for e in project.environment_names if project.environment(e).server == "local"] == [
        "local",
        "development",
        "test",
    ]
    assert project.local.data_dir == tmp_path / ".dbenv"
    example = (tmp_path / ".env.example").read_text()
    assert "STAGING_DB_PASSWORD=\n" in example
    # the password reference init writes is the one the staging URL connects with
    secrets = {"STAGING_DB_PASSWORD": "st4ging-pw", "PRODUCTION_DB_PASSWORD": "pr0d-pw"}
    with_secrets = load_project(project=tmp_path, process_env=secrets)
    for name, password in (("staging", "st4ging-pw"), ("production", "pr0d-pw")):
        url = with_secrets.environment(name).database_url
        assert url is not None and f"acme:{password}@" in url.reveal()
        assert password not in str(url)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[0] == "__pycache__/"
    assert {".env*", "!.env.example"} <= set(lines)


def test_init_twice_adds_nothing_to_gitignore(tmp_path: Path) -> None:
    CliRunner().invoke(app, ["init", str(tmp_path)])
    (tmp_path / "dbenv.toml").unlink()
    before = (tmp_path / ".gitignore").read_text()
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0
    assert (tmp_path / ".gitignore").read_text() == before
    assert "kept" in result.output  # .env.example left alone


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "dbenv.toml").write_text("# mine\n")
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert_bad_input(result, "already declares this project")
    assert (tmp_path / "dbenv.toml").read_text() == "# mine\n"
    assert not (tmp_path / ".env.example").exists()


def test_init_refuses_when_pyproject_has_tool_dbenv(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.dbenv.project]\nname = "x"\n')
    assert_bad_input(CliRunner().invoke(app, ["init", str(tmp_path)]), "pyproject.toml")
    assert not (tmp_path / "dbenv.toml").exists()


def test_envs_exits_2_when_an_environment_does_not_resolve(tmp_path: Path) -> None:
    root = make_project(tmp_path, files={".env.test": "CALLBACK_PORT=1\n"})
    result = invoke(root, "envs")
    assert result.exit_code == 2
    assert "development" in result.stdout  # the others are still listed
    assert "test" in result.stderr and "Traceback" not in result.output


# --- envs, config show, config get --------------------------------------------------


def test_envs_lists_environments_and_marks_the_active_one(tmp_path: Path) -> None:
    # wide enough that Rich keeps each environment on one line (CI has no terminal)
    root = make_project(tmp_path)
    result = CliRunner().invoke(app, ["--project", str(root), "envs"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "pw-for-tests" not in result.output
    rows = [line for line in result.output.splitlines() if "shop_" in line]
    assert "*" in rows[0] and "development" in rows[0]
    assert "disposable" in rows[1] and "shop:****@localhost" in rows[1]


def test_envs_json(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "envs", "--json")
    data = json.loads(result.stdout)
    assert data["active"] == "development"
    test = next(e for e in data["environments"] if e["name"] == "test")
    assert test["tier"] == "disposable"
    assert test["target"] == "postgresql://shop:****@localhost:5432/shop_test"


def test_config_show_with_origins(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "config", "show", "test", "--origin")
    assert result.exit_code == 0, result.output
    assert "pw-for-tests" not in result.output
    assert "dbenv.toml:" in result.output
    assert ".env.test:2" in result.output  # CALLBACK_PORT


def test_config_show_json_masks_and_gives_origins(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "config", "show", "test", "--json", "--origin")
    data = json.loads(result.stdout)
    url = data["settings"]["database_url"]
    assert url["value"] == "postgresql://shop:****@localhost:5432/shop_test"
    assert data["variables"]["TEST_DB_PASSWORD"]["value"] == "****"
    assert data["variables"]["TEST_DB_PASSWORD"]["origin"] == ".env.test:1"
    assert data["variables"]["WORKERS"]["value"] == "1"


def test_config_show_defaults_to_the_active_environment(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    result = CliRunner().invoke(
        app, ["--project", str(root), "config", "show", "--json"], env={"APP_ENV": "test"}
    )
    assert json.loads(result.stdout)["environment"] == "test"


def test_config_get_masked_and_revealed(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    masked = invoke(root, "config", "get", "test", "DATABASE_URL")
    assert masked.stdout.strip() == "postgresql://shop:****@localhost:5432/shop_test"
    plain = invoke(root, "config", "get", "test", "database_url", "--reveal")
    assert plain.stdout.strip() == "postgresql://shop:pw-for-tests@localhost:5432/shop_test"
    assert invoke(root, "config", "get", "test", "WORKERS").stdout.strip() == "1"


def test_set_is_the_highest_layer_and_shows_as_an_argument(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    other = "DBENV_TEST_DATABASE_URL=postgresql://shop:pw@localhost:6543/shop_test"
    args = ["--project", str(root), "--set", "WORKERS=8", "--set", other]
    result = CliRunner().invoke(app, [*args, "config", "show", "test", "--origin", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["variables"]["WORKERS"] == {"value": "8", "origin": "argument WORKERS"}
    url = CliRunner().invoke(app, [*args, "config", "get", "test", "database_url"])
    assert url.stdout.strip() == "postgresql://shop:****@localhost:6543/shop_test"


@pytest.mark.parametrize("assignment", ["WORKERS", "=8", "MY VAR=1"])
def test_set_without_name_equals_value_is_bad_input(tmp_path: Path, assignment: str) -> None:
    root = make_project(tmp_path)
    result = CliRunner().invoke(app, ["--project", str(root), "--set", assignment, "envs"])
    assert_bad_input(result, "--set takes NAME=VALUE")


def test_config_get_unknown_key_suggests(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "config", "get", "test", "WORKER")
    assert_bad_input(result, "'WORKER'", "WORKERS")


# --- run ----------------------------------------------------------------------------

PRINT_ENV = "import os; print(os.environ['APP_ENV'], os.environ['ENVIRONMENT'], " + (
    "os.environ['DATABASE_URL'], os.environ['WORKERS'], os.environ['TEST_DB_PASSWORD'])"
)


def test_run_exports_variables_selectors_and_urls(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    out = tmp_path / "out.txt"
    code = f"import sys; sys.stdout = open({str(out)!r}, 'w'); {PRINT_ENV}"
    result = invoke(root, "run", "test", "--", sys.executable, "-c", code)
    assert result.exit_code == 0, result.output
    assert out.read_text().split() == [
        "test",
        "test",
        "postgresql://shop:pw-for-tests@localhost:5432/shop_test",
        "1",
        "pw-for-tests",
    ]


def test_run_generic_database_url_does_not_redirect(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    out = tmp_path / "url.txt"
    code = f"import os; open({str(out)!r}, 'w').write(os.environ['DATABASE_URL'])"
    result = CliRunner().invoke(
        app,
        ["--project", str(root), "run", "development", "--", sys.executable, "-c", code],
        env={"DATABASE_URL": "postgresql://prod@prod-db/shop"},
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == "postgresql://shop@localhost:5432/shop_dev"


def test_run_passes_the_exit_code_through(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "run", "development", "--", sys.executable, "-c",
                    "raise SystemExit(7)")  # fmt: skip
    assert result.exit_code == 7


def test_run_missing_command_is_bad_input(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "run", "development", "--", "no-such-cmd-9f3")
    assert_bad_input(result, "'no-such-cmd-9f3' was not found")


def test_run_without_command_is_bad_input(tmp_path: Path) -> None:
    assert_bad_input(invoke(make_project(tmp_path), "run", "development"), "no command")


def test_run_refuses_missing_required_variables(tmp_path: Path) -> None:
    root = make_project(tmp_path, files={".env.test": "TEST_DB_PASSWORD=x1\n"})
    result = invoke(root, "run", "test", "--", sys.executable, "-c", "pass")
    assert_bad_input(result, "CALLBACK_PORT")


# --- bad input: one sentence, exit 2, no traceback unless --debug --------------------


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "dbenv.toml").write_text('[project]\nname = "x"\ndefault = \n')
    assert_bad_input(invoke(tmp_path, "envs"), "dbenv.toml", ":3")


def test_malformed_env_line_names_file_and_line(tmp_path: Path) -> None:
    root = make_project(tmp_path, files={".env": "GOOD=1\nthis is not an assignment\n"})
    assert_bad_input(invoke(root, "config", "show", "test"), ".env:2")


def test_unknown_environment(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "config", "show", "tset")
    assert_bad_input(result, "'tset'", "Did you mean 'test'?")


def test_bad_url(tmp_path: Path) -> None:
    toml = PROJECT.replace("postgresql://shop@localhost:5432/shop_dev", "mysql//oops")
    assert_bad_input(invoke(make_project(tmp_path, toml), "config", "show", "development"))


def test_unresolvable_interpolation(tmp_path: Path) -> None:
    root = make_project(tmp_path, files={".env.test": "CALLBACK_PORT=1\n"})
    assert_bad_input(invoke(root, "config", "show", "test"), "TEST_DB_PASSWORD")


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("exit 3", "status 3"),
        ("sleep 5", "did not finish within 1 s"),
        ("true", "printed nothing"),
    ],
    ids=["failing", "hanging", "empty"],
)
def test_cmd_reference_failures(tmp_path: Path, command: str, needle: str) -> None:
    toml = PROJECT + f'\n[environments.staging]\ndatabase_url = "cmd:{command}"\n'
    root = make_project(tmp_path, toml)
    result = invoke(root, "config", "get", "staging", "database_url", "--reveal")
    assert_bad_input(result, "dbenv.toml:", needle)


def test_missing_project_file(tmp_path: Path) -> None:
    assert_bad_input(invoke(tmp_path, "envs"), "dbenv init")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = invoke(make_project(tmp_path), "config", "show", "--no-such-flag")
    assert result.exit_code == 2


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--debug", "--project", str(tmp_path), "envs"])
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "ProjectNotFound" in result.stderr


# --- check --------------------------------------------------------------------------


def test_check_exit_codes(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    clean = invoke(root, "check", "development", "--offline")
    assert clean.exit_code == 0, clean.output
    leaks = invoke(
        root, "check", "--offline", "--scan", str(FIXTURES / "seed_003_database_architecture.md")
    )
    assert leaks.exit_code == 1
    assert "seed_003_database_architecture.md:46" in leaks.stdout
    assert "HeliotropeDev2025" not in leaks.output
    assert_bad_input(invoke(root, "check", "--scan", str(tmp_path / "nope")), "does not exist")
    assert_bad_input(invoke(root, "check", "prod"), "'prod'")


def test_check_json_and_strict(tmp_path: Path) -> None:
    toml = PROJECT + '\n[environments.prod]\ndatabase_url = "postgresql://s@db.example.com/shop"\n'
    root = make_project(tmp_path, toml)
    result = invoke(root, "check", "prod", "--json", "--offline")
    assert result.exit_code == 0  # a TLS warning alone passes
    data = json.loads(result.stdout)
    assert [f["rule"] for f in data["findings"]] == ["no-tls"]
    assert data["findings"][0]["fix"]
    assert invoke(root, "check", "prod", "--strict", "--offline").exit_code == 1


def test_python_dash_m_dbenv(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "dbenv", "--project", str(root), "config", "get", "test", "WORKERS"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "1")


def test_run_waits_for_the_child_through_ctrl_c(tmp_path: Path) -> None:
    import signal
    import time

    root = make_project(tmp_path)
    marker = tmp_path / "started"
    child = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(1); exit(4)"
    dbenv = [sys.executable, "-m", "dbenv", "--project", str(root), "run", "development", "--"]
    process = subprocess.Popen([*dbenv, sys.executable, "-c", child])
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # to dbenv only: it must wait and pass 4 through
    assert process.wait(timeout=20) == 4
