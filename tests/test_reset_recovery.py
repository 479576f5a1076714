"""A reset killed with SIGKILL at its worst moments leaves a database the next reset fixes.

The child process kills itself (``os.kill(getpid(), SIGKILL)``) from inside the
reset: halfway through building the template, and after the fresh copy exists but
before it is swapped in. The parent then checks the target is still there and
stamped, and that a second reset recovers and cleans the leftovers up.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.lifecycle.reset import reset
from dbenv.safety.stamp import stamp_state
from reset_support import drop_project_databases, make_project, tables_in

CHILD = """
import os, signal, sys
from dbenv.config import load_project
import dbenv.safety.guard, dbenv.lifecycle.reset, dbenv.lifecycle.template

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

where = sys.argv[2]
if where == "build":
    def half_build(project, env, source, conn, **kwargs):
        conn.execute("CREATE TABLE half_built (id int)")
        die()
    dbenv.lifecycle.template.build = half_build
else:
    dbenv.safety.guard.Guarded.prepare_copy = die
project = load_project(project=sys.argv[1], process_env={})
dbenv.lifecycle.reset.reset(project, project.environment("test"))
"""


def leftovers(admin_dsn: str, database: str, project: str) -> list[str]:
    """Half-built templates or swap copies still there (the old copy drops in the
    background: give it a few seconds)."""
    found: list[str] = []
    for _ in range(50):
        with psycopg.connect(admin_dsn) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        found = [
            n
            for n in names
            if n.endswith(("_build", "_dbenv_new", "_dbenv_old"))
            and (n.startswith(database[:40]) or project in n)
        ]
        if not found:
            break
        time.sleep(0.2)
    return found


@pytest.mark.parametrize("where", ["build", "swap"])
def test_reset_recovers_after_kill_9(tmp_path: Path, pg_server: Any, where: str) -> None:
    project, database, dsn = make_project(tmp_path, pg_server)
    try:
        env = project.environment("test")
        if where == "swap":
            reset(project, env)  # the template exists; the kill hits the clone
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS survivor (id int)")
        script = tmp_path / "child.py"
        script.write_text(textwrap.dedent(CHILD))
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path), where], capture_output=True, timeout=60
        )
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()
        assert "survivor" in tables_in(dsn)  # killed before the swap: untouched
        with psycopg.connect(dsn) as conn:
            assert stamp_state(conn, project.name, env) == "ok"
        result = reset(project, env)
        assert tables_in(dsn) == ["provider_tokens", "providers", "users"]
        assert result.tables
        assert not leftovers(pg_server.dsn, database, project.name)
    finally:
        drop_project_databases(pg_server.dsn, project, database)
