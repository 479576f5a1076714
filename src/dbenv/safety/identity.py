"""Servers told apart by identity, not by how their URLs are spelled.

A URL names a server by spelling: ``localhost``, ``127.0.0.1``, a unix socket, a
DNS alias, a PgBouncer database alias and a load balancer can all reach one
server. The guard must never take two spellings of production for two servers.
So when dbenv connects it reads what the server says it is:

- ``system_identifier`` from ``pg_control_system()``, where the role may run it;
- ``pg_postmaster_start_time()``, readable by every role: a cluster copied from
  another (a base backup, a container image's data directory, the test suite's
  initdb cache) keeps its ``system_identifier``, but two running servers do not
  share a start time to the microsecond;
- the database's name and oid.

Two identities are the same database when the server's agree (the system
identifier only where both sides could read it) and so does the database's name
(the oid is shown, not compared: a database dropped and created again under its
name since its identity was cached is still that database). The target's identity is read
in the query the guard already makes (``stamp._STATE``); each protected
environment's is read once per process, read-only, with a short connect timeout,
on threads started before the guard takes its lock. A protected environment that
cannot be reached (or whose URL does not resolve here) is a note: it was not
compared — neither a pass nor a failure.

The same query reads ``pg_backend_pid()``. A direct connection sees the pid it
was given at connect time (``conn.info.backend_pid``); behind PgBouncer the
client gets the pooler's cancel key instead, so the two differ — see ``pooled``.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.errors import DbenvError
from dbenv.safety.protected import protected_or_unresolved

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project

__all__ = [
    "IDENTITY_COLUMNS",
    "WITHOUT_SYSTEM",
    "ServerIdentity",
    "identity_of_row",
    "pooled",
    "prefetch",
    "protected_identities",
    "read_identity",
]

# appended to a SELECT on the target: system identifier, start time, database oid,
# backend pid (the first needs EXECUTE on pg_control_system(), granted by default;
# WITHOUT_SYSTEM reads NULL there for a role without it)
IDENTITY_COLUMNS = (
    "(SELECT system_identifier FROM pg_control_system()), pg_postmaster_start_time()::text,"
    " (SELECT oid FROM pg_database WHERE datname = current_database())::bigint,"
    " pg_backend_pid()"
)
WITHOUT_SYSTEM = IDENTITY_COLUMNS.replace(
    "(SELECT system_identifier FROM pg_control_system())", "NULL::bigint"
)
CONNECT_TIMEOUT = 2  # seconds: libpq's smallest useful value
# the longest the guard waits for one answer: a pooler whose server is down holds a
# query (PgBouncer's query_wait_timeout, 120 s) though the connect succeeded
ANSWER_TIMEOUT = 5.0


@dataclass(frozen=True)
class ServerIdentity:
    """What a server says it is: system identifier, start time, database and its oid."""

    system: int | None  # None: pg_control_system() was not readable
    started: str
    database: str
    oid: int

    def same_database(self, other: ServerIdentity) -> bool:
        """Whether both name one database on one running server.

        By name, not oid: one server has one database of a name, and a protected
        identity read earlier in this process still names a database dropped and
        created again since (a restore), whose oid is new.
        """
        return self.database == other.database and self.same_server(other)

    def same_server(self, other: ServerIdentity) -> bool:
        """Whether both were read from one running server (any database)."""
        if self.started != other.started:
            return False
        return self.system is None or other.system is None or self.system == other.system

    def describe(self) -> str:
        system = f"system {self.system}, " if self.system is not None else ""
        return f"{system}started {self.started}, database '{self.database}' oid {self.oid}"


def identity_of_row(database: str, values: tuple[Any, ...]) -> tuple[ServerIdentity, int]:
    """(identity, server-side backend pid) from ``IDENTITY_COLUMNS``' four values."""
    system, started, oid, pid = values
    identity = ServerIdentity(
        None if system is None else int(system), str(started), database, int(oid)
    )
    return identity, int(pid)


