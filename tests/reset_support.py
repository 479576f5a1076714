"""Helpers for the reset/seed/prefix tests: a project on disk with models, and state checks.

``make_project`` writes a ``dbenv.toml`` whose ``test`` environment points at a fresh
database on the suite's server, plus a uniquely named SQLAlchemy models module (so
module caching never mixes two tests' schemas), and stamps the database so the guard
admits it.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import psycopg

from dbenv.safety.stamp import write_stamp
from lifecycle_support import create_database, load, write_project

MODELS = """
import sqlalchemy as sa

metadata = sa.MetaData()
kind = sa.Enum("person", "bot", name="user_kind")
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", kind, nullable=False, server_default="person"),
    sa.Column("manager_id", sa.ForeignKey("users.id")),
)
providers = sa.Table(
    "providers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("settings", sa.JSON),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)
tokens = sa.Table(
    "provider_tokens", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("provider_id", sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Index("ix_tokens_provider", "provider_id"),
)
"""


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def write_models(root: Path, body: str = MODELS) -> str:
    name = unique("models")
    (root / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    return name


def make_project(
    root: Path,
    pg_server: Any,
    *,
    source: str | None = None,
    body: str = MODELS,
    stamp: bool = True,
    **settings: object,
) -> tuple[Any, str, str]:
    """(project, database name, superuser DSN of it), test env disposable and stamped."""
    module = write_models(root, body)
    database = unique("dbenv_reset_test")
    create_database(pg_server.dsn, database)
    env: dict[str, object] = {
        "tier": "disposable",
        "database_url": pg_server.dsn_for(database),
        "schema_source": source or f"sqlalchemy:{module}:metadata",
        **settings,
    }
    name = unique("proj")
    write_project(root, name, {"test": env})
    dsn = pg_server.dsn_for(database)
    project = load(root)
    if stamp:
        with psycopg.connect(dsn, autocommit=True) as conn:
            write_stamp(conn, name, project.environment("test"))
    return project, database, dsn


def tables_in(dsn: str, schema: str = "public") -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema]
        ).fetchall()
    return [r[0] for r in rows]


def count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def drop_project_databases(admin_dsn: str, project: Any, *names: str) -> None:
    """Drop the test's databases and every template of its project."""
    from dbenv.lifecycle.template import PREFIX, template_name

    stem = template_name(project.name, "")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE left(datname, %s) = %s OR datname = ANY(%s)",
            [len(stem), stem, list(names)],
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
    assert PREFIX in stem
