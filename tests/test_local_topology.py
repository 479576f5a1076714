"""The local stack, production-shaped: ``[local] replica = true`` and ``pooler = true``.

One stack for the module (a primary, a ``pg_basebackup`` hot standby streaming from
it, a PgBouncer in transaction mode, Redis), started through the CLI as a user
would. Each test stands on its own (xdist may share the module out, each worker
then starting its own stack); the ones that stop it start it again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.backends.postgres import wait_replayed
from dbenv.cli import app
from dbenv.config import load_project
from dbenv.config.exports import exported
from dbenv.stack import pgbouncer
from dbenv.stack.host import pid_alive

PROJECT = """\
[project]
name = "topo"
default = "development"

[local]
replica = true
pooler = true

[environments.development]
server = "local"

[environments.test]
server = "local"
tier = "disposable"
schema_source = "sql:schema.sql"
"""
SCHEMA = "CREATE TABLE seen (n int);\n"

runner = CliRunner()
# the module's own initdb cache, removed at the end (as in test_local_stack.py)
CACHE_HOME = Path(tempfile.gettempdir()) / f"dbenv-test-topo-cache-{os.getpid()}"
CLI_ENV = {"XDG_CACHE_HOME": str(CACHE_HOME)}


def _scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="dbenv-topo-test-"))
    path.chmod(0o755)  # the servers' user must reach it when we are root
    return path


def cli(root: Path, *args: str) -> Any:
    return runner.invoke(app, ["--project", str(root), *args], env=CLI_ENV)


def state_of(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / ".dbenv" / "state.json").read_text())
    return data


def pids(state: dict[str, Any]) -> dict[str, int]:
    return {part: state[part]["pid"] for part in ("postgres", "redis", "replica", "pooler")}


def ports(state: dict[str, Any]) -> dict[str, int]:
    return {part: state[part]["port"] for part in ("postgres", "redis", "replica", "pooler")}


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Path, Any]]:
    """The module's project, brought up once with a replica and a pooler: (root, up's result)."""
    CACHE_HOME.mkdir(mode=0o700, exist_ok=True)
    root = _scratch()
    (root / "dbenv.toml").write_text(PROJECT)
    (root / "schema.sql").write_text(SCHEMA)
    try:
        yield root, cli(root, "up")
    finally:
        cli(root, "down", "--purge")
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(CACHE_HOME, ignore_errors=True)


def environment(root: Path, name: str) -> Any:
    return load_project(project=root, process_env=CLI_ENV).environment(name)


def test_up_starts_a_replica_and_a_pooler(stack: tuple[Path, Any]) -> None:
    root, result = stack
    assert result.exit_code == 0, result.output
    state = state_of(root)
    assert all(pid_alive(pid) for pid in pids(state).values())
    assert state["pooler"]["pool_mode"] == "transaction"
    assert state["replica"]["data_dir"] == str(root / ".dbenv" / "replica" / "postgres")
    assert (root / ".dbenv" / "replica" / "postgres" / "standby.signal").is_file()
    assert f"replica (hot standby)  127.0.0.1:{state['replica']['port']}" in result.stdout
    assert f"127.0.0.1:{state['pooler']['port']}  pool mode transaction" in result.stdout
    assert "pg_basebackup of the primary" in result.stderr


def test_run_exports_the_pooled_direct_and_replica_urls(stack: tuple[Path, Any]) -> None:
    root, _ = stack
    state = state_of(root)
    env = exported(environment(root, "development"))
    assert f"@127.0.0.1:{state['pooler']['port']}/topo_development" in env["DATABASE_URL"]
    assert (
        f"@127.0.0.1:{state['postgres']['port']}/topo_development" in (env["DIRECT_DATABASE_URL"])
    )
    assert (
        f"@127.0.0.1:{state['replica']['port']}/topo_development" in (env["DATABASE_REPLICA_URLS"])
    )
    for name in ("DATABASE_URL", "DIRECT_DATABASE_URL", "DATABASE_REPLICA_URLS"):
        with psycopg.connect(env[name], prepare_threshold=None) as conn:  # each logs in
            assert conn.execute("SELECT current_user").fetchone() == ("topo_development",)


def test_status_shows_the_replica_in_recovery_and_the_pooler_leading_to_the_primary(
    stack: tuple[Path, Any],
) -> None:
    root, _ = stack
    result = cli(root, "status", "development", "--json")
    assert result.exit_code == 0, result.output
    topology = json.loads(result.stdout)["environments"][0]["topology"]
    replica = topology["replicas"][0]
    assert replica["reachable"] and replica["in_recovery"] and replica["same_system_as_primary"]
    assert isinstance(replica["lag_bytes"], int) and isinstance(replica["lag_seconds"], float)
    pooler = topology["pooler"]
    assert pooler["leads_to_primary"] is True and pooler["pool_mode"] == "transaction"
    text = cli(root, "status", "development")
    assert "replica 1" in text.stdout and "in recovery, streams from the primary" in text.stdout
    assert "leads to the primary" in text.stdout


def test_a_row_written_on_the_primary_is_read_on_the_replica(stack: tuple[Path, Any]) -> None:
    root, _ = stack
    env = environment(root, "development")
    with psycopg.connect(env.database_url.reveal(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS shape (note text)")
        conn.execute("INSERT INTO shape VALUES ('from the primary')")
    assert wait_replayed(env.database_url, env.replicas[0]), "the replica did not replay it"
    with psycopg.connect(env.replicas[0].reveal(), autocommit=True) as replica:
        assert replica.execute("SELECT note FROM shape").fetchall() == [("from the primary",)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            replica.execute("INSERT INTO shape VALUES ('on the replica')")


def test_the_pooler_pools_by_transaction(stack: tuple[Path, Any]) -> None:
    """Two client connections, each idle between transactions, share one server backend:
    in session mode the first would keep its backend until it disconnects."""
    root, _ = stack
    pooled = exported(environment(root, "test"))["DATABASE_URL"]
    with (
        psycopg.connect(pooled, autocommit=True, prepare_threshold=None) as first,
        psycopg.connect(pooled, autocommit=True, prepare_threshold=None) as second,
    ):
        one = first.execute("SELECT pg_backend_pid()").fetchone()
        two = second.execute("SELECT pg_backend_pid()").fetchone()
        assert one == two


PLUGIN_TESTS = """
import os
import time

