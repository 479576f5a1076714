"""Test-only pause points, so the crash tests kill dbenv at a moment they choose.

Inert unless ``DBENV_TEST_PAUSE_AT=<phase>=<path>`` is set (tests/test_crash_matrix.py
sets it; nothing else should). When an operation reaches ``<phase>`` it writes its
pid to ``<path>.reached`` and waits until ``<path>.go`` exists, so the test can send
SIGKILL or SIGINT while it waits. The phases are listed in docs/reliability.md.

The one place outside ``dbenv.config`` that reads the process environment: a
test hook must work in the real CLI, with no configuration to carry it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["reached"]

VARIABLE = "DBENV_TEST_PAUSE_AT"


def reached(phase: str) -> None:
    """Pause here when the tests asked for ``phase``; otherwise do nothing."""
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    name, _, path = wanted.partition("=")
    if name != phase or not path:
        return
    Path(path + ".reached").write_text(str(os.getpid()), encoding="utf-8")
    go = Path(path + ".go")
    while not go.exists():
        time.sleep(0.02)
