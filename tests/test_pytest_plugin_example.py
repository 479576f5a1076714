"""examples/zero-conftest: a project with only dbenv.toml, models and tests runs green."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from servers import PgServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "zero-conftest"


def _drop(pg_server: PgServer, *needles: str) -> None:
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        for needle in needles:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE strpos(datname, %s) > 0", [needle]
            ).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_zero_conftest_example_passes(tmp_path: Path, pg_server: PgServer) -> None:
    project = tmp_path / "zero-conftest"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", ".dbenv"))
    assert not list(project.rglob("conftest.py"))
    database = f"zero_conftest_{uuid.uuid4().hex[:8]}_test"
    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "ENVIRONMENT")}
    env["DBENV_TEST_DATABASE_URL"] = pg_server.dsn_for(database)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "dbenv", "-q", "-p", "no:cacheprovider"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        assert "7 passed" in result.stdout
        with psycopg.connect(pg_server.dsn_for(database)) as conn:
            assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM plans").fetchone() == (2,)
    finally:
        _drop(pg_server, database, "dbenv_tpl_zero_conftest")


@pytest.mark.parametrize("path", ["dbenv.toml", "app/models.py", "tests/test_accounts.py"])
def test_the_example_has_its_parts(path: str) -> None:
    assert (EXAMPLE / path).is_file()
