"""The safety guard: the one door every destructive operation goes through.

It must never allow a drop, reset, seed, restore, sync or flush to touch:
- an environment that is not ``disposable`` (protected is the default);
- a database whose stamp does not name this project and environment — an
  unstamped non-empty database, another environment's or project's database, or
  a *copy* (a dump or clone carries the stamp table but not the database-level
  marker, so a restored copy of production is never mistaken for test);
- a database (or schema/prefix) whose name does not match the guard pattern
  (``test`` for an environment named test/testing, unless configured);
- a target that resolves to the same server + database (+ schema/prefix) as any
  protected environment — ``shares_with`` silences ``dbenv check``, never this;
- a target other than the environment the process declares (``APP_ENV`` ...).

The only way past a failing check is an override naming the target database
(``--i-mean-it=<db>`` / ``DBENV_I_MEAN_IT``): a safety snapshot is taken first
(not for stamp/provision, which delete nothing) and the override is journaled. A
wrong name is itself a refusal.

``stamp`` and ``provision`` only create or label, so they skip the tier check (a
protected environment must be stampable: that is what makes its copies
recognisable) and the declared-environment check (``dbenv up`` provisions every
local environment from a shell that selects one). Their stamp check passes on a
matching stamp, on an unstamped empty database, and on an unstamped non-empty
*protected* one (labelling it protected can only make it safer); a disposable
environment's unstamped non-empty database, a database stamped for another
environment or project, and a copy all need the override: re-labelling them is
exactly the mistake the stamp exists to catch. ``provision`` may also target a
database that does not exist yet; ``stamp`` may not.

A refusal changes nothing in the target: it is journaled locally
(``.dbenv/journal.jsonl``). Operations that run hold a session-level advisory lock
on the server's maintenance database (a second one waits) and leave a row in
``dbenv.journal``. The target connection is opened while the lock is being taken,
but nothing is read through it before the lock is held, and it is closed before
waiting for a busy lock (the holder may swap or drop the database).

The operation's ``dbenv.target.Target`` is made once (by the operation, or here)
and handed down to the checks, the lock and the journal. Around this module:
``dbenv.safety.facts`` reads what the checks judge, ``dbenv.safety.checks`` judges
it, ``dbenv.safety.lock`` holds the lock, ``dbenv.safety.guarded`` is what the
operation gets and journals its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.errors import GuardRefusal
from dbenv.safety import identity, journal
from dbenv.safety.checks import (
    LABELLING,
    POOLED_HINT,
    CheckResult,
    check_tier,
    run_checks,
)
from dbenv.safety.facts import Facts, facts_from, open_target, read_facts
from dbenv.safety.guarded import (
    Guarded,
    app_name,
    connect_target,
    describe,
    record_made,
    target_options,
    write_journal,
)
from dbenv.safety.lock import advisory_lock, bound_lock_waits, end_transaction
from dbenv.safety.lockwait import Watch
from dbenv.safety.override import check_override
from dbenv.safety.stamp import scope_of
from dbenv.target import Target

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

__all__ = [
    "CheckResult",
    "Facts",
    "Guarded",
    "Target",
    "admit",
    "destructive",
    "evaluate",
    "refuse_protected",
]

Progress = Callable[[str], None]


def evaluate(
    project: Project,
    env: Environment,
    operation: str,
    *,
    override: str | None = None,
    lower_tier: bool = False,
    target: Target | None = None,
) -> list[CheckResult]:
    """Every check's result for ``operation`` on ``env``, changing nothing.

    ``target``: the environment's resolved target, when the caller has made it.
    """
    target = target or Target.of(env)
    facts = read_facts(project, env, target)
    results = run_checks(project, env, operation, facts, lower_tier=lower_tier, target=target)
    if override is not None:
        results.append(
            check_override(project, env, override, facts.database, same_as=facts.same_as)
        )
    return results


@contextmanager
def destructive(
    project: Project,
    env: Environment,
    operation: str,
    *,
    override: str | None = None,
    arguments: Mapping[str, object] | None = None,
    progress: Progress | None = None,
    lock_timeout: float | None = None,
    snapshot: Callable[[], str] | None = None,
    lower_tier: bool = False,
    target: Target | None = None,
) -> Iterator[Guarded]:
    """Check, lock, (snapshot,) yield the target connection, journal the outcome.

    ``override`` defaults to the process's ``DBENV_I_MEAN_IT`` (via config).
    ``snapshot``: what an override saves first, when the operation changes something
    other than the database (flush: the Redis keys); default ``pg_dump`` of the target.
    ``lower_tier``: ``dbenv stamp ENV --tier disposable`` (a protected stamp may be
    lowered, with the override, after a snapshot).
    ``target``: the environment's resolved target (made here when not given); the
    operation finds it, with the server's identity once read, as ``Guarded.target``.
    Raises ``GuardRefusal`` (nothing changed) when a check fails.
    """
    if override is None:
        override = project.override_database
    target = target or Target.of(env)
    args = dict(arguments or {})
    started = time.monotonic()
    identity.prefetch(project, env)  # protected servers' identities, read during the lock
    # the target connection opens while the lock is taken; nothing goes through it
    # before the lock is held
    early = postgres.PendingConnection(
        target.url, autocommit=True, connect_timeout=5, **target_options(project, target, operation)
    )

    def before_wait() -> None:
        early.discard()  # the lock's holder may swap or drop the database: stay off it
        admit(project, env, operation, override, args, lower_tier=lower_tier, target=target)

    def pooled() -> None:
        _refuse_pooled_lock(project, env, operation)

    timeout = lock_timeout if lock_timeout is not None else project.lock_timeout
    watch = Watch(
        target.maintenance,
        project=project.name,
        what=f"{operation} of '{env.name}'",
        timeout=timeout,
        progress=progress,
        application_name=app_name(project, target, "watch"),
    )
    try:
        with advisory_lock(
            target,
            application_name=app_name(project, target, "lock"),
            progress=progress,
            watch=watch,
            before_wait=before_wait,
            pooled=pooled,
        ) as lock_conn:
            entry = _Entry(project, env, target, operation, override, args, progress, snapshot)
            guarded = _enter(entry, lock_conn, early.take(), lower_tier=lower_tier)
            guarded.watch = watch
            watch.watch([bound_lock_waits(guarded.conn, timeout)])
            try:
                yield guarded
            except BaseException as exc:
                write_journal(guarded, args, started, "failed", detail=describe(exc))
                explained = watch.explain(exc)
                if explained is not None:
                    raise explained from None
                raise
            finally:
                watch.stop()
                end_transaction(guarded.conn)
            record_made(guarded)
            write_journal(guarded, args, started, "ok")
            guarded.conn.close()
    finally:
        watch.stop()
        early.discard()  # the lock could not be taken: close what was opened


@dataclass(frozen=True)
class _Entry:
    """One guarded operation's inputs, as ``destructive`` received them."""

    project: Project
    env: Environment
    target: Target
    operation: str
    override: str | None
    args: Mapping[str, object]
    progress: Progress | None
    take: Callable[[], str] | None  # the operation's own snapshot


