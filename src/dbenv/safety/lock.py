"""The guard's advisory lock and the session settings of its connections.

One dbenv operation at a time per target database + scope: a session-level
advisory lock held on a connection to the server's maintenance database (so the
target may be dropped and recreated under it). Behind a pooler a session lock
would leak to other clients, so it is taken only on a direct connection. A second
operation waits at most the project's ``lock_timeout``, told who holds it
(``dbenv.safety.lockwait``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.errors import OperationError
from dbenv.safety.lockwait import Watch

if TYPE_CHECKING:
    import psycopg

    from dbenv.target import Target

__all__ = ["advisory_lock", "bound_lock_waits", "end_transaction", "lock_key"]

Progress = Callable[[str], None]


def lock_key(target: Target) -> int:
    """The advisory lock key of a target database + scope."""
    text = f"{target.database}|{_scope_label(target) or ''}"
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


def _scope_label(target: Target) -> str | None:
    # the stamp's scope spelling (dbenv.safety.stamp.scope_of): keys stay as they were
    if target.isolation in ("schema", "prefix") and target.scope:
        return f"{target.isolation}:{target.scope}"
    return None


@contextmanager
def advisory_lock(
    target: Target,
    *,
    application_name: str,
    progress: Progress | None,
    watch: Watch,
    before_wait: Callable[[], object],
    pooled: Callable[[], object],
) -> Iterator[psycopg.Connection[Any]]:
    """A session-level advisory lock keyed by target database + scope.

    ``before_wait`` runs (the checks, so a refusal is immediate) before waiting —
    at most ``watch.timeout`` — for another operation to finish; ``pooled`` runs
    (and should raise) when the maintenance connection goes through a pooler.
    """
    from psycopg import errors

    key = lock_key(target)
    conn = postgres.connect(target.maintenance, autocommit=True, application_name=application_name)
    try:
        # behind a pooler a session lock leaks to other clients: take it only when the
        # server's pid is the one this connection was given (a direct connection)
        row = conn.execute(
            "SELECT CASE WHEN pg_backend_pid() = %s THEN pg_try_advisory_lock(%s) END",
            (conn.info.backend_pid, key),
        ).fetchone()
        if row is None or row[0] is None:
            pooled()
        if not (row and row[0]):
            before_wait()
            if progress:
                progress(f"waiting for another dbenv operation on '{target.environment}' to finish")
            conn.execute(_lock_timeout(watch.timeout))
            watch.watch([conn.info.backend_pid])
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except errors.LockNotAvailable:
                held = "; ".join(b.describe() for b in watch.blockers)
                raise OperationError(
                    f"another dbenv operation on '{target.environment}'"
                    + (f" ({held})" if held else "")
                    + f" held its lock for more than {watch.timeout:g} s; nothing was changed.",
                    hint="Wait for it to finish (dbenv status lists connected clients), or"
                    " raise project.lock_timeout.",
                ) from None
        yield conn
    finally:
        conn.close()  # ends the session: releases the lock even after a failure


def _lock_timeout(seconds: float) -> bytes:
    return f"SET lock_timeout = '{max(1, int(seconds * 1000))}ms'".encode()


def bound_lock_waits(conn: psycopg.Connection[Any], seconds: float) -> int:
    """Give the session a lock timeout; returns its server pid (a pooler's may differ)."""
    row = conn.execute(
        "SELECT pg_backend_pid(), set_config('lock_timeout', %s, false)",
        (f"{max(1, int(seconds * 1000))}ms",),
    ).fetchone()
    return int(row[0]) if row else conn.info.backend_pid


def end_transaction(conn: psycopg.Connection[Any]) -> None:
    """Roll back what a failed operation left open; a connection that cannot is closed."""
    if conn.closed or conn.info.transaction_status == 0:
        return
    try:
        conn.rollback()
    except Exception:
        conn.close()  # interrupted mid-statement: the server rolls back when it goes
