"""Where a dump came from: recorded at dump time, read back before a restore.

A restore cannot mask, so it must know whether a dump holds a protected
environment's rows. Three witnesses, the most protected answer wins:

1. the origin record ``dbenv dump`` writes beside the archive (``FILE.origin.json``
   for a custom-format file, ``origin.json`` inside a directory dump; pg_restore
   ignores both): project, environment and tier as configured when it dumped;
2. the dump's own ``dbenv.stamp`` rows (a dbenv-managed source);
3. the database name in the archive's header, when it is the database of a
   protected environment of this project (the record may have been left behind
   when the file was copied).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment

__all__ = ["Origin", "dump_origin", "origin_path", "write_origin"]

RECORD_IN_DIRECTORY = "origin.json"


@dataclass(frozen=True)
class Origin:
    environment: str
    tier: str
    project: str | None = None

    @property
    def protected(self) -> bool:
        return self.tier == "protected"


def origin_path(dump: Path) -> Path:
    """Where the origin record of ``dump`` lives."""
    if dump.is_dir():
        return dump / RECORD_IN_DIRECTORY
    return dump.with_name(dump.name + ".origin.json")


def write_origin(dump: Path, env: Environment, database: str) -> Path:
    """Record ``env`` (project, name, tier, database name; never a URL) as the dump's origin."""
    record = {
        "project": env.project,
        "environment": env.name,
        "tier": env.tier,
        "database": database,
        "dumped_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = origin_path(dump)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def dump_origin(path: Path, project: Project | None = None) -> tuple[str, str] | None:
    """(environment, tier) the dump came from, the most protected witness first.

    ``None`` when nothing tells (not written by dbenv dump, not a dbenv-managed
    database, not a database of a protected environment of ``project``).
    """
    found = [*_recorded(path), *_stamped(path)]
    if project is not None:
        found += _by_database_name(path, project)
    found.sort(key=lambda origin: not origin.protected)
    return (found[0].environment, found[0].tier) if found else None


def _recorded(path: Path) -> list[Origin]:
    record = origin_path(path)
    if not record.is_file():
        return []
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        return [Origin(str(data["environment"]), str(data["tier"]), data.get("project"))]
    except (ValueError, KeyError, TypeError):
        # an unreadable record proves nothing either way: assume the worst
        return [Origin(record.name, "protected")]


def _pg_restore(*args: str) -> str:
    from dbenv.backends import children

    done = children.run(
        [children.binary("pg_restore"), *args], capture_output=True, text=True, check=False
    )
    return str(done.stdout)


def _stamped(path: Path) -> list[Origin]:
    out = _pg_restore("--data-only", "-n", "dbenv", "-t", "stamp", "-f", "-", str(path))
    columns: list[str] = []
    found: list[Origin] = []
    for line in out.splitlines():
        if line.startswith("COPY dbenv.stamp ("):
            columns = [c.strip() for c in line.split("(", 1)[1].split(")", 1)[0].split(",")]
        elif line == "\\.":
            columns = []
        elif columns and "environment" in columns and "tier" in columns:
            values = line.split("\t")
            if len(values) == len(columns):
                row = dict(zip(columns, values, strict=True))
                found.append(Origin(row["environment"], row["tier"], row.get("project")))
    return found


def _by_database_name(path: Path, project: Project) -> list[Origin]:
    dumped = ""
    for line in _pg_restore("-l", str(path)).splitlines()[:12]:
        if line.lstrip(";").strip().startswith("dbname:"):
            dumped = line.split("dbname:", 1)[1].strip()
    if not dumped:
        return []
    from dbenv.safety.checks import protected_environments, server_target

    found = []
    for env in protected_environments(project, None):
        target = server_target(env)  # from the masked URL: no secret is resolved
        if target is not None and target.database == dumped:
            found.append(Origin(env.name, "protected", project.name))
    return found
