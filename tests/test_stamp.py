"""The stamp: table row + database-level marker, per scope, and copy detection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dbenv.config.model import Environment
from dbenv.errors import OperationError
from dbenv.safety.stamp import (
    read_marker,
    read_stamp,
    read_stamp_state,
    scope_of,
    stamp_state,
    write_stamp,
)
from lifecycle_support import create_database, drop_database, unique


def env(name: str = "test", **settings: object) -> Environment:
    settings.setdefault("tier", "disposable")
    return Environment(name=name, project="app", root=Path("."), **settings)  # type: ignore[arg-type]


def test_write_then_read_names_project_environment_and_origin(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        written = write_stamp(conn, "app", env())
        read = read_stamp(conn, env())
        assert read is not None
        assert (read.project, read.environment, read.tier, read.scope) == (
            "app",
            "test",
            "disposable",
            None,
        )
        assert read.created_by and read.host and read.dbenv_version == written.dbenv_version
        assert read_marker(conn, env()) == ("app", "test")
        assert stamp_state(conn, "app", env()) == "ok"


def test_states_absent_other_environment_other_project(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        assert stamp_state(conn, "app", env()) == "absent"
        write_stamp(conn, "app", env("development"))
        assert stamp_state(conn, "app", env()) == "other-environment"
        write_stamp(conn, "billing", env())
        assert stamp_state(conn, "app", env()) == "other-project"


def test_a_missing_or_different_marker_means_a_copy(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        write_stamp(conn, "app", env("production"))
        db = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET dbenv.environment = 'staging'").format(
                sql.Identifier(db)
            )
        )
        assert stamp_state(conn, "app", env("production")) == "copy"
        conn.execute(sql.SQL("ALTER DATABASE {} RESET ALL").format(sql.Identifier(db)))
        assert stamp_state(conn, "app", env("production")) == "copy"
        assert stamp_state(conn, "app", env("test")) == "copy"  # a copy is never 'test' either


def test_a_template_clone_carries_the_table_not_the_marker(scratch_db: str, pg_server: Any) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        write_stamp(conn, "app", env("production"))
    source = scratch_db.rsplit("/", 1)[1]
    clone = unique("stamp_clone")
    with psycopg.connect(pg_server.dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(clone), sql.Identifier(source)
            )
        )
    try:
        with psycopg.connect(pg_server.dsn_for(clone)) as conn:
            assert read_stamp(conn, env("production")) is not None
            assert stamp_state(conn, "app", env("production")) == "copy"
    finally:
        drop_database(pg_server.dsn, clone)


def test_schema_and_prefix_scopes_are_stamped_independently(scratch_db: str) -> None:
    schema_env = env("test", isolation="schema", schema="test")
    prefix_env = env("qa", isolation="prefix", prefix="qa_")
    assert scope_of(schema_env) == "schema:test" and scope_of(prefix_env) == "prefix:qa_"
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        write_stamp(conn, "app", schema_env)
        write_stamp(conn, "app", env("production", tier="protected"))
        assert stamp_state(conn, "app", schema_env) == "ok"
        assert stamp_state(conn, "app", prefix_env) == "absent"
        assert stamp_state(conn, "app", env("production")) == "ok"
        write_stamp(conn, "app", prefix_env)
        assert stamp_state(conn, "app", prefix_env) == "ok"
        assert read_marker(conn, schema_env) == ("app", "test")


def test_a_role_that_does_not_own_the_database_cannot_stamp(
    scratch_db: str, pg_server: Any
) -> None:
    role = unique("stamp_role")
    with psycopg.connect(scratch_db, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(role)))
        write_stamp(admin, "app", env())  # the schema exists, owned by the superuser
        admin.execute(
            sql.SQL("GRANT USAGE ON SCHEMA dbenv TO {0}; GRANT ALL ON dbenv.stamp TO {0}").format(
                sql.Identifier(role)
            )
        )
    db = scratch_db.rsplit("/", 1)[1]
    try:
        with psycopg.connect(pg_server.dsn_for(db, user=role), autocommit=True) as conn:
            with pytest.raises(OperationError) as caught:
                write_stamp(conn, "app", env("development"))
            assert "admin_url" in (caught.value.hint or "")
            stamp = read_stamp(conn, env())
            assert stamp is not None and stamp.environment == "test"  # rolled back
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))
            create_database(pg_server.dsn, db)
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _step_by_step(conn: psycopg.Connection[Any], target: Environment) -> tuple[Any, ...]:
    db = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    return db, stamp_state(conn, "app", target), read_stamp(conn, target)


def test_the_one_query_read_agrees_with_the_step_by_step_reads(scratch_db: str) -> None:
    scoped = env(isolation="schema", schema="s_one")
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        db = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        seen = []
        for step in ("none", "ok", "other-env", "copy", "marker-reset"):
            if step == "ok":
                write_stamp(conn, "app", env())
            elif step == "other-env":
                write_stamp(conn, "app", env("development"))
            elif step == "copy":
                write_stamp(conn, "app", env())
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET dbenv.project = 'billing'").format(
                        sql.Identifier(db)
                    )
                )
            elif step == "marker-reset":
                conn.execute(sql.SQL("ALTER DATABASE {} RESET ALL").format(sql.Identifier(db)))
            for target in (env(), scoped):
                # a new session: database-level settings are read at its start
                with psycopg.connect(scratch_db, autocommit=True) as fresh:
                    got = read_stamp_state(fresh, "app", target)
                    assert got == _step_by_step(fresh, target)
                with psycopg.connect(scratch_db) as in_transaction:
                    assert read_stamp_state(in_transaction, "app", target) == got
                    assert in_transaction.info.transaction_status != 3  # not left failed
                seen.append(got[1])
        # (database scope, schema scope) per step
        assert seen == [
            *("absent", "absent"),
            *("ok", "absent"),
            *("other-environment", "absent"),
            *("copy", "absent"),
            *("copy", "absent"),
        ]
