"""The override: ``--i-mean-it`` names the target database, or ``NAME@host:port``.

A bare name is enough unless a protected environment's database has that name on
another server (test and production told apart by port only): then only the
qualified form confirms anything. Loopback and unix sockets are spelled
``localhost``, so ``NAME@127.0.0.1:5433`` and ``NAME@localhost:5433`` are one target.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import TYPE_CHECKING

from dbenv.config.model import Environment
from dbenv.safety.checks import CheckResult
from dbenv.safety.facts import place_of, protected_environments, server_target, url_target

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = ["check_override", "names_target", "qualified_name", "same_name_protected"]


def check_override(
    project: Project,
    env: Environment,
    override: str,
    database: str,
    *,
    same_as: Iterable[Environment] = (),
) -> CheckResult:
    """The override must name the target: ``NAME``, or ``NAME@host:port``.

    When a protected environment's database has the same name on another server
    (an app that tells test from production by port only), the bare name confirms
    nothing: only the qualified form does. ``same_as``: protected environments whose
    database the target is by identity (``Facts.same_as``) — an alias, not a twin.
    """
    qualified = qualified_name(env, database)
    twin = same_name_protected(project, env, database, {e.name for e in same_as})
    if override == database and twin is None:
        return CheckResult("override", True, f"the override names '{database}'")
    if qualified is not None and names_target(override, env, database, qualified=True):
        return CheckResult("override", True, f"the override names '{qualified}'")
    expected = qualified if twin is not None and qualified else database
    if override == database and twin is not None:
        return CheckResult(
            "override",
            False,
            f"the override names '{database}', which protected environment '{twin}'"
            " also uses as its database name, on another server",
            f"Name the server too: --i-mean-it={expected}.",
        )
    return CheckResult(
        "override",
        False,
        f"the override names '{override}' but '{env.name}' is database '{expected}'",
        f"An override must name the target database exactly: --i-mean-it={expected}.",
    )


def qualified_name(env: Environment, database: str) -> str | None:
    """``NAME@host:port`` of the target (loopback spelled ``localhost``), None if unknown."""
    target = server_target(env)
    if target is None:
        return None
    return f"{database}@{target.host}:{target.port}"


def names_target(
    override: str | None, env: Environment, database: str, *, qualified: bool = False
) -> bool:
    """Whether ``override`` names the target: its name (unless ``qualified``) or NAME@host:port."""
    if override is None:
        return False
    if override == database and not qualified:
        return True
    name, at, server = override.rpartition("@")
    if not at or name != database:
        return False
    named, mine = url_target(f"postgresql://{server}/{name}"), server_target(env)
    if named is None or mine is None:
        return False
    return (named.host, named.port) == (mine.host, mine.port)


def same_name_protected(
    project: Project, env: Environment, database: str, aliases: Container[str] = ()
) -> str | None:
    """A protected environment whose database has this name on another server, if any.

    ``aliases``: those known by identity to be the target's own server and database.
    """
    mine = place_of(env)
    for other in protected_environments(project, env):
        place = place_of(other)
        if place is None or place[2] != database or place == mine or other.name in aliases:
            continue
        return other.name
    return None
