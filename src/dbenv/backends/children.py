"""Child processes (pg_dump, pg_restore, psql) that never outlive dbenv.

A ``pg_restore`` left running after dbenv was killed kept writing into the
database it was restoring. On Linux each child asks the kernel for SIGKILL when
its parent dies (``PR_SET_PDEATHSIG``, set between fork and exec); a Ctrl-C or
any other exception in dbenv kills and reaps it (``subprocess.run`` does). Other
systems get the second half only.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["run"]

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
