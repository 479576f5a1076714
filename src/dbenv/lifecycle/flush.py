"""Flush an environment's Redis keys, through the guard.

What is flushed: the environment's main Redis (``redis_url`` + ``redis_db``, or its
``redis_cluster``) and every Redis role it declares (``[environments.X.redis.ROLE]``),
each by its own db index or key prefix. A Redis Cluster is flushed by key prefix
only, on every master (``SCAN`` + ``UNLINK``; ``dbenv.backends.redis``); one
without a prefix is refused before anything is read (exit 2).

It must never flush a Redis db index (or key prefix) that a protected environment
uses on the same server: that refusal (check ``redis-shared``) comes before
anything else is read and no override passes it.

- An environment with a database goes through ``guard.destructive`` like every
  other destructive operation: the five checks on its database (a flush aimed at
  production's Redis through test's name is caught by the stamp, pattern, shared
  and declared checks exactly as a reset would be), the advisory lock and a
  ``dbenv.journal`` row (keys removed). An override saves the Redis keys it will
  remove, not the database it does not touch.
- A Redis-only environment (no database URL) has no database to stamp, name-match,
  lock or journal in. It passes only the checks that mean something without one:
  tier and the declared environment (plus ``redis-shared``). An override names
  ``redis/<db index>``, saves the keys first, and the outcome is journaled in
  ``.dbenv/journal.jsonl``. No lock: ``FLUSHDB`` is one atomic command and two
  prefix deletions at once both end with the prefix empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from dbenv.backends import redis
from dbenv.config.model import Environment
from dbenv.errors import ConfigError, DbenvError, GuardRefusal
from dbenv.safety import journal
from dbenv.safety.checks import CheckResult, check_declared, check_tier, protected_environments
from dbenv.safety.guard import admit, destructive, refuse_protected
from dbenv.safety.override import check_override

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = ["flush"]

Progress = Callable[[str], None]


def flush(
    project: Project,
    env: Environment,
    *,
    override: str | None = None,
    progress: Progress | None = None,
) -> redis.FlushResult:
    """Clear ``env``'s Redis db (or its key prefix) and its roles', guarded; see the module doc."""
    parts = redis.views(env)
    if not parts:
        raise ConfigError(
            f"environment '{env.name}' has no Redis URL to flush.",
            hint="Set redis_url (and redis_db) for it in dbenv.toml.",
        )
    override = override if override is not None else project.override_database
    place = redis.place_of(env)
    arguments: dict[str, object] = {"db": place[2] if place else 0, "prefix": env.redis_prefix}
    if env.redis_cluster:
        arguments["cluster"] = True
    if env.redis_roles:
        arguments["roles"] = sorted(env.redis_roles)
    if env.database_url is None:
        return _redis_only(project, env, parts, override, arguments, progress)
    refuse_protected(project, env, "flush", override=override)
    protected = _refuse_shared_redis(project, env, parts, arguments, progress)

    def save() -> str:
        return ", ".join(str(redis.snapshot(view, project.root)) for _, view in parts)

    with destructive(
        project,
        env,
        "flush",
        override=override,
        arguments=arguments,
        progress=progress,
        snapshot=save,
    ) as guarded:
        result = _flush_parts(parts, protected)
        guarded.record({"keys": _total(result)})
    return result


def _flush_parts(
    parts: list[tuple[str | None, Environment]], protected: list[Environment]
) -> redis.FlushResult:
    """Flush each part; the main one's result carries the roles' (or the first role's)."""
    for _, view in parts:  # every part answers, with its db index, before one is flushed
        redis.check_reachable(view)
        redis.check_index(view)
    results = [replace(redis.flush(view, protected), role=role) for role, view in parts]
    main = results[0] if results[0].role is None else None
    roles = tuple(r for r in results if r.role is not None)
    if main is None:
        return replace(roles[0], roles=roles[1:])
    return replace(main, roles=roles)


def _total(result: redis.FlushResult) -> int:
    return result.keys_removed + sum(r.keys_removed for r in result.roles)


def _refuse_shared_redis(
    project: Project,
    env: Environment,
    parts: list[tuple[str | None, Environment]],
    arguments: Mapping[str, object],
    progress: Progress | None,
) -> list[Environment]:
    """Raise (journaled locally) when a protected environment uses one of ``parts``' Redis.

    Every Redis of the protected environments counts, their roles too. The same
    Redis is known by URL and by identity (run_id; a cluster's node ids); one that
    could not be compared is a note. Returns the protected environments' views.
    """
    protected = [
        view for other in protected_environments(project, env) for _, view in redis.views(other)
    ]
    notes: list[str] = []
    try:
        for _, view in parts:
            notes += [n for n in redis.check_flush(view, protected) if n not in notes]
    except GuardRefusal as refusal:
        _journal_local(project, env, "refused", arguments, detail=f"redis-shared: {refusal}")
        raise
    for note in notes:
        if progress is not None:
            progress(f"note: {note}")
    return protected


def _redis_only(
    project: Project,
    env: Environment,
    parts: list[tuple[str | None, Environment]],
    override: str | None,
    arguments: Mapping[str, object],
    progress: Progress | None,
) -> redis.FlushResult:
    started = time.monotonic()
    name = redis.target_name(env)
    results: list[CheckResult] = [check_tier(env, "flush"), check_declared(project, env, "flush")]
    if override is not None:
        results.append(check_override(project, env, override, name))
    failing = admit(project, env, "flush", override, arguments, results=results)
    protected = _refuse_shared_redis(project, env, parts, arguments, progress)
    saved = None
    if failing:  # admitted with failing checks: the override named this db
        if progress:
            progress(f"override for '{name}': saving the Redis keys first")
        saved = ", ".join(str(redis.snapshot(view, project.root)) for _, view in parts)
    try:
        result = _flush_parts(parts, protected)
    except DbenvError as exc:
        _journal_local(project, env, "failed", arguments, detail=exc.message, snapshot=saved)
        raise
    _journal_local(
        project,
        env,
        "ok",
        arguments,
        rows={"keys": _total(result)},
        override=override if failing else None,
        snapshot=saved,
        duration_ms=round((time.monotonic() - started) * 1000, 3),
    )
    return result


def _journal_local(
    project: Project,
    env: Environment,
    outcome: journal.Outcome,
    arguments: Mapping[str, object],
    *,
    detail: str | None = None,
    rows: Mapping[str, int] | None = None,
    override: str | None = None,
    snapshot: str | None = None,
    duration_ms: float | None = None,
) -> None:
    entry = journal.JournalEntry(
        operation="flush",
        project=project.name,
        environment=env.name,
        outcome=outcome,
        arguments=arguments,
        os_user=journal.os_user(),
        host=journal.host_name(),
        rows=rows,
        override=override,
        snapshot=snapshot,
        duration_ms=duration_ms,
        detail=detail,
    )
    journal.write_local(project.root, entry)
