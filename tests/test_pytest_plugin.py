"""The pytest plugin, run by pytester on example test files against the suite's servers."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbenv.errors import BinariesNotFound
from dbenv.stack.host import find_pg_binaries
from dbenv.stack.local import LocalStack
from pytest_plugin_support import MODELS, PluginProject, drop_project_databases, make_project
from servers import PgServer, RedisServer, missing

PLUGIN = ("-p", "dbenv")


@pytest.fixture(autouse=True)
def _no_declared_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_stale_models_module() -> None:
    """pytester runs in this process: a ``models`` module another test imported
    would stand in for the example project's own ``models.py``."""
    for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
        del sys.modules[name]


@pytest.fixture
def project(pytester: pytest.Pytester, pg_server: PgServer) -> Iterator[PluginProject]:
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn)
    try:
        yield made
    finally:
        drop_project_databases(made)


ISOLATION = """
import psycopg
import pytest
from sqlalchemy import func, select
from models import User


def test_insert_with_db(db):
    db.execute("INSERT INTO users (name) VALUES ('a')")
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 1


def test_invisible_next(db):
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_commit_on_the_connection(db):
    db.execute("INSERT INTO users (name) VALUES ('committed')")
    db.commit()


def test_commit_was_emptied(db):
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_commit_through_session(sa_session):
    sa_session.add(User(name="b"))
    sa_session.commit()
    assert sa_session.scalar(select(func.count()).select_from(User)) == 1


def test_commit_isolated(sa_session, db):
    assert sa_session.scalar(select(func.count()).select_from(User)) == 0
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
"""


def test_a_row_from_one_test_is_invisible_in_the_next(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_isolation=ISOLATION)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=6)
    assert project.query(project.test_database, "SELECT count(*) FROM users") == [(0,)]


REUSE = """
def test_prepared(dbenv_databases, db, request):
    target = dbenv_databases.target()
    print(f"REUSED={target.reused} DB={db.execute('SELECT current_database()').fetchone()[0]}")
    db.execute("INSERT INTO users (name) VALUES ('x')")
"""


def test_the_database_is_reused_across_runs_and_rebuilt_when_the_schema_changes(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_reuse=REUSE)
    first = pytester.runpytest(*PLUGIN, "-s")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines([f"*REUSED=False DB={project.test_database}*"])
    second = pytester.runpytest(*PLUGIN, "-s")
    second.stdout.fnmatch_lines(["*REUSED=True*"])
    templates = [d for d in project.databases() if d.startswith("dbenv_tpl_")]
    assert len(templates) == 1

    models = project.root / "models.py"
    models.write_text(models.read_text() + "\n    body: Mapped[str] = mapped_column(String(10))\n")
    pytester.makepyfile(
        test_changed="""
def test_new_column(db):
    db.execute("INSERT INTO users (name) VALUES ('y')")
    db.execute("INSERT INTO posts (user_id, title, body) SELECT id, 't', 'b' FROM users")
"""
    )
    third = pytester.runpytest(*PLUGIN, "-s")
    third.assert_outcomes(passed=2)
    third.stdout.fnmatch_lines(["*REUSED=False*"])
    new_templates = [d for d in project.databases() if d.startswith("dbenv_tpl_")]
    assert new_templates != templates


def test_recreate_clones_again_even_when_reusable(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_reuse=REUSE)
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=1)
    again = pytester.runpytest(*PLUGIN, "-s", "--dbenv-recreate")
    again.stdout.fnmatch_lines(["*REUSED=False*"])


def test_reuse_off_by_ini_key(pytester: pytest.Pytester, project: PluginProject) -> None:
    ini = project.root / "pytest.ini"
    ini.write_text(ini.read_text() + "dbenv_reuse = false\n")
    pytester.makepyfile(test_reuse=REUSE)
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=1)
    assert not [d for d in project.databases() if d.startswith("dbenv_tpl_")]
    again = pytester.runpytest(*PLUGIN, "-s")
    again.stdout.fnmatch_lines(["*REUSED=False*"])


XDIST = """
import psycopg
import pytest


@pytest.mark.parametrize("n", range(6))
def test_each_worker_has_its_own_database(db, n):
    name = db.execute("SELECT current_database()").fetchone()[0]
    assert name.rsplit("_", 1)[-1] in ("gw0", "gw1"), name
    db.execute("INSERT INTO users (name) VALUES ('same')")  # unique: would block across workers
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 1
"""


