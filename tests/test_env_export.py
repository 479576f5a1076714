"""`dbenv env`: what `dbenv run` gives a child, as dotenv, json, shell or docker env files.

Each format is read back by its real reader where the machine has one
(python-dotenv's ``dotenv_values``, bash and dash ``eval``, ``json.loads``) and
by the documented rules where it has not (Docker, whose CLI is not installed:
``docker_env_file`` below). Secrets are masked unless revealed, revealed only to
a terminal, with ``--yes`` or into a 0600 file git would not commit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from dotenv import dotenv_values
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.commands.config import config_show
from dbenv.commands.env_export import env_export
from dbenv.config import Project
from dbenv.config.exports import exported
from dbenv.errors import MissingVariables, UnknownEnvironment, UsageError
from fixtures.config.projects import project_at, write_project

SECRET = "canary-Zq7-pw"  # the database password
TOKEN = "canary-tok-4411"  # a secret-looking variable

PROJECT = f"""
[project]
name = "shop"
default = "development"

[vars]
LOG_LEVEL = "info"

[environments.development]
database_url = "postgresql://shop:{SECRET}@db.internal:5432/shop_dev"
redis_url = "redis://localhost:6379"
redis_db = 2

[environments.development.vars]
API_TOKEN = "{TOKEN}"

