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
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.errors import ConfigError, GuardRefusal, OperationError
from dbenv.safety import identity, journal
from dbenv.safety.checks import (
    LABELLING,
    POOLED_HINT,
    CheckResult,
    Facts,
    check_tier,
    facts_from,
    open_target,
    read_facts,
    run_checks,
)
from dbenv.safety.lockwait import Watch
from dbenv.safety.override import check_override
from dbenv.safety.stamp import Stamp, scope_of, write_stamp
from dbenv.safety.tenancy import Tenancy

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

__all__ = [
    "CheckResult",
    "Guarded",
    "admit",
    "destructive",
    "evaluate",
    "maintenance_url",
    "target_url",
]

Progress = Callable[[str], None]


def target_url(env: Environment) -> str:
    """The environment's database URL (plain: only for connecting)."""
    if env.database_url is None:
        raise ConfigError(
            f"environment '{env.name}' has no database URL.",
            hint="Set database_url (or its parts) for it in dbenv.toml, or run dbenv up.",
        )
    return env.database_url.reveal()


def maintenance_url(env: Environment) -> str:
    """``admin_url`` when set, else the environment's URL on database ``postgres``."""
    if env.admin_url is not None:
        return env.admin_url.reveal()
    return postgres.with_database(target_url(env), "postgres")


def evaluate(
    project: Project,
    env: Environment,
    operation: str,
    *,
    override: str | None = None,
    lower_tier: bool = False,
) -> list[CheckResult]:
    """Every check's result for ``operation`` on ``env``, changing nothing."""
    facts = read_facts(project, env, maintenance_url(env), target_url(env))
    results = run_checks(project, env, operation, facts, lower_tier=lower_tier)
    if override is not None:
        results.append(
            check_override(project, env, override, facts.database, same_as=facts.same_as)
        )
    return results


