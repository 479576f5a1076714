"""The SQLAlchemy integration on a real server: prefixed metadata, engines, DDL text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from dbenv.config.model import Environment, SecretURL
from dbenv.errors import ConfigError
from dbenv.integrations.sqlalchemy import (
    create_async_engine,
    create_engine,
    ddl_statements,
    prefixed_metadata,
    sqlalchemy_url,
)


def agents_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    status = sa.Enum("open", "closed", name="session_status")
    sa.Table(
        "Agents",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, index=True),
        sa.Column("parent_id", sa.ForeignKey("Agents.id")),
    )
    sessions = sa.Table(
        "Sessions",
        metadata,
        sa.Column("id", sa.Integer, sa.Sequence("session_ids"), primary_key=True),
        sa.Column("agent_id", sa.ForeignKey("Agents.id", name="fk_sessions_agent")),
        sa.Column("status", status, nullable=False),
        sa.UniqueConstraint("agent_id", "status", name="uq_agent_status"),
    )
    sa.Index("ix_sessions_status", sessions.c.status)
    sa.Table(
        "Conversations",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("session_id", sa.ForeignKey("Sessions.id"), nullable=False),
        sa.Column("status", status),
    )
    return metadata


def test_prefixed_metadata_renames_every_named_object_and_leaves_the_original() -> None:
    original = agents_metadata()
    before = ddl_statements(original)
    copy = prefixed_metadata(original, "test_")
    assert sorted(copy.tables) == ["test_Agents", "test_Conversations", "test_Sessions"]
    sessions = copy.tables["test_Sessions"]
    assert {fk.column.table.name for fk in sessions.foreign_keys} == {"test_Agents"}
    assert {i.name for i in sessions.indexes} == {"test_ix_sessions_status"}
    assert {c.name for c in sessions.constraints if c.name} >= {
        "test_fk_sessions_agent",
        "test_uq_agent_status",
    }
    text = "\n".join(ddl_statements(copy))
    assert "CREATE TYPE test_session_status" in text and "CREATE SEQUENCE test_session_ids" in text
    assert 'REFERENCES "Agents"' not in text
    assert ddl_statements(original) == before


def test_both_copies_live_side_by_side_on_a_real_server(scratch_db: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(scratch_db))
    try:
        agents_metadata().create_all(engine)
        prefixed_metadata(agents_metadata(), "test_").create_all(engine)
    finally:
        engine.dispose()
    with psycopg.connect(scratch_db) as conn:
        fks = conn.execute(
            """SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
               WHERE contype = 'f' ORDER BY 1, 2"""
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        enums = conn.execute(
            "SELECT typname FROM pg_type WHERE typtype = 'e' ORDER BY 1"
        ).fetchall()
    assert ('"test_Sessions"', '"test_Agents"') in fks and ('"Sessions"', '"Agents"') in fks
    assert all(child.startswith('"test_') == parent.startswith('"test_') for child, parent in fks)
    names = [r[0] for r in indexes]
    assert "ix_sessions_status" in names and "test_ix_sessions_status" in names
    assert [r[0] for r in enums] == ["session_status", "test_session_status"]


def env_for(url: str, **kwargs: object) -> Environment:
    return Environment(
        name="test",
        project="agents",
        root=Path("."),
        database_url=SecretURL(url),
        **kwargs,  # type: ignore[arg-type]
    )


def test_create_engine_sets_application_name_and_the_schema_search_path(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA test_s")
    engine = create_engine(
        env_for(scratch_db, isolation="schema", schema="test_s"), component="backend"
    )
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW application_name")).scalar() == (
                "dbenv:agents:test:backend"
            )
            assert conn.execute(sa.text("SELECT current_schema()")).scalar() == "test_s"
    finally:
        engine.dispose()


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+asyncpg"])
def test_create_async_engine_with_psycopg_or_asyncpg(scratch_db: str, scheme: str) -> None:
    url = scratch_db.replace("postgresql", scheme, 1)

    async def probe() -> tuple[str, str]:
        engine = create_async_engine(env_for(url, isolation="schema", schema="s1"))
        try:
            async with engine.connect() as conn:
                name = (await conn.execute(sa.text("SHOW application_name"))).scalar()
                path = (await conn.execute(sa.text("SHOW search_path"))).scalar()
                return str(name), str(path)
        finally:
            await engine.dispose()

    assert asyncio.run(probe()) == ("dbenv:agents:test", "s1")


def test_a_url_that_is_not_postgresql_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a PostgreSQL URL"):
        sqlalchemy_url("mysql://x@y/z")
    with pytest.raises(ConfigError, match="no database URL"):
        create_engine(Environment(name="test", project="p", root=Path(".")))
