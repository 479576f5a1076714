"""``dbenv scan``: the credential scan on its own, with or without a project file.

The same rule as ``dbenv check``'s ``credential-in-file`` (seed 003's document is
flagged), runnable where there is no ``dbenv.toml`` — in a pre-commit hook, say.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dbenv.check import CheckReport
from dbenv.errors import UsageError

__all__ = ["scan"]


def scan(paths: Sequence[Path] = (), *, cwd: Path) -> CheckReport:
    """Scan ``paths`` (files or directories), or else the files git tracks under ``cwd``."""
    from dbenv.check_files import credentials_rule
    from dbenv.scan import scan_paths, tracked_files

    for path in paths:
        if not path.exists():
            raise UsageError(
                f"{path} does not exist, so it cannot be scanned.",
                hint="Give an existing file or directory.",
            )
    if paths:
        result = scan_paths(paths)
    else:
        files = tracked_files(cwd)
        if files is None:
            raise UsageError(
                f"{cwd} is not in a git work tree, so there are no tracked files to scan.",
                hint="Name what to scan: dbenv scan PATH ...",
            )
        result = scan_paths(files, root=cwd)
    notes = tuple(f"skipped {path}: {why}" for path, why in result.skipped)
    return CheckReport(
        findings=tuple(credentials_rule(result.leaks)),
        notes=notes,
        files_scanned=result.files_scanned,
    )
