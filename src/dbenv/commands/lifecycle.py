"""The ``provision``, ``stamp``, ``status`` and ``flush`` verbs: resolved objects in, results out.

``cli/lifecycle.py`` parses, calls these and renders; ``reset`` and ``seed`` live
in ``commands/lifecycle_data.py``. Every verb that changes something goes through
``dbenv.guard`` (provision and stamp with their own, labelling-only rules).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbenv import journal
from dbenv.config.model import Environment
from dbenv.errors import GuardRefusal
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


def flush(project: Project, env: Environment, *, override: str | None = None) -> FlushResult:
    """``dbenv flush ENV``: clear the environment's Redis db (or prefix), guarded.

    Checks: the tier and the process-declared environment (an override naming the
    environment's database passes them); a protected environment on the same Redis
    server and db index is never overridable. Journaled in ``.dbenv/journal.jsonl``.
    """
    from dbenv.backends import redis as redis_backend

    override = override if override is not None else project.override_database
    try:
        _check_flush(project, env, override)
        protected = [e for e in _resolvable(project) if e.tier == "protected"]
        result = redis_backend.flush(env, protected)
    except GuardRefusal as refusal:
        entry = journal.JournalEntry(
            "flush", project.name, env.name, "refused", detail=f"{refusal.check}: {refusal}"
        )
        journal.write_local(project.root, entry)
        raise
    entry = journal.JournalEntry(
        "flush",
        project.name,
        env.name,
        "ok",
        rows=result.keys_removed,
        override=override,
        arguments={"db": result.db, "prefix": result.prefix},
    )
    journal.write_local(project.root, entry)
    return result


def _check_flush(project: Project, env: Environment, override: str | None) -> None:
    from dbenv.guard_checks import check_declared, check_override, check_tier

    checks = [check_tier(env, "flush"), check_declared(project, env, "flush")]
    failing = [r for r in checks if not r.passed]
    if override is not None:
        verdict = check_override(env, override, _database_name(env))
        failing = [verdict] if not verdict.passed else []
    if failing:
        first = failing[0]
        raise GuardRefusal(
            f"refused to flush '{env.name}': check '{first.check}' failed — {first.found}.",
            check=first.check,
            hint=first.hint,
        )


def _database_name(env: Environment) -> str:
    from dbenv.backends.postgres import url_parts

    if env.database_url is None:
        return ""
    return url_parts(env.database_url).get("dbname", "")


def _resolvable(project: Project) -> list[Environment]:
    from dbenv.errors import DbenvError

    found = []
    for name in project.environment_names:
        try:
            found.append(project.environment(name))
        except DbenvError:
            continue
    return found
