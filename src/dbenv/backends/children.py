"""Child processes (pg_dump, pg_restore, psql, cmd: schema sources) that never outlive dbenv.

A ``pg_restore`` left running after dbenv was killed kept writing into the
database it was restoring. On Linux each child asks the kernel for SIGKILL when
its parent dies (``PR_SET_PDEATHSIG``, set between fork and exec); a Ctrl-C or
any other exception in dbenv kills and reaps it (``subprocess.run`` does). Other
systems get the second half only.

``run_group`` runs a command that starts processes of its own (``npx`` starts a
shell that starts node) in a process group led by a small interpreter, so a
timeout, an exception or dbenv's death kills all of them, not only the first.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbenv.errors import BinariesNotFound

__all__ = ["GroupResult", "binary", "run", "run_group"]

_PR_SET_PDEATHSIG = 1


@functools.cache
def _death_signal() -> Callable[[], None] | None:
    """The function a child runs before exec, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    kill, parent = int(signal.SIGKILL), os.getpid()

    # resolved here, in the parent: between fork and exec the child only calls it
    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # dbenv died before the request took effect
            os._exit(1)

    return set_death_signal


def run(args: Sequence[str], **options: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` whose child is killed when dbenv dies."""
    return subprocess.run(args, preexec_fn=_death_signal(), **options)


# -- a command and everything it starts, as one group -------------------------------------

NOT_STARTED = "dbenv-group: cannot start: "
# The group's leader: a small interpreter between dbenv and the command. The command's own
# children (npx -> sh -> node) are not dbenv's, so PR_SET_PDEATHSIG alone would leave them
# running when dbenv is killed; the leader asks for SIGTERM when dbenv dies and answers it
# by killing its whole process group, the command's descendants included.
_LEADER = """
import ctypes, os, signal, subprocess, sys
def stop(*_):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, stop)
if sys.platform.startswith("linux"):
    try:
        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
if os.getppid() != int(sys.argv[1]):
    stop()
try:
    child = subprocess.Popen(sys.argv[3:])
except OSError as exc:
    sys.stderr.write("%s%s: %s\\n" % (sys.argv[2], sys.argv[3], exc.strerror or exc))
    sys.exit(127)
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass(frozen=True)
class GroupResult:
    """How a command run by ``run_group`` ended: its exit status and its output."""

    returncode: int
    output: str  # stdout and stderr, interleaved as written (until killed, on a timeout)
    not_started: str | None = None  # why the command could not be started
    timed_out: bool = False  # killed, with its group, after the timeout


def run_group(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> GroupResult:
    """Run ``args`` in a process group of its own; kill the whole group after ``timeout``
    seconds (``timed_out``), on any exception in dbenv, or when dbenv dies."""
    leader = [sys.executable, "-I", "-c", _LEADER, str(os.getpid()), NOT_STARTED, *args]
    with subprocess.Popen(
        leader,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as process:
        try:
            raw, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            said = _kill_group(process)
            return GroupResult(-signal.SIGKILL, said.decode(errors="replace"), timed_out=True)
        except BaseException:
            _kill_group(process)
            raise
    output = raw.decode("utf-8", errors="replace")
    if process.returncode == 127 and NOT_STARTED in output:
        why = output.rpartition(NOT_STARTED)[2].strip()
        return GroupResult(127, output, not_started=why)
    return GroupResult(process.returncode, output)


def _kill_group(process: subprocess.Popen[bytes]) -> bytes:
    """SIGKILL the process group led by ``process``, reap the leader; what it had written."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        # communicate() keeps what it read before the timeout and returns all of it
        return process.communicate(timeout=5)[0] or b""
    except subprocess.TimeoutExpired:  # a descendant that left the group holds the pipe
        return b""


def binary(name: str) -> str:
    """The path of a PostgreSQL client tool (pg_dump, pg_restore) on PATH."""
    found = shutil.which(name)
    if found is None:
        raise BinariesNotFound(
            f"{name} was not found on PATH.",
            hint="Install the PostgreSQL client (apt-get install postgresql-client).",
        )
    return found
