"""The ``reset`` and ``seed`` verbs: resolved objects in, result dataclasses out.

``cli/lifecycle.py`` parses the command line, calls these and renders the result;
``dbenv.lifecycle.reset`` and ``dbenv.lifecycle.seed`` do the work (both through the guard).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.lifecycle.reset import ResetResult
from dbenv.lifecycle.seed import SeedResult

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = ["ResetResult", "SeedResult", "reset", "result_json", "seed"]

Progress = Callable[[str], None]


def reset(
    project: Project,
    env: Environment,
    *,
    data_only: bool = False,
    override: str | None = None,
    keep: Sequence[str] = (),
    progress: Progress | None = None,
) -> ResetResult:
    """``dbenv reset ENV [--data-only] [--keep TABLE ...] [--i-mean-it=DB]``."""
    from dbenv.lifecycle import reset as operation

    return operation.reset(
        project, env, data_only=data_only, override=override, keep=keep, progress=progress
    )


def seed(
    project: Project,
    env: Environment,
    files: Sequence[Path | str] = (),
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> SeedResult:
    """``dbenv seed ENV [FILES ...] [--i-mean-it=DB]`` (no files: the env's seed_files)."""
    from dbenv.lifecycle import seed as operation

    return operation.seed(project, env, list(files) or None, override=override, progress=progress)


def result_json(result: ResetResult | SeedResult) -> dict[str, Any]:
    """A JSON-ready dict of either result (for ``--json``)."""
    data = asdict(result)
    data["seconds"] = round(data["seconds"], 4)
    if isinstance(result, SeedResult):
        data["rows"] = result.rows
    return data
