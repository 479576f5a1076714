"""Helpers for the pytest plugin's tests: a pytester project on the suite's servers.

``make_project`` writes a ``dbenv.toml`` whose environments point at the suite's
PostgreSQL (and Redis) with uniquely named databases, plus SQLAlchemy models;
``drop_project_databases`` removes every database the run made for it.
"""

from __future__ import annotations

import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

# Imported once here, before any in-process pytester run: those runs restore
# sys.modules afterwards, and SQLAlchemy's compiled extensions do not survive being
# imported a second time in one process.
import sqlalchemy.dialects.postgresql
import sqlalchemy.ext.asyncio
import sqlalchemy.orm  # noqa: F401

MODELS = """
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(100))
"""


@dataclass(frozen=True)
class PluginProject:
    root: Path
    tag: str  # unique: in the project name and every database name
    admin_dsn: str
    test_database: str

    def databases(self) -> list[str]:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE strpos(datname, %s) > 0 ORDER BY 1",
                [self.tag],
            ).fetchall()
        return [r[0] for r in rows]

    def query(self, database: str, sql: str) -> list[tuple[object, ...]]:
        dsn = self.admin_dsn.rsplit("/", 1)[0] + "/" + database
        with psycopg.connect(dsn, autocommit=True) as conn:
            return conn.execute(sql).fetchall()


def make_project(
    root: Path,
    dsn_for: object,
    admin_dsn: str,
    *,
    isolation: str = "database",
    redis_url: str | None = None,
    redis_db: int = 5,
    seeds: bool = False,
    extra: str = "",
) -> PluginProject:
    tag = "pp" + uuid.uuid4().hex[:10]
    test_db = f"{tag}_test"
    scope = ""
    if isolation != "database":
        test_db = f"{tag}_shared"
        scope = f'isolation = "{isolation}"\n' + (
            'schema = "test"\n' if isolation == "schema" else 'prefix = "test_"\n'
        )
    redis = f'redis_url = "{redis_url}"\nredis_db = {redis_db}\n' if redis_url else ""
    seed = 'seed_files = ["seeds/users.json"]\n' if seeds else ""
    (root / "dbenv.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "{tag}"

            [environments.test]
            tier = "disposable"
            database_url = "{dsn_for(test_db)}"
            schema_source = "sqlalchemy:models:Base.metadata"
            """
        )
        + scope
        + redis
        + seed
        + textwrap.dedent(
            f"""
            [environments.production]
            database_url = "{dsn_for(f"{tag}_prod")}"
            """
        )
        + extra
    )
    (root / "models.py").write_text(MODELS)
    (root / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    if seeds:
        (root / "seeds").mkdir()
        (root / "seeds" / "users.json").write_text('{"users": [{"id": 1, "name": "seeded"}]}')
    return PluginProject(root, tag, admin_dsn, test_db)


def drop_project_databases(project: PluginProject) -> None:
    with psycopg.connect(project.admin_dsn, autocommit=True) as conn:
        for name in project.databases():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
