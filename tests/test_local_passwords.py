"""Local roles an app can log in as: the local stack's TCP asks for a password (scram).

`dbenv up` gives each local role its password (configured, or generated once into
.dbenv/passwords/, 0600) and `dbenv run` exports URLs over TCP that log in, with
psycopg and with asyncpg; the password is never printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.config import load_project
from dbenv.config.exports import exported
from dbenv.config.local_password import ensure_password
from dbenv.errors import ConfigError
from dbenv.stack.local import LocalStack

PROJECT = """\
[project]
name = "pw"

[local]
redis = false

[export]
POSTGRES_SERVER = "host"
POSTGRES_PORT = "port"
POSTGRES_USER = "user"
POSTGRES_PASSWORD = "password"
POSTGRES_DB = "database"

[environments.development]
server = "local"

[environments.test]
server = "local"
tier = "disposable"
password = "env:PW_TEST_DB_PASSWORD"

[environments.test.export]
DATABASE_URL = "url+asyncpg"
"""
CONFIGURED = "configured-pw-7f3e"


@pytest.fixture(scope="module")
def stack_root() -> Iterator[Path]:
    """One project with a running local stack (scram on TCP) for the module."""
    base = Path(tempfile.mkdtemp(prefix="dbenv-pw-test-"))
    base.chmod(0o755)
    root = base / "app"
    root.mkdir()
    root.chmod(0o755)
    (root / "dbenv.toml").write_text(PROJECT)
    os.environ["PW_TEST_DB_PASSWORD"] = CONFIGURED
    try:
        result = invoke(root, "up", "--no-redis")
        assert result.exit_code == 0, result.output
        assert CONFIGURED not in result.output
        yield root
    finally:
        LocalStack(root / ".dbenv").stop()
        os.environ.pop("PW_TEST_DB_PASSWORD", None)
        shutil.rmtree(base, ignore_errors=True)


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def exports_of(root: Path, name: str) -> dict[str, str]:
    project = load_project(project=root, process_env={"PW_TEST_DB_PASSWORD": CONFIGURED})
    return exported(project.environment(name))


def test_a_generated_password_is_kept_0600_and_logs_in_over_tcp(stack_root: Path) -> None:
    kept = stack_root / ".dbenv" / "passwords" / "pw_development"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert kept.parent.stat().st_mode & 0o777 == 0o700
    values = exports_of(stack_root, "development")
    url = values["DATABASE_URL"]
    assert url.startswith("postgresql://pw_development:") and "@127.0.0.1:" in url
    assert kept.read_text().strip() in url
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user, inet_client_addr() IS NOT NULL").fetchone() == (
            "pw_development",
            True,  # over TCP, not the trusted socket
        )
    parts = "host={POSTGRES_SERVER} port={POSTGRES_PORT} user={POSTGRES_USER} "
    parts += "password={POSTGRES_PASSWORD} dbname={POSTGRES_DB}"
    with psycopg.connect(parts.format(**values), connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("pw_development",)


def test_a_configured_password_is_used_not_ignored(stack_root: Path) -> None:
    values = exports_of(stack_root, "test")
    assert values["POSTGRES_PASSWORD"] == CONFIGURED
    assert values["DATABASE_URL"].startswith("postgresql+asyncpg://pw_test:")
    assert not (stack_root / ".dbenv" / "passwords" / "pw_test").exists()
    import asyncpg

    async def who() -> str:
        plain = values["DATABASE_URL"].replace("+asyncpg", "")
        conn = await asyncpg.connect(plain, timeout=5)
        try:
            return str(await conn.fetchval("SELECT current_user"))
        finally:
            await conn.close()

    assert asyncio.run(who()) == "pw_test"


def test_a_wrong_password_is_refused_over_tcp(stack_root: Path) -> None:
    values = exports_of(stack_root, "test")
    wrong = values["DATABASE_URL"].replace(CONFIGURED, "not-the-password")
    wrong = wrong.replace("+asyncpg", "")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


def test_run_gives_the_child_a_url_that_logs_in_and_never_prints_it(stack_root: Path) -> None:
    out = stack_root / "who.txt"
    code = (
        "import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL'], connect_timeout=5);"
        f" open({str(out)!r}, 'w').write(c.execute('SELECT current_user').fetchone()[0])"
    )
    result = invoke(stack_root, "run", "development", "--", sys.executable, "-c", code)
    assert result.exit_code == 0, result.output
    assert out.read_text() == "pw_development"
    secret = (stack_root / ".dbenv" / "passwords" / "pw_development").read_text().strip()
    for args in (("config", "show", "development", "--origin"), ("envs",), ("status",)):
        shown = invoke(stack_root, *args)
        assert secret not in shown.output, args
    show = json.loads(
        invoke(stack_root, "config", "show", "development", "--origin", "--json").stdout
    )
    password = show["settings"]["password"]
    assert password["value"] == "****"  # the origin names the file, not the value
    assert password["origin"] == ".dbenv/passwords/pw_development"


def test_a_password_dir_that_cannot_be_written_is_one_sentence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "passwords").write_text("not a directory")
    with pytest.raises(ConfigError, match="could not keep the local role password"):
        ensure_password(data, "app_test")


def test_concurrent_first_reads_agree(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(lambda _: ensure_password(tmp_path, "r"), range(16)))
    assert len(seen) == 1
    assert [p.name for p in (tmp_path / "passwords").iterdir()] == ["r"]
