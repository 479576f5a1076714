"""Provisioning a disposable environment never changes what a protected one also uses.

Seed 000's layout (examples/agents): production (protected, the whole database)
and test (prefix ``test_``) log in as one role on one database. Provisioning test
must leave that role's password, privileges and per-database settings, and the
database's settings and ACL, exactly as production's provisioning left them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.config import Project
from dbenv.lifecycle.provision import provision
from lifecycle_support import drop_database, load, unique, write_project


@pytest.fixture
def agents(pg_server: Any) -> Iterator[tuple[str, str]]:
    """A (role, database) pair, dropped afterwards."""
    role, db = unique("agents"), unique("agents")
    yield role, db
    drop_database(pg_server.dsn, db)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def seed_000(
    root: Path, pg_server: Any, role: str, db: str, *, test_password: str = "Ag3nts-pw"
) -> Project:
    write_project(
        root,
        "agents",
        {
            "production": {
                "database_url": pg_server.dsn_for(db, user=role, password="Ag3nts-pw"),
                "admin_url": pg_server.dsn,
                "tenants": ["test"],  # seed 000: test lives in production's database
            },
            "test": {
                "tier": "disposable",
                "isolation": "prefix",
                "prefix": "test_",
                "database_url": pg_server.dsn_for(db, user=role, password=test_password),
                "admin_url": pg_server.dsn,
            },
        },
    )
    return load(root)


def role_and_database(admin: str, role: str, db: str) -> dict[str, Any]:
    """Everything provisioning could change about the role and the database.

    Test's own stamp marker (``dbenv.*_prefix_test_*``, a custom setting only dbenv
    reads) is the one database setting test's provisioning adds; it is left out.
    """
    with psycopg.connect(admin, autocommit=True) as conn:
        state = {
            "role": conn.execute(
                "SELECT rolpassword, rolsuper, rolcreatedb, rolcreaterole, rolconnlimit,"
                " rolvaliduntil FROM pg_authid WHERE rolname = %s",
                (role,),
            ).fetchall(),
            "settings": conn.execute(
                "SELECT setrole, setconfig FROM pg_db_role_setting s JOIN pg_database d"
                " ON d.oid = s.setdatabase WHERE d.datname = %s ORDER BY 1",
                (db,),
            ).fetchall(),
            "role settings": conn.execute(
                "SELECT setdatabase, setconfig FROM pg_db_role_setting"
                " WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = %s) ORDER BY 1",
                (role,),
            ).fetchall(),
            "database": conn.execute(
                "SELECT datacl::text, pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                (db,),
            ).fetchall(),
        }
    state["settings"] = [
        (who, [c for c in config if "_prefix_test_" not in c]) for who, config in state["settings"]
    ]
    return state


def public_schema_acl(dsn: str) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'"
        ).fetchone()


def test_provisioning_test_leaves_productions_shared_role_and_database_alone(
    pg_server: Any, agents: tuple[str, str], tmp_path: Path
) -> None:
    role, db = agents
    project = seed_000(tmp_path, pg_server, role, db)
    assert provision(project, project.environment("production")).complete
    before = role_and_database(pg_server.dsn, role, db)
    acl = public_schema_acl(pg_server.dsn_for(db))

    result = provision(project, project.environment("test"))
    assert result.complete, result.actions_required
    assert role_and_database(pg_server.dsn, role, db) == before
    assert public_schema_acl(pg_server.dsn_for(db)) == acl
    assert not any("synchronous_commit" in c for c in result.changes)
    said = "\n".join(result.skipped)
    assert f'synchronous_commit = off not set on ROLE "{role}" IN DATABASE "{db}"' in said
    assert "'production' uses it too" in said and "PGOPTIONS" in said
    assert f"grants for {role} on {db} left as they are" in said
    assert "Ag3nts-pw" not in repr(result)
    with psycopg.connect(pg_server.dsn_for(db, user=role, password="Ag3nts-pw")) as conn:
        source = conn.execute(
            "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'"
        ).fetchone()
    assert source is not None and source[0] not in ("user", "database", "database user")
    again = provision(project, project.environment("test"))  # idempotent, still says why
    assert again.changes == () and again.skipped == result.skipped


def test_a_different_password_for_the_shared_role_is_never_set(
    pg_server: Any, agents: tuple[str, str], tmp_path: Path
) -> None:
    role, db = agents
    project = seed_000(tmp_path, pg_server, role, db, test_password="0ther-pw")
    assert provision(project, project.environment("production")).complete
    before = role_and_database(pg_server.dsn, role, db)
    runner = CliRunner()
    result = runner.invoke(app, ["--project", str(tmp_path), "provision", "test"])
    assert result.exit_code == 1, result.output
    assert f"role {role} is also 'production''s role" in result.output
    assert "give test a role of its own" in result.output
    assert "0ther-pw" not in result.output and "Ag3nts-pw" not in result.output
    assert role_and_database(pg_server.dsn, role, db) == before


def test_a_setting_an_earlier_provision_left_on_the_shared_role_is_reported(
    pg_server: Any, agents: tuple[str, str], tmp_path: Path
) -> None:
    role, db = agents
    project = seed_000(tmp_path, pg_server, role, db)
    provision(project, project.environment("production"))
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:  # what dbenv used to do
        conn.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET synchronous_commit = off").format(
                sql.Identifier(role), sql.Identifier(db)
            )
        )
    before = role_and_database(pg_server.dsn, role, db)
    result = provision(project, project.environment("test"))
    assert any(
        a.startswith(f'ALTER ROLE "{role}" IN DATABASE "{db}" RESET synchronous_commit;')
        for a in result.actions_required
    )
    assert role_and_database(pg_server.dsn, role, db) == before  # reported, not undone


def test_a_disposable_role_of_its_own_still_gets_its_settings(
    pg_server: Any, agents: tuple[str, str], tmp_path: Path
) -> None:
    role, db = agents
    own = unique("agents_test")
    seed_000(tmp_path, pg_server, role, db)
    write_project(
        tmp_path,
        "agents",
        {
            "production": {
                "database_url": pg_server.dsn_for(db, user=role, password="Ag3nts-pw"),
                "admin_url": pg_server.dsn,
                "tenants": ["test"],  # seed 000: test lives in production's database
            },
            "test": {
                "tier": "disposable",
                "isolation": "prefix",
                "prefix": "test_",
                "database_url": pg_server.dsn_for(db, user=own, password="0wn-pw"),
                "admin_url": pg_server.dsn,
            },
        },
    )
    project = load(tmp_path)
    try:
        provision(project, project.environment("production"))
        before = role_and_database(pg_server.dsn, role, db)
        result = provision(project, project.environment("test"))
        assert result.complete and result.skipped == ()
        assert f"set synchronous_commit = off on {db}" in result.changes
        assert (
            role_and_database(pg_server.dsn, role, db)["role settings"] == before["role settings"]
        )
    finally:
        drop_database(pg_server.dsn, db)
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(own)))