@dataclass
class Guarded:
    """What a destructive operation gets inside the guard."""

    project: Project
    env: Environment
    operation: str
    conn: psycopg.Connection[Any]
    override: str | None
    snapshot: str | None
    notes: tuple[str, ...] = ()  # protected environments not compared by identity
    tenancy: Tenancy | None = None  # a prefix/schema target inside a protected database
    _rows: int | Mapping[str, int] | None = None
    _saved: tuple[journal.JournalEntry, ...] = ()
    _copy_prepared: bool = False
    watch: Watch | None = None  # what blocks this operation's sessions

    def record(self, rows: int | Mapping[str, int]) -> None:
        """Rows affected, for the journal (a count or per-table counts)."""
        self._rows = rows

    def before_drop(self) -> None:
        """Save the journal, then close the target connection so it can be dropped."""
        if self.conn.closed:
            return
        if not self._saved:
            try:
                self._saved = tuple(journal.read_entries(self.conn))
            except Exception:
                self._saved = ()  # a broken connection: nothing left to carry over
        self.conn.close()

    def prepare_copy(self, database: str) -> None:
        """Stamp a database built aside and carry the journal into it, before the swap.

        So no kill leaves an unstamped database dbenv made: the swap puts in a
        database that already says what it is. Raises (nothing swapped) when
        neither the role nor the admin may stamp it.
        """
        self.before_drop()
        url = postgres.with_database(target_url(self.env), database)
        options = _target_options(self.project, self.env, self.operation)
        with postgres.connect(url, autocommit=True, **options) as conn:
            _stamp(self.project, self.env, conn, database=database)
            journal.restore_entries(conn, list(self._saved))
        self._copy_prepared = True

    def database_recreated(self) -> None:
        """After a swap (or a drop + create): reconnect, re-stamp, put the journal back."""
        self.before_drop()
        self.conn = _connect_target(self.project, self.env, self.operation)
        if self.watch is not None:
            self.watch.watch([_bound_lock_waits(self.conn, self.watch.timeout)])
        if self._copy_prepared:
            return  # stamped and journaled before it was swapped in
        _stamp(self.project, self.env, self.conn)
        present = {_entry_key(e) for e in journal.read_entries(self.conn)}
        journal.restore_entries(self.conn, [e for e in self._saved if _entry_key(e) not in present])

    def write_stamp(self) -> Stamp:
        """(Re)write the stamp: as the role, or as the admin when the role may not."""
        return _stamp(self.project, self.env, self.conn)

    def admin_connection(self) -> psycopg.Connection[Any]:
        """A new autocommit connection to the target database as the admin."""
        if self.env.admin_url is None:
            return _connect_target(self.project, self.env, self.operation)
        url = postgres.with_database(self.env.admin_url, _database_of(self.env))
        return postgres.connect(
            url, autocommit=True, application_name=_app_name(self.project, self.env, self.operation)
        )


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
) -> Iterator[Guarded]:
    """Check, lock, (snapshot,) yield the target connection, journal the outcome.

    ``override`` defaults to the process's ``DBENV_I_MEAN_IT`` (via config).
    ``snapshot``: what an override saves first, when the operation changes something
    other than the database (flush: the Redis keys); default ``pg_dump`` of the target.
    ``lower_tier``: ``dbenv stamp ENV --tier disposable`` (a protected stamp may be
    lowered, with the override, after a snapshot).
    Raises ``GuardRefusal`` (nothing changed) when a check fails.
    """
    if override is None:
        override = project.override_database
    args = dict(arguments or {})
    started = time.monotonic()
    identity.prefetch(project, env)  # protected servers' identities, read during the lock
    # the target connection opens while the lock is taken; nothing goes through it
    # before the lock is held
    early = postgres.PendingConnection(
        target_url(env),
        autocommit=True,
        connect_timeout=5,
        **_target_options(project, env, operation),
    )

    def before_wait() -> None:
        early.discard()  # the lock's holder may swap or drop the database: stay off it
        admit(project, env, operation, override, args, lower_tier=lower_tier)

    timeout = lock_timeout if lock_timeout is not None else project.lock_timeout
    watch = Watch(
        maintenance_url(env),
        project=project.name,
        what=f"{operation} of '{env.name}'",
        timeout=timeout,
        progress=progress,
        application_name=_app_name(project, env, "watch"),
    )
    try:
        with _advisory_lock(
            project, env, operation, progress=progress, watch=watch, before_wait=before_wait
        ) as lock_conn:
            guarded = _enter(
                project,
                env,
                operation,
                override,
                args,
                lock_conn,
                progress,
                early.take(),
                snapshot,
                lower_tier=lower_tier,
            )
            guarded.watch = watch
            watch.watch([_bound_lock_waits(guarded.conn, timeout)])
            try:
                yield guarded
            except BaseException as exc:
                _journal(guarded, args, started, "failed", detail=_describe(exc))
                explained = watch.explain(exc)
                if explained is not None:
                    raise explained from None
                raise
            finally:
                watch.stop()
                _end_transaction(guarded.conn)
            _record_made(guarded)
            _journal(guarded, args, started, "ok")
            guarded.conn.close()
    finally:
        watch.stop()
        early.discard()  # the lock could not be taken: close what was opened


def _lock_timeout(seconds: float) -> bytes:
    return f"SET lock_timeout = '{max(1, int(seconds * 1000))}ms'".encode()


def _bound_lock_waits(conn: psycopg.Connection[Any], seconds: float) -> int:
    """Give the session a lock timeout; returns its server pid (a pooler's may differ)."""
    row = conn.execute(
        "SELECT pg_backend_pid(), set_config('lock_timeout', %s, false)",
        (f"{max(1, int(seconds * 1000))}ms",),
    ).fetchone()
    return int(row[0]) if row else conn.info.backend_pid


def _end_transaction(conn: psycopg.Connection[Any]) -> None:
    """Roll back what a failed operation left open; a connection that cannot is closed."""
    if conn.closed or conn.info.transaction_status == 0:
        return
    try:
        conn.rollback()
    except Exception:
        conn.close()  # interrupted mid-statement: the server rolls back when it goes


