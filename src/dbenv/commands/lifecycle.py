"""The ``provision``, ``stamp``, ``status`` and ``flush`` verbs: resolved objects in, results out.

``cli/lifecycle.py`` parses, calls these and renders; ``reset`` and ``seed`` live
in ``commands/lifecycle_data.py``. Every verb that changes something goes through
``dbenv.safety.guard`` (provision and stamp with their own, labelling-only rules).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbenv.config.model import Environment
from dbenv.config.schema import TIERS
from dbenv.errors import UsageError
from dbenv.lifecycle.provision import ProvisionResult
from dbenv.safety.stamp import Stamp
from dbenv.status.report import StatusReport

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
    previous_tier: str | None = None  # the tier the stamp said before, if it said one
    snapshot: str | None = None  # taken when an override was needed (lowering a tier)


def provision(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> ProvisionResult:
    """``dbenv provision ENV``: role, database, grants, extensions, stamp (idempotent)."""
    from dbenv.lifecycle.provision import provision as run

    return run(project, env, override=override, progress=progress)


def stamp(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Progress | None = None,
    tier: str | None = None,
) -> StampResult:
    """``dbenv stamp ENV``: (re)write the stamp, through the guard (operation ``stamp``).

    ``tier``: the tier to stamp (``--tier``); it must be the one the project
    declares. ``disposable`` is how a protected stamp is lowered: the override must
    name the database, a snapshot is taken and the journal row records both.
    """
    from dbenv.safety import guard
    from dbenv.safety.checks import facts_from

    if tier is not None and tier not in TIERS:
        raise UsageError(
            f"--tier must be {' or '.join(TIERS)}, not '{tier}'.", hint="Pick one of them."
        )
    if tier is not None and tier != env.tier:
        setting = env.settings.get("tier")
        where = f" (from {setting.origin})" if setting is not None else ""
        raise UsageError(
            f"--tier {tier} is not the tier '{env.name}' is declared with ({env.tier}{where}).",
            hint=f"Set tier = \"{tier}\" for '{env.name}' first, then re-stamp.",
        )
    with guard.destructive(
        project,
        env,
        "stamp",
        override=override,
        progress=progress,
        arguments={"tier": tier} if tier else None,
        lower_tier=tier == "disposable",
    ) as guarded:
        before = facts_from(guarded.conn, project, env)
        written = guarded.write_stamp()
    was = before.stamp.tier if before.stamp is not None else None
    return StampResult(
        env.name, before.database, before.state or "absent", written, was, guarded.snapshot
    )


def status(
    project: Project, *, names: Sequence[str] | None = None, replica: int | None = None
) -> StatusReport:
    """``dbenv status [ENV ...] [--replica]``: read-only, unreachable environments reported;
    ``replica``: read environments with replicas from that one (``--replica-number``)."""
    from dbenv.status.report import status as run

    return run(project, names=names, replica=replica)


def flush(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> FlushResult:
    """``dbenv flush ENV``: clear the environment's Redis db (or prefix), through the guard."""
    from dbenv.lifecycle.flush import flush as run

    return run(project, env, override=override, progress=progress)