def test_xdist_gives_each_worker_a_clone(pytester: pytest.Pytester, project: PluginProject) -> None:
    pytester.makepyfile(test_xdist=XDIST)
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2")
    result.assert_outcomes(passed=6)
    workers = {f"{project.test_database}_gw0", f"{project.test_database}_gw1"}
    assert workers <= set(project.databases())  # reused: kept for the next run
    for name in workers:
        assert project.query(name, "SELECT count(*) FROM users") == [(0,)]

    # --dbenv-recreate: the controller drops the template once, a worker rebuilds it
    oid = f"SELECT oid FROM pg_database WHERE datname LIKE 'dbenv_tpl_{project.tag}%'"
    before = project.query("postgres", oid)
    again = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", "--dbenv-recreate")
    again.assert_outcomes(passed=6)
    after = project.query("postgres", oid)
    assert len(after) == 1 and after != before

    # a narrower run cleans the clone a wider (or killed) run left behind; without
    # reuse its own clone is dropped at the end too
    narrow = pytester.runpytest_subprocess(*PLUGIN, "-n", "1", "--dbenv-no-reuse")
    narrow.assert_outcomes(passed=6)
    assert not workers & set(project.databases())


def test_refuses_a_protected_environment_with_one_sentence(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_refused="def test_x(db):\n    pass\n")
    result = pytester.runpytest(*PLUGIN, "--dbenv-env", "production")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*dbenv: refused to reset 'production': check 'tier' failed*"])
    assert "Traceback" not in result.stdout.str()
    assert f"{project.tag}_prod" not in project.databases()


def test_refuses_when_the_process_declares_another_environment(
    pytester: pytest.Pytester, project: PluginProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    pytester.makepyfile(test_refused="def test_x(db):\n    pass\n\ndef test_y(db):\n    pass\n")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*check 'declared' failed*APP_ENV=production*"])
    assert "Traceback" not in result.stdout.str()
    assert project.test_database not in project.databases()


def test_an_unreachable_server_reports_its_message(
    pytester: pytest.Pytester, project: PluginProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBENV_TEST_DATABASE_URL", "postgresql://app:s3cret-pw@127.0.0.1:1/app_test")
    pytester.makepyfile(test_down="def test_x(db):\n    pass\n")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*dbenv: could not connect to postgresql://app:****@127.0.0.1:1*"])
    text = result.stdout.str()
    assert "s3cret-pw" not in text and "Traceback" not in text


MARKER = """
import psycopg
import pytest
import psycopg


@pytest.mark.dbenv(transaction=False)
def test_commits_for_real(db, dbenv_url):
    db.execute("INSERT INTO users (name) VALUES ('committed')")
    db.commit()
    with psycopg.connect(dbenv_url) as other:  # another connection sees it
        assert other.execute("SELECT count(*) FROM users").fetchone()[0] == 2


def test_afterwards_only_the_seed_is_left(db):
    assert db.execute("SELECT name FROM users").fetchall() == [("seeded",)]
"""


def test_marker_commits_and_the_dirty_tables_are_emptied_seed_kept(
    pytester: pytest.Pytester, pg_server: PgServer
) -> None:
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, seeds=True)
    try:
        pytester.makepyfile(test_marker=MARKER)
        pytester.runpytest(*PLUGIN, "-p", "no:randomly").assert_outcomes(passed=2)
        assert made.query(made.test_database, "SELECT name FROM users") == [("seeded",)]
    finally:
        drop_project_databases(made)


def test_seed_data_is_in_the_template_and_every_test_sees_it(
    pytester: pytest.Pytester, pg_server: PgServer
) -> None:
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, seeds=True)
    try:
        pytester.makepyfile(
            test_seeded="""
def test_one(db):
    assert db.execute("SELECT name FROM users").fetchall() == [("seeded",)]
    db.execute("DELETE FROM users")

def test_two(db):
    assert db.execute("SELECT name FROM users").fetchall() == [("seeded",)]
"""
        )
        pytester.runpytest(*PLUGIN).assert_outcomes(passed=2)
        seeded = [d for d in made.databases() if d.startswith("dbenv_tpl_") and "_s" in d[-12:]]
        assert seeded and made.query(seeded[0], "SELECT name FROM users") == [("seeded",)]
    finally:
        drop_project_databases(made)


REDIS = """
def test_sets_a_key(dbenv_redis):
    dbenv_redis.set("k", "v")
    assert dbenv_redis.get("k") == b"v"


def test_the_key_is_gone(dbenv_redis):
    assert dbenv_redis.get("k") is None
    assert dbenv_redis.connection_pool.connection_kwargs["db"] == 5
"""


def test_redis_db_is_flushed_after_each_test(
    pytester: pytest.Pytester, pg_server: PgServer, redis_server: RedisServer
) -> None:
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, redis_url=redis_server.url)
    try:
        pytester.makepyfile(test_redis=REDIS)
        pytester.runpytest(*PLUGIN, "-p", "no:randomly").assert_outcomes(passed=2)
    finally:
        drop_project_databases(made)


