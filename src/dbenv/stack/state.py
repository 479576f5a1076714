"""What a server reports: ``state.json``, ``StackStatus``, the ``Server`` protocol.

``ExternalServer`` (an existing server: starts nothing) lives here beside the
protocol; ``LocalStack`` (``local.py``) is the implementation that starts servers.

``state.json`` holds no password (the unix socket is trusted; TCP needs one), and
``config/local_state.py`` reads it for environments with ``server = "local"``.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import quote, urlsplit

__all__ = [
    "STATE",
    "ExternalServer",
    "PgState",
    "PoolerState",
    "RedisState",
    "Server",
    "ServerURLs",
    "StackState",
    "StackStatus",
    "pg_socket_url",
    "read_state",
]

STATE = "state.json"


@dataclass(frozen=True)
class PgState:
    port: int
    socket_dir: str
    superuser: str
    pid: int
    version: str
    data_dir: str  # the cluster (PGDATA)
    bindir: str
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class RedisState:
    port: int
    pid: int
    version: str
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class PoolerState:
    """The local PgBouncer (transaction mode, in front of the primary)."""

    port: int
    pid: int
    version: str
    host: str = "127.0.0.1"
    pool_mode: str = "transaction"


@dataclass(frozen=True)
class StackState:
    """What ``state.json`` holds. No password: the unix socket is trusted."""

    postgres: PgState | None
    redis: RedisState | None = None
    replica: PgState | None = None  # [local] replica = true: the hot standby
    pooler: PoolerState | None = None  # [local] pooler = true: PgBouncer

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> StackState:
        data = json.loads(text)
        pg, redis = data.get("postgres"), data.get("redis")
        replica, pooler = data.get("replica"), data.get("pooler")
        return cls(
            PgState(**pg) if pg else None,
            RedisState(**redis) if redis else None,
            PgState(**replica) if replica else None,
            PoolerState(**pooler) if pooler else None,
        )


def read_state(data_dir: Path) -> StackState | None:
    """The state ``dbenv up`` wrote in ``data_dir``, or None."""
    try:
        return StackState.from_json((data_dir / STATE).read_text())
    except (OSError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class ServerURLs:
    """Superuser URLs of the servers (no password: socket trust or the given DSN)."""

    postgres: str
    redis: str | None = None


@dataclass(frozen=True)
class StackStatus:
    """What ``start``/``stop``/``status`` found and did."""

    kind: Literal["local", "external"]
    running: bool
    state: StackState | None = None
    urls: ServerURLs | None = None
    created: bool = False  # this call ran initdb
    # servers this call started ("postgres", "redis", "replica", "pooler")
    started: tuple[str, ...] = ()
    stopped: tuple[int, ...] = ()  # pids this call stopped
    notices: tuple[str, ...] = field(default=())


class Server(Protocol):
    """A PostgreSQL (+ Redis) server the suite or a command can use."""

    def start(self) -> StackStatus: ...

    def stop(self) -> StackStatus: ...

    def status(self) -> StackStatus: ...

    def urls(self) -> ServerURLs: ...


def pg_socket_url(state: PgState, database: str = "postgres", user: str | None = None) -> str:
    """A libpq URL over the stack's unix socket."""
    user = quote(user or state.superuser, safe="")
    return (
        f"postgresql://{user}@/{quote(database, safe='')}?host={state.socket_dir}&port={state.port}"
    )


class ExternalServer:
    """An existing server: starts and stops nothing, only points at its DSN."""

    def __init__(self, pg_dsn: str, redis_url: str | None = None) -> None:
        self.pg_dsn = pg_dsn
        self.redis_url = redis_url

    def urls(self) -> ServerURLs:
        return ServerURLs(self.pg_dsn, self.redis_url)

    def status(self) -> StackStatus:
        parts = urlsplit(self.pg_dsn)
        reachable = True
        if parts.hostname and not parts.hostname.startswith("/"):
            try:
                with socket.create_connection((parts.hostname, parts.port or 5432), timeout=2):
                    pass
            except OSError:
                reachable = False
        return StackStatus("external", running=reachable, urls=self.urls())

    def start(self) -> StackStatus:
        return self.status()

    def stop(self) -> StackStatus:
        return StackStatus("external", running=True, urls=self.urls())


LAST_PORTS = "last-ports.json"


def last_ports(data_dir: Path) -> dict[str, int]:
    """The ports of the last run: reused when free, so URLs stay the same across restarts."""
    try:
        data = json.loads((data_dir / LAST_PORTS).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}


def remember_ports(data_dir: Path, state: StackState) -> None:
    """Record the ports ``state`` listens on, for ``last_ports`` of the next ``up``."""
    ports = {"postgres": state.postgres.port if state.postgres else None}
    ports["redis"] = state.redis.port if state.redis else None
    ports["replica"] = state.replica.port if state.replica else None
    ports["pooler"] = state.pooler.port if state.pooler else None
    (data_dir / LAST_PORTS).write_text(json.dumps(ports) + "\n")


MARKER = ".dbenv-created"  # in a data directory: dbenv made it (down --purge needs it)


def read_marker(data_dir: Path) -> dict[str, object]:
    """The data directory's marker (what dbenv made there), or {} without one."""
    try:
        data = json.loads((data_dir / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_marker(directory: Path, /, **fields: object) -> None:
    """Merge ``fields`` into the marker (the data directory exists)."""
    (directory / MARKER).write_text(json.dumps({**read_marker(directory), **fields}) + "\n")