import psycopg
import pytest


def test_fixtures_connect_directly_and_the_app_gets_the_pooler(db, dbenv_url):
    assert db.execute("SELECT current_setting('port')").fetchone() == ("{pg_port}",)
    assert "port={pg_port}" in dbenv_url
    assert ":{pooler_port}/" in os.environ["DATABASE_URL"]
    assert ":{pg_port}/" in os.environ["DIRECT_DATABASE_URL"]


@pytest.mark.dbenv(transaction=False)
def test_the_replica_fixture_reads_what_a_test_committed(dbenv_url, dbenv_replica_url):
    with psycopg.connect(dbenv_url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")  # a disposable database has it off
        conn.execute("INSERT INTO seen VALUES (7)")
        lsn = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        database = conn.execute("SELECT current_database()").fetchone()
    with psycopg.connect(dbenv_replica_url, autocommit=True) as replica:
        assert replica.execute("SELECT current_database()").fetchone() == database
        deadline = time.monotonic() + 30
        while replica.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)
        ).fetchone() != (True,):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert replica.execute("SELECT pg_is_in_recovery(), n FROM seen").fetchall() == [
            (True, 7)
        ]
"""


def test_the_pytest_plugin_with_a_pooler_and_a_replica(
    stack: tuple[Path, Any], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = stack
    state = state_of(root)
    for name in ("DATABASE_URL", "DIRECT_DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(CACHE_HOME))
    # the same project (its databases) on the module's running stack
    data_dir = root / ".dbenv"
    project = PROJECT.replace("[local]\n", f'[local]\ndata_dir = "{data_dir}"\n')
    (pytester.path / "dbenv.toml").write_text(project)
    (pytester.path / "schema.sql").write_text(SCHEMA)
    pytester.makepyfile(
        test_shape=textwrap.dedent(
            PLUGIN_TESTS.format(
                pg_port=state["postgres"]["port"], pooler_port=state["pooler"]["port"]
            )
        )
    )
    result = pytester.runpytest("-p", "dbenv", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_up_again_starts_nothing(stack: tuple[Path, Any]) -> None:
    root, _ = stack
    before = state_of(root)
    again = cli(root, "up", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["started"] == []
    assert pids(state_of(root)) == pids(before)


def test_down_stops_all_and_up_reuses_the_replica_and_ports(stack: tuple[Path, Any]) -> None:
    root, _ = stack
    before = state_of(root)
    stopped = cli(root, "down")
    assert stopped.exit_code == 0, stopped.output
    for part, pid in pids(before).items():
        assert not pid_alive(pid), f"{part} (pid {pid}) still runs after dbenv down"
        assert str(pid) in stopped.stdout
    assert not (root / ".dbenv" / "state.json").exists()
    again = cli(root, "up")
    assert again.exit_code == 0, again.output
    after = state_of(root)
    assert ports(after) == ports(before)
    assert "pg_basebackup" not in again.stderr  # the standby's data is reused
    env = environment(root, "development")
    with psycopg.connect(env.replicas[0].reveal()) as replica:
        row = replica.execute("SELECT pg_is_in_recovery(), current_database()").fetchone()
        assert row == (True, "topo_development")


def test_a_missing_pgbouncer_is_one_sentence_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _scratch()
    try:
        (root / "dbenv.toml").write_text(PROJECT)
        empty = root / "bin"
        empty.mkdir()
        monkeypatch.setattr(pgbouncer, "PLACES", ())  # the binary lookup: nothing installed
        result = runner.invoke(
            app, ["--project", str(root), "up"], env={**CLI_ENV, "PATH": str(empty)}
        )
        assert result.exit_code == 2, result.output
        assert "no pgbouncer binary was found" in result.output
        assert "apt-get install pgbouncer" in result.output
        assert "Traceback" not in result.output
        assert not (root / ".dbenv" / "postgres").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('replica = "yes"', "replica"),
        ("pooler = 1", "pooler"),
        ("pooler_port = 70000", "pooler_port"),
        ("replica_port = -1", "replica_port"),
        ("replicas = 1", "replicas"),
    ],
)
def test_bad_local_values_exit_2(line: str, key: str) -> None:
    root = _scratch()
    try:
        (root / "dbenv.toml").write_text(
            PROJECT.replace("replica = true\npooler = true\n", line + "\n")
        )
        result = cli(root, "up")
        assert result.exit_code == 2, result.output
        assert key in result.output and "Traceback" not in result.output
        assert not (root / ".dbenv").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_primary_that_moved_port_is_followed_by_the_replica_and_the_pooler(
    stack: tuple[Path, Any],
) -> None:
    root, _ = stack
    assert cli(root, "down").exit_code == 0
    before = json.loads((root / ".dbenv" / "last-ports.json").read_text())
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", before["postgres"]))  # the primary's last port taken
        squatter.listen()
        result = cli(root, "up")
        assert result.exit_code == 0, result.output
        after = state_of(root)
    assert after["postgres"]["port"] != before["postgres"]
    env = environment(root, "development")
    # a commit made now on the moved primary is replayed: the standby streams from it
    assert wait_replayed(env.database_url, env.replicas[0]), "the replica does not follow"
    pooled = exported(env)["DATABASE_URL"]
    with psycopg.connect(pooled, prepare_threshold=None) as conn:
        port = conn.execute("SELECT current_setting('port')").fetchone()
        assert port == (str(after["postgres"]["port"]),)