def test_redis_flush_refused_when_a_protected_environment_shares_the_db(
    pytester: pytest.Pytester, pg_server: PgServer, redis_server: RedisServer
) -> None:
    shared = f'redis_url = "{redis_server.url}"\nredis_db = 5\n'
    made = make_project(
        pytester.path, pg_server.dsn_for, pg_server.dsn, redis_url=redis_server.url, extra=shared
    )
    try:
        pytester.makepyfile(test_redis="def test_x(dbenv_redis):\n    pass\n")
        result = pytester.runpytest(*PLUGIN)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*dbenv: refused to flush 'test': check 'redis-shared'*"])
    finally:
        drop_project_databases(made)


ASYNC = """
import psycopg
import pytest
from sqlalchemy import func, select
from models import User


@pytest.mark.asyncio
async def test_async_db_insert(async_db):
    await async_db.execute("INSERT INTO users (name) VALUES ('a')")
    cur = await async_db.execute("SELECT count(*) FROM users")
    assert (await cur.fetchone())[0] == 1


@pytest.mark.asyncio
async def test_async_session_commit(async_sa_session):
    async_sa_session.add(User(name="b"))
    await async_sa_session.commit()
    assert await async_sa_session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.asyncio
async def test_nothing_left(async_sa_session, async_db):
    assert await async_sa_session.scalar(select(func.count()).select_from(User)) == 0
    cur = await async_db.execute("SELECT count(*) FROM users")
    assert (await cur.fetchone())[0] == 0


@pytest.mark.asyncio
async def test_driver(async_sa_session):
    print("DRIVER=" + async_sa_session.bind.dialect.driver)
"""


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
def test_async_fixtures_roll_back(
    pytester: pytest.Pytester, project: PluginProject, driver: str
) -> None:
    pytester.makepyfile(test_async=ASYNC)
    result = pytester.runpytest(*PLUGIN, "-p", "no:randomly", "-s", "--dbenv-async-driver", driver)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"*DRIVER={driver}*"])


KEEP = """
def test_fails_with_a_row(db):
    db.execute("INSERT INTO users (name) VALUES ('evidence')")
    assert False


def test_next_is_clean(db):
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
"""


def test_keep_failed_keeps_a_copy_and_names_it(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_keep=KEEP)
    result = pytester.runpytest(*PLUGIN, "-p", "no:randomly", "--dbenv-keep-failed")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*dbenv: databases kept for failed tests*", f"*test_fails_with_a_row: {project.tag}*"]
    )
    kept = [d for d in project.databases() if "_failed_" in d]
    assert len(kept) == 1
    assert project.query(kept[0], "SELECT name FROM users") == [("evidence",)]
    assert project.query(project.test_database, "SELECT count(*) FROM users") == [(0,)]


SCOPED = """
import psycopg
import pytest
from sqlalchemy import func, select, text


def test_insert(db, dbenv_env):
    table = dbenv_env.table("users")
    db.execute(f"INSERT INTO {table} (name) VALUES ('a')")
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1


def test_invisible(sa_session, dbenv_env):
    table = dbenv_env.table("users")
    assert sa_session.scalar(text(f"SELECT count(*) FROM {table}")) == 0


@pytest.mark.dbenv(transaction=False)
def test_commit(db, dbenv_env):
    db.execute(f"INSERT INTO {dbenv_env.table('users')} (name) VALUES ('c')")
    db.commit()


def test_emptied(db, dbenv_env):
    assert db.execute(f"SELECT count(*) FROM {dbenv_env.table('users')}").fetchone()[0] == 0
"""


@pytest.mark.parametrize("isolation", ["schema", "prefix"])
def test_schema_and_prefix_isolation_through_the_same_fixtures(
    pytester: pytest.Pytester, pg_server: PgServer, isolation: str
) -> None:
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, isolation=isolation)
    try:
        pytester.makepyfile(test_scoped=SCOPED)
        pytester.runpytest(*PLUGIN, "-p", "no:randomly").assert_outcomes(passed=4)
        again = pytester.runpytest(*PLUGIN, "-p", "no:randomly")
        again.assert_outcomes(passed=4)
        table = "test.users" if isolation == "schema" else "test_users"
        assert made.query(made.test_database, f"SELECT count(*) FROM {table}") == [(0,)]
    finally:
        drop_project_databases(made)


INERT = """
import sys


def test_no_driver_loaded():
    loaded = [m for m in ("psycopg", "sqlalchemy", "redis", "asyncpg") if m in sys.modules]
    assert loaded == []
"""


def test_inert_when_no_fixture_is_used(pytester: pytest.Pytester, project: PluginProject) -> None:
    pytester.makepyfile(test_inert=INERT)
    result = pytester.runpytest_subprocess(*PLUGIN, "-p", "no:pytest_postgresql")
    result.assert_outcomes(passed=1)
    assert project.databases() == []


