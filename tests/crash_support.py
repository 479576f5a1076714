"""The crash tests' scenario, child process and state checks (tests/test_crash_matrix.py).

``CrashSite`` is seed 002's contentgen scenario under a project name of its own (so
its template is its own), with a schema source, a seed file, a dump and a
difference for ``diff`` to apply. ``Paused`` runs one real ``dbenv`` command in a
child process stopped at a pause point (``DBENV_TEST_PAUSE_AT``). ``state`` is
what old-or-new is judged by: per table, its columns and a checksum of its rows,
read in one snapshot.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from lifecycle_support import stamp_as
from sync_support import PROFILE, SALT, SCHEMA, Scenario, make_scenario, query

TABLES = (
    "clients",
    "projects",
    "object_models",
    "prompts",
    "llm_usage",
    "project_acme.documents",
)

SEED = """{"prompts": [{"id": 1, "object_model_id": 1, "name": "seeded", "template": "t"},
                       {"id": 1000, "object_model_id": 1, "name": "new", "template": "t"}]}"""

# the real CLI, plus every thread's stack on SIGUSR1 (Paused.dump_stacks) so a child
# that hangs explains itself in the test's output
CHILD = """
import faulthandler, signal, sys
faulthandler.register(signal.SIGUSR1, all_threads=True)
sys.argv[0] = "dbenv"
from dbenv.cli import main
main()
"""

# verb -> its command line (after `dbenv --project ROOT`)
COMMANDS = {
    "reset": ["reset", "test"],
    "reset-data": ["reset", "test", "--data-only"],
    "seed": ["seed", "test", "seed.json"],
    "sync": ["sync", "production", "test"],
    "restore": ["restore", "test.dump", "test"],
    "clone": ["clone", "production", "test", "--method", "logical", "--no-mask"],
    "diff-apply": ["diff", "production", "test", "--apply"],
}


@dataclass
class CrashSite:
    scenario: Scenario
    project: str
    admin_dsn: str

    @property
    def root(self) -> Path:
        return self.scenario.root

    @property
    def test(self) -> str:
        return self.scenario.test

    @property
    def database(self) -> str:
        return self.scenario.names[1]

    def command(self, verb: str) -> list[str]:
        args = COMMANDS[verb]
        if verb == "clone":
            args = [*args, f"--i-mean-it={self.database}"]
        return [sys.executable, "-c", CHILD, "--project", str(self.root), *args]

    def drop_templates(self) -> None:
        from dbenv.lifecycle.template import template_name

        stem = template_name(self.project, "")
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE left(datname, %s) = %s", [len(stem), stem]
            ).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)'.encode())

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "DBENV_MASK_SALT": SALT, **extra}

    def run(self, verb: str) -> subprocess.CompletedProcess[str]:
        return self.run_args(self.command(verb)[3:])

    def run_args(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", CHILD, *args]
            if args[0] == "--project"
            else [sys.executable, "-c", CHILD, "--project", str(self.root), *args],
            env=self.env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
        )


def crash_site(pg_server: Any, root: Path) -> Iterator[CrashSite]:
    for scenario in make_scenario(pg_server.dsn_for, pg_server.dsn, root):
        name = f"crash{uuid.uuid4().hex[:8]}"
        (root / "schema.sql").write_text(SCHEMA, encoding="utf-8")
        (root / "seed.json").write_text(SEED, encoding="utf-8")
        (root / "dbenv.toml").write_text(
            f"""[project]
name = "{name}"
lock_timeout = 20

[environments.production]
tier = "protected"
database_url = "{scenario.production}"

