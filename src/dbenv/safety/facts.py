"""The facts the guard's checks judge, read from the server without writing anything.

``read_facts`` / ``facts_from`` say whether the target database exists, what its
stamp says, whether its scope holds anything, what its server is (identity) and
whether a protected environment is the same database. Also here: the places
environments point at by URL (from the masked URL: no secret is resolved); the
project's protected environments, which the checks compare a target with, are
read by ``dbenv.safety.protected`` (and handed out here too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbenv.backends import postgres
from dbenv.config.model import Environment
from dbenv.errors import ConnectionFailed, DbenvError
from dbenv.safety.identity import (
    IDENTITY_COLUMNS,
    WITHOUT_SYSTEM,
    ServerIdentity,
    identity_of_row,
    pooled,
    protected_identities,
    read_identity,
)
from dbenv.safety.protected import protected_environments, protected_or_unresolved
from dbenv.safety.stamp import Stamp, StampState, read_stamp_state_with
from dbenv.safety.tenancy import TENANT_COLUMNS, Tenancy, tenancy_of

if TYPE_CHECKING:
    import psycopg

    from dbenv.config import Project
    from dbenv.config.urls import Place
    from dbenv.target import Target

__all__ = [
    "Facts",
    "compared",
    "facts_from",
    "open_target",
    "place_of",
    "protected_environments",
    "protected_or_unresolved",
    "read_facts",
    "server_target",
    "url_target",
]


@dataclass(frozen=True)
class Facts:
    """What the server says about the target, read without writing anything."""

    database: str
    exists: bool
    state: StampState | None = None
    stamp: Stamp | None = None
    relations: int = 0  # counted only when the scope is unstamped
    identity: ServerIdentity | None = None  # what the server says it is (dbenv.safety.identity)
    pooled: bool = False  # the connection goes through a pooler (PgBouncer)
    in_recovery: bool = False  # the server is a standby (dbenv.safety.replicas)
    # protected environments whose database this is by identity, whatever their URLs say
    same_as: tuple[Environment, ...] = ()
    notes: tuple[str, ...] = ()  # protected environments that could not be compared
    tenancy: Tenancy | None = None  # a prefix/schema target inside a protected database


def read_facts(project: Project, env: Environment, target: Target) -> Facts:
    """Existence, stamp state and relation count of the target's scope."""
    conn = open_target(target)
    if conn is None:
        return Facts(target.database, exists=False)
    with conn:
        return facts_from(conn, project, env, target=target)


def open_target(
    target: Target, maintenance: psycopg.Connection[Any] | None = None, **options: Any
) -> psycopg.Connection[Any] | None:
    """An autocommit connection to the target; None when its database does not exist.

    ``maintenance``: an open connection to ask whether it exists (else one is opened).
    """
    try:
        return postgres.connect(target.url, autocommit=True, connect_timeout=5, **options)
    except ConnectionFailed:
        if maintenance is None:
            with postgres.connect(target.maintenance, autocommit=True, connect_timeout=5) as conn:
                exists = _database_exists(conn, target.database)
        else:
            exists = _database_exists(maintenance, target.database)
        if exists:
            raise
        return None


def _database_exists(conn: psycopg.Connection[Any], database: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    return row is not None


def facts_from(
    conn: psycopg.Connection[Any],
    project: Project,
    env: Environment,
    *,
    compare: bool = True,
    target: Target | None = None,
) -> Facts:
    """The facts, read on an open connection to the target database.

    The target's identity comes with the stamp in one query; ``compare``: also
    look for protected environments whose database it is (``dbenv.safety.identity``).
    ``target``: the environment's resolved target, when the caller has made it.
    """
    scoped = env.isolation in ("prefix", "schema")
    columns, unprivileged = IDENTITY_COLUMNS, WITHOUT_SYSTEM
    if scoped:
        columns, unprivileged = f"{columns}, {TENANT_COLUMNS}", f"{unprivileged}, {TENANT_COLUMNS}"
    database, state, stamp, extra = read_stamp_state_with(
        conn, project.name, env, columns, unprivileged=unprivileged
    )
    identity, pid = identity_of_row(database, extra[:4]) if extra else read_identity(conn)
    relations = 0
    if state == "absent":  # only an unstamped scope's check looks at what it holds
        schema = env.schema if env.isolation == "schema" else None
        prefix = env.prefix if env.isolation == "prefix" else None
        relations = len(postgres.user_relations(conn, schema=schema, prefix=prefix))
    facts = Facts(
        database, True, state, stamp, relations, identity, pooled(conn, pid), _in_recovery(conn)
    )
    facts = compared(project, env, facts) if compare else facts
    if not scoped:
        return facts
    from dataclasses import replace

    database_stamp, made = extra[4:] if extra else (_database_stamp(conn), None)
    mine = target.place if target is not None else place_of(env)
    hosts = [
        other
        for other in protected_environments(project, env)
        if other.isolation == "database" and (other in facts.same_as or place_of(other) == mine)
    ]
    tenancy = tenancy_of(conn, project, env, database_stamp=database_stamp, made=made, hosts=hosts)
    return replace(facts, tenancy=tenancy)


def _in_recovery(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server is a standby (read-only, replaying its primary's WAL)."""
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    return bool(row and row[0])


def _database_stamp(conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
    """The database-wide stamp row as a dict (when the one query could not read it)."""
    from psycopg import errors

    if conn.info.transaction_status != 0:
        return None  # inside the caller's transaction a failed query would abort it
    try:
        row = conn.execute("SELECT to_jsonb(d) FROM dbenv.stamp d WHERE d.scope = ''").fetchone()
    except (errors.UndefinedTable, errors.InsufficientPrivilege):
        return None
    return dict(row[0]) if row and row[0] else None


def compared(project: Project, env: Environment, facts: Facts) -> Facts:
    """``facts`` with the protected environments it is by identity, and notes."""
    from dataclasses import replace

    if facts.identity is None:
        return facts
    same, notes = [], []
    for other, found in protected_identities(project, env):
        name = other if isinstance(other, str) else other.name
        if isinstance(found, str):
            notes.append(f"protected environment '{name}' was not compared by identity: {found}")
        elif not isinstance(other, str) and found.same_database(facts.identity):
            same.append(other)
    return replace(facts, same_as=tuple(same), notes=tuple(notes))


def server_target(env: Environment) -> Place | None:
    """The server, database and user the environment's masked URL names; None if unknown."""
    return None if env.database_url is None else url_target(env.database_url.masked)


def url_target(url: str) -> Place | None:
    """The server, database and user a URL names; None if it does not parse.

    A unix socket and loopback may be the same server: a socket counts as localhost.
    """
    from dataclasses import replace

    from dbenv.config.urls import target_of

    try:
        target = target_of(url)
    except DbenvError:
        return None
    return replace(target, host="localhost") if target.host.startswith("/") else target


def place_of(env: Environment) -> tuple[str, int, str] | None:
    """(host, port, database) from the masked URL; None if unknown."""
    target = server_target(env)
    return None if target is None else (target.host, target.port, target.database)
