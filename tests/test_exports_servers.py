"""URLs as apps write them, against the real servers: every verb connects, every export reaches.

- ``database_url`` in the SQLAlchemy forms and ``postgres://`` works in provision,
  reset, seed, status, diff, sync, flush (dbenv connects with psycopg, plain form);
- what ``dbenv run`` exports logs in: the declared driver (asyncpg), the split parts,
  the schema's search_path;
- ``FLUSHDB`` through each exported Redis URL empties that environment's db only.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.config import load_project
from dbenv.config.exports import exported
from reset_support import drop_project_databases

SCHEMA = """
CREATE TABLE users (id integer PRIMARY KEY, label text NOT NULL);
CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES users (id));
"""


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def with_scheme(dsn: str, scheme: str) -> str:
    return scheme + "://" + dsn.partition("://")[2]


@pytest.fixture
def databases(pg_server: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Two fresh databases (development, test) on the suite's server: name -> DSN."""
    names = {env: f"dbenv_urls_{env}_{uuid.uuid4().hex[:8]}" for env in ("dev", "test")}
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    yield {env: pg_server.dsn_for(name) for env, name in names.items()}
    made = (
        load_project(project=tmp_path, process_env={})
        if (tmp_path / "dbenv.toml").exists()
        else None
    )
    if made is not None:
        drop_project_databases(pg_server.dsn, made, *names.values())


