"""Servers told apart by identity, not URL spelling (PostgreSQL).

Production's database reached under other spellings — ``localhost`` vs
``127.0.0.1`` vs ``127.1`` vs a PgBouncer database alias — is still production's:
``reset`` and ``provision`` of an environment whose URL is such an alias are
refused (check ``shared``). Two real clusters (a second one started here, from
the same initdb cache, so their ``system_identifier`` may well be equal) are never
confused, even with a same-named database. A protected environment that cannot be
reached is a note, not a pass and not a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.commands.stack import initdb_cache
from dbenv.errors import GuardRefusal
from dbenv.lifecycle.provision import provision
from dbenv.lifecycle.reset import reset
from dbenv.safety import identity
from dbenv.safety.stamp import read_stamp
from dbenv.stack.host import free_port
from dbenv.stack.local import LocalStack
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    load,
    stamp_as,
    unique,
    write_project,
)
from pgbouncer_support import PgBouncer
from servers import PgServer


@pytest.fixture(scope="module")
def second_pg() -> Iterator[PgServer]:
    """Another real cluster, from the same initdb cache as the suite's."""
    root = Path(tempfile.mkdtemp(prefix="dbenv-test-pg2-"))
    root.chmod(0o755)
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


@pytest.fixture
def production(pg_server: Any) -> Iterator[str]:
    """Production's database: stamped protected, with rows."""
    name = unique("id_prod")
    create_database(pg_server.dsn, name)
    dsn = pg_server.dsn_for(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        conn.execute("INSERT INTO orders SELECT generate_series(1, 7)")
    stamp_as(dsn, "app", "production", tier="protected")
    yield name
    drop_database(pg_server.dsn, name)


def spelled(pg_server: Any, pgbouncer: PgBouncer, database: str, how: str) -> str:
    """Another URL of ``database`` on the suite's server."""
    if how == "pgbouncer-alias":
        return pgbouncer.alias(unique("shop"), database)
    if how == "socket":
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            row = conn.execute("SHOW unix_socket_directories").fetchone()
        socket_dir = str(row[0] if row else "").split(",")[0].strip()
        return f"postgresql://{pg_server.user}@/{database}?host={socket_dir}&port={pg_server.port}"
    host = {"localhost": "localhost", "127.1": "127.1"}[how]
    return f"postgresql://{pg_server.user}@{host}:{pg_server.port}/{database}"


def project_with(root: Path, production: str, test: str, **more: dict[str, object]) -> Any:
    envs: dict[str, dict[str, object]] = {
        "qa": {"tier": "disposable", "database_url": test},  # no name pattern by default
        "production": {"database_url": production},
        **more,
    }
    write_project(root, "app", envs)
    return load(root)


ALIASES = ("localhost", "127.1", "socket", "pgbouncer-alias")
LOOPBACK_BY_SPELLING = ("localhost", "socket")  # one host by URL already (guard_checks.url_target)


@pytest.mark.parametrize("how", ALIASES)
def test_reset_through_an_alias_of_production_is_refused(
    pg_server: Any, pgbouncer: PgBouncer, production: str, tmp_path: Path, how: str
) -> None:
    """Production is declared by its pooled alias or direct; test by another spelling."""
    direct = pg_server.dsn_for(production)
    alias = spelled(pg_server, pgbouncer, production, how)
    # production's own URL names it one way, test's another: never equal as text
    prod_url, test_url = (alias, direct) if how == "pgbouncer-alias" else (direct, alias)
    project = project_with(tmp_path, prod_url, test_url)
    stamp_as(direct, "app", "qa")  # the careless re-stamp the stamp check cannot see
    before = database_state(direct)
    with pytest.raises(GuardRefusal) as caught:
        reset(project, project.environment("qa"), data_only=True)
    assert caught.value.check == "shared" and caught.value.exit_code == 3
    assert "'production'" in caught.value.message
    # localhost, a socket and 127.0.0.1 were one host by spelling; the others only by identity
    assert ("by identity" in caught.value.message) is (how not in LOOPBACK_BY_SPELLING)
    assert database_state(direct) == before


@pytest.mark.parametrize("how", ALIASES)
def test_provision_will_not_stamp_production_through_an_alias(
    pg_server: Any, pgbouncer: PgBouncer, tmp_path: Path, how: str
) -> None:
    """Issue 14 §3: an empty, unstamped production database is never stamped as qa."""
    name = unique("id_empty_prod")
    create_database(pg_server.dsn, name)
    try:
        direct = pg_server.dsn_for(name)
        alias = spelled(pg_server, pgbouncer, name, how)
        prod_url, test_url = (alias, direct) if how == "pgbouncer-alias" else (direct, alias)
        project = project_with(tmp_path, prod_url, test_url)
        with pytest.raises(GuardRefusal) as caught:
            provision(project, project.environment("qa"))
        assert caught.value.check == "shared"
        with psycopg.connect(direct, autocommit=True) as conn:
            assert read_stamp(conn, project.environment("qa")) is None
    finally:
        drop_database(pg_server.dsn, name)


def test_two_clusters_with_a_same_named_database_are_not_confused(
    pg_server: Any, second_pg: PgServer, tmp_path: Path
) -> None:
    name = unique("id_same")
    for server in (pg_server, second_pg):
        create_database(server.dsn, name)
    try:
        with (
            psycopg.connect(pg_server.dsn_for(name), autocommit=True) as one,
            psycopg.connect(second_pg.dsn_for(name), autocommit=True) as two,
        ):
            first, second = identity.read_identity(one)[0], identity.read_identity(two)[0]
        assert first.database == second.database
        assert not first.same_database(second) and not first.same_server(second)
        stamp_as(pg_server.dsn_for(name), "app", "production", tier="protected")
        project = project_with(tmp_path, pg_server.dsn_for(name), second_pg.dsn_for(name))
        provision(project, project.environment("qa"))  # stamps the second cluster's
        with psycopg.connect(second_pg.dsn_for(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id int)")
            conn.execute("INSERT INTO items VALUES (1), (2)")
        result = reset(project, project.environment("qa"), data_only=True)
        assert result.rows_deleted == {"items": 2}
    finally:
        for server in (pg_server, second_pg):
            drop_database(server.dsn, name)


def test_an_unreachable_protected_environment_is_a_note(
    pg_server: Any, production: str, tmp_path: Path
) -> None:
    name = unique("id_test")
    create_database(pg_server.dsn, name)
    try:
        dsn = pg_server.dsn_for(name)
        stamp_as(dsn, "app", "qa")
        nowhere = f"postgresql://app@127.0.0.1:{free_port()}/{production}"
        project = project_with(
            tmp_path, pg_server.dsn_for(production), dsn, staging={"database_url": nowhere}
        )
        said: list[str] = []
        reset(project, project.environment("qa"), data_only=True, progress=said.append)
        notes = [line for line in said if line.startswith("note: ")]
        assert len(notes) == 1 and "'staging' was not compared by identity" in notes[0]
        assert "production" not in notes[0]  # production was reached and compared
    finally:
        drop_database(pg_server.dsn, name)


def test_identities_are_read_once_per_process(
    pg_server: Any, production: str, tmp_path: Path
) -> None:
    name = unique("id_test")
    create_database(pg_server.dsn, name)
    try:
        dsn = pg_server.dsn_for(name)
        stamp_as(dsn, "app", "qa")
        project = project_with(tmp_path, pg_server.dsn_for(production), dsn)
        identity.forget()
        for _ in range(3):
            reset(project, project.environment("qa"), data_only=True)
        assert len(identity._cache) == 1  # production's, read by the first reset only
    finally:
        drop_database(pg_server.dsn, name)


def test_a_protected_environment_that_does_not_resolve_here_is_a_note(
    pg_server: Any, tmp_path: Path
) -> None:
    """Production's URL from an unset secret (a CI machine): not compared, said so."""
    name = unique("id_test")
    create_database(pg_server.dsn, name)
    try:
        dsn = pg_server.dsn_for(name)
        stamp_as(dsn, "app", "qa")
        project = project_with(tmp_path, "${PROD_DATABASE_URL}", dsn)
        said: list[str] = []
        reset(project, project.environment("qa"), data_only=True, progress=said.append)
        assert [line for line in said if line.startswith("note: ")] == [
            "note: protected environment 'production' was not compared by identity:"
            " its settings do not resolve here"
        ]
    finally:
        drop_database(pg_server.dsn, name)


def test_a_role_that_may_not_read_the_system_identifier_still_tells_servers_apart(
    pg_server: Any, production: str, tmp_path: Path
) -> None:
    """Managed servers may revoke pg_control_system(): the start time still identifies."""
    from psycopg import sql

    from dbenv.safety import guard

    role = unique("id_role")
    direct = pg_server.dsn_for(production)
    with psycopg.connect(pg_server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    with psycopg.connect(direct, autocommit=True) as conn:  # function ACLs are per database
        conn.execute("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA dbenv TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON dbenv.stamp TO {}").format(sql.Identifier(role)))
    try:
        alias = f"postgresql://{role}@127.1:{pg_server.port}/{production}"
        with psycopg.connect(alias, autocommit=True) as conn:
            assert identity.read_identity(conn)[0].system is None
        project = project_with(tmp_path, direct, alias)
        results = guard.evaluate(project, project.environment("qa"), "reset")
        shared = next(r for r in results if r.check == "shared")
        assert not shared.passed and "by identity" in shared.found
    finally:
        with psycopg.connect(direct, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(pg_server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_cmd_secret_of_a_protected_environment_is_not_run_to_compare(
    pg_server: Any, production: str, tmp_path: Path
) -> None:
    """Comparing never runs production's ``cmd:`` reference (it may prompt, e.g. op read)."""
    name = unique("id_test")
    create_database(pg_server.dsn, name)
    ran = tmp_path / "ran"
    try:
        dsn = pg_server.dsn_for(name)
        stamp_as(dsn, "app", "qa")
        envs: dict[str, dict[str, object]] = {
            "qa": {"tier": "disposable", "database_url": dsn},
            "production": {
                "database_url": pg_server.dsn_for(production),
                "password": f"cmd:touch {ran} && echo pw",
            },
        }
        write_project(tmp_path, "app", envs)
        project = load(tmp_path)
        said: list[str] = []
        reset(project, project.environment("qa"), data_only=True, progress=said.append)
        assert not ran.exists()
        notes = [line for line in said if line.startswith("note: ")]
        assert len(notes) == 1 and "cmd: secret reference" in notes[0]
    finally:
        drop_database(pg_server.dsn, name)


def test_a_protected_pooler_whose_server_is_down_does_not_hold_the_guard(
    pg_server: Any, pgbouncer: PgBouncer, tmp_path: Path
) -> None:
    """PgBouncer accepts the login and holds the query while its server is down."""
    import time

    name = unique("id_test")
    create_database(pg_server.dsn, name)
    try:
        dsn = pg_server.dsn_for(name)
        stamp_as(dsn, "app", "qa")
        dead = pgbouncer.alias(unique("gone"), "prod", dead_port=free_port())
        project = project_with(tmp_path, dead, dsn)
        said: list[str] = []
        started = time.monotonic()
        reset(project, project.environment("qa"), data_only=True, progress=said.append)
        assert time.monotonic() - started < identity.ANSWER_TIMEOUT + 5
        notes = [line for line in said if line.startswith("note: ")]
        assert len(notes) == 1 and "'production' was not compared" in notes[0]
    finally:
        drop_database(pg_server.dsn, name)
