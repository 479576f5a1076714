"""``dbenv scan``: the credential scan on its own, with or without a project file.

The same rule as ``dbenv check``'s ``credential-in-file`` (seed 003's document is
flagged), runnable where there is no ``dbenv.toml`` — in a pre-commit hook, say.
When a project is found, its environments' hosts tell a password for production's
server (an error) from a development one (a warning). ``history=True`` scans every
commit's added lines instead (rule ``credential-in-history``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbenv.doctor.findings import CheckReport
from dbenv.errors import UsageError

if TYPE_CHECKING:
    from dbenv.config.model import Environment
    from dbenv.doctor.files import HostIndex

__all__ = ["scan"]


def scan(
    paths: Sequence[Path] = (),
    *,
    cwd: Path,
    envs: Sequence[Environment] = (),
    verify: bool = False,
    history: bool = False,
    budget: float = 120.0,
    progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """Scan ``paths`` (files or directories), or else the files git tracks under ``cwd``."""
    from dbenv.doctor.files import credentials_rule, host_index
    from dbenv.doctor.scan import scan_paths, tracked_files

    index = host_index(envs)
    if history:
        return _history(cwd, paths, index=index, verify=verify, budget=budget, progress=progress)
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
    summary = result.summary()
    findings = credentials_rule(result.leaks, index, root=cwd, verify=verify)
    return CheckReport(
        findings=tuple(findings),
        notes=(summary,) if summary else (),
        files_scanned=result.files_scanned,
    )


def _history(
    cwd: Path,
    paths: Sequence[Path],
    *,
    index: HostIndex,
    verify: bool,
    budget: float,
    progress: Callable[[int, int], None] | None,
) -> CheckReport:
    from dbenv.doctor.files import credentials_rule
    from dbenv.doctor.scan_history import scan_history

    if paths:
        raise UsageError(
            "--history scans the whole repository's history, not given paths.",
            hint="Run `dbenv scan --history` without paths.",
        )
    if budget <= 0:
        raise UsageError(
            f"--budget must be a positive number of seconds, got {budget:g}.",
            hint="For example --budget 300.",
        )
    result = scan_history(cwd, budget=budget, progress=progress)
    notes = [f"read {result.commits_scanned} of {result.commits_total} commit(s)."]
    if result.stopped_early:
        notes.append(
            f"stopped at the {budget:g} s budget; raise --budget to read the older commits."
        )
    findings = credentials_rule(result.leaks, index, verify=verify, rule="credential-in-history")
    return CheckReport(
        findings=tuple(findings), notes=tuple(notes), commits_scanned=result.commits_scanned
    )
