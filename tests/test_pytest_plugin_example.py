"""examples/zero-conftest: a project with only dbenv.toml, models and tests runs green.

It runs as a user runs it: ``python -m pytest`` in the project's directory, the
plugin loaded by the installed ``pytest11`` entry point (no ``-p dbenv``), and
none of this repository's pytest settings (its addopts say ``-p no:dbenv``).
"""

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
PYTEST_FILES = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", "conftest.py")


def _drop(pg_server: PgServer, *needles: str) -> None:
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        for needle in needles:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE strpos(datname, %s) > 0", [needle]
            ).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _user_environment(database_url: str) -> dict[str, str]:
    """This process's environment without what pytest, xdist or dbenv put in it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DBENV_")) and k not in ("APP_ENV", "ENVIRONMENT")
    }
    env["DBENV_TEST_DATABASE_URL"] = database_url
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run_pytest(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_example_passes_with_the_plugin_loaded_by_its_entry_point(
    tmp_path: Path, pg_server: PgServer
) -> None:
    project = tmp_path / "zero-conftest"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", ".dbenv"))
    assert not list(project.rglob("conftest.py"))
    # no pytest configuration from here up to / (the repository's would load -p no:dbenv)
    assert not [
        p / f for p in (project, *project.parents) for f in PYTEST_FILES if (p / f).exists()
    ]
    database = f"zero_conftest_{uuid.uuid4().hex[:8]}_test"
    env = _user_environment(pg_server.dsn_for(database))
    try:
        result = _run_pytest(project, env)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        assert "7 passed" in result.stdout
        # pytest lists the distributions of the plugins it loaded through entry points
        plugins = [line for line in result.stdout.splitlines() if line.startswith("plugins:")]
        assert plugins and "dbenv-" in plugins[0], result.stdout
        with psycopg.connect(pg_server.dsn_for(database)) as conn:
            assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM plans").fetchone() == (2,)

        # the control: the same run without entry points has no dbenv fixtures
        without = _run_pytest(project, {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        assert without.returncode != 0
        assert "fixture 'sa_session' not found" in without.stdout
    finally:
        _drop(pg_server, database, "dbenv_tpl_zero_conftest")


@pytest.mark.parametrize("path", ["dbenv.toml", "app/models.py", "tests/test_accounts.py"])
def test_the_example_has_its_parts(path: str) -> None:
    assert (EXAMPLE / path).is_file()
