"""What a destructive operation holds inside the guard, and what the guard leaves behind.

``Guarded`` carries the project, the environment, its resolved ``Target`` and the
target connection (opened and checked by ``dbenv.safety.guard.destructive``). It
keeps the stamp and the journal with the database when an operation drops or
swaps it (``before_drop``, ``prepare_copy``, ``database_recreated``). When the
operation ends, the guard journals its outcome here (``write_journal``): in the
database's ``dbenv.journal``, or locally when the database is gone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.errors import OperationError
from dbenv.safety import journal
from dbenv.safety.lock import bound_lock_waits
from dbenv.safety.lockwait import Watch
from dbenv.safety.stamp import Stamp, scope_of, write_stamp
from dbenv.safety.tenancy import Tenancy
from dbenv.target import Target

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

__all__ = ["Guarded", "app_name", "connect_target", "target_options"]


@dataclass
class Guarded:
    """What a destructive operation gets inside the guard."""

    project: Project
    env: Environment
    operation: str
    conn: psycopg.Connection[Any]
    override: str | None
    snapshot: str | None
    target: Target
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
        options = target_options(self.project, self.target, self.operation)
        with postgres.connect(self.target.on(database), autocommit=True, **options) as conn:
            stamp(self.project, self.env, self.target, conn, database=database)
            journal.restore_entries(conn, list(self._saved))
        self._copy_prepared = True

    def database_recreated(self) -> None:
        """After a swap (or a drop + create): reconnect, re-stamp, put the journal back."""
        self.before_drop()
        self.conn = connect_target(self.project, self.target, self.operation)
        if self.watch is not None:
            self.watch.watch([bound_lock_waits(self.conn, self.watch.timeout)])
        if self._copy_prepared:
            return  # stamped and journaled before it was swapped in
        stamp(self.project, self.env, self.target, self.conn)
        present = {_entry_key(e) for e in journal.read_entries(self.conn)}
        journal.restore_entries(self.conn, [e for e in self._saved if _entry_key(e) not in present])

    def write_stamp(self) -> Stamp:
        """(Re)write the stamp: as the role, or as the admin when the role may not."""
        return stamp(self.project, self.env, self.target, self.conn)

    def admin_connection(self) -> psycopg.Connection[Any]:
        """A new autocommit connection to the target database as the admin."""
        if self.target.admin_url is None:
            return connect_target(self.project, self.target, self.operation)
        return postgres.connect(
            self.target.admin_on(),
            autocommit=True,
            application_name=app_name(self.project, self.target, self.operation),
        )


def app_name(project: Project, target: Target, component: str) -> str:
    """``application_name`` of dbenv's sessions: ``dbenv:<project>:<environment>:<what>``."""
    return f"dbenv:{project.name}:{target.environment}:{component}"


def target_options(project: Project, target: Target, operation: str) -> dict[str, Any]:
    """The session settings of a connection to the target (its schema, its name)."""
    return {
        "search_path": target.search_path,
        "application_name": app_name(project, target, operation),
    }


def connect_target(project: Project, target: Target, operation: str) -> psycopg.Connection[Any]:
    """A new autocommit connection to the target database, as the environment's role."""
    return postgres.connect(
        target.url, autocommit=True, **target_options(project, target, operation)
    )


def stamp(
    project: Project,
    env: Environment,
    target: Target,
    conn: psycopg.Connection[Any],
    *,
    database: str | None = None,
) -> Stamp:
    """Stamp through ``conn``, else as the admin (``database``: default the target's own)."""
    try:
        return write_stamp(conn, project.name, env)
    except OperationError:
        if target.admin_url is None:
            raise
        with postgres.connect(target.admin_on(database), autocommit=True) as admin:
            return write_stamp(admin, project.name, env)


def record_made(guarded: Guarded) -> None:
    """A tenant's stamp records what appeared in its scope (``dbenv.safety.tenancy``)."""
    if guarded.tenancy is None or guarded.conn.closed:
        return
    from dbenv.safety.tenancy import record_made as record

    claim = guarded.operation == "stamp" and guarded.override is not None
    # unrecorded objects only make later operations refuse: the safe side
    with contextlib.suppress(Exception):
        record(guarded.conn, guarded.env, guarded.tenancy, claim=claim)


def write_journal(
    guarded: Guarded,
    args: Mapping[str, object],
    started: float,
    outcome: journal.Outcome,
    *,
    detail: str | None = None,
) -> None:
    """The operation's row in the database's journal (the local journal if it is gone)."""
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
            guarded.conn = connect_target(guarded.project, guarded.target, guarded.operation)
        journal.write_entry(guarded.conn, entry)
    except Exception:
        # the database may be gone (failed mid-reset): the local journal keeps the row
        journal.write_local(guarded.project.root, entry)


def describe(exc: BaseException) -> str:
    """A failure for the journal: its message, scrubbed of secrets, at most 500 characters."""
    from dbenv.config.masking import scrub

    return scrub(str(exc) or type(exc).__name__, ())[:500]


def _entry_key(entry: journal.JournalEntry) -> tuple[object, ...]:
    return entry.at, entry.operation, entry.environment, entry.pid
