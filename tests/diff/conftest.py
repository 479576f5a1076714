"""Fixtures for the schema-diff tests: paired databases, test roles, pg_dump comparison."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest


@pytest.fixture(scope="session")
def roles(pg_server: object) -> Iterator[dict[str, str]]:
    """Two roles unique to this run, for grants, owners and policies."""
    suffix = uuid.uuid4().hex[:8]
    names = {"@ROLE1@": f"dbenv_diff_r1_{suffix}", "@ROLE2@": f"dbenv_diff_r2_{suffix}"}
    dsn = pg_server.dsn  # type: ignore[attr-defined]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE ROLE "{name}"'.encode())
    yield names
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP ROLE IF EXISTS "{name}"'.encode())


@pytest.fixture(scope="session")
def admin_conn(pg_server: object) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One superuser connection per worker for creating and dropping the test databases."""
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:  # type: ignore[attr-defined]
        yield conn


@pytest.fixture
def make_db(
    pg_server: object,
    roles: dict[str, str],
    admin_conn: psycopg.Connection[tuple[object, ...]],
) -> Iterator[Callable[[str], str]]:
    """Create a uniquely named database loaded with SQL (role placeholders filled)."""
    created: list[str] = []

    def make(sql: str) -> str:
        name = f"dbenv_diff_{uuid.uuid4().hex[:12]}"
        admin_conn.execute(f'CREATE DATABASE "{name}"'.encode())
        created.append(name)
        url = pg_server.dsn_for(name)  # type: ignore[attr-defined]
        for placeholder, role in roles.items():
            sql = sql.replace(placeholder, role)
        if sql.strip():
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.encode())
        return str(url)

    yield make
    for name in created:
        admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
