"""``dbenv scan --history``: credentials in every commit's added lines (gitleaks-style).

A password deleted from the working tree is still in git's history, on every
clone. This reads ``git log --all -p -U0`` as a stream, scans the lines each commit
added (with the same rules as the file scan), and reports each credential once,
with the oldest commit that added it. It stops at a time budget and says how far it
got; progress goes to a callback (the CLI draws it), never to stdout.

A docs file's change is scanned without the rest of the file, so a secret-like
assignment there counts only inside a code fence the change itself contains; URLs
with passwords count everywhere, as in the file scan.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from dbenv.doctor.scan import Leak, git, git_root
from dbenv.doctor.scan_rules import scan_lines
from dbenv.errors import UsageError

__all__ = ["HistoryResult", "scan_history"]

Progress = Callable[[int, int], None]
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class HistoryResult:
    """Leaks found in history, and how many of the commits were read in the budget."""

    leaks: tuple[Leak, ...]
    commits_scanned: int
    commits_total: int
    stopped_early: bool = False


@dataclass
class _Hunk:
    commit: str
    path: PurePath
    first: int
    lines: list[str]


class _Collector:
    """Each credential once, keyed by file and masked line: the oldest commit wins."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str], Leak] = {}

    def add(self, hunk: _Hunk) -> None:
        if not hunk.lines:
            return
        for hit in scan_lines("\n".join(hunk.lines), hunk.path):
            shifted = replace(hit, line=hunk.first + hit.line - 1)
            key = (str(hunk.path), hit.kind, hit.excerpt)
            self.found[key] = Leak(hunk.path, shifted, commit=hunk.commit)  # older replaces


def _count_commits(root: Path) -> int:
    done = git(root, "rev-list", "--all", "--count")
    if done is None or done.returncode != 0:
        return 0
    return int(done.stdout.decode().strip() or 0)


class _LogReader:
    """Reads ``git log -p -U0`` output line by line into hunks of added lines."""

    def __init__(self, collector: _Collector) -> None:
        self.collector = collector
        self.commit = ""
        self.path: PurePath | None = None
        self.hunk: _Hunk | None = None

    def flush(self) -> None:
        if self.hunk is not None:
            self.collector.add(self.hunk)
            self.hunk = None

    def feed(self, line: str) -> bool:
        """Take one line; True when it starts a new commit."""
        if line.startswith("\0"):
            self.flush()
            self.commit, self.path = line[1:], None
            return True
        if line.startswith("+++ "):
            self.path = PurePath(line[6:]) if line.startswith("+++ b/") else None
        elif line.startswith("@@") and self.path is not None:
            self.flush()
            opened = _HUNK.match(line)
            self.hunk = _Hunk(self.commit, self.path, int(opened.group(1)), []) if opened else None
        elif line.startswith("+") and self.hunk is not None:
            self.hunk.lines.append(line[1:])
        elif line.startswith("diff --git"):
            self.flush()
        return False


def scan_history(
    directory: Path, *, budget: float = 120.0, progress: Progress | None = None
) -> HistoryResult:
    """Scan the added lines of every commit reachable from any ref, newest first."""
    root = git_root(directory)
    if root is None:
        raise UsageError(
            f"{directory} is not in a git work tree, so it has no history to scan.",
            hint="Run it inside the repository (or scan files: dbenv scan PATH).",
        )
    total = _count_commits(root)
    command = ["git", "-C", str(root), "log", "--all", "-p", "-U0", "--no-color",
               "--no-ext-diff", "--no-renames", "--diff-filter=AM", "--format=%x00%H"]  # fmt: skip
    started = time.monotonic()
    collector = _Collector()
    reader = _LogReader(collector)
    seen, stopped = 0, False
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if not reader.feed(raw.decode("utf-8", "replace").rstrip("\n")):
                continue
            if time.monotonic() - started > budget:
                stopped = True  # the commit just begun is not read
                proc.kill()
                break
            seen += 1
            if progress is not None:
                progress(seen, total)
        if not stopped:
            reader.flush()
            # Commits that only delete files (and merges) print nothing under
            # --diff-filter=AM: all of them were read all the same.
            if progress is not None and seen < total:
                progress(total, total)
            seen = max(seen, total)
    leaks = sorted(collector.found.values(), key=lambda leak: (str(leak.path), leak.line))
    return HistoryResult(tuple(leaks), seen, total, stopped)
