"""The guard matrix: operation × tier × stamp × name pattern × shared × declared × override.

The stamp dimension includes the stamp's own tier: ``protected`` is stamped for
this environment with tier protected, so a disposable declaration disagrees with it.

Each cell predicts the outcome from DESIGN §3 and runs the operation's real
command (``dbenv.commands``; see ``guard_matrix_support``). A refused cell must
raise ``GuardRefusal`` naming the first failing check and leave the database
exactly as it was (catalog with every column's type, row counts, database
settings) and the Redis keys too; a safe cell must do its work (checked per
operation) and leave an ``ok`` journal row, with the override and a snapshot when
one was needed.

``reset`` (data-only) and ``stamp`` cross every dimension. ``seed``, ``flush``,
``restore`` and ``sync`` (into) cross every failing check alone, all of them at
once and the all-passing cell, each with no, the right and a wrong override
(``seed`` and ``sync`` need a table to write to, so not the empty database).
The databases are built once per stamp state; a cell that re-stamps or replaces
one builds its state again.

Then where the target is (``test_guard_where_cell``): every operation with each
override, on the all-passing database reached through PgBouncer (pooled vs
direct), with production's URL an alias of it (PostgreSQL and Redis), and as a
prefix or schema environment inside protected production's database.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from dbenv.commands import lifecycle_data
from dbenv.commands.stack import initdb_cache
from dbenv.config import Project
from dbenv.errors import GuardRefusal
from dbenv.stack.local import LocalStack
from guard_matrix_support import (
    OPERATIONS,
    REDIS_DB,
    STATES,
    Fixtures,
    build_state,
    make_dump,
    redis_keys,
    write_seed,
)
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
from servers import PgServer

TIERS = ("disposable", "protected")
PATTERNS = ("match", "mismatch")
SHARED = ("own", "shared")
DECLARED = ("agree", "disagree")
OVERRIDES = ("none", "right", "wrong")
SAFE = ("disposable", "ok", "match", "own", "agree")


def expected_refusal(
    operation: str,
    tier: str,
    state: str,
    pattern: str,
    shared: str,
    declared: str,
    override: str,
) -> str | None:
    """The check a cell must be refused by, or None when it must run."""
    failing = []
    if operation != "stamp" and tier == "protected":
        failing.append("tier")
    if state == "protected" and tier == "disposable":
        if override == "wrong":
            return "override"
        return "stamp-tier"  # no override gets past it (see test_guard_tier for the way down)
    labelling_ok = operation == "stamp" and (
        state == "empty" or (state == "absent" and tier == "protected")
    )
    if state not in ("ok", "protected") and not labelling_ok:
        failing.append("stamp")
    if pattern == "mismatch":
        failing.append("pattern")
    if shared == "shared":
        failing.append("shared")
    if declared == "disagree" and operation != "stamp":
        failing.append("declared")
    if override == "wrong":
        return "override"
    if failing and override != "right":
        return failing[0]
    return None


def one_failing_check_at_a_time(operation: str) -> list[tuple[str, ...]]:
    """The all-passing cell, each failing dimension alone, and all failing at once."""
    states = [
        s for s in STATES if s != "ok" and not (s == "empty" and operation in ("seed", "sync"))
    ]  # "protected" with the declared disposable tier: the stamp's tier disagrees
    variants = [SAFE, ("protected", *SAFE[1:])]
    variants += [(SAFE[0], state, *SAFE[2:]) for state in states]
    variants += [(*SAFE[:2], "mismatch", *SAFE[3:]), (*SAFE[:3], "shared", SAFE[4])]
    variants += [(*SAFE[:4], "disagree"), ("protected", "copy", "mismatch", "shared", "disagree")]
    return [(operation, *v, o) for v in variants for o in OVERRIDES]


CELLS = list(
    itertools.product(("reset", "stamp"), TIERS, STATES, PATTERNS, SHARED, DECLARED, OVERRIDES)
)
for _operation in ("seed", "flush", "restore", "sync"):
    CELLS += one_failing_check_at_a_time(_operation)


@pytest.fixture(scope="module")
def databases(pg_server: Any) -> Iterator[dict[str, tuple[str, str]]]:
    """One database per stamp state, named so that 'test' matches: state -> (name, dsn)."""
    admin = pg_server.dsn
    made = {}
    for state in STATES:
        name = unique(f"gm_{state.replace('-', '_')}_test")
        made[state] = (name, pg_server.dsn_for(name))
        build_state(admin, made[state][1], name, state, fresh=True)
    yield made
    for name, _ in made.values():
        drop_database(admin, name)


@pytest.fixture(scope="module")
def fixtures(
    pg_server: Any, redis_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fixtures]:
    """The seed file, the dump to restore, the sync source and the Redis prefix."""
    files = tmp_path_factory.mktemp("matrix_files")
    dump_db, source_db = unique("gm_dump"), unique("gm_source")
    for name in (dump_db, source_db):
        create_database(pg_server.dsn, name)
    source = pg_server.dsn_for(source_db)
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE TABLE app_rows (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO app_rows VALUES (9, 'synced')")
    client = redis.Redis.from_url(redis_server.url, db=REDIS_DB)
    yield Fixtures(
        write_seed(files / "seed.json"),
        make_dump(pg_server.dsn_for(dump_db), files / "restore.dump"),
        source,
        client,
        redis_server.url,
        f"gm{unique('')[1:]}:",
    )
    client.close()
    for name in (dump_db, source_db):
        drop_database(pg_server.dsn, name)


class Observers:
    """One connection per database for the comparisons (reopened after a restore)."""

    def __init__(self, databases: dict[str, tuple[str, str]]) -> None:
        self.databases = databases
        self.conns: dict[str, psycopg.Connection[Any]] = {}

    def __getitem__(self, state: str) -> psycopg.Connection[Any]:
        conn = self.conns.get(state)
        if conn is None or conn.closed or conn.broken:
            conn = self.conns[state] = psycopg.connect(self.databases[state][1], autocommit=True)
        return conn

    def forget(self, state: str) -> None:
        conn = self.conns.pop(state, None)
        if conn is not None:
            conn.close()


@pytest.fixture(scope="module")
def observers(databases: dict[str, tuple[str, str]]) -> Iterator[Observers]:
    made = Observers(databases)
    yield made
    for state in list(made.conns):
        made.forget(state)


@pytest.fixture(scope="module")
def projects() -> dict[tuple[str, ...], Project]:
    """Projects by (state, tier, pattern, shared, declared), written and loaded once each."""
    return {}


def project_for(
    projects: dict[tuple[str, ...], Project],
    tmp: pytest.TempPathFactory,
    dsn: str,
    fx: Fixtures,
    key: tuple[str, str, str, str, str],
) -> Project:
    if key not in projects:
        _, tier, pattern, shared, declared = key
        root = tmp.mktemp("cell")
        elsewhere = dsn.rsplit("/", 1)[0] + "/gm_production_elsewhere"
        test = {
            "tier": tier,
            "database_url": dsn,
            "guard_pattern": "test" if pattern == "match" else "^nomatch$",
            "redis_url": fx.redis_url,
            "redis_db": REDIS_DB,
            "redis_prefix": fx.prefix + "test:",
        }
        write_project(
            root,
            "app",
            {
                "test": test,
                "production": {"database_url": dsn if shared == "shared" else elsewhere},
                "development": {"tier": "disposable", "database_url": fx.source_dsn},
            },
        )
        projects[key] = load(root, {"APP_ENV": "test" if declared == "agree" else "production"})
    return projects[key]


@pytest.mark.parametrize(
    ("operation", "tier", "state", "pattern", "shared", "declared", "override"), CELLS
)
def test_guard_cell(
    pg_server: Any,
    databases: dict[str, tuple[str, str]],
    observers: Observers,
    fixtures: Fixtures,
    projects: dict[tuple[str, ...], Project],
    tmp_path_factory: pytest.TempPathFactory,
    operation: str,
    tier: str,
    state: str,
    pattern: str,
    shared: str,
    declared: str,
    override: str,
) -> None:
    database, dsn = databases[state]
    op = OPERATIONS[operation]
    project = project_for(
        projects, tmp_path_factory, dsn, fixtures, (state, tier, pattern, shared, declared)
    )
    env = project.environment("test")
    given = {"none": None, "right": database, "wrong": f"not_{database}"}[override]
    refusal = expected_refusal(operation, tier, state, pattern, shared, declared, override)
    op.prepare(observers[state], fixtures, state)
    before = database_state(observers[state])
    keys_before = redis_keys(fixtures)
    journal_before = len(journal_rows(observers[state]))

    if refusal is not None:
        with pytest.raises(GuardRefusal) as caught:
            op.run(project, env, fixtures, given)
        assert caught.value.check == refusal
        assert caught.value.exit_code == 3 and caught.value.hint
        assert database_state(observers[state]) == before
        assert redis_keys(fixtures) == keys_before
        return

    if op.replaces_database:
        observers.forget(state)  # the restore drops the database: stay off it
    try:
        op.run(project, env, fixtures, given)
        op.verify(observers[state], fixtures, env)
        overridden = override == "right" and (
            expected_refusal(operation, tier, state, pattern, shared, declared, "none") is not None
        )
        check_journal(observers[state], journal_before, operation, database, overridden)
        if operation == "reset":
            assert journal_rows(observers[state])[-1][5]["deleted"] == (
                0 if state == "empty" else 2
            )
    finally:
        if op.replaces_database or op.restamps:
            observers.forget(state)
            build_state(pg_server.dsn, dsn, database, state, fresh=op.replaces_database)


def check_journal(
    conn: psycopg.Connection[Any], before: int, operation: str, database: str, overridden: bool
) -> None:
    """One new ``ok`` row; the override and a snapshot exactly when one was needed."""
    rows = journal_rows(conn)
    assert len(rows) == before + 1
    last = rows[-1]
    assert (last[0], last[1], last[2]) == (operation, "test", "ok")
    assert (last[3] == database) is overridden
    assert (last[4] is not None) is (overridden and operation != "stamp")
    if last[4] is not None:
        assert Path(last[4]).is_file()


# -- where the target is: pooled vs direct, aliases of a protected server, tenants -------
#
# Every operation on the all-passing ``ok`` database, moved along one more dimension:
# ``pooled`` (test's database_url goes through the suite's PgBouncer: check ``direct``,
# no override passes it), ``pg-alias`` (production's database_url is another spelling,
# 127.1, of test's database: ``shared`` by identity), ``redis-alias`` (production's
# Redis URL is 127.1 with test's db index and prefix: ``redis-shared`` for what flushes
# Redis, no override passes it) and ``prefix-inside``/``schema-inside`` (test is a
# prefix/schema environment inside protected production's database, which does not
# list it as a tenant: ``tenant``). The tenant cells run without and with a wrong
# override only: the right one rebuilds production's database under a prefix test
# does not own (tests/test_guard_tenants.py covers claiming by name).

WHERE = ("pooled", "pg-alias", "redis-alias", "prefix-inside", "schema-inside")
TOUCHES_REDIS = ("reset", "flush")


def expected_where(operation: str, where: str, override: str) -> str | None:
    """The check a cell of the ``where`` dimension must be refused by, or None."""
    if where == "pooled":
        return "direct"
    if where == "redis-alias":
        if operation in TOUCHES_REDIS:
            return "redis-shared"
        return "override" if override == "wrong" else None
    if override == "wrong":
        return "override"
    if where == "pg-alias":
        return None if override == "right" else "shared"
    return "tenant"


WHERE_CELLS = [
    (operation, where, override)
    for operation in OPERATIONS
    for where in WHERE
    for override in OVERRIDES
    # sync copies whole databases only (a prefix/schema target is a usage error)
    if not (where.endswith("-inside") and (override == "right" or operation == "sync"))
]


@pytest.fixture(scope="module")
def tenant_database(pg_server: Any) -> Iterator[tuple[str, str]]:
    """Production's database (stamped protected) with test's prefix and schema stamped ok."""
    from dbenv.config.model import Environment
    from dbenv.safety.stamp import write_stamp

    name = unique("gm_inside")
    create_database(pg_server.dsn, name)
    dsn = pg_server.dsn_for(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE app_rows (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO app_rows VALUES (1, 'production')")
        conn.execute("CREATE TABLE test_app_rows (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO test_app_rows VALUES (1, 'production made it')")
        conn.execute("CREATE SCHEMA test_schema")
        conn.execute("CREATE TABLE test_schema.app_rows (id int PRIMARY KEY, note text)")
        root = Path(".")
        production = Environment("production", "app", root, tier="protected")
        write_stamp(conn, "app", production)
        for isolation in ("prefix", "schema"):
            tenant = Environment(
                "test",
                "app",
                root,
                tier="disposable",
                isolation=isolation,  # type: ignore[arg-type]
                prefix="test_",
                schema="test_schema",
            )
            write_stamp(conn, "app", tenant)
    yield name, dsn
    drop_database(pg_server.dsn, name)


def where_project(
    root: Path,
    where: str,
    dsn: str,
    fx: Fixtures,
    pooled_dsn: str,
    tenant_dsn: str,
    redis_port: int,
) -> Project:
    test: dict[str, object] = {
        "tier": "disposable",
        "database_url": dsn,
        "redis_url": fx.redis_url,
        "redis_db": REDIS_DB,
        "redis_prefix": fx.prefix + "test:",
    }
    production: dict[str, object] = {"database_url": dsn.rsplit("/", 1)[0] + "/gm_elsewhere"}
    if where == "pooled":
        test["database_url"] = pooled_dsn
    elif where == "pg-alias":
        production["database_url"] = dsn.replace("@127.0.0.1:", "@127.1:")
    elif where == "redis-alias":
        production["redis_url"] = f"redis://127.1:{redis_port}"
        production.update(redis_db=REDIS_DB, redis_prefix=fx.prefix + "test:")
    else:
        production["database_url"] = tenant_dsn
        test["database_url"] = tenant_dsn.replace("@127.0.0.1:", "@127.1:")
        if where == "prefix-inside":
            test.update(isolation="prefix", prefix="test_")
        else:
            test.update(isolation="schema", schema="test_schema")
    write_project(
        root,
        "app",
        {
            "test": test,
            "production": production,
            "development": {"tier": "disposable", "database_url": fx.source_dsn},
        },
    )
    return load(root, {"APP_ENV": "test"})


@pytest.mark.parametrize(("operation", "where", "override"), WHERE_CELLS)
def test_guard_where_cell(
    pg_server: Any,
    redis_server: Any,
    pgbouncer: Any,
    databases: dict[str, tuple[str, str]],
    tenant_database: tuple[str, str],
    observers: Observers,
    fixtures: Fixtures,
    tmp_path: Path,
    operation: str,
    where: str,
    override: str,
) -> None:
    database, dsn = databases["ok"]
    inside = where.endswith("-inside")
    op = OPERATIONS[operation]
    project = where_project(
        tmp_path,
        where,
        dsn,
        fixtures,
        pgbouncer.dsn_for(database),
        tenant_database[1],
        redis_server.port,
    )
    env = project.environment("test")
    target = tenant_database[0] if inside else database
    given = {"none": None, "right": target, "wrong": f"not_{target}"}[override]
    refusal = expected_where(operation, where, override)
    watched = psycopg.connect(tenant_database[1], autocommit=True) if inside else observers["ok"]
    if not inside:
        op.prepare(watched, fixtures, "ok")
    before = database_state(watched)
    keys_before = redis_keys(fixtures)
    journal_before = len(journal_rows(watched))
    try:
        if refusal is not None:
            with pytest.raises(GuardRefusal) as caught:
                op.run(project, env, fixtures, given)
            assert caught.value.check == refusal
            assert caught.value.exit_code == 3 and caught.value.hint
            assert database_state(watched) == before
            assert redis_keys(fixtures) == keys_before
            return
        assert not inside
        if op.replaces_database:
            observers.forget("ok")
        op.run(project, env, fixtures, given)
        op.verify(observers["ok"], fixtures, env)
        overridden = override == "right" and expected_where(operation, where, "none") is not None
        check_journal(observers["ok"], journal_before, operation, database, overridden)
    finally:
        if inside:
            watched.close()
        elif refusal is None and (op.replaces_database or op.restamps):
            observers.forget("ok")
            build_state(pg_server.dsn, dsn, database, "ok", fresh=op.replaces_database)


# --- same-name databases on two servers ---------------------------------------------


@pytest.fixture(scope="module")
def second_pg() -> Iterator[PgServer]:
    """Another real cluster, from the same initdb cache as the suite's."""
    root = Path(tempfile.mkdtemp(prefix="dbenv-test-pg2-"))
    root.chmod(0o755)  # the server may run as an unprivileged user (see conftest)
    bindir = os.environ.get("DBENV_PG_BINDIR")
    stack = LocalStack(
        root / "stack",
        redis=False,
        host_auth="trust",
        initdb_cache=initdb_cache(os.environ),
        pg_bindir=Path(bindir) if bindir else None,
    )
    status = stack.start()
    assert status.state is not None and status.state.postgres is not None
    try:
        yield PgServer("127.0.0.1", status.state.postgres.port)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def twins(pg_server: Any, second_pg: PgServer) -> Iterator[tuple[str, str, str]]:
    """(name, production's DSN on the suite's server, test's DSN on the second one)."""
    name = unique("gm_same")  # no "test" in it: the default pattern fails for test
    create_database(pg_server.dsn, name)
    production = pg_server.dsn_for(name)
    with psycopg.connect(production, autocommit=True) as conn:
        conn.execute("CREATE TABLE app_rows (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO app_rows VALUES (1, 'production'), (2, 'production')")
    stamp_as(production, "app", "production", tier="protected")
    test = second_pg.dsn_for(name)
    build_state(second_pg.dsn, test, name, "ok", fresh=True)
    yield name, production, test
    drop_database(pg_server.dsn, name)
    drop_database(second_pg.dsn, name)


