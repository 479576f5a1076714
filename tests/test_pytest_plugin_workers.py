"""The plugin under xdist and after killed runs: what each worker may touch.

A worker's Redis db index is never one another environment uses; a database
that merely has a worker clone's name is never dropped unless it is stamped as
this project's; the seed rows of a schema go in through the guard. Run by
pytester on example test files against the suite's servers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from dbenv.config.model import Environment, SecretURL
from dbenv.pytest_plugin.names import failed_copy
from dbenv.pytest_plugin.targets import WorkerInfo, worker_redis_db
from dbenv.safety.stamp import write_stamp
from pytest_plugin_support import PluginProject, drop_project_databases, make_project
from servers import PgServer, RedisServer

PLUGIN = ("-p", "dbenv")


@pytest.fixture(autouse=True)
def _no_declared_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
        del sys.modules[name]


@pytest.fixture
def project(pytester: pytest.Pytester, pg_server: PgServer) -> Iterator[PluginProject]:
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn)
    try:
        yield made
    finally:
        drop_project_databases(made)


def _env(name: str, url: str, db: int, tier: str = "disposable") -> Environment:
    return Environment(
        name=name,
        project="app",
        root=Path("."),
        tier=tier,  # type: ignore[arg-type]
        redis_url=SecretURL(url, masked=url),
        redis_db=db,
    )


# -- Redis db indexes ---------------------------------------------------------------


def test_worker_redis_indexes_stay_clear_of_every_configured_one() -> None:
    # examples/dashtam: development 0, test 1, local 2 on one server; staging elsewhere
    local = "redis://localhost:6379"
    test = _env("test", local, 1)
    others = [
        _env("development", local, 0, "protected"),
        _env("local", local, 2),
        _env("staging", "rediss://staging:6380", 9, "protected"),
    ]
    configured = {0, 1, 2}
    tests = [worker_redis_db(test, WorkerInfo(f"gw{n}", 6), others) for n in range(6)]
    locals_ = [
        worker_redis_db(others[1], WorkerInfo(f"gw{n}", 6), [test, *others]) for n in range(6)
    ]
    assert tests[0] == 1 and locals_[0] == 2  # gw0 keeps the configured index
    assert not (set(tests[1:]) | set(locals_[1:])) & configured
    assert len(set(tests[1:]) | set(locals_[1:])) == 10  # no two workers share one
    assert min(tests[1:] + locals_[1:]) == 3  # above every index on this server, not 9


REDIS_INDEX = """
import os


def test_own_index(dbenv_redis):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert dbenv_redis.connection_pool.connection_kwargs["db"] == {"gw0": 1, "gw1": 6}[worker]
    dbenv_redis.set("mine", worker)
