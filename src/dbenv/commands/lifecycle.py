"""The ``provision``, ``stamp``, ``status`` and ``flush`` verbs: resolved objects in, results out.

``cli/lifecycle.py`` parses, calls these and renders; ``reset`` and ``seed`` live
in ``commands/lifecycle_data.py``. Every verb that changes something goes through
``dbenv.guard`` (provision and stamp with their own, labelling-only rules).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbenv.config.model import Environment
from dbenv.provision import ProvisionResult
from dbenv.stamp import Stamp
from dbenv.status import StatusReport

if TYPE_CHECKING:
    from dbenv.backends.redis import FlushResult
    from dbenv.config import Project

__all__ = [
    "ProvisionResult",
    "StampResult",
    "StatusReport",
    "flush",
    "provision",
    "stamp",
    "status",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StampResult:
    """What ``dbenv stamp`` wrote, and what the database said before."""

    environment: str
    database: str
    previous: str  # the stamp state before: ok, absent, other-..., copy
    stamp: Stamp


def provision(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> ProvisionResult:
    """``dbenv provision ENV``: role, database, grants, extensions, stamp (idempotent)."""
    from dbenv.provision import provision as run

    return run(project, env, override=override, progress=progress)


def stamp(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> StampResult:
    """``dbenv stamp ENV``: (re)write the stamp, through the guard (operation ``stamp``)."""
    from dbenv import guard
    from dbenv.guard_checks import facts_from

    with guard.destructive(project, env, "stamp", override=override, progress=progress) as guarded:
        before = facts_from(guarded.conn, project, env)
        written = guarded.write_stamp()
    return StampResult(env.name, before.database, before.state or "absent", written)


def status(project: Project, *, names: Sequence[str] | None = None) -> StatusReport:
    """``dbenv status [ENV ...]``: read-only, unreachable environments reported."""
    from dbenv.status import status as run

    return run(project, names=names)


def flush(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> FlushResult:
    """``dbenv flush ENV``: clear the environment's Redis db (or prefix), through the guard."""
    from dbenv.flush import flush as run

    return run(project, env, override=override, progress=progress)