def _enter(
    entry: _Entry,
    lock_conn: psycopg.Connection[Any],
    early: psycopg.Connection[Any] | None,
    *,
    lower_tier: bool = False,
) -> Guarded:
    """Under the lock: read the facts, run the checks, snapshot if overriding."""
    project, env, target, operation = entry.project, entry.env, entry.target, entry.operation
    conn, facts = early, None
    if early is not None:
        try:
            facts = facts_from(early, project, env, target=target)
        except BaseException:
            lost = early.broken  # the lock's previous holder forced it off (swap, drop)
            early.close()
            if not lost:
                raise
            conn = None  # connect again, now that the lock is held
    if facts is None:
        conn = open_target(target, lock_conn, **target_options(project, target, operation))
    try:
        if facts is None:
            facts = facts_from(conn, project, env, target=target) if conn else None
            facts = facts or Facts(target.database, False)
        results = run_checks(project, env, operation, facts, lower_tier=lower_tier, target=target)
        if entry.override is not None:
            results.append(
                check_override(project, env, entry.override, facts.database, same_as=facts.same_as)
            )
        for note in facts.notes:
            if entry.progress is not None:
                entry.progress(f"note: {note}")
        failing = admit(project, env, operation, entry.override, entry.args, results=results)
        snapshot = _snapshot_if_needed(entry, failing)
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    used = entry.override if failing else None
    return Guarded(
        project,
        env,
        operation,
        conn or connect_target(project, target, operation),
        used,
        snapshot,
        target.with_identity(facts.identity),
        notes=facts.notes,
        tenancy=facts.tenancy,
    )