def read_identity(conn: psycopg.Connection[Any]) -> tuple[ServerIdentity, int]:
    """The connection's identity and server-side pid: one query (two without EXECUTE)."""
    from psycopg import errors

    for columns in (IDENTITY_COLUMNS, WITHOUT_SYSTEM):
        try:
            row = conn.execute(f"SELECT current_database(), {columns}").fetchone()
        except errors.InsufficientPrivilege:
            if not conn.autocommit:
                conn.rollback()
            continue
        assert row is not None
        return identity_of_row(str(row[0]), tuple(row[1:]))
    raise AssertionError("unreachable: the second query needs no privilege")


def pooled(conn: psycopg.Connection[Any], server_pid: int) -> bool:
    """Whether the connection goes through a pooler (PgBouncer's cancel key is not a pid)."""
    return conn.info.backend_pid != server_pid


# -- protected environments' identities, once per process ------------------------------

_cache: dict[str, Future[ServerIdentity | str]] = {}
_lock = threading.Lock()


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def _read_protected(url: str, masked: str) -> ServerIdentity | str:
    """The identity behind ``url``, or why it could not be read (a note's reason)."""
    try:
        with postgres.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="dbenv:identity",
        ) as conn:  # one SELECT of functions; no startup options: PgBouncer refuses them
            return read_identity(conn)[0]
    except DbenvError as exc:
        return exc.message
    except Exception as exc:  # a server that answers oddly is not compared, never fatal
        return f"could not read the identity of {masked}: {type(exc).__name__}"


def _submit(env: Environment) -> Future[ServerIdentity | str] | str:
    """The lookup of ``env``'s identity, started or cached; a reason when it cannot start."""
    if env.database_url is None:
        return "it has no database URL"
    if _runs_a_command(env):
        return (
            "its URL needs a cmd: secret reference, which dbenv runs only for an operation"
            " on that environment (not to compare)"
        )
    try:
        url = env.database_url.reveal()
    except DbenvError as exc:
        return exc.message
    with _lock:
        found = _cache.get(_key(url))
        if found is None:
            found = _cache[_key(url)] = Future()
            masked = env.database_url.masked
            # a daemon thread: a server that never answers must not hold the process's exit
            threading.Thread(
                target=lambda: found.set_result(_read_protected(url, masked)),
                name="dbenv-identity",
                daemon=True,
            ).start()
        return found


def _runs_a_command(env: Environment) -> bool:
    """Whether revealing the database URL would run a ``cmd:`` reference (slow, may prompt)."""
    setting = env.settings.get("database_url")
    if setting is None:
        return False
    origins = [setting.origin, *(origin for _, origin in setting.parts)]
    return any(origin.reference == "cmd" for origin in origins)


def prefetch(project: Project, env: Environment) -> None:
    """Start reading the protected environments' identities (overlaps the lock wait)."""
    for other in protected_or_unresolved(project, env):
        if not isinstance(other, str):
            _submit(other)


def protected_identities(
    project: Project, env: Environment
) -> list[tuple[Environment | str, ServerIdentity | str]]:
    """Each other protected environment with its identity, or a reason it has none.

    An environment that does not resolve here appears by name with the reason.
    """
    found: list[tuple[Environment | str, ServerIdentity | str]] = []
    for other in protected_or_unresolved(project, env):
        if isinstance(other, str):
            found.append((other, "its settings do not resolve here"))
            continue
        lookup = _submit(other)
        found.append((other, lookup if isinstance(lookup, str) else _answer(lookup)))
    return found


def _answer(lookup: Future[ServerIdentity | str]) -> ServerIdentity | str:
    try:
        return lookup.result(timeout=ANSWER_TIMEOUT)
    except FutureTimeout:
        return f"it did not answer within {ANSWER_TIMEOUT:g} s"


def forget() -> None:
    """Drop the per-process cache (a long-lived process after servers restarted; tests)."""
    with _lock:
        _cache.clear()
