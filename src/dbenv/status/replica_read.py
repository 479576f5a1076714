"""Reads from a replica (``--replica``): which standby, and whether its lag makes the read stale.

``dbenv diff``, ``dbenv status`` and ``dbenv sync`` read an environment from one of
its declared ``replicas`` when asked, to spare the primary. A replica answers
with what it has replayed, so the read is as old as its replay lag: over the
environment's ``replica_max_lag`` seconds, the read is called stale (a warning
line, ``stale: true`` in JSON). Only declared replicas are read — a number, as in
``replicas.N`` — so every one has passed the project's checks; a replica is never
written to (the guard's ``replica`` check), and these reads never take a lock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from dbenv.config.model import Environment, SecretURL
from dbenv.errors import UsageError
from dbenv.status.topology import ReplicaStatus, replica_alone

__all__ = ["ReplicaRead", "on_replica", "read_of", "replica_url"]


@dataclass(frozen=True)
class ReplicaRead:
    """Which replica an environment was read from, and how far behind it was."""

    environment: str
    number: int  # from 1, as in replicas.N
    target: str  # masked
    lag_seconds: float | None  # None: not read (unreachable, or not in recovery)
    max_lag_seconds: float
    in_recovery: bool | None = None
    error: str | None = None

    @property
    def stale(self) -> bool:
        """The replica's replay lag is over ``replica_max_lag``."""
        return self.lag_seconds is not None and self.lag_seconds > self.max_lag_seconds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stale": self.stale}

    def warning(self) -> str | None:
        """One line when the read may not be what the primary holds now, else None."""
        where = f"replica {self.number} of '{self.environment}'"
        if self.in_recovery is False:
            return f"warning: {where} is not in recovery: it is not a replica of its primary."
        if self.stale:
            return (
                f"warning: {where} lags {self.lag_seconds} s behind its primary (over"
                f" replica_max_lag = {self.max_lag_seconds:g} s): this read may be stale."
            )
        return None


def replica_url(env: Environment, number: int) -> SecretURL:
    """Replica ``number`` (from 1) of ``env``; bad input (exit 2) when it has none such."""
    count = len(env.replicas)
    if count == 0:
        raise UsageError(
            f"environment '{env.name}' declares no replicas to read from.",
            hint=f"Add replicas under [environments.{env.name}], or leave out --replica.",
        )
    if not 1 <= number <= count:
        raise UsageError(
            f"environment '{env.name}' has {count} replica(s); --replica-number {number}"
            " names none of them.",
            hint=f"Give a number from 1 to {count}, as in replicas.N (dbenv config show).",
        )
    return env.replicas[number - 1]


def on_replica(env: Environment, number: int) -> Environment:
    """``env`` with its replica ``number`` in place of ``database_url``, for reading only."""
    return replace(env, database_url=replica_url(env, number))


def read_of(
    env: Environment, number: int, *, found: ReplicaStatus | None = None, timeout: int = 3
) -> ReplicaRead:
    """The lag of ``env``'s replica ``number`` (``found``: already probed by status)."""
    url = replica_url(env, number)
    probed = found if found is not None else replica_alone(url, number, timeout=timeout)
    return ReplicaRead(
        env.name,
        number,
        url.masked,
        probed.lag_seconds,
        env.replica_max_lag,
        probed.in_recovery,
        probed.error,
    )
