"""The doctor's file rules: env files in git, and credentials written into files.

``git ls-files`` / ``git check-ignore`` run as subprocesses; outside a git work
tree these rules are skipped and the report says so. Leaks come from
``dbenv.scan``, already masked.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbenv.check import Finding
from dbenv.errors import UsageError

if TYPE_CHECKING:
    from dbenv.config.model import Environment
    from dbenv.scan import Leak

__all__ = ["credentials_rule", "file_rules", "git_env_file_rules", "is_git_work_tree"]

_EXAMPLE_SUFFIXES = {"example", "sample", "template", "dist", "defaults"}


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def is_git_work_tree(root: Path) -> bool:
    done = _git(root, "rev-parse", "--is-inside-work-tree")
    return done is not None and done.returncode == 0 and done.stdout.strip() == b"true"


def _is_env_file_name(name: str) -> bool:
    if name != ".env" and not name.startswith(".env."):
        return False
    return name.rsplit(".", 1)[-1].lower() not in _EXAMPLE_SUFFIXES


def git_env_file_rules(root: Path, env_files: Iterable[Path]) -> list[Finding]:
    """``.env`` files that git tracks, and configured env files git does not ignore."""
    findings: list[Finding] = []
    listed = _git(root, "ls-files", "-z", "--cached", "--", ".")
    tracked = (
        [n for n in listed.stdout.decode("utf-8", "replace").split("\0") if n] if listed else []
    )
    for name in tracked:
        if _is_env_file_name(Path(name).name):
            findings.append(
                Finding(
                    "env-file-tracked",
                    "error",
                    None,
                    f"{name} is tracked by git; env files hold credentials and must stay local.",
                    f"Run `git rm --cached {name}`, add '.env*' and '!.env.example' to "
                    ".gitignore, and rotate any password it held.",
                    path=name,
                )
            )
    tracked_set = set(tracked)
    for path in sorted(set(env_files)):
        if not path.is_file():
            continue
        try:
            name = str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
        ignored = _git(root, "check-ignore", "-q", "--", name)
        if name not in tracked_set and ignored is not None and ignored.returncode == 1:
            findings.append(
                Finding(
                    "env-file-not-ignored",
                    "warning",
                    None,
                    f"{name} is not ignored by git; one `git add .` would commit it.",
                    "Add '.env*' and '!.env.example' to .gitignore.",
                    path=name,
                )
            )
    return findings


def credentials_rule(leaks: Iterable[Leak]) -> list[Finding]:
    """A finding for every credential the scan found (already masked)."""
    findings: list[Finding] = []
    for leak in leaks:
        what = (
            f"a {leak.key} URL with an inline password"
            if leak.kind == "url-password"
            else f"a literal value for {leak.key}"
        )
        findings.append(
            Finding(
                "credential-in-file",
                "warning" if leak.local else "error",
                None,
                f"{leak.where}: {what}: {leak.excerpt}",
                "Move the secret into an ignored .env file or a secret reference "
                "(env:, file:, cmd:), and rotate it: it is in the history now.",
                path=str(leak.path),
                line=leak.line,
            )
        )
    return findings


def _env_files(root: Path, envs: Sequence[Environment]) -> list[Path]:
    files = {root / ".env"}
    for env in envs:
        files.update(p if p.is_absolute() else root / p for p in env.env_files)
        files.update(p if p.is_absolute() else root / p for p in env.components.values())
    return sorted(files)


def file_rules(
    root: Path, envs: Sequence[Environment], scan: Sequence[Path]
) -> tuple[list[Finding], list[str], int]:
    from dbenv.scan import scan_paths, tracked_files

    findings: list[Finding] = []
    notes: list[str] = []
    git = is_git_work_tree(root)
    if git:
        findings += git_env_file_rules(root, _env_files(root, envs))
    else:
        notes.append(
            f"{root} is not in a git work tree: skipped env-file-tracked and env-file-not-ignored."
        )
    for path in scan:
        if not path.exists():
            raise UsageError(
                f"--scan path {path} does not exist.", hint="Give an existing file or directory."
            )
    if scan:
        result = scan_paths(scan)
    elif git:
        result = scan_paths(tracked_files(root) or [], root=root)
    else:
        notes.append("no git-tracked files to scan for credentials; use --scan PATH to scan.")
        return findings, notes, 0
    findings += credentials_rule(result.leaks)
    return findings, notes, result.files_scanned
