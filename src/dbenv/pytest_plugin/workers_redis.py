"""Redis under the plugin: which environments a worker's db index must stay clear of.

Each xdist worker flushes its own Redis db index (``targets.worker_redis_db``:
above every index the project's environments configure on that server). Here:
the project's other environments, and the check, once per process, that the
server has a db for the run's last worker — else one sentence says so before
anything is flushed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbenv.config.model import Environment
from dbenv.errors import ConfigError, ConnectionFailed, DbenvError
from dbenv.pytest_plugin.targets import WorkerInfo, worker_redis_db

if TYPE_CHECKING:
    from dbenv.config import Project

__all__ = ["check_room", "neighbours"]


def neighbours(project: Project, name: str) -> tuple[Environment, ...]:
    """The project's environments other than ``name`` (one that does not resolve is left out)."""
    found = []
    for other in project.environment_names:
        if other != name:
            try:
                found.append(project.environment(other))
            except DbenvError:
                continue
    return tuple(found)


def check_room(
    configured: Environment, others: tuple[Environment, ...], worker: WorkerInfo
) -> None:
    """Raise ``ConfigError`` unless the Redis server has the db index the last worker takes."""
    from dbenv.backends.redis import ping, place_of

    place = place_of(configured)
    if worker.id is None or configured.redis_url is None or place is None:
        return
    last = WorkerInfo(f"gw{worker.count - 1}", worker.count)
    needed = worker_redis_db(configured, last, others)
    ping(configured.redis_url, place[2])  # reachable: a refusal below is the index's
    try:
        ping(configured.redis_url, needed)
    except ConnectionFailed:
        raise ConfigError(
            f"Redis at {place[0]}:{place[1]} has no db {needed}, which xdist worker "
            f"{last.id} of '{configured.name}' needs (workers gw1 and up take db indexes "
            "above every one the project's environments configure on that server).",
            hint="Run fewer workers (-n), give the environments lower redis_db values, "
            "or raise 'databases' in the Redis server's configuration (default 16).",
        ) from None
