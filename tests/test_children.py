"""pg_dump/pg_restore never outlive dbenv: a child tool dies when dbenv is killed.

A process runs ``dbenv.backends.children.run`` (how dbenv starts pg_dump and pg_restore)
on a long-running child and is killed with SIGKILL; the child must be gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PARENT = """
import sys
from dbenv import children
children.run(["sleep", "120"])
"""


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] not in ("Z", "X")  # a zombie is dead, waiting to be reaped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_tool_dies_with_dbenv() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        children_file = Path(f"/proc/{parent.pid}/task/{parent.pid}/children")
        deadline = time.monotonic() + 30
        pids: list[int] = []
        while not pids:
            assert time.monotonic() < deadline, "the child tool never started"
            pids = [int(p) for p in children_file.read_text().split()]
            time.sleep(0.02)
        (child,) = pids
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(child), "the child tool outlived dbenv"
    finally:
        if parent.poll() is None:
            parent.kill()
