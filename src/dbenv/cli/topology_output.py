"""How ``dbenv status`` shows an environment's topology: one line per part, masked."""

from __future__ import annotations

from dbenv.status.topology import PoolerStatus, ReplicaStatus, TopologyStatus

__all__ = ["topology_notes"]


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
