"""No secret reaches any output or written file: every registered CLI command, every environment.

The project below holds known secret values in every form dbenv supports (an
inline URL password, an env-file password interpolated into a URL, env:/file:/cmd:
references, a secret-named variable). The commands are found by walking the Typer
app, so a command added later is covered without touching this file. Servers are
unreachable on purpose (127.0.0.1:1): commands that need one fail, and their error
output must still not leak.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from dbenv.cli import app

SECRETS = {
    "inline": "inline-pw-4411",
    "envfile": "envfile-pw-5522",
    "envref": "envref-pw-6633",
    "fileref": "fileref-pw-7744",
    "cmdref": "cmdref-pw-8855",
    "keyed": "plain-secret-9966",
}
ENVIRONMENTS = ("development", "test", "staging", "production")
# Commands that start long-lived servers run in a test of their own (below).
NOT_RUN = {("up",)}
# Arguments named like these take environment names.
ENV_ARGS = {"source", "target", "src", "dst", "a", "b", "left", "right", "base", "other"}
KEYS = ("DATABASE_URL", "TEST_DB_PASSWORD", "DB_PASSWORD", "API_TOKEN", "SECRET_KEY", "password")

PROJECT = f"""
[project]
name = "leaky"
default = "development"
secret_timeout = 5

[vars]
API_TOKEN = "cmd:echo {SECRETS["cmdref"]}"

[environments.development]
database_url = "postgresql://app:{SECRETS["inline"]}@127.0.0.1:1/leaky_dev"
redis_url = "redis://:{SECRETS["inline"]}@127.0.0.1:1"
redis_db = 0

[environments.test]
tier = "disposable"
database_url = "postgresql://app:${{TEST_DB_PASSWORD}}@127.0.0.1:1/leaky_test"
admin_url = "postgresql://postgres:${{TEST_DB_PASSWORD}}@127.0.0.1:1/postgres"
redis_url = "redis://127.0.0.1:1"
redis_db = 1

[environments.staging]
database_url = "postgresql://app:${{DB_PASSWORD}}@127.0.0.1:1/leaky_staging?sslmode=require"

[environments.staging.vars]
DB_PASSWORD = "env:STAGING_DB_PASSWORD"