TWIN_OVERRIDES = ("none", "bare", "qualified", "production's")


@pytest.mark.parametrize("override", TWIN_OVERRIDES)
@pytest.mark.parametrize("operation", ["reset", "seed", "flush", "restore", "sync", "stamp"])
def test_same_name_on_two_servers(
    pg_server: Any,
    second_pg: PgServer,
    twins: tuple[str, str, str],
    fixtures: Fixtures,
    tmp_path: Path,
    operation: str,
    override: str,
) -> None:
    """test and production are both database NAME, told apart by port only: the bare
    name confirms nothing, ``NAME@host:port`` of the target does."""
    name, production, test_dsn = twins
    write_project(
        tmp_path,
        "app",
        {
            "test": {
                "tier": "disposable",
                "database_url": test_dsn,
                "redis_url": fixtures.redis_url,
                "redis_db": REDIS_DB,
                "redis_prefix": fixtures.prefix + "test:",
            },
            "production": {"database_url": production},
            "development": {"tier": "disposable", "database_url": fixtures.source_dsn},
        },
    )
    project = load(tmp_path, {"APP_ENV": "test"})
    env = project.environment("test")
    given = {
        "none": None,
        "bare": name,
        "qualified": f"{name}@127.0.0.1:{second_pg.port}",  # loopback spelled either way
        "production's": f"{name}@localhost:{pg_server.port}",
    }[override]
    expected = {"none": "pattern", "bare": "override", "production's": "override"}.get(override)
    op = OPERATIONS[operation]
    production_before = database_state(production)
    with psycopg.connect(test_dsn, autocommit=True) as conn:
        op.prepare(conn, fixtures, "ok")
        before = database_state(conn)
        journal_before = len(journal_rows(conn))
    keys_before = redis_keys(fixtures)
    try:
        if expected is not None:
            with pytest.raises(GuardRefusal) as caught:
                op.run(project, env, fixtures, given)
            assert caught.value.check == expected and caught.value.exit_code == 3
            if override == "bare":
                assert "protected environment 'production' also uses" in caught.value.message
            if expected == "override":
                assert f"--i-mean-it={name}@localhost:{second_pg.port}" in (caught.value.hint or "")
            assert database_state(test_dsn) == before
            assert redis_keys(fixtures) == keys_before
        else:
            op.run(project, env, fixtures, given)
            with psycopg.connect(test_dsn, autocommit=True) as conn:
                op.verify(conn, fixtures, env)
                rows = journal_rows(conn)
            assert len(rows) == journal_before + 1
            assert rows[-1][:4] == (operation, "test", "ok", given)
            assert (rows[-1][4] is not None) is (operation != "stamp")
        assert database_state(production) == production_before
    finally:
        if expected is None and (op.replaces_database or op.restamps):
            build_state(second_pg.dsn, test_dsn, name, "ok", fresh=op.replaces_database)