def project(root: Path, dbs: dict[str, str], redis_url: str, *, test_scheme: str) -> Path:
    name = f"urls{uuid.uuid4().hex[:6]}"
    (root / "schema.sql").write_text(SCHEMA)
    (root / "dbenv.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "{name}"

            [export]
            POSTGRES_SERVER = "host"
            POSTGRES_PORT = "port"
            POSTGRES_USER = "user"
            POSTGRES_PASSWORD = "password"
            POSTGRES_DB = "database"
            SYNC_URL = "url+psycopg"

            [environments.development]
            database_url = "{with_scheme(dbs["dev"], "postgres")}"
            schema_source = "sql:schema.sql"
            redis_url = "{redis_url}"
            redis_db = 11

            [environments.test]
            tier = "disposable"
            database_url = "{with_scheme(dbs["test"], test_scheme)}"
            schema_source = "sql:schema.sql"
            redis_url = "{redis_url}/0"
            redis_db = 12
            """
        )
    )
    return root


@pytest.mark.parametrize(
    "scheme", ["postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg2", "postgres"]
)
def test_every_verb_takes_the_url_forms_apps_write(
    tmp_path: Path, databases: dict[str, str], redis_server: Any, scheme: str
) -> None:
    root = project(tmp_path, databases, redis_server.url, test_scheme=scheme)
    with psycopg.connect(databases["dev"], autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO users VALUES (1, 'one')")
    steps = [
        ("stamp", "development"),
        ("provision", "test"),
        ("reset", "test", "--json"),
        ("status", "--json"),
        ("diff", "development", "test"),
        ("diff", with_scheme(databases["dev"], "postgresql+asyncpg"), "test"),
        (
            "sync",
            "development",
            "test",
            "--tables",
            "public.users,public.orders",
        ),
        ("reset", "test", "--data-only"),
        ("flush", "test"),
    ]
    for step in steps:
        result = invoke(root, *step)
        assert result.exit_code == 0, (step, result.output)
        assert "could not parse" not in result.output and "internal error" not in result.output
        if step[0] == "status":
            rows = {row["name"]: row for row in json.loads(result.stdout)["environments"]}
            assert rows["test"]["reachable"] is True and not rows["test"]["error"], rows["test"]
    with psycopg.connect(databases["test"]) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert {"users", "orders"} <= tables
    with psycopg.connect(databases["dev"]) as conn:  # development untouched
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


def test_exported_urls_log_in_with_their_own_driver(
    tmp_path: Path, databases: dict[str, str], redis_server: Any
) -> None:
    root = project(tmp_path, databases, redis_server.url, test_scheme="postgresql+asyncpg")
    values = exported(load_project(project=root, process_env={}).environment("test"))
    assert values["DATABASE_URL"].startswith("postgresql+asyncpg://")
    import asyncpg

    async def database_name() -> str:
        # asyncpg itself takes postgresql://; SQLAlchemy's form names the driver
        conn = await asyncpg.connect(values["DATABASE_URL"].replace("+asyncpg", ""))
        try:
            return str(await conn.fetchval("SELECT current_database()"))
        finally:
            await conn.close()

    test_db = databases["test"].rsplit("/", 1)[1]
    assert asyncio.run(database_name()) == test_db
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def through_sqlalchemy() -> str:
        engine = create_async_engine(values["DATABASE_URL"])
        try:
            async with engine.connect() as conn:
                return str((await conn.execute(text("SELECT current_database()"))).scalar())
        finally:
            await engine.dispose()

    assert asyncio.run(through_sqlalchemy()) == test_db
    parts = "host={POSTGRES_SERVER} port={POSTGRES_PORT} user={POSTGRES_USER} dbname={POSTGRES_DB}"
    with psycopg.connect(parts.format(**values)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (test_db,)


def test_a_schema_environment_url_lands_in_its_schema(
    tmp_path: Path, databases: dict[str, str]
) -> None:
    (tmp_path / "dbenv.toml").write_text(
        '[project]\nname = "sp"\n[environments.test]\ntier = "disposable"\n'
        f'isolation = "schema"\nschema = "app_test"\ndatabase_url = "{databases["test"]}"\n'
    )
    values = exported(load_project(project=tmp_path, process_env={}).environment("test"))
    with psycopg.connect(values["DATABASE_URL"]) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ("app_test",)


def test_flushdb_through_each_exported_redis_url_spares_the_others(
    tmp_path: Path, redis_server: Any
) -> None:
    """Issue 14.6: an app's own FLUSHDB under `dbenv run ENV` empties ENV's db only."""
    (tmp_path / "dbenv.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "fl"
            [export]
            CACHE_HOST = "redis_host"
            CACHE_PORT = "redis_port"
            CACHE_DB = "redis_db"
            [environments.development]
            redis_url = "{redis_server.url}"
            redis_db = 13
            [environments.test]
            tier = "disposable"
            redis_url = "{redis_server.url}/0"
            redis_db = 14
            [environments.staging]
            redis_url = "{redis_server.url}/15"
            """
        )
    )
    project = load_project(project=tmp_path, process_env={})
    envs = {name: project.environment(name) for name in ("development", "test", "staging")}
    indexes = {"development": 13, "test": 14, "staging": 15}
    for name, index in indexes.items():
        client = redis.Redis.from_url(redis_server.url, db=index)
        client.flushdb()
        client.set(f"key-of-{name}", "1")
    for name, env in envs.items():
        out = tmp_path / f"{name}.txt"
        code = (
            "import os, redis; "
            "redis.Redis.from_url(os.environ['REDIS_URL']).flushdb(); "
            "c = redis.Redis(host=os.environ['CACHE_HOST'], port=int(os.environ['CACHE_PORT']), "
            "db=int(os.environ['CACHE_DB'])); "
            f"open({str(out)!r}, 'w').write(str(c.dbsize()))"
        )
        result = invoke(tmp_path, "run", name, "--", sys.executable, "-c", code)
        assert result.exit_code == 0, result.output
        assert out.read_text() == "0"
        assert exported(env)["REDIS_URL"].endswith(f"/{indexes[name]}")
        for other, index in indexes.items():
            client = redis.Redis.from_url(redis_server.url, db=index)
            flushed = list(indexes).index(other) <= list(indexes).index(name)
            assert client.exists(f"key-of-{other}") == (0 if flushed else 1), (name, other)


