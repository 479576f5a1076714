"""examples/zero-conftest: a project with only dbenv.toml, models and tests runs green.

It runs as a user runs it, where it stands in this repository: ``python -m pytest``
in the project's directory (and from the repository's root, naming it), the
plugin loaded by the installed ``pytest11`` entry point (no ``-p dbenv``). The
example's own ``pytest.ini`` keeps this repository's settings (whose addopts say
``-p no:dbenv``) out, as a user's project has its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from servers import PgServer

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "zero-conftest"


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


def _run_pytest(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # no cache directory and no bytecode: the run leaves the example as it is
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_example_passes_where_it_stands_with_the_plugin_loaded_by_its_entry_point(
    pg_server: PgServer,
) -> None:
    assert not list(EXAMPLE.rglob("conftest.py"))
    database = f"zero_conftest_{uuid.uuid4().hex[:8]}_test"
    env = _user_environment(pg_server.dsn_for(database))
    before = sorted(p.relative_to(EXAMPLE) for p in EXAMPLE.rglob("*"))
    # in its directory, and from the repository's root naming it (one test: the two
    # runs share the example's template, which the cleanup drops)
    runs = [(EXAMPLE, ()), (REPO, ("examples/zero-conftest",))]
    try:
        for cwd, args in runs:
            result = _run_pytest(cwd, env, *args)
            assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
            assert "7 passed" in result.stdout
            # the example's own settings, not the repository's (-p no:dbenv)
            assert f"rootdir: {EXAMPLE}" in result.stdout
            assert "configfile: pytest.ini" in result.stdout
            # pytest lists the distributions of the plugins it loaded through entry points
            plugins = [line for line in result.stdout.splitlines() if line.startswith("plugins:")]
            assert plugins and "dbenv-" in plugins[0], result.stdout
            with psycopg.connect(pg_server.dsn_for(database)) as conn:
                assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
                assert conn.execute("SELECT count(*) FROM plans").fetchone() == (2,)
        assert sorted(p.relative_to(EXAMPLE) for p in EXAMPLE.rglob("*")) == before

        # the control: the same run without entry points has no dbenv fixtures
        without = _run_pytest(EXAMPLE, {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        assert without.returncode != 0
        assert "fixture 'sa_session' not found" in without.stdout
    finally:
        _drop(pg_server, database, "dbenv_tpl_zero_conftest")


@pytest.mark.parametrize(
    "path", ["dbenv.toml", "pytest.ini", "app/models.py", "tests/test_accounts.py"]
)
def test_the_example_has_its_parts(path: str) -> None:
    assert (EXAMPLE / path).is_file()