def _enter(
    project: Project,
    env: Environment,
    operation: str,
    override: str | None,
    args: Mapping[str, object],
    lock_conn: psycopg.Connection[Any],
    progress: Progress | None,
    early: psycopg.Connection[Any] | None,
    take: Callable[[], str] | None = None,
    *,
    lower_tier: bool = False,
) -> Guarded:
    """Under the lock: read the facts, run the checks, snapshot if overriding."""
    conn, facts = early, None
    if early is not None:
        try:
            facts = facts_from(early, project, env)
        except BaseException:
            lost = early.broken  # the lock's previous holder forced it off (swap, drop)
            early.close()
            if not lost:
                raise
            conn = None  # connect again, now that the lock is held
    if facts is None:
        conn = open_target(target_url(env), lock_conn, **_target_options(project, env, operation))
    try:
        if facts is None:
            facts = facts_from(conn, project, env) if conn else Facts(_database_of(env), False)
        results = run_checks(project, env, operation, facts, lower_tier=lower_tier)
        if override is not None:
            results.append(
                check_override(project, env, override, facts.database, same_as=facts.same_as)
            )
        for note in facts.notes:
            if progress is not None:
                progress(f"note: {note}")
        failing = admit(project, env, operation, override, args, results=results)
        snapshot = _snapshot_if_needed(
            project, env, operation, failing, override, progress, take=take
        )
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    used = override if failing else None
    target = conn or _connect_target(project, env, operation)
    return Guarded(
        project, env, operation, target, used, snapshot, notes=facts.notes, tenancy=facts.tenancy
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
) -> list[CheckResult]:
    """Raise the refusal for the first failing check; return the failing (overridden).

    ``results``: checks already evaluated (else they are evaluated here). A wrong
    override is named first, then a check no override gets past.
    """
    if results is None:
        results = evaluate(project, env, operation, override=override, lower_tier=lower_tier)
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


def _snapshot_if_needed(
    project: Project,
    env: Environment,
    operation: str,
    failing: list[CheckResult],
    override: str | None,
    progress: Progress | None,
    *,
    take: Callable[[], str] | None = None,
) -> str | None:
    if not failing or override is None:
        return None
    if operation in LABELLING and all(r.check != "stamp-tier" for r in failing):
        return None  # stamp/provision delete nothing, unless a protected stamp is lowered
    from dbenv.safety.snapshot import take_snapshot

    if progress:
        progress(f"override for '{override}': taking a safety snapshot first")
    if take is not None:
        return take()
    return str(take_snapshot(env, target_url(env), project.root))


@contextmanager
def _advisory_lock(
    project: Project,
    env: Environment,
    operation: str,
    *,
    progress: Progress | None,
    watch: Watch,
    before_wait: Callable[[], object],
) -> Iterator[psycopg.Connection[Any]]:
    """A session-level advisory lock keyed by target database + scope.

    Held on a connection to the maintenance database, so the target may be
    dropped and recreated under it; ``before_wait`` runs (the checks, so a
    refusal is immediate) before waiting — at most ``watch.timeout`` — for
    another operation to finish.
    """
    from psycopg import errors

    key = _lock_key(env)
    conn = postgres.connect(
        maintenance_url(env), autocommit=True, application_name=_app_name(project, env, "lock")
    )
    try:
        # behind a pooler a session lock leaks to other clients: take it only when the
        # server's pid is the one this connection was given (a direct connection)
        row = conn.execute(
            "SELECT CASE WHEN pg_backend_pid() = %s THEN pg_try_advisory_lock(%s) END",
            (conn.info.backend_pid, key),
        ).fetchone()
        if row is None or row[0] is None:
            _refuse_pooled_lock(project, env, operation)
        if not (row and row[0]):
            before_wait()
            if progress:
                progress(f"waiting for another dbenv operation on '{env.name}' to finish")
            conn.execute(_lock_timeout(watch.timeout))
            watch.watch([conn.info.backend_pid])
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except errors.LockNotAvailable:
                held = "; ".join(b.describe() for b in watch.blockers)
                raise OperationError(
                    f"another dbenv operation on '{env.name}'"
                    + (f" ({held})" if held else "")
                    + f" held its lock for more than {watch.timeout:g} s; nothing was changed.",
                    hint="Wait for it to finish (dbenv status lists connected clients), or"
                    " raise project.lock_timeout.",
                ) from None
        yield conn
    finally:
        conn.close()  # ends the session: releases the lock even after a failure


