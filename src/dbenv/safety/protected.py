"""The project's protected environments, which the guard compares a target with.

Below ``facts`` and ``identity``, which both ask for them (the facts to compare a
target with each, the identity reader to start reading each one's identity
early).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbenv.errors import DbenvError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment


def protected_environments(project: Project, env: Environment | None) -> list[Environment]:
    """The project's protected environments other than ``env`` (those that resolve)."""
    found = []
    for name in project.environment_names:
        if env is not None and name == env.name:
            continue
        try:
            other = project.environment(name)
        except DbenvError:
            continue  # an environment that does not resolve cannot be compared
        if other.tier == "protected":
            found.append(other)
    return found


def protected_or_unresolved(project: Project, env: Environment | None) -> list[Environment | str]:
    """``protected_environments``, plus by name those that may be protected but do not resolve.

    An environment whose settings fail here (production's secrets unset on a CI
    machine) is listed by name unless its project file declares it disposable.
    """
    found: list[Environment | str] = []
    tables = project.source.data.get("environments", {})
    for name in project.environment_names:
        if env is not None and name == env.name:
            continue
        try:
            other = project.environment(name)
        except DbenvError:
            if tables.get(name, {}).get("tier") != "disposable":
                found.append(name)
            continue
        if other.tier == "protected":
            found.append(other)
    return found
