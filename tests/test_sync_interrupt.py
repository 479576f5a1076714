"""An interrupted sync leaves the target as it was: kill -9 mid-copy, or a lost connection.

The sync runs in a child process whose progress callback stops it inside the copy
(after the target's tables were emptied in the open transaction); the parent
kills it with SIGKILL, or terminates its target connection from the server side.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbenv.commands import sync as commands
from dbenv.errors import DbenvError
from sync_support import SALT, Scenario, make_scenario, query, table_state

# A child that hangs says where: SIGUSR1 prints every thread's stack (_communicate).
STACKS = """
import faulthandler, signal
faulthandler.register(signal.SIGUSR1, all_threads=True)
"""

CHILD = (
    STACKS
    + """
import sys, time
from pathlib import Path
from dbenv.config import load_project
from dbenv.commands import sync

root, marker = Path(sys.argv[1]), Path(sys.argv[2])
project = load_project(project=root, process_env={"DBENV_MASK_SALT": sys.argv[3]})

def progress(event):
    if event.phase == "start" and event.table == "public.prompts":
        marker.write_text("copying")
        for _ in range(1200):  # short sleeps: a signal caught on another thread is seen
            time.sleep(0.1)

sync.sync(project, project.environment("production"), project.environment("test"),
          progress=progress)
"""
)


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def _start_child(scenario: Scenario, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    marker = tmp_path / "marker"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), str(scenario.root), str(marker), SALT],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, "the sync child exited before reaching the copy"
        assert time.monotonic() < deadline, "the sync child never reached the copy"
        time.sleep(0.05)
    return child, marker


def _communicate(child: subprocess.Popen[bytes], *, timeout: float) -> bytes:
    """The child's stderr once it exits; if it does not, its threads' stacks, then fail."""
    try:
        return child.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGUSR1)
        time.sleep(1)
        child.kill()
        stacks = child.communicate(timeout=10)[1].decode()
        raise AssertionError(f"the child did not exit within {timeout} s:\n{stacks}") from None


def _truncated_in_open_transaction(dsn: str) -> bool:
    rows = query(
        dsn,
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname = 'prompts' AND l.mode = 'AccessExclusiveLock' AND l.granted",
    )
    return rows[0][0] > 0


def test_kill_9_mid_copy_leaves_target_unchanged(scenario: Scenario, tmp_path: Path) -> None:
    before = table_state(scenario.test)
    child, _ = _start_child(scenario, tmp_path)
    try:
        assert _truncated_in_open_transaction(scenario.test)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    deadline = time.monotonic() + 20
    while _truncated_in_open_transaction(scenario.test) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert table_state(scenario.test) == before
    # the lock went with the killed session: the next sync runs
    project = scenario.project()
    result = commands.sync(project, project.environment("production"), project.environment("test"))
    assert next(t for t in result.tables if t.table == "public.prompts").rows == 200


def test_lost_connection_mid_copy_leaves_target_unchanged(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    project = scenario.project()

    def progress(event: commands.SyncEvent) -> None:
        if event.phase == "start" and event.table == "public.prompts":
            query(
                scenario.admin_dsn,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND application_name LIKE 'dbenv:%%:sync'",
                (scenario.names[1],),
            )

    with pytest.raises(DbenvError) as caught:
        commands.sync(
            project,
            project.environment("production"),
            project.environment("test"),
            progress=progress,
        )
    assert caught.value.exit_code == 1
    assert "left as they were" in str(caught.value), str(caught.value)
    assert table_state(scenario.test) == before


CLI_CHILD = (
    STACKS
    + """
import sys, time
from pathlib import Path
from dbenv.cli import app
from dbenv.cli import sync as cli_sync

root, marker = Path(sys.argv[1]), Path(sys.argv[2])
shown = cli_sync._Bars.__call__

def pausing(self, event):
    shown(self, event)
    if event.phase == "start" and event.table == "public.prompts":
        marker.write_text("copying")
        for _ in range(1200):  # short sleeps: a signal caught on another thread is seen
            time.sleep(0.1)

cli_sync._Bars.__call__ = pausing
app(["--project", str(root), "sync", "production", "test"], prog_name="dbenv")
"""
)


def test_ctrl_c_mid_copy_exits_cleanly_and_leaves_target_unchanged(
    scenario: Scenario, tmp_path: Path
) -> None:
    before = table_state(scenario.test)
    marker, script = tmp_path / "marker", tmp_path / "cli_child.py"
    script.write_text(CLI_CHILD, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), str(scenario.root), str(marker)],
        env={**os.environ, "DBENV_MASK_SALT": SALT, "PYTHONPATH": str(Path(__file__).parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.communicate()[1].decode()
            assert time.monotonic() < deadline, "the dbenv sync child never reached the copy"
            time.sleep(0.05)
        assert _truncated_in_open_transaction(scenario.test)
        child.send_signal(signal.SIGINT)
        stderr = _communicate(child, timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    text = stderr.decode()
    assert child.returncode == 130, text
    assert "dbenv: interrupted." in text
    assert "Traceback" not in text and SALT not in text
    # rolled back by the client itself: no lock is left behind for the server to reap
    assert not _truncated_in_open_transaction(scenario.test)
    assert table_state(scenario.test) == before
    project = scenario.project()
    result = commands.sync(project, project.environment("production"), project.environment("test"))
    assert next(t for t in result.tables if t.table == "public.prompts").rows == 200
