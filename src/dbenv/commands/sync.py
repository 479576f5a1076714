"""The ``sync``, ``dump``, ``restore`` and ``clone`` verbs: resolved objects in, results out.

``cli/sync.py`` parses the command line, calls these and renders the result;
``dbenv.sync`` does the work (the target of sync/restore/clone through the guard).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.sync.dump import CloneResult, DumpResult, RestoreResult
from dbenv.sync.results import Options, Progress, SyncEvent, SyncResult

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.status.replica_read import ReplicaRead

__all__ = [
    "CloneResult",
    "DumpResult",
    "RestoreResult",
    "SyncEvent",
    "SyncResult",
    "clone",
    "dump",
    "restore",
    "result_json",
    "source_on_replica",
    "sync",
]


def source_on_replica(source: Environment, number: int) -> tuple[Environment, ReplicaRead]:
    """``sync``'s SOURCE read from its replica ``number`` (``--replica``), and that
    replica's lag: the rows copied are the ones it has replayed."""
    from dbenv.status.replica_read import on_replica, read_of

    replica = on_replica(source, number)  # bad input (exit 2) before anything is read
    return replica, read_of(source, number)


def sync(
    project: Project,
    source: Environment,
    target: Environment,
    *,
    profile: str | None = None,
    tables: Sequence[str] = (),
    structure_only: Sequence[str] = (),
    where: Sequence[str] = (),
    dry_run: bool = False,
    allow_destructive: bool = False,
    no_mask: bool = False,
    override: str | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """``dbenv sync SOURCE TARGET [--profile NAME] [--tables ...] [--structure-only ...]``.

    ``where``: ``TABLE=CONDITION`` subsets (``--where``), added to the profile's own;
    each keeps its rows plus the foreign-key parents its mirrored children need.
    """
    from dbenv.sync import engine
    from dbenv.sync.choose import choose_profile, parse_where, restrict
    from dbenv.sync.profiles import load_settings

    filters = parse_where(tuple(where))  # malformed input fails before any connection
    settings = load_settings(project)
    chosen = choose_profile(settings, source.name, target.name, name=profile, tables=tuple(tables))
    chosen = restrict(
        chosen, tables=tuple(tables), structure_only=tuple(structure_only), where=filters
    )
    options = Options(
        dry_run=dry_run,
        allow_destructive=allow_destructive,
        no_mask=no_mask,
        override=override,
        progress=progress,
    )
    return engine.run(project, source, target, chosen, settings.salt, options)


def dump(
    project: Project,
    env: Environment,
    *,
    output: Path | None = None,
    schema_only: bool = False,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> DumpResult:
    """``dbenv dump ENV [--schema-only] [-o FILE] [-j N]`` (N > 1: directory format;
    unset: parallel for a large database without ``-o``)."""
    from dbenv.sync import dump as operation

    return operation.dump(
        project, env, output=output, schema_only=schema_only, jobs=jobs, progress=progress
    )


def restore(
    project: Project,
    path: Path,
    env: Environment,
    *,
    jobs: int = 2,
    no_mask: bool = False,
    override: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> RestoreResult:
    """``dbenv restore FILE ENV [-j N] [--no-mask] [--i-mean-it=DB]`` (guarded; re-stamped)."""
    from dbenv.sync import dump as operation

    return operation.restore(
        project, path, env, jobs=jobs, no_mask=no_mask, override=override, progress=progress
    )


def clone(
    project: Project,
    source: Environment,
    target: Environment,
    *,
    method: str = "auto",
    no_mask: bool = False,
    override: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> CloneResult:
    """``dbenv clone SOURCE TARGET [--method auto|template|logical]`` (masking applies)."""
    from dbenv.sync import clone as operation

    return operation.clone(
        project,
        source,
        target,
        method=method,
        no_mask=no_mask,
        override=override,
        progress=progress,
    )


def result_json(result: SyncResult | DumpResult | RestoreResult | CloneResult) -> dict[str, Any]:
    """A JSON-ready dict of any of the results (for ``--json``)."""
    data = asdict(result)
    if "seconds" in data:
        data["seconds"] = round(data["seconds"], 4)
    return data
