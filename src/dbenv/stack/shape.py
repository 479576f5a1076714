"""The production shape of the local stack: a streaming replica and a PgBouncer.

``[local] replica = true`` makes a hot standby of the local primary: once,
``pg_basebackup -R -X stream`` over the primary's trusted unix socket (initdb's
``local replication all trust`` line lets it in) into ``<home>/replica/postgres``;
then it is started with the same binaries, as the same user, streaming from the
primary. Its ``primary_conninfo`` is passed at every start, so a primary that had
to move to another port is still followed.

``[local] pooler = true`` puts a PgBouncer in transaction mode in front of the
primary (``pgbouncer.py``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from dbenv.errors import ServerStartError
from dbenv.stack.pg_cluster import PgCluster, on_free_port
from dbenv.stack.pgbouncer import PgBouncerProcess
from dbenv.stack.state import PgState, PoolerState

__all__ = ["ensure_pooler", "ensure_replica", "replica_cluster"]

Say = Callable[[str], None]
PickPort = Callable[[int], int]  # a wanted port (0: any) -> a free one


def replica_cluster(primary: PgCluster) -> PgCluster:
    """The standby's cluster: ``<home>/replica`` beside the primary's, same binaries and user."""
    return PgCluster(
        primary.data_dir / "replica",
        binaries=primary.binaries,
        run_as=primary.run_as,
        superuser=primary.superuser,
        host_auth=primary.host_auth,
    )


def _conninfo(primary: PgState) -> str:
    return (
        f"host={primary.socket_dir} port={primary.port} user={primary.superuser} "
        "application_name=dbenv_replica"
    )


def _base_backup(standby: PgCluster, primary: PgState, *, no_sync: bool) -> None:
    standby._own(standby.data_dir, 0o755)
    standby._own(standby.pgdata, 0o700)
    cmd = [
        standby.bin.tool("pg_basebackup"),
        "-h", primary.socket_dir,
        "-p", str(primary.port),
        "-U", primary.superuser,
        "-D", str(standby.pgdata),
        "-R",  # standby.signal + primary_conninfo
        "-X", "stream",
        "-c", "fast",  # an immediate checkpoint: do not wait for the next one
    ]  # fmt: skip
    if no_sync:
        cmd.append("--no-sync")
    uid, gid, groups = standby._ids()
    result = subprocess.run(
        cmd, capture_output=True, text=True, check=False, user=uid, group=gid, extra_groups=groups
    )
    if result.returncode != 0:
        shutil.rmtree(standby.pgdata, ignore_errors=True)  # ours: made just above
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-8:])
        raise ServerStartError(
            f"pg_basebackup of the local primary failed (exit {result.returncode}):\n{tail}",
            path=standby.pgdata,
            hint="Fix the cause above, or set [local] replica = false.",
        )


def ensure_replica(
    primary_cluster: PgCluster,
    primary: PgState,
    *,
    settings: dict[str, str],
    wanted_port: int,
    pick_port: PickPort,
    say: Say,
    started: list[str],
) -> PgState:
    """The running standby: reused, started, or base-backed-up first."""
    standby = replica_cluster(primary_cluster)
    pid = standby.running_pid()
    if pid is not None:
        port = standby.running_port() or 0
    else:
        standby.clear_stale()
        if not standby.initialized:
            _base_backup(standby, primary, no_sync="fsync" in settings)
            say(f"pg_basebackup of the primary into {standby.pgdata}")
        pid, port = _start_standby(standby, primary, settings, wanted_port, pick_port)
        started.append("replica")
        who = f" as user '{standby.run_as.name}'" if standby.run_as else ""
        say(f"replica (hot standby) listening on 127.0.0.1:{port}{who}, streaming")
    return PgState(
        port=port,
        socket_dir=str(standby.socket_dir),
        superuser=primary.superuser,
        pid=pid,
        version=primary.version,
        data_dir=str(standby.pgdata),
        bindir=primary.bindir,
    )


def _start_standby(
    standby: PgCluster,
    primary: PgState,
    settings: dict[str, str],
    wanted: int,
    pick_port: PickPort,
) -> tuple[int, int]:
    options = {**settings, "hot_standby": "on", "primary_conninfo": _conninfo(primary)}
    return on_free_port(
        lambda port: standby.start(port, settings=options),
        wanted=wanted,
        pick_port=pick_port,
        what="the replica",
    )


def ensure_pooler(
    bouncer: PgBouncerProcess,
    primary: PgState,
    *,
    wanted_port: int,
    pick_port: PickPort,
    say: Say,
    started: list[str],
) -> PoolerState:
    """The running PgBouncer: reused when it serves this primary's port, else (re)started."""
    pid = bouncer.running_pid()
    port = bouncer.configured_port() if pid is not None else None
    if pid is not None and port is not None and bouncer.serves(primary.port):
        return PoolerState(port=port, pid=pid, version=bouncer.version())
    if pid is not None:  # it leads to a port the primary left: restart it
        bouncer.stop()
    pid, port = on_free_port(
        lambda port: bouncer.start(
            port, socket_dir=primary.socket_dir, pg_port=primary.port, superuser=primary.superuser
        ),
        wanted=wanted_port,
        pick_port=pick_port,
        what="PgBouncer",
    )
    started.append("pooler")
    version = bouncer.version()
    say(f"PgBouncer {version} listening on 127.0.0.1:{port} (transaction mode)")
    return PoolerState(port=port, pid=pid, version=version)