def test_turned_off(pytester: pytest.Pytester, project: PluginProject) -> None:
    pytester.makepyfile(test_off="def test_x(db):\n    pass\n")
    skipped = pytester.runpytest(*PLUGIN, "--dbenv-disable", "-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*the dbenv plugin is turned off*"])
    # pytest-django (installed for the Django tests) has a `db` fixture of its own
    removed = pytester.runpytest("-p", "no:dbenv", "-p", "no:django")
    removed.assert_outcomes(errors=1)
    removed.stdout.fnmatch_lines(["*fixture 'db' not found*"])
    assert project.databases() == []


def test_starts_the_local_stack_when_the_environment_lives_on_it(
    pytester: pytest.Pytester,
) -> None:
    try:
        find_pg_binaries()
    except BinariesNotFound as error:
        missing(str(error))
    data = Path(tempfile.mkdtemp(prefix="dbenv-plugin-stack-"))  # reachable by the server user
    data.chmod(0o755)
    (pytester.path / "dbenv.toml").write_text(
        f'[project]\nname = "stackproj"\n\n[local]\ndata_dir = "{data}"\nredis = false\n\n'
        '[environments.test]\ntier = "disposable"\nserver = "local"\n'
        'schema_source = "sqlalchemy:models:Base.metadata"\n'
    )
    (pytester.path / "models.py").write_text(MODELS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_local="def test_x(db):\n"
        "    assert db.execute('SELECT current_database()').fetchone()[0] == 'stackproj_test'\n"
        "    db.execute(\"INSERT INTO users (name) VALUES ('a')\")\n"
    )
    try:
        result = pytester.runpytest(*PLUGIN)
        result.assert_outcomes(passed=1)
        assert LocalStack(data).status().running
    finally:
        LocalStack(data).stop()
        shutil.rmtree(data, ignore_errors=True)


FACTORIES = """
from dbenv.pytest_plugin import factories

other_db = factories.db("other")
other_env = factories.dbenv_env("other")


def test_two_environments_side_by_side(db, other_db, other_env):
    assert other_env.name == "other"
    mine = db.execute("SELECT current_database()").fetchone()[0]
    theirs = other_db.execute("SELECT current_database()").fetchone()[0]
    assert (mine, theirs) == ("{test}", "{other}")
    other_db.execute("INSERT INTO users (name) VALUES ('o')")


def test_other_rolled_back(other_db):
    assert other_db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
"""


def test_factories_bind_fixtures_to_another_environment(
    pytester: pytest.Pytester, pg_server: PgServer
) -> None:
    other = (
        '\n[environments.other]\ntier = "disposable"\nguard_pattern = "other"\n'
        'schema_source = "sqlalchemy:models:Base.metadata"\n'
    )
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn, extra=other)
    toml = made.root / "dbenv.toml"
    toml.write_text(
        toml.read_text() + f'database_url = "{pg_server.dsn_for(made.tag + "_other")}"\n'
    )
    try:
        pytester.makepyfile(
            test_factories=FACTORIES.replace("{test}", made.test_database).replace(
                "{other}", made.tag + "_other"
            )
        )
        pytester.runpytest(*PLUGIN, "-p", "no:randomly").assert_outcomes(passed=2)
    finally:
        drop_project_databases(made)


def test_rows_a_killed_run_committed_are_emptied_on_the_next(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_first="def test_x(db):\n    db.execute('SELECT 1')\n")
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=1)
    dsn = project.admin_dsn.rsplit("/", 1)[0] + "/" + project.test_database
    with psycopg.connect(dsn, autocommit=True) as conn:  # what a killed marker test leaves
        conn.execute("INSERT INTO users (name) VALUES ('left over')")
    pytester.makepyfile(
        test_first="def test_x(db):\n"
        "    assert db.execute('SELECT count(*) FROM users').fetchone()[0] == 0\n"
    )
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=1)


def test_bad_options_say_what_was_wrong(pytester: pytest.Pytester, project: PluginProject) -> None:
    pytester.makepyfile(test_bad="def test_x(db):\n    pass\n")
    unknown = pytester.runpytest(*PLUGIN, "--dbenv-env", "nosuch")
    unknown.assert_outcomes(errors=1)
    unknown.stdout.fnmatch_lines(["*dbenv: *nosuch*"])
    assert "Traceback" not in unknown.stdout.str()
    ini = project.root / "pytest.ini"
    ini.write_text(ini.read_text() + "dbenv_async_driver = aiopg\n")
    driver = pytester.runpytest(*PLUGIN)
    assert driver.ret == pytest.ExitCode.USAGE_ERROR
    driver.stderr.fnmatch_lines(["*dbenv_async_driver is 'aiopg'; use one of: psycopg, asyncpg.*"])
    assert project.databases() == []
