"""A real streaming replica: a small primary the suite starts and a standby of it.

The ``replica_pair`` session fixture (conftest.py) starts a primary cluster of its
own (the suite's ``pg_server`` stays untouched by replication), then
``pg_basebackup -R -X stream`` into a second data directory and starts it as a hot
standby, with the same PostgreSQL binaries and, as root, as the same unprivileged
user. initdb's pg_hba.conf already has ``host replication all 127.0.0.1/32``
lines; with ``trust`` on TCP (a throwaway on loopback) the standby logs in.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from dbenv.errors import BinariesNotFound
from dbenv.stack.host import find_pg_binaries, free_port, resolve_run_as
from dbenv.stack.local import FAST_SETTINGS
from dbenv.stack.pg_cluster import PgCluster
from servers import PgServer, missing

__all__ = ["ReplicaPair", "start_replica_pair", "start_standby"]

SETTINGS = {**FAST_SETTINGS, "wal_level": "replica", "max_wal_senders": "6"}


@dataclass
class ReplicaPair:
    """A primary and its streaming standby (``.primary`` / ``.standby``: PgServer)."""

    primary: PgServer
    standby: PgServer
    clusters: tuple[PgCluster, PgCluster]

    def wait_replayed(self, timeout: float = 10) -> None:
        """Until the standby has replayed everything the primary wrote so far.

        The primary runs with ``synchronous_commit = off``: a commit may return
        before its WAL is written (and a standby gets only written WAL). One
        synchronous commit writes them all; its written position is then the wait's
        end (the insert position may be past a page header that only the next
        record's replay passes, as ``dbenv.backends.postgres.wait_replayed`` says).
        """
        with psycopg.connect(self.primary.dsn, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = on")
            conn.execute("SELECT pg_current_xact_id()")
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.standby.dsn, autocommit=True) as conn:
            while True:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)
                ).fetchone()
                if done and done[0]:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError("the standby did not catch up")
                time.sleep(0.05)

    def stop(self) -> None:
        for cluster in reversed(self.clusters):
            cluster.stop()


def start_replica_pair(root: Path, cache: Path | None = None) -> ReplicaPair:
    """Start a primary under ``root``/primary and a standby of it under ``root``/standby."""
    bindir = os.environ.get("DBENV_PG_BINDIR")
    try:
        binaries = find_pg_binaries(bindir=Path(bindir) if bindir else None)
    except BinariesNotFound as error:
        missing(f"no PostgreSQL binaries to start a replica pair: {error}")
    run_as = resolve_run_as()
    primary = PgCluster(root / "primary", binaries=binaries, run_as=run_as, host_auth="trust")
    primary._own(primary.data_dir, 0o755)
    primary.initdb(no_sync=True, cache=cache)
    primary_port = free_port()
    primary.start(primary_port, settings=SETTINGS)
    server = PgServer("127.0.0.1", primary_port)
    standby, cluster = start_standby(server, root / "standby")
    return ReplicaPair(server, standby, (primary, cluster))


def start_standby(primary: PgServer, root: Path) -> tuple[PgServer, PgCluster]:
    """One more hot standby of ``primary`` under ``root`` (``pg_basebackup -R -X stream``)."""
    bindir = os.environ.get("DBENV_PG_BINDIR")
    binaries = find_pg_binaries(bindir=Path(bindir) if bindir else None)
    standby = PgCluster(root, binaries=binaries, run_as=resolve_run_as(), host_auth="trust")
    standby._own(standby.data_dir, 0o755)
    standby._own(standby.pgdata, 0o700)
    uid, gid, groups = standby._ids()
    source = ["-h", primary.host, "-p", str(primary.port), "-U", primary.user]
    subprocess.run(
        [
            binaries.tool("pg_basebackup"),
            *source,
            "-D",
            str(standby.pgdata),
            "-R",
            "-X",
            "stream",
            "--no-sync",
            "-c",
            "fast",
        ],
        check=True,
        capture_output=True,
        user=uid,
        group=gid,
        extra_groups=groups,
    )
    port = free_port()
    standby.start(port, settings={**SETTINGS, "hot_standby": "on"})
    return PgServer("127.0.0.1", port), standby