def test_no_pattern_is_the_documented_way_for_same_name_databases(
    twins: tuple[str, str, str], fixtures: Fixtures, tmp_path: Path
) -> None:
    """``guard_pattern = ""`` for test: the stamp and the server tell the two apart."""
    _, production, test_dsn = twins
    write_project(
        tmp_path,
        "app",
        {
            "test": {"tier": "disposable", "database_url": test_dsn, "guard_pattern": ""},
            "production": {"database_url": production},
        },
    )
    project = load(tmp_path)
    production_before = database_state(production)
    with psycopg.connect(test_dsn, autocommit=True) as conn:
        OPERATIONS["reset"].prepare(conn, fixtures, "ok")
    lifecycle_data.reset(project, project.environment("test"), data_only=True)
    assert database_state(test_dsn)["counts"]["public.app_rows"] == 0
    assert database_state(production) == production_before
    # pointed at production's database by mistake, the same project is still refused
    write_project(
        tmp_path,
        "app",
        {
            "test": {"tier": "disposable", "database_url": production, "guard_pattern": ""},
            "production": {"database_url": production},
        },
    )
    mistaken = load(tmp_path)
    with pytest.raises(GuardRefusal) as caught:
        lifecycle_data.reset(mistaken, mistaken.environment("test"), data_only=True)
    assert caught.value.check == "stamp-tier"  # production's own stamp says protected
    assert database_state(production) == production_before
