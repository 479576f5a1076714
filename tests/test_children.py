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


GROUP_PARENT = """
import sys
from pathlib import Path
from dbenv.backends import children
# as npx does: the command starts a process of its own, which must die with dbenv too
command = [sys.executable, "-c",
    "import subprocess, sys, time; "
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "open(sys.argv[1], 'w').write(str(c.pid)); time.sleep(120)", sys.argv[1]]
children.run_group(command, cwd=Path.cwd(), env={}, timeout=300)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_commands_own_children_die_with_dbenv(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    parent = subprocess.Popen([sys.executable, "-c", GROUP_PARENT, str(pidfile)])
    grandchild = 0
    try:
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text()):
            assert time.monotonic() < deadline, "the command never started its child"
            time.sleep(0.02)
        grandchild = int(pidfile.read_text())
        assert _alive(grandchild)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(grandchild), "the command's child outlived dbenv"
    finally:
        if parent.poll() is None:
            parent.kill()
        if grandchild and _alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_a_command_that_cannot_start_is_told_apart(tmp_path: Path) -> None:
    from dbenv.backends.children import run_group

    done = run_group(["no-such-tool-dbenv"], cwd=tmp_path, env={"PATH": "/usr/bin"}, timeout=30)
    assert done.returncode == 127
    assert done.not_started == "no-such-tool-dbenv: No such file or directory"
    ran = run_group(
        ["sh", "-c", "echo out; echo err >&2; exit 4"], cwd=tmp_path, env={}, timeout=30
    )
    assert (ran.returncode, ran.output, ran.not_started) == (4, "out\nerr\n", None)