def _record_made(guarded: Guarded) -> None:
    """A tenant's stamp records what appeared in its scope (``dbenv.safety.tenancy``)."""
    if guarded.tenancy is None or guarded.conn.closed:
        return
    from dbenv.safety.tenancy import record_made

    claim = guarded.operation == "stamp" and guarded.override is not None
    # unrecorded objects only make later operations refuse: the safe side
    with contextlib.suppress(Exception):
        record_made(guarded.conn, guarded.env, guarded.tenancy, claim=claim)


def _refuse_pooled_lock(project: Project, env: Environment, operation: str) -> None:
    which = "admin_url" if env.admin_url is not None else "database_url"
    found = (
        f"the lock connection ({which}) goes through a connection pooler such as PgBouncer,"
        " where a session advisory lock leaks to other clients"
    )
    result = CheckResult("direct", False, found, POOLED_HINT)
    admit(project, env, operation, None, {}, results=[result])


def _lock_key(env: Environment) -> int:
    import hashlib

    text = f"{_database_of(env)}|{scope_of(env) or ''}"
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


def _database_of(env: Environment) -> str:
    return postgres.url_parts(target_url(env)).get("dbname", "")


def _app_name(project: Project, env: Environment, component: str) -> str:
    return f"dbenv:{project.name}:{env.name}:{component}"


def _entry_key(entry: journal.JournalEntry) -> tuple[object, ...]:
    return entry.at, entry.operation, entry.environment, entry.pid


def _search_path(env: Environment) -> str | None:
    return env.schema if env.isolation == "schema" else None


def _target_options(project: Project, env: Environment, operation: str) -> dict[str, Any]:
    return {
        "search_path": _search_path(env),
        "application_name": _app_name(project, env, operation),
    }


def _connect_target(project: Project, env: Environment, operation: str) -> psycopg.Connection[Any]:
    return postgres.connect(
        target_url(env), autocommit=True, **_target_options(project, env, operation)
    )


def _stamp(
    project: Project,
    env: Environment,
    conn: psycopg.Connection[Any],
    *,
    database: str | None = None,
) -> Stamp:
    """Stamp through ``conn``, else as the admin (``database``: default the env's own)."""
    try:
        return write_stamp(conn, project.name, env)
    except OperationError:
        if env.admin_url is None:
            raise
        url = postgres.with_database(env.admin_url, database or _database_of(env))
        with postgres.connect(url, autocommit=True) as admin:
            return write_stamp(admin, project.name, env)


def _journal(
    guarded: Guarded,
    args: Mapping[str, object],
    started: float,
    outcome: journal.Outcome,
    *,
    detail: str | None = None,
) -> None:
    entry = journal.JournalEntry(
        operation=guarded.operation,
        project=guarded.project.name,
        environment=guarded.env.name,
        outcome=outcome,
        scope=scope_of(guarded.env),
        os_user=journal.os_user(),
        host=journal.host_name(),
        arguments=args,
        rows=guarded._rows,
        duration_ms=round((time.monotonic() - started) * 1000, 3),
        override=guarded.override,
        snapshot=guarded.snapshot,
        detail=detail,
    )
    try:
        if guarded.conn.closed:
            guarded.conn = _connect_target(guarded.project, guarded.env, guarded.operation)
        journal.write_entry(guarded.conn, entry)
    except Exception:
        # the database may be gone (failed mid-reset): the local journal keeps the row
        journal.write_local(guarded.project.root, entry)


def _describe(exc: BaseException) -> str:
    from dbenv.config.masking import scrub

    return scrub(str(exc) or type(exc).__name__, ())[:500]


__all__ += ["Facts"]
