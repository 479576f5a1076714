"""`--replica`: diff, status and sync read an environment from its real streaming standby.

The ``replica_pair``'s primary is production's; ``dev`` is a database on the
suite's server. A read through the standby is told apart from one on the primary
by pausing replay on the standby and writing on the primary: what the standby
has not replayed is not in the read, and the lag it builds makes the read stale.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from lifecycle_support import create_database, drop_database, stamp_as, unique, write_project
from replica_support import ReplicaPair


@pytest.fixture
def project(
    tmp_path: Path, pg_server: Any, replica_pair: ReplicaPair, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    """production (primary + its standby, an ``items`` table of 3 rows) and a disposable dev."""
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)
    pair, dev = unique("reads_prod"), unique("reads_dev")
    create_database(replica_pair.primary.dsn, pair)
    create_database(pg_server.dsn, dev)
    stamp_as(pg_server.dsn_for(dev), "shop", "dev")
    with psycopg.connect(replica_pair.primary.dsn_for(pair), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, qty int)")
        conn.execute("INSERT INTO items SELECT n, n * 10 FROM generate_series(1, 3) n")
    replica_pair.wait_replayed()
    write_project(
        tmp_path,
        "shop",
        {
            "production": {
                "database_url": replica_pair.primary.dsn_for(pair),
                "replicas": [replica_pair.standby.dsn_for(pair)],
                "replica_max_lag": 0.5,
            },
            "dev": {"database_url": pg_server.dsn_for(dev), "tier": "disposable"},
        },
    )
    yield tmp_path, replica_pair.primary.dsn_for(pair)
    drop_database(replica_pair.primary.dsn, pair)
    drop_database(pg_server.dsn, dev)


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def one_sentence(result: Result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


def test_status_reads_the_replica_and_says_its_lag(
    project: tuple[Path, str], replica_pair: ReplicaPair
) -> None:
    root, _ = project
    shown = invoke(root, "status", "production", "--replica", "--json")
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.stdout)["environments"]
    assert str(replica_pair.standby.port) in row["target"]  # the row was read there
    assert row["table_count"] == 1 and row["reachable"] is True
    read = row["replica_read"]
    assert (read["number"], read["stale"], read["max_lag_seconds"]) == (1, False, 0.5)
    assert read["in_recovery"] is True
    assert "replica" not in row["reset_refused_by"]  # the replica fails it, not a reset
    text = invoke(root, "status", "production", "--replica")
    assert text.exit_code == 0, text.output
    assert "reading production from replica 1 (" in text.stdout
    assert "warning:" not in text.stdout
    plain = invoke(root, "status", "production", "--json")
    assert json.loads(plain.stdout)["environments"][0]["replica_read"] is None


def test_diff_and_sync_read_through_the_replica(project: tuple[Path, str]) -> None:
    root, _ = project
    diff = invoke(root, "diff", "production", "dev", "--replica", "--json")
    assert diff.exit_code == 0, diff.output
    data = json.loads(diff.stdout)
    assert data["source"] == "production (replica 1)" and data["drift"] is True
    assert "items" in json.dumps(data["statements"])
    assert [r["number"] for r in data["replica_reads"]] == [1]
    synced = invoke(root, "sync", "production", "dev", "--tables", "public.items", "--replica")
    assert synced.exit_code == 0, synced.output
    assert "public.items: 3 rows" in synced.stdout
    assert "reading production from replica 1 (" in synced.stderr


def test_a_lagging_replica_makes_the_reads_stale(
    project: tuple[Path, str], replica_pair: ReplicaPair
) -> None:
    root, primary = project
    with psycopg.connect(replica_pair.standby.dsn, autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            with psycopg.connect(primary, autocommit=True) as conn:
                conn.execute("SET synchronous_commit = on")  # written when committed
                conn.execute("CREATE TABLE unreplayed (n int)")
                conn.execute("INSERT INTO items VALUES (4, 40)")
                lsn = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert lsn is not None
            received(standby, lsn[0])
            time.sleep(0.6)  # over production's replica_max_lag (0.5 s)
            status = invoke(root, "status", "production", "--replica", "--json")
            text = invoke(root, "status", "production", "--replica")
            diff = invoke(root, "diff", "production", "dev", "--replica", "--json")
            diff_text = invoke(root, "diff", "production", "dev", "--replica")
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    (row,) = json.loads(status.stdout)["environments"]
    assert row["replica_read"]["stale"] is True and row["replica_read"]["lag_seconds"] > 0.5
    assert row["table_count"] == 1, row  # "unreplayed" is on the primary only
    assert "warning: replica 1 of 'production' lags " in text.stdout
    assert "this read may be stale" in text.stdout
    data = json.loads(diff.stdout)
    assert data["replica_reads"][0]["stale"] is True
    assert "unreplayed" not in json.dumps(data["statements"])
    assert "this read may be stale" in diff_text.stderr


def received(standby: psycopg.Connection[Any], lsn: str) -> None:
    """Until the standby has received WAL up to ``lsn`` (replayed or not)."""
    deadline = time.monotonic() + 10
    query = "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn"
    while not (standby.execute(query, (lsn,)).fetchone() or (False,))[0]:
        assert time.monotonic() < deadline, "the standby received nothing"
        time.sleep(0.02)


def test_sync_from_a_stale_replica_warns(
    project: tuple[Path, str], replica_pair: ReplicaPair
) -> None:
    root, primary = project
    with psycopg.connect(replica_pair.standby.dsn, autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            with psycopg.connect(primary, autocommit=True) as conn:
                conn.execute("SET synchronous_commit = on")  # written when committed
                conn.execute("INSERT INTO items VALUES (4, 40)")
                lsn = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert lsn is not None
            received(standby, lsn[0])
            time.sleep(0.6)
            args = ("sync", "production", "dev", "--tables", "public.items", "--replica")
            synced = invoke(root, *args, "--json")
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    assert synced.exit_code == 0, synced.output
    data = json.loads(synced.stdout)
    assert data["replica_read"]["stale"] is True
    with psycopg.connect(_dev_url(root), autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM items").fetchone()
    assert count == (3,)  # the replica's rows: row 4 was not replayed


def _dev_url(root: Path) -> str:
    from dbenv.config import load_project

    url = load_project(project=root, process_env={}).environment("dev").database_url
    assert url is not None
    return url.reveal()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("status", "dev", "--replica"), "none of 'dev' declares replicas to read from"),
        (("status", "--replica-number", "2"), "has 1 replica(s); --replica-number 2 names none"),
        (("status", "--replica-number", "0"), "--replica-number 0 is not a replica number"),
        (("diff", "dev", "dev", "--replica"), "no side of the diff is an environment that"),
        (
            ("diff", "dev", "production", "--replica", "--apply"),
            "the target of --apply is read from its primary",
        ),
        (
            ("sync", "dev", "production", "--tables", "public.items", "--replica"),
            "environment 'dev' declares no replicas to read from",
        ),
    ],
)
def test_bad_replica_choices_are_one_sentence(
    project: tuple[Path, str], args: tuple[str, ...], needle: str
) -> None:
    one_sentence(invoke(project[0], *args), needle)


def test_a_replica_max_lag_that_is_not_seconds_is_bad_config(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        "shop",
        {
            "production": {
                "database_url": "postgresql://app@db.internal/shop",
                "replicas": ["postgresql://app@db-replica.internal/shop"],
                "replica_max_lag": "5s",
            }
        },
    )
    result = invoke(tmp_path, "status", "production", "--replica")
    one_sentence(result, "'environments.production.replica_max_lag'")
    assert "must be a positive number of seconds" in result.output