def refuse_protected(
    project: Project, env: Environment, operation: str, *, override: str | None = None
) -> None:
    """Refuse a protected target at once, before the operation reads its inputs.

    Without an override a protected environment fails the tier check whatever else
    is true, so ``reset production`` is a refusal (exit 3), not a complaint about
    a missing schema source. With an override the full guard decides.
    """
    if env.disposable or (override or project.override_database) is not None:
        return
    admit(project, env, operation, None, {}, results=[check_tier(env, operation)])


def admit(
    project: Project,
    env: Environment,
    operation: str,
    override: str | None,
    args: Mapping[str, object],
    *,
    results: list[CheckResult] | None = None,
    lower_tier: bool = False,
    target: Target | None = None,
) -> list[CheckResult]:
    """Raise the refusal for the first failing check; return the failing (overridden).

    ``results``: checks already evaluated (else they are evaluated here, on
    ``target`` when given). A wrong override is named first, then a check no
    override gets past.
    """
    if results is None:
        results = evaluate(
            project, env, operation, override=override, lower_tier=lower_tier, target=target
        )
    failing = [r for r in results if not r.passed]
    # a wrong override, and a pooled connection (no lock can hold there), pass with none
    refusal = next((r for r in failing if r.check in ("override", "direct")), None)
    if refusal is None:
        refusal = next((r for r in failing if not r.overridable), None)
    if refusal is None and failing and override is None:
        refusal = failing[0]
    if refusal is None:
        return failing
    others = [r.check for r in failing if r is not refusal]
    also = f" (also failing: {', '.join(others)})" if others else ""
    journal.write_local(
        project.root,
        journal.JournalEntry(
            operation=operation,
            project=project.name,
            environment=env.name,
            outcome="refused",
            scope=scope_of(env),
            arguments=args,
            detail=f"{refusal.check}: {refusal.found}",
            os_user=journal.os_user(),
            host=journal.host_name(),
        ),
    )
    raise GuardRefusal(
        f"refused to {operation} '{env.name}': check '{refusal.check}' failed — "
        f"{refusal.found}{also}.",
        check=refusal.check,
        hint=refusal.hint,
    )


def _snapshot_if_needed(entry: _Entry, failing: list[CheckResult]) -> str | None:
    if not failing or entry.override is None:
        return None
    if entry.operation in LABELLING and all(r.check != "stamp-tier" for r in failing):
        return None  # stamp/provision delete nothing, unless a protected stamp is lowered
    from dbenv.safety.snapshot import take_snapshot

    if entry.progress:
        entry.progress(f"override for '{entry.override}': taking a safety snapshot first")
    if entry.take is not None:
        return entry.take()
    return str(take_snapshot(entry.env, entry.target.url, entry.project.root))


def _refuse_pooled_lock(project: Project, env: Environment, operation: str) -> None:
    which = "admin_url" if env.admin_url is not None else "database_url"
    found = (
        f"the lock connection ({which}) goes through a connection pooler such as PgBouncer,"
        " where a session advisory lock leaks to other clients"
    )
    result = CheckResult("direct", False, found, POOLED_HINT)
    admit(project, env, operation, None, {}, results=[result])
