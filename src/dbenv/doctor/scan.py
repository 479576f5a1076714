"""The credential scan over files as git sees them; leaks come back masked.

Which files: the ones git tracks (the default), or the paths given — a directory
inside a git work tree expands to its tracked and untracked-but-not-ignored files,
so a git-ignored ``.dbenv/`` or ``node_modules/`` is never walked. Binary, unreadable
and larger-than-1-MB files are skipped and counted, one count per reason, no line
each. What counts as a credential on a line is ``dbenv.doctor.scan_rules``'.

Git runs as a subprocess (``git -C DIR ...``); "tracked" and "in the history" are
asked of the work tree's root, so a file above the project directory is seen too.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from dbenv.doctor.scan_rules import Hit, is_placeholder, scan_lines

__all__ = [
    "Leak",
    "ScanResult",
    "git",
    "git_root",
    "in_history",
    "is_placeholder",
    "scan_paths",
    "scan_text",
    "tracked_files",
]

_MAX_BYTES = 1_000_000
_NEVER_WALKED = {".git", ".venv", "venv", "node_modules", "__pycache__", ".dbenv", ".tox"}


@dataclass(frozen=True)
class Leak:
    """One credential found in a file; ``excerpt`` is the line with the secret masked."""

    path: PurePath
    hit: Hit
    commit: str | None = None  # set by the history scan: the commit that added the line

    @property
    def line(self) -> int:
        return self.hit.line

    @property
    def kind(self) -> str:
        return self.hit.kind

    @property
    def key(self) -> str:
        return self.hit.key

    @property
    def excerpt(self) -> str:
        return self.hit.excerpt

    @property
    def local(self) -> bool:
        """A URL to a loopback or development host: a development password."""
        return self.hit.host_class == "development"

    @property
    def where(self) -> str:
        head = f"{self.commit[:10]}:" if self.commit else ""
        return f"{head}{self.path}:{self.line}"


@dataclass(frozen=True)
class ScanResult:
    """What a scan found, how many files it read, and how many it skipped and why."""

    leaks: tuple[Leak, ...] = ()
    files_scanned: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def summary(self) -> str | None:
        """``skipped 2 binary, 1 ignored by git.`` (an ignored directory counts once)."""
        if not self.skipped:
            return None
        return "skipped " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) + "."


def git(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    """``git -C directory args``; None when git is missing or hangs."""
    try:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def git_root(directory: Path) -> Path | None:
    """The root of the git work tree holding ``directory``, or None outside one."""
    done = git(directory, "rev-parse", "--show-toplevel")
    if done is None or done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "replace").strip())


def _names(done: subprocess.CompletedProcess[bytes] | None) -> list[str] | None:
    if done is None or done.returncode != 0:
        return None
    return [n for n in done.stdout.decode("utf-8", "replace").split("\0") if n]


def tracked_files(directory: Path) -> list[Path] | None:
    """The files git tracks under ``directory`` (absolute), or None outside a work tree."""
    names = _names(git(directory, "ls-files", "-z", "--cached", "--", "."))
    if names is None:
        return None
    return [directory / name for name in names if (directory / name).is_file()]


def in_history(root: Path, path: Path) -> str | None:
    """The newest commit (any branch) holding ``path``, or None when none ever did."""
    done = git(root, "log", "--all", "-1", "--format=%h", "--", str(path))
    if done is None or done.returncode != 0:
        return None
    return done.stdout.decode().strip() or None


def _walk(directory: Path, counts: Counter[str]) -> Iterator[Path]:
    """Files under a directory: git's view inside a work tree, else a plain walk."""
    names = _names(
        git(directory, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    )
    if names is not None:
        ignored = _names(
            git(
                directory,
                "ls-files",
                "-z",
                "--others",
                "--ignored",
                "--exclude-standard",
                "--directory",
                "--",
                ".",
            )
        )
        if ignored:
            counts["ignored by git"] += len(ignored)
        for name in sorted(set(names)):
            if (directory / name).is_file():
                yield directory / name
        return
    for child in sorted(directory.rglob("*")):
        if child.is_file() and not set(child.relative_to(directory).parts) & _NEVER_WALKED:
            yield child


def _read_text(path: Path) -> tuple[str | None, str]:
    try:
        if path.stat().st_size > _MAX_BYTES:
            return None, "larger than 1 MB"
        data = path.read_bytes()
    except OSError:
        return None, "unreadable"
    if b"\0" in data[:8192]:
        return None, "binary"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        return data.decode("latin-1"), ""


def scan_text(text: str, path: PurePath) -> list[Leak]:
    """Every leak in one file's text, each with its 1-based line and the secret masked."""
    return [Leak(path, hit) for hit in scan_lines(text, path)]


def scan_paths(paths: Iterable[Path], *, root: Path | None = None) -> ScanResult:
    """Scan files and directories; paths are reported relative to ``root``."""
    leaks: list[Leak] = []
    counts: Counter[str] = Counter()
    scanned = 0
    for given in paths:
        for path in _walk(given, counts) if given.is_dir() else [given]:
            text, reason = _read_text(path)
            if text is None:
                counts[reason] += 1
                continue
            scanned += 1
            leaks.extend(scan_text(text, relative(path, root)))
    return ScanResult(tuple(leaks), scanned, dict(counts))


def relative(path: Path, root: Path | None) -> Path:
    """``path`` relative to ``root`` (``../x`` above it); as given without a root."""
    import os

    if root is None:
        return path
    try:
        return Path(os.path.relpath(path.resolve(), root.resolve()))
    except ValueError:
        return path
