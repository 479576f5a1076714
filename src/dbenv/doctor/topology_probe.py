"""The doctor's topology rules that connect: replicas and poolers, by what the servers say.

- ``replica-not-in-recovery``: a declared replica that answers but is not in
  recovery — a primary someone listed as a replica (writes there go nowhere
  near the primary, and reads are not of its data);
- ``replica-of-other-primary``: a replica whose system identifier is not its own
  primary's but another environment's primary's (a staging replica streaming from
  production);
- ``pooler-leads-elsewhere``: a pooler through which the server's identity or
  database is not the environment's direct ``database_url``'s.

Each environment's topology is probed with ``dbenv.status.topology`` (in parallel,
read-only, bounded timeouts), and the primaries of the others for their system
identifiers. A part that cannot be read is a note, never a pass or a failure.
``dbenv check --offline`` skips these rules, as it skips ``stamp-tier``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from dbenv.config.model import Environment
from dbenv.doctor.findings import Finding
from dbenv.status.topology import TopologyStatus, primary_system, topology_status

__all__ = ["topology_probe_rules"]


def topology_probe_rules(
    chosen: Sequence[Environment], resolved: Sequence[Environment], *, timeout: int = 3
) -> tuple[list[Finding], list[str]]:
    """Findings and notes for the replicas and poolers of the ``chosen`` environments."""
    probed = [env for env in chosen if env.replicas or env.pooler_url]
    if not probed:
        return [], []
    others = [env for env in resolved if env.database_url is not None]
    with ThreadPoolExecutor(max_workers=min(8, len(probed) + len(others))) as pool:
        topologies = [pool.submit(topology_status, env, timeout=timeout) for env in probed]
        systems = {env.name: pool.submit(primary_system, env, timeout) for env in others}
        primaries = {name: future.result() for name, future in systems.items()}
        found = [future.result() for future in topologies]
    findings: list[Finding] = []
    notes: list[str] = []
    for env, topology in zip(probed, found, strict=True):
        owners = {
            system: name
            for name, system in primaries.items()
            if system is not None and name != env.name
        }
        more, unread = _judge(env, topology, owners)
        findings += more
        notes += unread
    return findings, notes


def _judge(
    env: Environment, topology: TopologyStatus, owners: dict[str, str]
) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    notes: list[str] = []
    own = topology.primary.system_identifier if topology.primary else None
    for replica in topology.replicas:
        what = f"'{env.name}''s replica {replica.number} ({replica.target})"
        if not replica.reachable:
            notes.append(f"could not read {what} ({replica.error}); it was not compared.")
        elif not replica.in_recovery:
            findings.append(
                Finding(
                    "replica-not-in-recovery",
                    "error",
                    env.name,
                    f"{what} is not in recovery: it is a primary, not a replica.",
                    "Point the replica URL at a standby of the environment's primary, or"
                    " remove it from replicas.",
                )
            )
        elif replica.system_identifier != own and replica.system_identifier in owners:
            other = owners[replica.system_identifier]
            findings.append(
                Finding(
                    "replica-of-other-primary",
                    "error",
                    env.name,
                    f"{what} streams from environment '{other}''s primary (system identifier"
                    f" {replica.system_identifier}), not from '{env.name}''s.",
                    f"Point it at a standby of '{env.name}''s primary; an app reading it reads"
                    f" '{other}''s data.",
                )
            )
    pooler = topology.pooler
    if pooler is not None and pooler.leads_to_primary is False:
        findings.append(
            Finding(
                "pooler-leads-elsewhere",
                "error",
                env.name,
                f"'{env.name}''s pooler ({pooler.target}) leads to another server or database"
                f" ({pooler.server}) than its database_url.",
                "Fix the pooler's [databases] entry (or pooler_url) so it reaches the"
                " environment's primary.",
            )
        )
    elif pooler is not None and pooler.leads_to_primary is None:
        reason = pooler.error or "the primary could not be read"
        notes.append(f"'{env.name}''s pooler was not compared with its primary ({reason}).")
    return findings, notes