[environments.test]
tier = "disposable"
database_url = "{scenario.test}"
schema_source = "sql:schema.sql"
{PROFILE}""",
            encoding="utf-8",
        )
        stamp_as(scenario.test, name, "test")
        site = CrashSite(scenario, name, pg_server.dsn)
        with psycopg.connect(scenario.production, autocommit=True) as conn:
            conn.execute("ALTER TABLE prompts ADD COLUMN extra int")  # what diff applies
        try:
            yield site
        finally:
            _drop_project(pg_server.dsn, name, scenario.names[1])


def _drop_project(admin_dsn: str, project: str, database: str) -> None:
    from dbenv.lifecycle.swap import aside_names
    from dbenv.lifecycle.template import template_name

    stem = template_name(project, "")
    try:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE left(datname, %s) = %s OR datname = ANY(%s)",
                [len(stem), stem, list(aside_names(database))],
            ).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    except psycopg.Error:
        pass


def state(dsn: str) -> dict[str, tuple[str, str]]:
    """Per table: (its columns, a checksum of its rows), from one snapshot."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        # the locks before the snapshot: a snapshot older than a commit that
        # truncated or altered a table would see it empty or mismatched (TRUNCATE
        # and ALTER are not MVCC-safe), which is PostgreSQL's doing, not dbenv's
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS SHARE MODE".encode())
        found = {}
        for table in TABLES:
            columns = conn.execute(
                "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchone()
            rows = conn.execute(
                f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"  # type: ignore[arg-type]
                f" FROM {table} t"
            ).fetchone()
            assert columns is not None and rows is not None
            found[table] = (str(columns[0]), str(rows[0]))
        conn.execute("COMMIT")
    return found


def sessions_gone(site: CrashSite, timeout: float = 20) -> None:
    """Wait until no session of the killed dbenv is left on the server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(
            site.admin_dsn,
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND (application_name LIKE %s OR application_name LIKE 'dbenv:clone%%'"
            " OR application_name LIKE 'dbenv:sync%%' OR application_name = 'dbenv diff'"
            " OR application_name IN ('pg_restore', 'pg_dump'))",
            (f"dbenv:{site.project}:%",),
        )
        if rows[0][0] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the killed dbenv's sessions are still on the server")


def leftovers(site: CrashSite, timeout: float = 10) -> tuple[str, ...]:
    """What ``dbenv status`` would list as left behind (the old copy drops in the background)."""
    from dbenv.lifecycle.leftovers import leftovers as listed

    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(site.admin_dsn, autocommit=True) as conn:
            found = listed(conn, site.database, site.project)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


class Paused:
    """A ``dbenv`` child stopped at ``phase`` until it is signalled or released."""

    def __init__(self, site: CrashSite, verb: str, phase: str, marker: Path) -> None:
        self.marker = marker
        self.child = subprocess.Popen(
            site.command(verb),
            env=site.env(DBENV_TEST_PAUSE_AT=f"{phase}={marker}"),
            cwd=site.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 90
        reached = Path(f"{marker}.reached")
        while not reached.exists():
            if self.child.poll() is not None:
                _, err = self.child.communicate()
                raise AssertionError(f"dbenv ended before {phase}: {err.decode()}")
            if time.monotonic() > deadline:
                self.dump_stacks()
                _, err = self.child.communicate(timeout=10)
                raise AssertionError(f"dbenv never reached {phase}:\n{err.decode()}")
            time.sleep(0.02)

    def release(self) -> None:
        Path(f"{self.marker}.go").write_text("go", encoding="utf-8")

    def finish(self, sig: int | None = None, timeout: float = 60) -> tuple[int, str]:
        """Send ``sig`` (or nothing), wait for the exit; returns (code, stderr)."""
        if sig is not None:
            self.child.send_signal(sig)
        try:
            _, err = self.child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.dump_stacks()
            _, err = self.child.communicate(timeout=10)
            raise AssertionError(
                f"dbenv did not exit within {timeout} s:\n{err.decode()}"
            ) from None
        finally:
            if self.child.poll() is None:
                self.child.kill()
        return self.child.returncode, err.decode()

    def dump_stacks(self) -> None:
        """Have the child print every thread's stack (dbenv registers SIGUSR1 for it)."""
        if self.child.poll() is None:
            os.kill(self.child.pid, signal.SIGUSR1)
            time.sleep(1)
            self.child.kill()


__all__ = ["CrashSite", "Paused", "crash_site", "leftovers", "sessions_gone", "state"]