def test_every_exported_url_lands_on_its_own_environments_target(
    tmp_path: Path, databases: dict[str, str], redis_server: Any
) -> None:
    """The export dimension of the guard matrix: isolation × Redis index/prefix × form."""
    shared, own = databases["dev"], databases["test"]
    (tmp_path / "dbenv.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "land"
            [export]
            SYNC_URL = "url+psycopg"
            [environments.production]
            database_url = "{shared}"
            redis_url = "{redis_server.url}/7"
            [environments.test]
            tier = "disposable"
            database_url = "{with_scheme(own, "postgresql+asyncpg")}"
            redis_url = "{redis_server.url}"
            redis_db = 8
            [environments.schematest]
            tier = "disposable"
            isolation = "schema"
            schema = "schematest"
            database_url = "{own}"
            redis_url = "{redis_server.url}/0"
            redis_db = 9
            [environments.prefixtest]
            tier = "disposable"
            isolation = "prefix"
            prefix = "p_"
            database_url = "{own}"
            redis_url = "{redis_server.url}/9"
            redis_prefix = "p:"
            """
        )
    )
    project = load_project(project=tmp_path, process_env={})
    expected = {
        "production": (shared, "7", None, None),
        "test": (own, "8", None, None),
        "schematest": (own, "9", "schematest", None),
        "prefixtest": (own, "9", None, "p_"),
    }
    for name, (dsn, index, schema, prefix) in expected.items():
        values = exported(project.environment(name))
        with psycopg.connect(values["SYNC_URL"].replace("+psycopg", "")) as conn:
            row = conn.execute("SELECT current_database(), current_setting('search_path')")
            database, path = row.fetchone() or ("", "")
        assert database == dsn.rsplit("/", 1)[1], name
        assert (path == schema) if schema else ("schematest" not in path), name
        assert values.get("DBENV_SCHEMA") == schema and values.get("DBENV_TABLE_PREFIX") == prefix
        client = redis.Redis.from_url(values["REDIS_URL"])
        assert client.client_info()["db"] == int(index), name
        assert values.get("DBENV_REDIS_PREFIX") == ("p:" if prefix else None)


def test_what_the_plugin_exports_is_what_run_exports_and_a_workers_own(
    tmp_path: Path, databases: dict[str, str], redis_server: Any
) -> None:
    """The plugin's column of the export dimension: no worker, then xdist worker gw1."""
    from dbenv.pytest_plugin.exporting import worker_exports
    from dbenv.pytest_plugin.targets import WorkerInfo

    shared, own = databases["dev"], databases["test"]
    (tmp_path / "dbenv.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "plugexp"
            [environments.production]
            database_url = "{shared}"
            redis_url = "{redis_server.url}/7"
            [environments.test]
            tier = "disposable"
            database_url = "{with_scheme(own, "postgresql+asyncpg")}"
            redis_url = "{redis_server.url}"
            redis_db = 6
            [environments.schematest]
            tier = "disposable"
            isolation = "schema"
            schema = "schematest"
            database_url = "{own}"
            redis_url = "{redis_server.url}"
            redis_db = 5
            """
        )
    )
    project = load_project(project=tmp_path, process_env={})
    production = exported(project.environment("production"))
    for name in ("test", "schematest"):
        env = project.environment(name)
        alone = worker_exports(project, env, WorkerInfo())
        assert alone["DATABASE_URL"] == exported(env)["DATABASE_URL"], name
        assert alone["REDIS_URL"] == exported(env)["REDIS_URL"], name
        worker = worker_exports(project, env, WorkerInfo("gw1", 2))
        index = int(worker["REDIS_URL"].rsplit("/", 1)[1])
        assert index not in (5, 6, 7), (name, index)  # never another environment's db
        assert worker["DATABASE_URL"] != production["DATABASE_URL"], name
        database = worker["DATABASE_URL"].split("?", 1)[0].rsplit("/", 1)[1]
        if env.isolation == "database":
            assert database == own.rsplit("/", 1)[1] + "_gw1", name
        else:
            assert database == own.rsplit("/", 1)[1], name
            assert worker.get("DBENV_SCHEMA", "").startswith("schematest"), worker
