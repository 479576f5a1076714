"""The guard behind PgBouncer: direct vs pooled URLs, against a real PgBouncer.

First the facts the design rests on, measured on the suite's PgBouncer (transaction
mode): the backend pid a client is given differs from ``pg_backend_pid()``, a
session advisory lock leaks to other clients, psycopg's prepared statements
collide. Then what dbenv does about them: guarded work and its lock go over the
direct ``database_url``; ``pooler_url`` is what applications get; a pooled URL
where dbenv needs a direct one is refused (check ``direct``), override or not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.commands.config import child_environment
from dbenv.config import Project
from dbenv.errors import ConfigError, GuardRefusal
from dbenv.lifecycle.reset import reset
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    journal_rows,
    load,
    stamp_as,
    unique,
    write_project,
)
from pgbouncer_support import PgBouncer


@dataclass
class Pooled:
    root: Path
    database: str
    direct: str
    pooled: str

    def project(self, test: dict[str, object]) -> Project:
        write_project(self.root, "app", {"test": {"tier": "disposable", **test}})
        return load(self.root)


@pytest.fixture
def pooled(pg_server: Any, pgbouncer: PgBouncer, tmp_path: Path) -> Iterator[Pooled]:
    """A stamped test database with rows, reachable directly and through PgBouncer."""
    name = unique("pool_test")
    create_database(pg_server.dsn, name)
    direct = pg_server.dsn_for(name)
    with psycopg.connect(direct, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY)")
        conn.execute("INSERT INTO items SELECT generate_series(1, 5)")
    stamp_as(direct, "app", "test")
    yield Pooled(tmp_path, name, direct, pgbouncer.dsn_for(name))
    drop_database(pg_server.dsn, name)


def advisory_locks(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid, objid FROM pg_locks WHERE locktype = 'advisory'"
        ).fetchall()


# -- what PgBouncer in transaction mode does (the design's premises) ---------------------


def test_backend_pid_differs_only_behind_the_pooler(pooled: Pooled) -> None:
    with psycopg.connect(pooled.direct, autocommit=True) as conn:
        assert conn.execute("SELECT pg_backend_pid()").fetchone() == (conn.info.backend_pid,)
    with psycopg.connect(pooled.pooled, autocommit=True) as conn:
        assert conn.execute("SELECT pg_backend_pid()").fetchone() != (conn.info.backend_pid,)


def test_session_advisory_lock_leaks_through_the_pooler(pooled: Pooled, pg_server: Any) -> None:
    key = 4_242_001
    with psycopg.connect(pooled.pooled, autocommit=True) as holder:
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
    try:  # the holder disconnected; the lock stays with the pooled server connection
        got = []
        with psycopg.connect(pooled.pooled, autocommit=True) as other:
            for _ in range(4):
                row = other.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                got.append(row == (True,))
        assert got == [True] * 4  # another client is "given" the same lock
        with psycopg.connect(pooled.direct, autocommit=True) as direct:
            assert direct.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (False,)
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objid = %s",
                (key,),
            )


def test_prepared_statements_collide_through_the_pooler(pooled: Pooled) -> None:
    with (
        psycopg.connect(pooled.pooled, autocommit=True, prepare_threshold=0) as one,
        psycopg.connect(pooled.pooled, autocommit=True, prepare_threshold=0) as two,
        pytest.raises(psycopg.errors.DuplicatePreparedStatement),
    ):
        for i in range(3):
            one.execute("SELECT %s::int", (i,)).fetchone()
            two.execute("SELECT %s::text", (str(i),)).fetchone()


# -- what dbenv does ---------------------------------------------------------------------


def test_a_pooled_database_url_is_refused_and_nothing_changes(pooled: Pooled) -> None:
    project = pooled.project({"database_url": pooled.pooled})
    before = database_state(pooled.direct)
    for override in (None, pooled.database):
        with pytest.raises(GuardRefusal) as caught:
            reset(project, project.environment("test"), data_only=True, override=override)
        assert caught.value.check == "direct" and caught.value.exit_code == 3
        assert "pooler" in caught.value.message and "pooler_url" in (caught.value.hint or "")
        assert "\n" not in caught.value.message
    assert database_state(pooled.direct) == before
    assert not [row for row in advisory_locks(pooled.direct) if row[1] != 0]  # no lock leaked
    local = (pooled.root / ".dbenv" / "journal.jsonl").read_text()
    assert '"refused"' in local and "direct" in local


def test_a_pooled_admin_url_is_refused_before_the_lock(pooled: Pooled, pgbouncer: Any) -> None:
    project = pooled.project(
        {"database_url": pooled.direct, "admin_url": pgbouncer.dsn_for("postgres")}
    )
    before = database_state(pooled.direct)
    with pytest.raises(GuardRefusal) as caught:
        reset(project, project.environment("test"), data_only=True)
    assert caught.value.check == "direct" and "admin_url" in caught.value.message
    assert database_state(pooled.direct) == before


def test_direct_database_url_with_pooler_url_runs_and_apps_get_the_pooled_one(
    pooled: Pooled,
) -> None:
    project = pooled.project({"database_url": pooled.direct, "pooler_url": pooled.pooled})
    env = project.environment("test")
    result = reset(project, env, data_only=True)
    assert result.rows_deleted == {"items": 5}
    assert journal_rows(pooled.direct)[-1][:3] == ("reset", "test", "ok")
    child = child_environment(env, {})
    assert child["DATABASE_URL"] == pooled.pooled  # the application's URL
    assert env.database_url is not None and env.database_url.reveal() == pooled.direct


def test_a_bad_pooler_url_is_a_config_error_naming_file_and_line(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        "app",
        {"test": {"tier": "disposable", "database_url": "postgresql://a@h/db", "pooler_url": "x"}},
    )
    with pytest.raises(ConfigError) as caught:
        load(tmp_path).environment("test")
    assert caught.value.exit_code == 2
    assert "pooler_url" in caught.value.message and "dbenv.toml:7" in caught.value.message


def test_the_template_lock_is_never_taken_through_the_pooler(
    pooled: Pooled, pgbouncer: PgBouncer
) -> None:
    """The pytest plugin's and template builder's lock: refused, and nothing left held."""
    from dbenv.lifecycle.template import _locked

    with psycopg.connect(pgbouncer.dsn_for("postgres"), autocommit=True) as conn:
        with pytest.raises(GuardRefusal) as caught, _locked(conn, "identity-test"):
            pytest.fail("the lock was taken through the pooler")
        assert caught.value.check == "direct"
    assert not [row for row in advisory_locks(pooled.direct) if row[1] != 0]
    with psycopg.connect(pooled.direct, autocommit=True) as conn, _locked(conn, "identity-test"):
        assert advisory_locks(pooled.direct)  # direct: held while inside
