"""``dbenv up`` / ``dbenv down`` / ``dbenv compose``: the local stack, as commands.

Each function takes resolved objects and returns a result; nothing here prints.
``up`` starts the stack (idempotently), then provisions (``dbenv.lifecycle.provision``: role,
database, grants, extensions, stamp) every environment with ``server = "local"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dbenv.config.local_state import local_database_name
from dbenv.config.model import Environment
from dbenv.stack.local import LocalStack, StackStatus

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.stack.compose import ComposeResult

__all__ = [
    "DownResult",
    "LocalDatabase",
    "UpResult",
    "compose",
    "down",
    "initdb_cache",
    "local_environments",
    "stack_for",
    "up",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalDatabase:
    """One environment's database on the local server."""

    environment: str
    database: str
    user: str
    created: bool  # False: it already existed
    url: str = ""  # masked (a socket URL carries no password anyway)


@dataclass(frozen=True)
class UpResult:
    status: StackStatus
    databases: tuple[LocalDatabase, ...] = ()

    @property
    def already_running(self) -> bool:
        return not self.status.started


@dataclass(frozen=True)
class DownResult:
    stopped: tuple[int, ...]  # pids of the servers stopped
    purged: Path | None = None  # the data directory deleted


def stack_for(
    project: Project, *, no_redis: bool = False, progress: Progress | None = None
) -> LocalStack:
    """The ``LocalStack`` the project's ``[local]`` table describes.

    ``DBENV_PG_BINDIR`` and ``PATH`` come from the project's process environment
    (read by the config layer), so a test can point them anywhere.
    """
    local = project.local
    env_bindir = project.process_env.get("DBENV_PG_BINDIR")
    return LocalStack(
        local.data_dir,
        port=local.port,
        redis=local.redis and not no_redis,
        redis_port=local.redis_port,
        redis_persist=local.redis_persist,
        replica=local.replica,
        replica_port=local.replica_port,
        pooler=local.pooler,
        pooler_port=local.pooler_port,
        disposable=local.disposable,
        pg_bindir=Path(env_bindir) if env_bindir else local.pg_bindir,
        search_path=project.process_env.get("PATH"),
        initdb_cache=initdb_cache(project.process_env),
        progress=progress,
    )


def initdb_cache(process_env: Mapping[str, str]) -> Path | None:
    """Where pristine clusters are kept for fast cold starts: $XDG_CACHE_HOME/dbenv/initdb."""
    if process_env.get("DBENV_NO_INITDB_CACHE"):
        return None
    base = process_env.get("XDG_CACHE_HOME") or (
        str(Path(process_env["HOME"]) / ".cache") if process_env.get("HOME") else None
    )
    return Path(base) / "dbenv" / "initdb" if base else None


def local_environments(environments: Iterable[Environment]) -> list[tuple[Environment, str, str]]:
    """Environments on the local server, each with its database and user names."""
    from urllib.parse import unquote, urlsplit

    found = []
    for env in environments:
        if env.server != "local":
            continue
        database = user = None
        if env.database_url is not None:  # masked: names, never a password
            parts = urlsplit(env.database_url.masked)
            database = unquote(parts.path.lstrip("/")) or None
            user = unquote(parts.username) if parts.username else None
        database = (
            database or _setting(env, "database") or local_database_name(env.project, env.name)
        )
        found.append((env, database, user or _setting(env, "user") or database))
    return found


def _setting(env: Environment, key: str) -> str | None:
    setting = env.settings.get(key)
    value = setting.value if setting is not None else None
    return str(value) if value not in (None, "") else None


def _provision(project: Project, *, progress: Progress | None) -> tuple[LocalDatabase, ...]:
    """Provision (role, database, grants, extensions, stamp) every local environment.

    Environments on different databases are provisioned at once (each mostly waits
    on the server); those sharing a database one after the other, so two stamps
    never race to create one schema. Progress is reported in the project's order.
    """
    from concurrent.futures import ThreadPoolExecutor

    from dbenv.lifecycle.provision import ProvisionResult, provision

    envs = local_environments(project.environments())
    groups: dict[str, list[Environment]] = {}
    for env, database, _ in envs:
        groups.setdefault(database, []).append(env)
    done: dict[str, tuple[ProvisionResult, list[str]]] = {}

    def run(group: list[Environment]) -> None:
        # the environment owning a database first: its stamp lists the tenants that the
        # prefix/schema environments inside it need (docs/guard.md, "Tenants")
        for env in sorted(group, key=lambda e: e.isolation != "database"):
            said: list[str] = []
            done[env.name] = (provision(project, env, progress=said.append), said)

    with ThreadPoolExecutor(max(1, min(4, len(groups)))) as pool:
        list(pool.map(run, groups.values()))  # re-raises the first failure
    made = []
    for env, _, _ in envs:
        result, said = done[env.name]
        for line in said:
            if progress:
                progress(line)
        created = any(change.startswith("created database") for change in result.changes)
        url = env.database_url.masked if env.database_url is not None else ""
        made.append(LocalDatabase(env.name, result.database, result.role, created, url))
    return tuple(made)


def up(
    project: Project,
    *,
    no_redis: bool = False,
    progress: Progress | None = None,
) -> UpResult:
    """Start the local stack (idempotent) and create the local environments' databases."""
    databases: list[LocalDatabase] = []

    def provision() -> None:
        # Resolve the environments afresh: their URLs point at the state just written.
        databases.extend(_provision(replace(project, _cache={}), progress=progress))

    # provisioning needs only the primary: it runs while the replica and pooler start
    stack = stack_for(project, no_redis=no_redis, progress=progress)
    status = stack.start(meanwhile=provision)
    _replica_caught_up(status, progress=progress)
    return UpResult(status, tuple(databases))


def _replica_caught_up(status: StackStatus, *, progress: Progress | None) -> None:
    """Return once the replica has replayed what ``up`` created: its databases are there."""
    state = status.state
    if state is None or state.postgres is None or state.replica is None:
        return
    from dbenv.backends.postgres import wait_replayed
    from dbenv.stack.state import pg_socket_url

    caught_up = wait_replayed(pg_socket_url(state.postgres), pg_socket_url(state.replica))
    if not caught_up and progress:
        progress("note: the replica has not caught up with the primary after 30 s")


def down(project: Project, *, purge: bool = False) -> DownResult:
    """Fast shutdown of the stack; ``purge`` also deletes a data directory dbenv created."""
    stack = stack_for(project)
    if purge:
        existed = stack.data_dir.exists()
        status = stack.purge()
        return DownResult(status.stopped, purged=stack.data_dir if existed else None)
    return DownResult(stack.stop().stopped)


def compose(project: Project, *, out: Path | None = None) -> ComposeResult:
    """Write docker-compose files and the test database's init script for the project."""
    from dbenv.stack.compose import write_compose

    return write_compose(project, out=out)
