"""`dbenv status` of a topology: a real PgBouncer, a real streaming standby, Redis roles.

The suite's PgBouncer fronts ``pg_server``; the ``replica_pair`` is a primary of its
own (a fresh initdb: another system identifier) with a standby. So a pooler can
be shown leading to its primary or elsewhere, and a replica streaming from its
primary, from another server, or not being a replica at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.status.report import status
from dbenv.status.topology import lsn_bytes, topology_status
from lifecycle_support import create_database, drop_database, load, unique, write_project
from pgbouncer_support import PgBouncer
from replica_support import ReplicaPair


@pytest.fixture
def names(pg_server: Any, replica_pair: ReplicaPair) -> Iterator[tuple[str, str]]:
    """A database on the suite's server and one on the replica pair's primary (replayed)."""
    suite, pair = unique("topo_suite"), unique("topo_pair")
    create_database(pg_server.dsn, suite)
    create_database(replica_pair.primary.dsn, pair)
    replica_pair.wait_replayed()
    yield suite, pair
    drop_database(pg_server.dsn, suite)
    drop_database(replica_pair.primary.dsn, pair)


def received(standby: psycopg.Connection[Any], lsn: str) -> None:
    """Until the standby has received WAL up to ``lsn`` (replayed or not)."""
    deadline = time.monotonic() + 10
    query = "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn"
    while not (standby.execute(query, (lsn,)).fetchone() or (False,))[0]:
        assert time.monotonic() < deadline, "the standby received nothing"
        time.sleep(0.02)


def test_lsn_bytes_reads_the_two_hex_halves() -> None:
    assert lsn_bytes("0/10") == 16
    assert lsn_bytes("1/0") == 1 << 32
    assert lsn_bytes("16/B374D848") - lsn_bytes("16/B374D800") == 0x48


def test_pooler_that_leads_to_its_primary_with_the_consoles_pool_mode(
    tmp_path: Path, pg_server: Any, pgbouncer: PgBouncer, names: tuple[str, str]
) -> None:
    suite, _ = names
    write_project(
        tmp_path,
        "app",
        {
            "staging": {
                "database_url": pg_server.dsn_for(suite),
                "pooler_url": pgbouncer.dsn_for(suite),
                "pool_mode": "session",  # declared wrongly: the console has the last word
            }
        },
    )
    pooler = topology_status(load(tmp_path).environment("staging")).pooler
    assert pooler is not None and pooler.reachable
    assert pooler.leads_to_primary is True
    assert (pooler.pool_mode, pooler.pool_mode_from) == ("transaction", "console")


def test_pooler_that_leads_elsewhere_and_one_that_is_down(
    tmp_path: Path,
    pgbouncer: PgBouncer,
    replica_pair: ReplicaPair,
    names: tuple[str, str],
) -> None:
    suite, pair = names
    dead = pgbouncer.dsn_for(suite).replace(str(pgbouncer.port), "1")
    write_project(
        tmp_path,
        "app",
        {
            "staging": {  # its primary is the pair's; its pooler fronts the suite's server
                "database_url": replica_pair.primary.dsn_for(pair),
                "pooler_url": pgbouncer.dsn_for(suite),
            },
            "qa": {
                "database_url": replica_pair.primary.dsn_for(pair),
                "pooler_url": dead,
                "pool_mode": "transaction",
            },
        },
    )
    project = load(tmp_path)
    elsewhere = topology_status(project.environment("staging")).pooler
    assert elsewhere is not None and elsewhere.leads_to_primary is False
    assert elsewhere.server is not None and suite in elsewhere.server
    down = topology_status(project.environment("qa"), timeout=2).pooler
    assert down is not None and not down.reachable and down.error
    assert (down.pool_mode, down.pool_mode_from) == ("transaction", "declared")


def test_replica_in_recovery_same_system_and_lag(
    tmp_path: Path, replica_pair: ReplicaPair, names: tuple[str, str]
) -> None:
    _, pair = names
    write_project(
        tmp_path,
        "app",
        {
            "production": {
                "database_url": replica_pair.primary.dsn_for(pair),
                "replicas": [replica_pair.standby.dsn_for(pair)],
            }
        },
    )
    topology = topology_status(load(tmp_path).environment("production"))
    assert topology.primary is not None and topology.primary.in_recovery is False
    (replica,) = topology.replicas
    assert replica.reachable and replica.in_recovery is True
    assert replica.same_system_as_primary is True
    assert replica.system_identifier == topology.primary.system_identifier
    assert replica.lag_bytes is not None and replica.lag_bytes >= 0
    assert replica.lag_seconds is not None and replica.lag_seconds >= 0


def test_lag_shows_bytes_the_standby_has_not_replayed(
    tmp_path: Path, replica_pair: ReplicaPair, names: tuple[str, str]
) -> None:
    _, pair = names
    write_project(
        tmp_path,
        "app",
        {
            "production": {
                "database_url": replica_pair.primary.dsn_for(pair),
                "replicas": [replica_pair.standby.dsn_for(pair)],
            }
        },
    )
    env = load(tmp_path).environment("production")
    with psycopg.connect(replica_pair.standby.dsn, autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            with psycopg.connect(replica_pair.primary.dsn_for(pair), autocommit=True) as conn:
                conn.execute("SET synchronous_commit = on")  # written when committed
                conn.execute("CREATE TABLE lagging AS SELECT generate_series(1, 2000) AS n")
                row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert row is not None
            received(standby, row[0])  # streamed, not replayed: lag in seconds too
            (replica,) = topology_status(env).replicas
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    assert replica.lag_bytes is not None and replica.lag_bytes > 0
    assert replica.lag_seconds is not None and replica.lag_seconds > 0


def test_a_replica_that_is_a_primary_and_one_of_another_server(
    tmp_path: Path, pg_server: Any, replica_pair: ReplicaPair, names: tuple[str, str]
) -> None:
    suite, pair = names
    write_project(
        tmp_path,
        "app",
        {
            "staging": {
                "database_url": pg_server.dsn_for(suite),
                "replicas": [
                    replica_pair.primary.dsn_for(pair),
                    replica_pair.standby.dsn_for(pair),
                ],
            }
        },
    )
    primary_as_replica, others = topology_status(load(tmp_path).environment("staging")).replicas
    assert primary_as_replica.reachable and primary_as_replica.in_recovery is False
    assert primary_as_replica.lag_bytes is None and primary_as_replica.lag_seconds is None
    assert others.in_recovery is True and others.same_system_as_primary is False


def test_status_json_and_table_carry_the_topology(
    tmp_path: Path,
    pg_server: Any,
    redis_server: Any,
    replica_pair: ReplicaPair,
    names: tuple[str, str],
) -> None:
    _, pair = names
    path = write_project(
        tmp_path,
        "app",
        {
            "production": {
                "database_url": replica_pair.primary.dsn_for(pair),
                "replicas": [replica_pair.standby.dsn_for(pair)],
                "redis_url": f"{redis_server.url}/9",
            }
        },
    )
    with path.open("a") as fh:
        fh.write(f'[environments.production.redis.cache]\nurl = "{redis_server.url}"\ndb = 3\n')
        fh.write('[environments.production.redis.queue]\nhost = "127.0.0.1"\nport = 1\n')
    report = status(load(tmp_path))
    row = report.to_dict()["environments"][0]
    topology = row["topology"]
    assert topology["replicas"][0]["in_recovery"] is True
    assert topology["replicas"][0]["same_system_as_primary"] is True
    roles = {r["role"]: r for r in topology["redis_roles"]}
    assert roles["cache"]["reachable"] is True and roles["queue"]["reachable"] is False
    assert "main" not in roles  # its own Redis is a node (redis_url), shown as before
    assert topology["pooler"] is None
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "status", "production"])
    assert result.exit_code == 0, result.output
    assert "production: replica 1 " in result.stdout and "streams from the primary" in result.stdout
    assert "production: redis queue redis://127.0.0.1:1: unreachable" in result.stdout
    shown = CliRunner().invoke(app, ["--project", str(tmp_path), "status", "production", "--json"])
    assert json.loads(shown.stdout)["environments"][0]["topology"]["primary"]["reachable"]


def test_an_environment_without_a_topology_has_none(tmp_path: Path, pg_server: Any) -> None:
    write_project(tmp_path, "app", {"dev": {"database_url": pg_server.dsn_for("postgres")}})
    (row,) = status(load(tmp_path)).environments
    assert row.topology is None


def test_a_cluster_of_its_own_is_probed_as_role_main(tmp_path: Path, redis_server: Any) -> None:
    write_project(
        tmp_path,
        "app",
        {"production": {"redis_cluster": [redis_server.url, "redis://127.0.0.1:1"]}},
    )
    (main,) = topology_status(load(tmp_path).environment("production")).redis_roles
    assert (main.role, main.cluster, main.reachable) == ("main", True, True)
    assert main.error is not None and "cluster support disabled" in main.error
    assert main.slots_covered is None  # a single Redis listed as a cluster has no slots
