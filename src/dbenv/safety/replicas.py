"""The guard's replica check: a read-only standby is never the target of a destructive operation.

Two ways a target can be a replica, both refused whatever the override says (a
standby cannot take a write, and a "reset" that half-ran against one would say
so only after it started):

- by spelling: the environment's ``database_url`` names the server and database
  of a URL some environment declares in ``replicas`` (a test environment pointed
  at staging's standby by a copied line);
- by what the server says: ``pg_is_in_recovery()`` is true on the target
  connection (a standby no environment declares), read with the guard's facts.

A URL target no environment owns (``dbenv diff SOURCE URL --apply``) is held to
the same two tests by ``refuse_replica_url`` before its override is even read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, Secret
from dbenv.config.urls import target_of
from dbenv.errors import DbenvError, GuardRefusal

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = [
    "REPLICA_HINT",
    "declared_replica",
    "place",
    "refuse_replica_url",
    "replica_places",
    "replica_refusal",
]

Place = tuple[str, int, str]


def place(url: str) -> Place | None:
    """(host, port, database) a masked URL names, a unix socket spelled localhost."""
    if "://" not in url:
        return None  # a secret reference as a whole: not spelled here
    try:
        target = target_of(url)
    except DbenvError:
        return None
    host = "localhost" if target.host.startswith("/") else target.host
    return host, target.port, target.database


def replica_places(project: Project) -> list[tuple[str, int, Place]]:
    """(environment, replica number, place) of every declared replica that is spelled out."""
    found = []
    for name in project.environment_names:
        try:
            other = project.environment(name)
        except DbenvError:
            continue
        for number, url in enumerate(other.replicas, 1):
            where = place(url.masked)
            if where is not None:
                found.append((name, number, where))
    return found


def declared_replica(project: Project, env: Environment) -> tuple[str, int] | None:
    """(environment, number) of the declared replica ``env``'s database_url names, if any."""
    mine = place(env.database_url.masked) if env.database_url is not None else None
    if mine is None:
        return None
    for owner, number, where in replica_places(project):
        if where == mine:
            return owner, number
    return None


REPLICA_HINT = (
    "Point its database_url at a primary it owns; replicas are read-only and only"
    " applications read them (DATABASE_REPLICA_URLS)."
)


def replica_refusal(project: Project, env: Environment, *, in_recovery: bool) -> str | None:
    """Why the target is a replica (declared, or in recovery), or None when it is not."""
    declared = declared_replica(project, env)
    if declared is not None:
        owner, number = declared
        return (
            f"'{env.name}''s database_url is replica {number} of environment '{owner}',"
            " a read-only standby"
        )
    if in_recovery:
        return (
            f"'{env.name}''s database is on a read-only replica (the server is in recovery,"
            " streaming from its primary)"
        )
    return None


def refuse_replica_url(
    project: Project | None, url: Secret | str, label: str, operation: str
) -> None:
    """Raise ``GuardRefusal`` (check ``replica``) when a URL target is a replica.

    For operations given a URL no environment owns (``dbenv diff ... URL --apply``):
    a URL some environment declares in ``replicas``, or a server in recovery, is
    refused before anything is read or snapshotted, whatever the override says.
    """
    masked = url.masked if isinstance(url, Secret) else mask_url(url)
    where = place(masked)
    declared = None
    if project is not None and where is not None:
        declared = next(((o, n) for o, n, p in replica_places(project) if p == where), None)
    if declared is not None:
        found = f"it is replica {declared[1]} of environment '{declared[0]}', a read-only standby"
    elif _in_recovery(url):
        found = "its server is a read-only replica (in recovery, streaming from its primary)"
    else:
        return
    raise GuardRefusal(
        f"refused to {operation} {label}: check 'replica' failed — {found}; nothing was changed.",
        check="replica",
        hint="Name the primary (or an environment whose database_url is it); replicas are"
        " read-only.",
    )


def _in_recovery(url: Secret | str) -> bool:
    """Whether the server at ``url`` says it is a standby (False when it cannot be asked:
    the operation's own connection then reports why)."""
    from dbenv.backends import postgres

    try:
        with postgres.connect(url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    except DbenvError:
        return False
    return bool(row and row[0])
