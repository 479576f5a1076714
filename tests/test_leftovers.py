"""What a killed dbenv leaves is shown by status and dropped by the next run.

A swap copy (``<db>_dbenv_new``) and a scratch database of a killed diff are made
by hand, as a kill would leave them: ``dbenv status`` lists both under the
environment; the next reset drops the copy, the next diff the scratch database —
but not one a running diff still holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from typer.testing import CliRunner

from dbenv.backends.postgres import lock_key
from dbenv.cli import app
from dbenv.lifecycle.reset import reset
from dbenv.sources.scratch import scratch_database
from dbenv.status.report import status
from reset_support import drop_project_databases, make_project


def _exists(admin_dsn: str, name: str) -> bool:
    with psycopg.connect(admin_dsn) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def test_status_lists_leftovers_and_the_next_run_drops_them(tmp_path: Path, pg_server: Any) -> None:
    project, database, _ = make_project(tmp_path, pg_server)
    copy, scratch = f"{database}_dbenv_new", "dbenv_diff_scratch_0123456789ab"
    try:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            for name in (copy, scratch):
                conn.execute(f'CREATE DATABASE "{name}"'.encode())
        (row,) = status(project, names=["test"]).environments
        assert copy in row.leftovers and scratch in row.leftovers
        shown = CliRunner().invoke(app, ["--project", str(tmp_path), "status", "test"])
        assert "left by an interrupted dbenv" in shown.stdout and copy in shown.stdout

        reset(project, project.environment("test"))
        assert not _exists(pg_server.dsn, copy)

        with psycopg.connect(pg_server.dsn, autocommit=True) as holder:
            held = "dbenv_diff_scratch_ba9876543210"
            holder.execute(f'CREATE DATABASE "{held}"'.encode())
            holder.execute("SELECT pg_advisory_lock(%s)", [lock_key(held)])  # a running diff
            try:
                with scratch_database(pg_server.dsn) as url:
                    assert "dbenv_diff_scratch_" in url
                assert not _exists(pg_server.dsn, scratch)
                assert _exists(pg_server.dsn, held)
                (row,) = status(project, names=["test"]).environments
                assert held not in row.leftovers and scratch not in row.leftovers
            finally:
                holder.execute(f'DROP DATABASE IF EXISTS "{held}" WITH (FORCE)'.encode())
    finally:
        drop_project_databases(pg_server.dsn, project, database, copy, scratch)
