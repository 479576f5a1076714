"""How ``dbenv status`` shows an environment's topology: one line per part, masked.

Also the ``--replica`` / ``--replica-number`` options of ``diff``, ``status`` and
``sync`` (reads from a replica, ``dbenv.status.replica_read``) and their lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dbenv.errors import UsageError

if TYPE_CHECKING:
    from dbenv.status.replica_read import ReplicaRead
    from dbenv.status.topology import PoolerStatus, ReplicaStatus, TopologyStatus

__all__ = [
    "ReplicaNumberOption",
    "ReplicaOption",
    "replica_lines",
    "replica_number",
    "topology_notes",
]

ReplicaOption = Annotated[
    bool,
    typer.Option(
        "--replica",
        help="Read the environment from its first declared replica (not the primary).",
    ),
]
ReplicaNumberOption = Annotated[
    int | None,
    typer.Option(
        "--replica-number",
        metavar="N",
        help="Read from replica N (from 1, as in replicas.N); implies --replica.",
    ),
]


def replica_number(replica: bool, number: int | None) -> int | None:
    """The replica to read from (None: the primary); bad input for a number below 1."""
    if number is not None and number < 1:
        raise UsageError(
            f"--replica-number {number} is not a replica number.",
            hint="Replicas are numbered from 1, as in replicas.N (dbenv config show).",
        )
    if number is not None:
        return number
    return 1 if replica else None


def replica_lines(read: ReplicaRead) -> list[str]:
    """``reading production from replica 1 (...): lag 0.0 s`` and its warning, if any."""
    lag = "lag unknown" if read.lag_seconds is None else f"lag {read.lag_seconds} s"
    lines = [f"reading {read.environment} from replica {read.number} ({read.target}): {lag}"]
    warning = read.warning()
    return [*lines, warning] if warning else lines


def topology_notes(name: str, topology: TopologyStatus | None) -> list[str]:
    """One line per part: ``production: pooler ...``, ``production: replica 1 ...``."""
    if topology is None:
        return []
    notes = []
    if topology.pooler is not None:
        notes.append(f"{name}: pooler {topology.pooler.target}: {_pooler(topology.pooler)}")
    for replica in topology.replicas:
        notes.append(f"{name}: replica {replica.number} {replica.target}: {_replica(replica)}")
    for role in topology.redis_roles:
        kind = "redis cluster" if role.cluster else "redis"
        state = f"{role.latency_ms} ms" if role.reachable else _unreachable(role.error, role.target)
        if role.reachable and role.cluster and role.cluster_state is None:
            state += f", but {role.error}"
        elif role.reachable and role.cluster:
            state += (
                f", cluster_state {role.cluster_state}, {role.masters} masters,"
                f" {role.replicas} replicas, {role.slots_covered}/16384 slots"
            )
        if role.prefix:
            state += f", prefix '{role.prefix}'"
        notes.append(f"{name}: {kind} {role.role} {role.target}: {state}")
    return notes


def _unreachable(error: str | None, target: str) -> str:
    """``unreachable (why)``, without the URL the line already shows."""
    why = " ".join((error or "?").split())
    for prefix in (f"could not connect to {target}: ", f"could not reach Redis at {target}: "):
        why = why.removeprefix(prefix)
    return f"unreachable ({why})"


def _pooler(pooler: PoolerStatus) -> str:
    mode = f"pool mode {pooler.pool_mode} ({pooler.pool_mode_from})" if pooler.pool_mode else ""
    if not pooler.reachable:
        return _unreachable(pooler.error, pooler.target) + (f", {mode}" if mode else "")
    leads = {
        True: "leads to the primary",
        False: f"LEADS ELSEWHERE: {pooler.server}",
        None: "not compared with the primary",
    }[pooler.leads_to_primary]
    return ", ".join(p for p in (f"{pooler.latency_ms} ms", mode, leads) if p)


def _replica(replica: ReplicaStatus) -> str:
    if not replica.reachable:
        return _unreachable(replica.error, replica.target)
    if not replica.in_recovery:
        return "NOT IN RECOVERY (a primary, not a replica)"
    same = {
        True: "streams from the primary",
        False: f"ANOTHER SERVER'S REPLICA (system {replica.system_identifier})",
        None: "system identifier not compared",
    }[replica.same_system_as_primary]
    lag = []
    if replica.lag_bytes is not None:
        lag.append(f"{replica.lag_bytes} bytes")
    if replica.lag_seconds is not None:
        lag.append(f"{replica.lag_seconds} s")
    return f"in recovery, {same}" + (f", lag {' / '.join(lag)}" if lag else "")
