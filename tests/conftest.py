"""Shared fixtures: the real PostgreSQL and Redis servers the suite runs against.

CONTRACT (other test modules rely on exactly this):
- ``pg_server`` (session): ``.dsn`` superuser DSN to the ``postgres`` database,
  ``.host``, ``.port``, ``.dsn_for(dbname, user=None, password=None)``.
- ``redis_server`` (session): ``.url`` (no db index), ``.host``, ``.port``.
- ``scratch_db`` (function): a fresh, uniquely named empty database; yields its
  superuser DSN and drops it afterwards.

TEMPORARY implementation: uses DBENV_TEST_PG_DSN / DBENV_TEST_REDIS_URL. The
local-stack work replaces it with servers the suite starts itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
import pytest


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str = "postgres"
    password: str | None = None

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str, user: str | None = None, password: str | None = None) -> str:
        user = user or self.user
        password = password if password is not None else (self.password if user == self.user else None)
        auth = f"{user}:{password}@" if password else f"{user}@"
        return f"postgresql://{auth}{self.host}:{self.port}/{dbname}"


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    dsn = os.environ.get("DBENV_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(dsn)
    return PgServer(parts.hostname or "127.0.0.1", parts.port or 5432, parts.username or "postgres", parts.password)


@pytest.fixture(scope="session")
def redis_server() -> RedisServer:
    url = os.environ.get("DBENV_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    parts = urlsplit(url)
    return RedisServer(parts.hostname or "127.0.0.1", parts.port or 6379)


@pytest.fixture
def scratch_db(pg_server: PgServer) -> Iterator[str]:
    name = f"dbenv_scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server.dsn_for(name)
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
