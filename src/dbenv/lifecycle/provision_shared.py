"""What a disposable environment shares with protected ones, which provisioning leaves alone.

A role is one per server; ``ALTER ROLE r IN DATABASE d SET`` applies to every
session of ``r`` in ``d``; ``ALTER DATABASE d SET`` and ``REVOKE ... FROM PUBLIC``
to every session in ``d``. So when a protected environment uses the same role on
the same server (seed 000: test and production both log in as ``agents``), or
the same database, provisioning the disposable one must not change that role's
password, grants or settings, nor that database's settings: it would change them
for production. ``Sharing`` says who shares what; the messages say what was
skipped, why, and what the operator could do instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbenv.config.model import Environment
from dbenv.safety.checks import protected_environments, server_target

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = ["Sharing", "sharing_of"]


@dataclass(frozen=True)
class Sharing:
    """Protected environments sharing the target's role (server-wide) or database."""

    role: tuple[str, ...] = ()  # same server, same role
    database: tuple[str, ...] = ()  # same server and database, any role
    role_in_database: tuple[str, ...] = ()  # same server, database and role

    def password_note(self, env: str, role: str) -> str:
        names = _names(self.role)
        return (
            f"role {role} is also {names}'s role, so dbenv left its password as it is, and"
            f" {env}'s database_url has a different one: put the role's password in {env}'s"
            f" database_url, or give {env} a role of its own"
        )

    def grants_note(self, env: str, role: str, database: str) -> str:
        who = self.role or self.database
        return (
            f"grants for {role} on {database} left as they are: {_names(who)} uses"
            f" {'that role' if self.role else 'that database'} too (dbenv never changes a"
            f" protected environment's privileges); give {env} a role of its own to have"
            " them set"
        )

    def settings_note(self, env: str, target: str) -> str:
        who = self.database if target.startswith("DATABASE") else self.role_in_database
        return (
            f"synchronous_commit = off not set on {target}: {_names(who)} uses it too, and"
            f" its commits would become asynchronous; give {env} a role (or database) of its"
            " own, or set it per session (PGOPTIONS='-c synchronous_commit=off')"
        )


def sharing_of(project: Project, env: Environment) -> Sharing:
    """Which protected environments of ``project`` share ``env``'s role or database."""
    mine = server_target(env)
    if mine is None:
        return Sharing()
    role, database, both = [], [], []
    for other in protected_environments(project, env):
        theirs = server_target(other)
        if theirs is None or (theirs.host, theirs.port) != (mine.host, mine.port):
            continue
        same_role = bool(mine.user) and theirs.user == mine.user
        same_database = theirs.database == mine.database
        if same_role:
            role.append(other.name)
        if same_database:
            database.append(other.name)
        if same_role and same_database:
            both.append(other.name)
    return Sharing(tuple(role), tuple(database), tuple(both))


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{n}'" for n in names) or "a protected environment"
