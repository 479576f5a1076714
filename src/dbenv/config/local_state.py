"""The ``[local]`` table and the state file of the stack ``dbenv up`` runs.

``<data_dir>/state.json`` is written by the local stack; this module only reads
it, so ``server = "local"`` environments can point at the running servers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbenv.config.model import LocalSettings
from dbenv.errors import ConfigError

STATE_FILE = "state.json"
NOT_RUNNING = "local stack not running (dbenv up)"


@dataclass(frozen=True)
class LocalState:
    """What the running local stack reported: where PostgreSQL and Redis listen."""

    path: Path
    pg_port: int
    socket_dir: str
    superuser: str
    redis_port: int | None = None
    replica_port: int | None = None  # the hot standby ([local] replica = true)
    replica_socket_dir: str | None = None
    pooler_port: int | None = None  # PgBouncer ([local] pooler = true)


def local_settings(table: Mapping[str, Any], root: Path) -> LocalSettings:
    """``LocalSettings`` from a validated ``[local]`` table; paths made absolute."""
    data_dir = Path(table.get("data_dir", ".dbenv")).expanduser()
    bindir = table.get("pg_bindir")
    return LocalSettings(
        data_dir=data_dir if data_dir.is_absolute() else root / data_dir,
        port=int(table.get("port", 0)),
        redis=bool(table.get("redis", True)),
        redis_port=int(table.get("redis_port", 0)),
        redis_persist=bool(table.get("redis_persist", False)),
        replica=bool(table.get("replica", False)),
        replica_port=int(table.get("replica_port", 0)),
        pooler=bool(table.get("pooler", False)),
        pooler_port=int(table.get("pooler_port", 0)),
        disposable=bool(table.get("disposable", True)),
        pg_bindir=Path(bindir).expanduser() if bindir else None,
    )


def read_local_state(data_dir: Path) -> LocalState | None:
    """The running stack's state, or None when no state file exists."""
    path = data_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        postgres = data["postgres"]
        redis, replica, pooler = data.get("redis"), data.get("replica"), data.get("pooler")
        return LocalState(
            path=path,
            pg_port=int(postgres["port"]),
            socket_dir=str(postgres["socket_dir"]),
            superuser=str(postgres["superuser"]),
            redis_port=int(redis["port"]) if isinstance(redis, dict) else None,
            replica_port=int(replica["port"]) if isinstance(replica, dict) else None,
            replica_socket_dir=str(replica["socket_dir"]) if isinstance(replica, dict) else None,
            pooler_port=int(pooler["port"]) if isinstance(pooler, dict) else None,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"the local stack's state file {path} is unreadable ({exc.__class__.__name__}).",
            hint="Restart the stack with `dbenv down` then `dbenv up`.",
            path=path,
        ) from None


def local_database_name(project: str, environment: str) -> str:
    """``<project>_<environment>``, lower-cased, anything but [a-z0-9_] made ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", f"{project}_{environment}".lower())