[environments.test]
tier = "disposable"
database_url = "postgresql://shop@localhost:5432/shop_test"
required = ["CALLBACK_PORT"]
"""

# Values each format must carry exactly (where it can carry them at all).
HARD = {
    "SINGLE": "it's",
    "DOUBLE": 'say "hi"',
    "BOTH": 'it\'s "quoted"',
    "DOLLAR": "$HOME and $1 and ${",
    "HASH": "a #not-a-comment",
    "SPACES": "  padded both sides  ",
    "BACKSLASH": "C:\\dir\\n",
    "TWO_BACKSLASHES": "a\\\\b",
    "TRAILING_BACKSLASH": "ends\\",
    "QUOTE_BACKSLASH": "it's a\\b",
    "EQUALS": "a=b==c",
    "UNICODE": "żółw 🐢 naïve",
    "EMPTY": "",
    "QUOTED_WHOLE": "'whole'",
    "NEWLINE": "line one\nline two",
    "CRLF": "dos\r\nline",
    "NEWLINE_QUOTES": 'it\'s\n"two"\\n',
}
ONE_LINE = {k: v for k, v in HARD.items() if "\n" not in v and "\r" not in v}


@pytest.fixture(autouse=True)
def _no_selectors(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", "CALLBACK_PORT"):
        monkeypatch.delenv(name, raising=False)


def _project(root: Path, values: Mapping[str, str] | None = None) -> Project:
    return project_at(root, PROJECT, overrides=dict(values or {}))


def _export(project: Project, fmt: str) -> str:
    return env_export(project, "development", fmt=fmt, reveal=True, confirmed=True).text


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def assert_bad_input(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbenv: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr


# --- what is exported ------------------------------------------------------------


def test_the_export_is_what_run_gives_the_child_and_nothing_inherited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, PROJECT)
    monkeypatch.setenv("UNRELATED_SHELL_VAR", "from-the-shell")
    shown = invoke(tmp_path, "env", "development", "--format", "json", "--reveal", "--yes")
    assert shown.exit_code == 0, shown.output
    values = json.loads(shown.stdout)
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    dbenv = [sys.executable, "-m", "dbenv", "--project", str(tmp_path)]
    ran = subprocess.run(
        [*dbenv, "run", "development", "--", sys.executable, "-c", dump],
        capture_output=True,
        text=True,
        check=True,
    )
    child = json.loads(ran.stdout)
    assert {name: child[name] for name in values} == values
    assert values["DATABASE_URL"].endswith(f":{SECRET}@db.internal:5432/shop_dev")
    assert values["APP_ENV"] == "development" and values["API_TOKEN"] == TOKEN
    # what dbenv sets, not the process environment it runs in
    assert "UNRELATED_SHELL_VAR" not in values and "PATH" not in values


def test_default_is_the_active_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, PROJECT, {".env.test": "CALLBACK_PORT=8182\n"})
    monkeypatch.setenv("APP_ENV", "test")
    result = invoke(tmp_path, "env", "--format", "json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert values["APP_ENV"] == "test" and values["CALLBACK_PORT"] == "8182"
    assert values["DATABASE_URL"] == "postgresql://shop@localhost:5432/shop_test"


# --- round trips -----------------------------------------------------------------


def test_dotenv_round_trips_through_python_dotenv(tmp_path: Path) -> None:
    project = _project(tmp_path / "app", HARD)
    path = tmp_path / "exported.env"
    path.write_text(_export(project, "dotenv"), encoding="utf-8")
    assert dotenv_values(path) == exported(project.environment("development"))


def _node_dotenv(text: str) -> dict[str, str]:
    """Node's ``dotenv`` package (v16) by its documented rules: single and backtick
    quotes literal, double quotes decode only \\n and \\r, multi-line quoted values."""
    line = re.compile(
        r"^\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\""
        r"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$",
        re.M,
    )
    values = {}
    for match in line.finditer(text.replace("\r\n", "\n")):
        value = (match.group(2) or "").strip()
        quote = value[:1]
        value = re.sub(r"^(['\"`])([\s\S]*)\1$", r"\2", value, flags=re.M)
        if quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        values[match.group(1)] = value
    return values


def test_dotenv_reads_the_same_in_node_except_the_names_it_reports(tmp_path: Path) -> None:
    project = _project(tmp_path, HARD)
    result = env_export(project, "development", reveal=True, confirmed=True)
    node = _node_dotenv(result.text)
    given = exported(project.environment("development"))
    differ = {name for name in given if node[name] != given[name]}
    assert differ == set(result.node_differs)
    # only a backslash combined with a quote or a line break costs Node its reading
    assert differ == {"BOTH", "TWO_BACKSLASHES", "TRAILING_BACKSLASH", "QUOTE_BACKSLASH"} | {
        "NEWLINE_QUOTES"
    }


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_shell_round_trips_through_eval(tmp_path: Path, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.fail(f"{shell} is not installed")
    project = _project(tmp_path, HARD)
    given = exported(project.environment("development"))
    path = tmp_path / "exported.sh"
    path.write_text(_export(project, "shell"), encoding="utf-8")
    names = " ".join(f'"${{{name}}}"' for name in given)
    script = f'eval "$(cat "$1")"; printf \'%s\\0\' {names}'
    done = subprocess.run(
        [shell, "-c", script, shell, str(path)], capture_output=True, check=True, env={}
    )
    read = done.stdout.decode("utf-8").split("\0")[:-1]
    assert dict(zip(given, read, strict=True)) == given


def docker_env_file(text: str, *, strip_quotes: bool) -> dict[str, str]:
    """``docker run --env-file`` by its rules (docs.docker.com `docker run` "--env",
    docker/cli ``pkg/kvfile``): lines split at \\n (a trailing \\r dropped, as Go's
    line scanner does); leading whitespace removed; blank and ``#`` lines skipped;
    the name is up to the first ``=`` and may not contain whitespace; the value is
    the rest of the line, literally (no escapes, no interpolation, trailing spaces
    kept). Newer releases (``strip_quotes``) remove one pair of matching quotes
    around the whole value; older ones keep them."""
    values = {}
    for raw in text.split("\n"):
        line = raw.removesuffix("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        name, has_value, value = line.partition("=")
        assert name and not any(c in name for c in " \t"), f"docker rejects the line {line!r}"
        if not has_value:
            continue  # taken from docker's own environment: never written by dbenv
        if strip_quotes and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


@pytest.mark.parametrize("strip_quotes", [False, True], ids=["docker-literal", "docker-28"])
def test_docker_round_trips_through_its_env_file_rules(tmp_path: Path, strip_quotes: bool) -> None:
    carried = {k: v for k, v in ONE_LINE.items() if k != "QUOTED_WHOLE"}
    project = _project(tmp_path, carried)
    text = _export(project, "docker")
    read = docker_env_file(text, strip_quotes=strip_quotes)
    assert read == exported(project.environment("development"))


def test_json_round_trips(tmp_path: Path) -> None:
    project = _project(tmp_path, HARD)
    assert json.loads(_export(project, "json")) == exported(project.environment("development"))


# --- masking and revealing -------------------------------------------------------


@pytest.mark.parametrize("fmt", ["dotenv", "json", "shell", "docker"])
def test_masked_output_never_holds_a_secret(tmp_path: Path, fmt: str) -> None:
    write_project(tmp_path, PROJECT)
    result = invoke(tmp_path, "env", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and TOKEN not in result.output
    assert "shop:****@db.internal" in result.stdout and "API_TOKEN" in result.stdout


def test_masked_values_are_what_config_show_shows(tmp_path: Path) -> None:
    project = _project(tmp_path, {"NOTE": "see https://u:pw-in-url@example.com/x"})
    shown = config_show(project, "development")
    expected = {v.key: v.value for v in (*shown.variables, *shown.exports)}
    masked = json.loads(env_export(project, "development", fmt="json").text)
    assert masked == expected
    assert masked["API_TOKEN"] == "****" and "pw-in-url" not in json.dumps(masked)


def test_reveal_to_a_pipe_needs_yes(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    refused = invoke(tmp_path, "env", "--reveal")
    assert_bad_input(refused, "only to a terminal", "--yes", "--output")
    assert SECRET not in refused.output and refused.stdout == ""
    shown = invoke(tmp_path, "env", "--reveal", "--yes", "--format", "shell")
    assert shown.exit_code == 0, shown.output
    assert f"export API_TOKEN='{TOKEN}'" in shown.stdout and SECRET in shown.stdout


def test_reveal_to_a_terminal_needs_nothing_more(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = env_export(project, reveal=True, to_terminal=True, fmt="json")
    assert result.revealed and TOKEN in result.text
    with pytest.raises(UsageError, match="only to a terminal"):
        env_export(project, reveal=True, to_terminal=False)


def test_yes_without_reveal_is_bad_input(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    assert_bad_input(invoke(tmp_path, "env", "--yes"), "--yes confirms --reveal")


# --- --output --------------------------------------------------------------------


@pytest.fixture
def umask_zero() -> Iterator[None]:
    # with no umask at all, the file must still be 0600 from its creation
    previous = os.umask(0)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_output_is_written_0600_and_replaces_a_wider_file(tmp_path: Path, umask_zero: None) -> None:
    write_project(tmp_path / "app", PROJECT)
    target = tmp_path / "out" / "app.env"
    target.parent.mkdir()
    target.write_text("OLD=1\n")
    target.chmod(0o644)
    result = invoke(tmp_path / "app", "env", "--reveal", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert _mode(target) == 0o600
    assert dotenv_values(target)["API_TOKEN"] == TOKEN and "OLD" not in dotenv_values(target)
    assert SECRET not in result.output and "wrote 6 variable(s)" in result.stdout
    assert [p.name for p in target.parent.iterdir()] == ["app.env"]  # no temporary left


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_project(tmp_path, PROJECT, {".gitignore": ".env*\n"})
    _git(tmp_path, "init", "-q")
    (tmp_path / "config.env").write_text("KEEP=1\n")
    _git(tmp_path, "add", "dbenv.toml", ".gitignore", "config.env")
    return tmp_path


def test_output_refuses_a_path_git_tracks(repo: Path) -> None:
    result = invoke(repo, "env", "--reveal", "--output", str(repo / "config.env"))
    assert_bad_input(result, "is tracked by git", "config.env")
    assert (repo / "config.env").read_text() == "KEEP=1\n" and SECRET not in result.output


def test_output_refuses_a_path_git_does_not_ignore(repo: Path) -> None:
    result = invoke(repo, "env", "--output", str(repo / "exported.env"))
    assert_bad_input(result, "not ignored", "exported.env", ".gitignore")
    assert not (repo / "exported.env").exists()


def test_output_writes_an_ignored_path_in_the_work_tree(repo: Path) -> None:
    result = invoke(repo, "env", "--format", "docker", "--output", str(repo / ".env.export"))
    assert result.exit_code == 0, result.output
    assert _mode(repo / ".env.export") == 0o600
    assert "API_TOKEN=****" in (repo / ".env.export").read_text()


def test_output_refuses_the_projects_own_env_file(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT, {".env": "LOG_LEVEL=debug\n"})
    result = invoke(tmp_path, "env", "--output", str(tmp_path / ".env"))
    assert_bad_input(result, "an env file dbenv reads")
    assert (tmp_path / ".env").read_text() == "LOG_LEVEL=debug\n"


def test_output_that_cannot_be_written_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, PROJECT)

    def full_disk(**_: object) -> tuple[int, str]:
        raise OSError(28, "No space left on device")

    # the suite runs as root, which no directory mode stops: fail at the file system edge
    monkeypatch.setattr("dbenv.commands.env_export.tempfile.mkstemp", full_disk)
    result = invoke(tmp_path, "env", "--output", str(tmp_path / "out.env"))
    assert_bad_input(result, "could not be written (No space left on device)")
    assert not (tmp_path / "out.env").exists()


def test_output_into_a_missing_directory_is_bad_input(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    result = invoke(tmp_path, "env", "--output", str(tmp_path / "nowhere" / "x.env"))
    assert_bad_input(result, "does not exist")


# --- bad input -------------------------------------------------------------------


def test_unknown_environment_is_bad_input(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    assert_bad_input(invoke(tmp_path, "env", "developmnt"), "unknown environment 'developmnt'")
    with pytest.raises(UnknownEnvironment):
        env_export(_project(tmp_path), "nope")


def test_unknown_format_is_bad_input(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    assert_bad_input(invoke(tmp_path, "env", "--format", "yaml"), "unknown format 'yaml'")


def test_a_missing_required_variable_is_refused_as_run_refuses_it(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    assert_bad_input(invoke(tmp_path, "env", "test"), "missing required variables: CALLBACK_PORT")
    with pytest.raises(MissingVariables):
        env_export(_project(tmp_path), "test")


@pytest.mark.parametrize("name", ["NEWLINE", "CRLF"])
def test_docker_refuses_a_value_with_a_line_break(tmp_path: Path, name: str) -> None:
    write_project(tmp_path, PROJECT)
    result = invoke(tmp_path, "--set", f"{name}={HARD[name]}", "env", "--format", "docker")
    assert_bad_input(result, f"variable '{name}'", "line break")
    assert result.stdout == ""


def test_docker_refuses_a_value_wrapped_in_quotes(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    result = invoke(tmp_path, "--set", "QUOTED='whole'", "env", "--format", "docker")
    assert_bad_input(result, "variable 'QUOTED'", "begins and ends with a quote")


def test_dotenv_refuses_a_value_python_dotenv_would_expand(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    result = invoke(tmp_path, "--set", "TEMPLATE=Hi ${USER}", "env")
    assert_bad_input(result, "variable 'TEMPLATE'", "python-dotenv would expand")
    shell = invoke(tmp_path, "--set", "TEMPLATE=Hi ${USER}", "env", "--format", "shell")
    assert "export TEMPLATE='Hi ${USER}'" in shell.stdout


def test_shell_refuses_a_name_a_shell_cannot_export(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT)
    result = invoke(tmp_path, "--set", "app.name=shop", "env", "--format", "shell")
    assert_bad_input(result, "variable 'app.name'", "--format json")
    assert json.loads(invoke(tmp_path, "--set", "app.name=shop", "env", "-f", "json").stdout)[
        "app.name"
    ] == ("shop")
