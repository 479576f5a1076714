"""Provisioning: role, database, grants, extensions, settings, stamp; idempotent; honest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.errors import GuardRefusal
from dbenv.lifecycle.provision import provision, scram_verifier
from dbenv.safety import guard
from dbenv.safety.stamp import read_stamp, stamp_state
from lifecycle_support import (
    database_state,
    drop_database,
    journal_rows,
    load,
    unique,
    write_project,
)


class Cleanup:
    def __init__(self, admin: str) -> None:
        self.admin = admin
        self.databases: list[str] = []
        self.roles: list[str] = []

    def close(self) -> None:
        for name in self.databases:
            drop_database(self.admin, name)
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for role in self.roles:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def cleanup(pg_server: Any) -> Iterator[Cleanup]:
    done = Cleanup(pg_server.dsn)
    yield done
    done.close()


def scalar(dsn: str, query: str, params: object = None) -> object:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


def test_provision_creates_everything_then_changes_nothing(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    role, db = unique("prov_role"), unique("prov_test")
    cleanup.databases.append(db)
    cleanup.roles.append(role)
    url = pg_server.dsn_for(db, user=role, password="Pr0v-Secret")
    write_project(
        tmp_path,
        "app",
        {
            "test": {
                "tier": "disposable",
                "database_url": url,
                "admin_url": pg_server.dsn,
                "extensions": ["uuid-ossp", "pgcrypto"],
            }
        },
    )
    # a shell that selects another environment may still provision (dbenv up does)
    project = load(tmp_path, {"APP_ENV": "development"})
    env = project.environment("test")
    first = provision(project, env)
    assert first.complete
    assert f"created role {role}" in first.changes
    assert f"created database {db} owned by {role}" in first.changes
    assert {"created extension uuid-ossp", "created extension pgcrypto"} <= set(first.changes)
    assert f"set synchronous_commit = off on {db}" in first.changes
    assert "Pr0v-Secret" not in repr(first)
    second = provision(project, env)
    assert second.changes == () and second.complete
    assert f"password of role {role} matches" in second.unchanged

    admin_db = pg_server.dsn_for(db)
    with psycopg.connect(admin_db) as conn:
        assert stamp_state(conn, "app", env) == "ok"
    assert (
        scalar(pg_server.dsn, "SELECT has_database_privilege('public', %s, 'CONNECT')", (db,))
        is False
    )
    assert (
        scalar(
            pg_server.dsn,
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = %s",
            (role,),
        )
        is False
    )
    stored = scalar(pg_server.dsn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,))
    assert str(stored).startswith("SCRAM-SHA-256$")
    with psycopg.connect(url, autocommit=True) as conn:  # the role: CRUD and DDL at home
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        conn.execute("CREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid())")
        conn.execute("INSERT INTO t DEFAULT VALUES")
        conn.execute("DELETE FROM t")
        conn.execute("DROP TABLE t")


def test_scram_verifier_is_what_postgres_stores() -> None:
    salt = b"0123456789abcdef"
    assert scram_verifier("pw", salt=salt) == scram_verifier("pw", salt=salt)
    assert scram_verifier("pw", salt=salt) != scram_verifier("other", salt=salt)
    assert scram_verifier("pw").startswith("SCRAM-SHA-256$4096:")


def test_an_admin_without_createrole_does_what_it_can_and_says_the_rest(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    admin_role, role, db = unique("prov_adm"), unique("prov_app"), unique("prov_test")
    cleanup.roles.extend([role, admin_role])
    cleanup.databases.append(db)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(admin_role)))
    admin_url = pg_server.dsn_for("postgres", user=admin_role)
    url = pg_server.dsn_for(db, user=role, password="N0tShown-99")
    write_project(
        tmp_path,
        "app",
        {"test": {"tier": "disposable", "database_url": url, "admin_url": admin_url}},
    )
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "provision", "test"])
    assert result.exit_code == 1, result.output
    assert f"CREATE ROLE \"{role}\" LOGIN PASSWORD '****'" in result.output
    assert "operator action needed" in result.output
    assert "N0tShown-99" not in result.output
    assert scalar(pg_server.dsn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) is None


def test_provision_of_a_protected_environment_never_changes_what_exists(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    role, db = unique("prov_prod"), unique("prov_prod")
    cleanup.roles.append(role)
    cleanup.databases.append(db)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'old-one'").format(sql.Identifier(role))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(role))
        )
    with psycopg.connect(pg_server.dsn_for(db), autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int)")
    url = pg_server.dsn_for(db, user=role, password="new-one")
    write_project(
        tmp_path, "app", {"production": {"database_url": url, "admin_url": pg_server.dsn}}
    )
    project = load(tmp_path)
    before = scalar(pg_server.dsn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,))
    result = provision(project, project.environment("production"))
    assert any("ALTER ROLE" in a and "'****'" in a for a in result.actions_required)
    assert (
        scalar(pg_server.dsn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,))
        == before
    )
    assert (
        scalar(pg_server.dsn, "SELECT has_database_privilege('public', %s, 'CONNECT')", (db,))
        is True
    )
    assert not any("synchronous_commit" in c for c in result.changes)
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        stamp = read_stamp(conn, project.environment("production"))
    assert stamp is not None and stamp.tier == "protected"  # labelled, so its copies are known


def test_schema_and_prefix_modes_share_one_database(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    db, role, late = unique("prov_shared_test"), unique("prov_role"), unique("prov_late")
    cleanup.databases.append(db)
    cleanup.roles.extend([role, late])
    write_project(
        tmp_path,
        "app",
        {
            "test": {
                "tier": "disposable",
                "isolation": "schema",
                "schema": "test_app",
                "database_url": pg_server.dsn_for(db, user=role, password="x1y2z3"),
                "admin_url": pg_server.dsn,
            },
            "qa": {
                "tier": "disposable",
                "isolation": "prefix",
                "prefix": "test_",
                "database_url": pg_server.dsn_for(db),
                "guard_pattern": "test",
            },
            "e2e": {  # a new role on a database that already exists
                "tier": "disposable",
                "isolation": "schema",
                "schema": "test_e2e",
                "database_url": pg_server.dsn_for(db, user=late, password="l4te-pw"),
                "admin_url": pg_server.dsn,
            },
        },
    )
    project = load(tmp_path)
    first = provision(project, project.environment("test"))
    assert first.complete and f"created schema test_app owned by {role}" in first.changes
    assert provision(project, project.environment("qa")).complete
    late_result = provision(project, project.environment("e2e"))
    assert late_result.complete and f"created role {late}" in late_result.changes
    owner = scalar(
        pg_server.dsn_for(db),
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'test_app'",
    )
    assert owner == role
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        scopes = [r[0] for r in conn.execute("SELECT scope FROM dbenv.stamp ORDER BY 1")]
    assert scopes == ["prefix:test_", "schema:test_app", "schema:test_e2e"]
    # the schema-mode role works inside its schema through the guard, and journals there
    with guard.destructive(project, project.environment("test"), "seed") as guarded:
        guarded.conn.execute("CREATE TABLE t (id int)")
    where = scalar(
        pg_server.dsn_for(db),
        "SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = 't'",
    )
    assert where == "test_app"
    assert journal_rows(pg_server.dsn_for(db))[-1][:3] == ("seed", "test", "ok")


def test_provision_refused_on_a_shared_target_creates_nothing(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    db, role = unique("prov_test"), unique("prov_role")
    cleanup.databases.append(db)
    cleanup.roles.append(role)
    write_project(
        tmp_path,
        "app",
        {
            "test": {
                "tier": "disposable",
                "admin_url": pg_server.dsn,
                "database_url": pg_server.dsn_for(db, user=role, password="pw1234"),
            },
            "production": {"database_url": pg_server.dsn_for(db)},
        },
    )
    project = load(tmp_path)
    before = database_state(pg_server.dsn)
    with pytest.raises(GuardRefusal) as caught:
        provision(project, project.environment("test"))
    assert caught.value.check == "shared"
    cli = CliRunner().invoke(app, ["--project", str(tmp_path), "provision", "test"])
    assert cli.exit_code == 3 and "check 'shared' failed" in cli.output
    assert "pw1234" not in cli.output
    assert scalar(pg_server.dsn, "SELECT 1 FROM pg_database WHERE datname = %s", (db,)) is None
    assert scalar(pg_server.dsn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)) is None
    assert database_state(pg_server.dsn) == before


def test_cli_provision_then_stamp_and_bad_input(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    db, role = unique("prov_cli_test"), unique("prov_cli")
    cleanup.databases.append(db)
    cleanup.roles.append(role)
    url = pg_server.dsn_for(db, user=role, password="Cli-Secret-7")
    write_project(
        tmp_path,
        "app",
        {"test": {"tier": "disposable", "database_url": url, "admin_url": pg_server.dsn}},
    )
    run = CliRunner().invoke
    base = ["--project", str(tmp_path)]
    early = run(app, [*base, "stamp", "test"])
    assert early.exit_code == 3 and "dbenv provision test" in early.output
    first = run(app, [*base, "provision", "test"])
    assert first.exit_code == 0, first.output
    assert f"created database {db}" in first.output and "Cli-Secret-7" not in first.output
    again = run(app, [*base, "provision", "test", "--json"])
    assert again.exit_code == 0 and json.loads(again.output)["changes"] == []
    restamp = run(app, [*base, "stamp", "test"])
    assert restamp.exit_code == 0 and "(was: ok)" in restamp.output
    unknown = run(app, [*base, "provision", "tets"])
    assert unknown.exit_code == 2 and "Did you mean 'test'?" in unknown.output


def test_createdb_lets_a_disposable_role_make_its_own_databases(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    # Test runners that create databases themselves (pytest-django's test_<name>, an
    # app fixture making test_db_gw0 per xdist worker) need CREATEDB on the role.
    role, db, made = unique("prov_cdb"), unique("prov_cdb_test"), unique("prov_cdb_own")
    cleanup.roles.append(role)
    cleanup.databases.extend([db, made])
    url = pg_server.dsn_for(db, user=role, password="Cdb-Secret")
    environments = {"test": {"tier": "disposable", "database_url": url, "admin_url": pg_server.dsn}}
    write_project(tmp_path, "app", environments)
    provision(load(tmp_path), load(tmp_path).environment("test"))
    query = "SELECT rolcreatedb FROM pg_roles WHERE rolname = %s"
    assert scalar(pg_server.dsn, query, (role,)) is False  # not without asking
    environments["test"]["createdb"] = True
    write_project(tmp_path, "app", environments)
    project = load(tmp_path)
    result = provision(project, project.environment("test"))
    assert f"role {role} may create databases" in result.changes
    assert scalar(pg_server.dsn, query, (role,)) is True
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(made)))
    again = provision(project, project.environment("test"))
    assert not again.changes


def test_createdb_never_changes_a_protected_role_and_must_be_a_boolean(
    pg_server: Any, cleanup: Cleanup, tmp_path: Path
) -> None:
    role, db = unique("prov_cdbp"), unique("prov_cdbp")
    cleanup.roles.append(role)
    cleanup.databases.append(db)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    url = pg_server.dsn_for(db, user=role)
    spec = {"database_url": url, "admin_url": pg_server.dsn, "createdb": True}
    write_project(tmp_path, "app", {"production": spec})
    project = load(tmp_path)
    result = provision(project, project.environment("production"))
    assert any(a.startswith(f'ALTER ROLE "{role}" CREATEDB;') for a in result.actions_required)
    query = "SELECT rolcreatedb FROM pg_roles WHERE rolname = %s"
    assert scalar(pg_server.dsn, query, (role,)) is False
    (tmp_path / "dbenv.toml").write_text(
        (tmp_path / "dbenv.toml").read_text().replace("createdb = true", 'createdb = "yes"')
    )
    out = CliRunner().invoke(app, ["--project", str(tmp_path), "envs"])
    assert out.exit_code == 2
    assert "createdb" in out.output and "dbenv.toml:" in out.output
    assert "Traceback" not in out.output