"""


def test_xdist_workers_never_take_another_environments_redis_db(
    pytester: pytest.Pytester, pg_server: PgServer, redis_server: RedisServer
) -> None:
    url = redis_server.url
    extra = (  # production (protected) on db 4, local (disposable) on db 2
        f'redis_url = "{url}"\nredis_db = 4\n'
        f'\n[environments.local]\ntier = "disposable"\nredis_url = "{url}"\nredis_db = 2\n'
    )
    made = make_project(
        pytester.path, pg_server.dsn_for, pg_server.dsn, redis_url=url, redis_db=1, extra=extra
    )
    clients = {db: redis.Redis.from_url(url, db=db) for db in (2, 3, 4, 6)}
    try:
        for db in (2, 3, 4):
            clients[db].set(f"{made.tag}:kept", "yes")
        pytester.makepyfile(test_index=REDIS_INDEX)
        result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", "--dist", "each")
        result.assert_outcomes(passed=2)
        for db in (2, 3, 4):  # local's, a free one below the workers', production's
            assert clients[db].get(f"{made.tag}:kept") == b"yes"
        assert clients[6].get("mine") is None  # gw1's own db, flushed after its test
    finally:
        for db in (2, 3, 4):
            clients[db].delete(f"{made.tag}:kept")
        for client in clients.values():
            client.close()
        drop_project_databases(made)


def test_too_few_redis_dbs_for_the_workers_fails_with_one_sentence(
    pytester: pytest.Pytester, pg_server: PgServer, redis_server: RedisServer
) -> None:
    url = redis_server.url
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, redis_url=url, redis_db=15)
    client = redis.Redis.from_url(url, db=15)
    try:
        client.set(f"{made.tag}:kept", "yes")
        pytester.makepyfile(test_redis="def test_x(dbenv_redis):\n    pass\n")
        result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", "--dist", "each")
        result.assert_outcomes(errors=2)
        result.stdout.fnmatch_lines(
            ["*dbenv: Redis at localhost:*has no db 16, which xdist worker gw1 of 'test' needs*"]
        )
        assert "Traceback" not in result.stdout.str()
        assert client.get(f"{made.tag}:kept") == b"yes"  # refused before any flush
    finally:
        client.delete(f"{made.tag}:kept")
        client.close()
        drop_project_databases(made)


# -- databases named like a worker's ------------------------------------------------


def _create(project: PluginProject, name: str, *, stamp_as: str | None = None) -> None:
    """A database with one row, stamped as ``stamp_as``'s test environment if given."""
    with psycopg.connect(project.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = project.admin_dsn.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (v text)")
        conn.execute("INSERT INTO precious VALUES ('keep me')")
        if stamp_as:
            env = Environment(name="test", project=stamp_as, root=Path("."), tier="disposable")
            write_stamp(conn, stamp_as, env)


DB_TEST = """
def test_x(db):
    db.execute("INSERT INTO users (name) VALUES ('x')")
"""


def test_leftovers_are_dropped_only_when_stamped_as_ours(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    base = project.test_database
    _create(project, f"{base}_gw2", stamp_as=project.tag)  # a killed wider run's: ours
    _create(project, f"{base}_gw3")  # merely named like a worker's
    _create(project, f"{base}_gw4", stamp_as="someone_else")
    _create(project, f"{base}_gw5_new")  # unstamped staging name
    pytester.makepyfile(test_db=DB_TEST)
    pytester.runpytest_subprocess(*PLUGIN, "-n", "2").assert_outcomes(passed=1)
    names = set(project.databases())
    assert f"{base}_gw2" not in names
    for left in ("gw3", "gw4", "gw5_new"):
        assert project.query(f"{base}_{left}", "SELECT v FROM precious") == [("keep me",)]


def test_a_worker_refuses_to_replace_a_database_not_stamped_as_its_own(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    base = project.test_database
    _create(project, f"{base}_gw0")  # gw0's own name
    _create(project, f"{base}_gw1_new", stamp_as="someone_else")  # gw1's staging name
    pytester.makepyfile(test_db=DB_TEST)
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", "--dist", "each")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines_random(
        [
            f"*dbenv: refused to replace '{base}_gw0': it exists but is not stamped as "
            f"{project.tag}/test's worker database (stamp: absent)*",
            f"*dbenv: refused to replace '{base}_gw1_new': *(stamp: other-project)*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    for name in (f"{base}_gw0", f"{base}_gw1_new"):
        assert project.query(name, "SELECT v FROM precious") == [("keep me",)]


def test_keep_failed_refuses_to_replace_a_database_not_kept_by_it(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    copy = failed_copy(project.test_database, "test_keep.py::test_fails")
    _create(project, copy)
    pytester.makepyfile(test_keep="def test_fails(db):\n    assert False\n")
    result = pytester.runpytest(*PLUGIN, "--dbenv-keep-failed")
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines([f"*dbenv: refused to replace '{copy}': it exists but is not*"])
    assert project.query(copy, "SELECT v FROM precious") == [("keep me",)]


SEEDED_SCHEMA = """
def test_seed_rows_are_there(db, dbenv_env):
    assert db.execute(f"SELECT name FROM {dbenv_env.table('users')}").fetchall() == [("seeded",)]
"""


def test_seed_rows_of_a_schema_go_in_through_the_guard(
    pytester: pytest.Pytester, pg_server: PgServer
) -> None:
    made = make_project(
        pytester.path, pg_server.dsn_for, pg_server.dsn, isolation="schema", seeds=True
    )
    try:
        pytester.makepyfile(test_seeded=SEEDED_SCHEMA)
        pytester.runpytest(*PLUGIN).assert_outcomes(passed=1)
        journal = made.query(
            made.test_database,
            "SELECT outcome, arguments->>'by' FROM dbenv.journal WHERE operation = 'seed'",
        )
        assert journal == [("ok", "pytest")]
    finally:
        drop_project_databases(made)
