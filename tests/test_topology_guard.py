"""A replica is never the target of a destructive operation: against a real streaming standby.

The ``replica_pair`` fixture's standby replays a database created and stamped on
its primary, so every other check would pass through it: only check ``replica``
stands in the way, by spelling (a URL some environment declares in ``replicas``)
or by the server's answer (``pg_is_in_recovery()``), and no override gets past it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.config import Project
from dbenv.errors import GuardRefusal
from dbenv.lifecycle.reset import reset
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    load,
    stamp_as,
    unique,
    write_project,
)
from replica_support import ReplicaPair


@dataclass
class Standby:
    root: Path
    database: str
    primary: str  # the database on the primary
    replica: str  # the same database through the standby

    def project(self, environments: dict[str, dict[str, object]]) -> Project:
        write_project(self.root, "app", environments)
        return load(self.root)


@pytest.fixture
def standby(replica_pair: ReplicaPair, tmp_path: Path) -> Iterator[Standby]:
    """A stamped test database with rows on the primary, replayed on the standby."""
    name = unique("replica_test")
    create_database(replica_pair.primary.dsn, name)
    primary = replica_pair.primary.dsn_for(name)
    import psycopg

    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY)")
        conn.execute("INSERT INTO items SELECT generate_series(1, 3)")
    stamp_as(primary, "app", "test")
    replica_pair.wait_replayed()
    yield Standby(tmp_path, name, primary, replica_pair.standby.dsn_for(name))
    drop_database(replica_pair.primary.dsn, name)


def _refused(project: Project, override: str | None) -> GuardRefusal:
    with pytest.raises(GuardRefusal) as caught:
        reset(project, project.environment("test"), data_only=True, override=override)
    return caught.value


def test_an_undeclared_standby_is_refused_by_what_the_server_says(standby: Standby) -> None:
    project = standby.project({"test": {"tier": "disposable", "database_url": standby.replica}})
    before = database_state(standby.primary)
    for override in (None, standby.database):
        refusal = _refused(project, override)
        assert refusal.check == "replica" and refusal.exit_code == 3
        assert "read-only replica" in refusal.message and "in recovery" in refusal.message
        assert "\n" not in refusal.message
    assert database_state(standby.primary) == before


def test_a_declared_replica_is_refused_naming_its_environment(standby: Standby) -> None:
    # spelled differently from the declaration (localhost vs 127.0.0.1): one place
    declared = standby.replica.replace("127.0.0.1", "localhost")
    project = standby.project(
        {
            "staging": {"database_url": standby.primary, "replicas": [declared]},
            "test": {"tier": "disposable", "database_url": standby.replica},
        }
    )
    before = database_state(standby.primary)
    refusal = _refused(project, None)
    assert refusal.check == "replica" and refusal.exit_code == 3
    assert "replica 1 of environment 'staging'" in refusal.message
    assert "read-only" in refusal.message
    assert database_state(standby.primary) == before


def test_the_cli_refuses_a_replica_with_exit_3_and_one_sentence(standby: Standby) -> None:
    standby.project({"test": {"tier": "disposable", "database_url": standby.replica}})
    result = CliRunner().invoke(
        app,
        ["--project", str(standby.root), "reset", "test", "--data-only",
         f"--i-mean-it={standby.database}"],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("dbenv: refused to reset 'test': check 'replica' failed")
    assert "Traceback" not in result.output


def test_the_primary_itself_passes_the_replica_check(standby: Standby) -> None:
    project = standby.project(
        {
            "test": {
                "tier": "disposable",
                "database_url": standby.primary,
                "replicas": [standby.replica],
            }
        }
    )
    result = reset(project, project.environment("test"), data_only=True)
    assert result.rows_deleted == {"items": 3}


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "in-recovery"])
def test_diff_apply_to_a_replica_url_is_refused_before_any_snapshot(
    standby: Standby, replica_pair: ReplicaPair, declared: bool
) -> None:
    import psycopg

    source = unique("replica_source")
    create_database(replica_pair.primary.dsn, source)
    try:
        with psycopg.connect(replica_pair.primary.dsn_for(source), autocommit=True) as conn:
            conn.execute("CREATE TABLE extra (id int PRIMARY KEY)")
        environments: dict[str, dict[str, object]] = {
            "prod": {"database_url": replica_pair.primary.dsn_for(source)}
        }
        if declared:
            environments["staging"] = {
                "database_url": standby.primary,
                "replicas": [standby.replica],
            }
        standby.project(environments)
        command = ["diff", "prod", standby.replica, "--apply", "--allow-destructive"]
        result = CliRunner().invoke(
            app, ["--project", str(standby.root), *command, f"--i-mean-it={standby.database}"]
        )
        assert result.exit_code == 3, result.output
        (message,) = [line for line in result.stderr.splitlines() if line.startswith("dbenv:")]
        assert "check 'replica' failed" in message and "nothing was changed" in message
        expected = "replica 1 of environment 'staging'" if declared else "in recovery"
        assert expected in message
        assert not (standby.root / ".dbenv" / "snapshots").exists()
    finally:
        drop_database(replica_pair.primary.dsn, source)