[environments.production]
host = "127.0.0.1"
port = 1
database = "leaky"
user = "app"
password = "file:secrets/db_password"
"""


def _leaf_commands(
    command: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    children = getattr(command, "commands", None)
    if children:
        for name, child in sorted(children.items()):
            yield from _leaf_commands(child, (*path, name))
    else:
        yield path, command


def _argument_values(param: Any, env: str, other: str) -> list[str] | None:
    name = param.name.lower()
    if name == "command":
        return ["true"]
    if name == "key":
        return [KEYS[ENVIRONMENTS.index(env) % len(KEYS)]]
    if name in ENV_ARGS:
        return [env if name in {"source", "src", "a", "left", "base"} else other]
    if "env" in name:
        return [env] if param.nargs == 1 else [env, other]
    if param.required:
        return [env]
    return None


def invocations() -> Iterator[tuple[str, list[str]]]:
    """(id, argv) for every leaf command x environment x {plain, with its output flags}."""
    root = typer.main.get_command(app)
    for path, command in _leaf_commands(root):
        if path in NOT_RUN:
            continue
        flags = [o for p in command.params for o in p.opts if o in ("--json", "--origin")]
        for i, env in enumerate(ENVIRONMENTS):
            other = ENVIRONMENTS[(i + 1) % len(ENVIRONMENTS)]
            args: list[str] = []
            for param in command.params:
                if param.param_type_name == "argument":
                    args += _argument_values(param, env, other) or []
            tail = ["--", *args[-1:]] if path == ("run",) else []
            if tail:
                args = args[:-1]
            for extra in ([], flags) if flags else ([],):
                argv = [*path, *args, *extra, *tail]
                yield " ".join(argv), argv


@pytest.fixture
def leaky_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "leaky"
    (root / "secrets").mkdir(parents=True)
    (root / "dbenv.toml").write_text(textwrap.dedent(PROJECT))
    (root / "secrets" / "db_password").write_text(SECRETS["fileref"] + "\n")
    (root / ".env").write_text(
        f"STAGING_DB_PASSWORD={SECRETS['envref']}\nSECRET_KEY={SECRETS['keyed']}\n"
    )
    (root / ".env.test").write_text(f"TEST_DB_PASSWORD={SECRETS['envfile']}\n")
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    cwd = tmp_path / "cwd"  # commands that write into the working directory write here
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return root


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def test_the_walk_finds_the_commands() -> None:
    names = {argv[0] for _, argv in invocations()}
    assert {"init", "envs", "config", "run", "check"} <= names


def test_no_command_prints_or_writes_a_secret(leaky_project: Path) -> None:
    runner = CliRunner()
    before = {p for p in leaky_project.parent.rglob("*") if p.is_file()}
    leaked: list[str] = []
    ran = 0
    for label, argv in invocations():
        for prefix in ([], ["--debug"]) if label.startswith("config show") else ([],):
            result = runner.invoke(app, [*prefix, "--project", str(leaky_project), *argv])
            ran += 1
            text = result.stdout + result.stderr
            if result.exception and not isinstance(result.exception, SystemExit):
                text += repr(result.exception)
            found = _leaks(text)
            if found:
                leaked.append(f"dbenv {' '.join(prefix + argv)}: {found}")
    assert ran >= 40
    assert leaked == [], "\n".join(leaked)
    written = [p for p in leaky_project.parent.rglob("*") if p.is_file() and p not in before]
    offenders = [
        f"{p}: {_leaks(p.read_text(errors='replace'))}"
        for p in written
        if _leaks(p.read_text(errors="replace"))
    ]
    assert offenders == []


def test_run_reveals_secrets_only_to_the_child(leaky_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "child.txt"
    code = (
        f"import os; open({str(out)!r}, 'w').write(os.environ['DATABASE_URL'] + ' ' "
        "+ os.environ['API_TOKEN'])"
    )
    result = CliRunner().invoke(
        app,
        ["--project", str(leaky_project), "run", "test", "--", sys.executable, "-c", code],
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert result.exit_code == 0, result.output
    assert SECRETS["envfile"] in out.read_text() and SECRETS["cmdref"] in out.read_text()
    assert _leaks(result.output) == []


def test_variable_read_by_an_env_reference_is_masked(leaky_project: Path) -> None:
    toml = (leaky_project / "dbenv.toml").read_text()
    (leaky_project / "dbenv.toml").write_text(
        toml.replace("env:STAGING_DB_PASSWORD", "env:STAGING_PW")
    )
    (leaky_project / ".env").write_text(f"STAGING_PW={SECRETS['envref']}\n")
    result = CliRunner().invoke(app, ["--project", str(leaky_project), "config", "show", "staging"])
    assert result.exit_code == 0, result.output
    assert _leaks(result.output) == []


def test_up_and_down_print_no_secret(leaky_project: Path) -> None:
    """`up` (walked past above: it starts servers) on the same secrets, plus a local
    environment it provisions; then `down --purge` leaves nothing running."""
    import shutil
    import tempfile

    data = Path(tempfile.mkdtemp(prefix="dbenv-leak-"))  # the server's user must reach it
    data.chmod(0o755)
    with (leaky_project / "dbenv.toml").open("a") as toml:
        toml.write(
            f'\n[local]\ndata_dir = "{data / "stack"}"\n'
            '[environments.local]\nserver = "local"\ntier = "disposable"\n'
            f'[environments.local.vars]\nAPI_SECRET = "{SECRETS["inline"]}"\n'
        )
    runner = CliRunner()
    base = ["--project", str(leaky_project)]
    up = runner.invoke(app, [*base, "up", "--no-redis"])
    try:
        assert up.exit_code == 0, up.output
        again = runner.invoke(app, [*base, "up", "--json"])
        assert again.exit_code == 0, again.output
        texts = up.stdout + up.stderr + again.stdout + again.stderr
        assert "leaky_local" in texts and _leaks(texts) == []
    finally:
        down = runner.invoke(app, [*base, "down", "--purge"])
        shutil.rmtree(data, ignore_errors=True)
    assert down.exit_code == 0, down.output
    assert _leaks(down.stdout + down.stderr) == []
