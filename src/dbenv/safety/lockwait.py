"""Waiting for a lock: never forever, never without saying for whom.

Every destructive operation's sessions carry ``lock_timeout`` (the project's
``lock_timeout``, 60 s by default), so a statement stuck behind another session —
a ``SELECT ... FOR UPDATE``, an idle-in-transaction client, another dbenv — fails
instead of waiting forever, and the operation's transaction rolls back. Meanwhile
a ``Watch`` looks, from a session of its own, at what blocks the operation's
sessions (``pg_blocking_pids``): after a second of waiting it reports the blocking
pid, its ``application_name`` and the environment that name declares through the
progress callback, and when the wait ends in a timeout, ``explain`` turns the
error into one sentence naming the holder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.errors import OperationError

if TYPE_CHECKING:
    import psycopg

    from dbenv.config.model import Secret

__all__ = ["Blocker", "Watch", "is_lock_timeout"]

Progress = Callable[[str], None]
FIRST_LOOK = 0.2  # seconds before the first look: most operations are done by then
EVERY = 0.25
REPORT_AFTER = 1.0

_BLOCKERS = """
SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, '')
FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(%s)) ORDER BY a.pid
"""


@dataclass(frozen=True)
class Blocker:
    """A session another one waits for."""

    pid: int
    application_name: str
    state: str
    environment: str | None  # what its application_name declares, if dbenv's form

    def describe(self) -> str:
        name = f"'{self.application_name}'" if self.application_name else "(none)"
        where = f", environment {self.environment}" if self.environment else ""
        state = f", {self.state}" if self.state else ""
        return f"pid {self.pid} (application_name {name}{where}{state})"


def declared_environment(application_name: str, project: str) -> str | None:
    """``test`` from ``dbenv:<project>:test[:...]`` (``other:test`` for another project)."""
    parts = application_name.split(":")
    if len(parts) < 3 or parts[0] != "dbenv" or not parts[1] or not parts[2]:
        return None
    return parts[2] if parts[1] == project else f"{parts[1]}:{parts[2]}"


def is_lock_timeout(exc: BaseException) -> bool:
    """``exc``, or what it was raised from, is PostgreSQL's lock timeout."""
    from psycopg import errors

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, errors.LockNotAvailable):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class Watch:
    """Watch what blocks some backends; report it, and remember it for the error.

    ``url``: where the watching session connects (a maintenance database).
    Nothing is opened unless the operation is still running after ``FIRST_LOOK``.
    """

    def __init__(
        self,
        url: Secret | str,
        *,
        project: str,
        what: str,
        timeout: float,
        progress: Progress | None,
        application_name: str,
    ) -> None:
        self._url, self._project, self._what = url, project, what
        self.timeout, self._progress, self._app = timeout, progress, application_name
        self._pids: tuple[int, ...] = ()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.blockers: tuple[Blocker, ...] = ()
        self._reported: tuple[int, ...] = ()

    def watch(self, pids: Iterable[int]) -> None:
        """Watch these backends from now on (started on first call)."""
        self._pids = tuple(pids)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dbenv-lock-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)  # daemon: a hung look never holds dbenv up

    def explain(self, exc: BaseException) -> OperationError | None:
        """One sentence for a lock timeout (None: ``exc`` is something else)."""
        if not is_lock_timeout(exc):
            return None
        return self.timed_out()

    def timed_out(self) -> OperationError:
        held = "; ".join(b.describe() for b in self.blockers) or "another session"
        first = self.blockers[0].pid if self.blockers else None
        end = f"SELECT pg_terminate_backend({first})" if first else "pg_terminate_backend"
        return OperationError(
            f"{self._what} waited {self.timeout:g} s for a lock held by {held}, and gave up;"
            " nothing was changed.",
            hint=f"Let that session finish (or end it: {end}), then run it again;"
            " project.lock_timeout sets how long to wait.",
        )

    def _run(self) -> None:
        from dbenv.backends import postgres

        if self._stop.wait(FIRST_LOOK):
            return
        try:
            conn = postgres.connect(
                self._url, autocommit=True, connect_timeout=5, application_name=self._app
            )
        except Exception:
            return  # no watching session: the timeout still ends the wait
        waited = 0.0
        with conn:
            while not self._stop.is_set():
                found = self._look(conn)
                waited = waited + EVERY if found else 0.0
                if found:
                    self.blockers = found
                    self._report(found, waited)
                if self._stop.wait(EVERY):
                    return

    def _look(self, conn: psycopg.Connection[Any]) -> tuple[Blocker, ...]:
        found: dict[int, Blocker] = {}
        try:
            for pid in self._pids:
                for row in conn.execute(_BLOCKERS, (pid,)).fetchall():
                    app = str(row[1])
                    env = declared_environment(app, self._project)
                    found[int(row[0])] = Blocker(int(row[0]), app, str(row[2]), env)
        except Exception:
            return ()
        return tuple(found[p] for p in sorted(found))

    def _report(self, found: tuple[Blocker, ...], waited: float) -> None:
        pids = tuple(b.pid for b in found)
        if self._progress is None or waited < REPORT_AFTER or pids == self._reported:
            return
        self._reported = pids
        held = "; ".join(b.describe() for b in found)
        self._progress(
            f"{self._what} is waiting for a lock held by {held}"
            f" (giving up after {self.timeout:g} s)"
        )
