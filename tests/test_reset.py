"""Reset through the guard on a real server: template clone, rebuild, verification."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.errors import ConfigError
from dbenv.lifecycle.reset import reset
from dbenv.safety.stamp import stamp_state
from lifecycle_support import journal_rows
from reset_support import count, drop_project_databases, make_project, tables_in, unique


@pytest.fixture
def project_db(tmp_path: Path, pg_server: Any) -> Any:
    made: list[tuple[Any, str]] = []

    def factory(**kwargs: Any) -> tuple[Any, str, str]:
        project, database, dsn = make_project(tmp_path, pg_server, **kwargs)
        made.append((project, database))
        return project, database, dsn

    yield factory
    for project, database in made:
        drop_project_databases(pg_server.dsn, project, database)


def test_reset_builds_the_template_once_and_lists_the_verified_tables(project_db: Any) -> None:
    project, _, dsn = project_db()
    env = project.environment("test")
    first = reset(project, env)
    assert first.method == "template" and first.template_built
    assert first.tables == ("provider_tokens", "providers", "users")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email) VALUES (1, 'a@example.com')")
    second = reset(project, env)
    assert not second.template_built and second.template == first.template
    assert second.tables == first.tables
    assert count(dsn, "users") == 0
    assert tables_in(dsn) == ["provider_tokens", "providers", "users"]


def test_reset_keeps_the_stamp_settings_and_journal_of_the_database(project_db: Any) -> None:
    project, database, dsn = project_db()
    env = project.environment("test")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
    reset(project, env)
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        assert stamp_state(conn, project.name, env) == "ok"
    outcomes = [row[0] for row in journal_rows(dsn) if row[2] == "ok"]
    assert outcomes.count("reset") == 2


def test_a_changed_sql_source_rebuilds_the_template_and_drops_the_old_one(
    project_db: Any, tmp_path: Path, pg_server: Any
) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text("CREATE TABLE items (id serial PRIMARY KEY, name text);")
    project, _, dsn = project_db(source="sql:schema.sql")
    env = project.environment("test")
    first = reset(project, env)
    schema.write_text(schema.read_text() + "\nCREATE TABLE extra (id int);")
    second = reset(project, env)
    assert second.template_built and second.fingerprint != first.fingerprint
    assert tables_in(dsn) == ["extra", "items"]
    with psycopg.connect(pg_server.dsn) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
    assert second.template in names and first.template not in names


def test_schema_mode_rebuilds_only_its_schema(project_db: Any, pg_server: Any) -> None:
    project, _, dsn = project_db(isolation="schema", schema="test_app")
    env = project.environment("test")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.keepme (id int); INSERT INTO public.keepme VALUES (1)")
    result = reset(project, env)
    assert result.method == "schema"
    assert tables_in(dsn, "test_app") == ["provider_tokens", "providers", "users"]
    assert tables_in(dsn, "public") == ["keepme"] and count(dsn, "public.keepme") == 1
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO test_app.users (id, email) VALUES (1, 'a')")
    again = reset(project, env)
    assert again.tables == result.tables and count(dsn, "test_app.users") == 0


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("sqlalchemy:nomodule", "expected sqlalchemy:module"),
        ("sqlalchemy:no_such_module_x:metadata", "importing no_such_module_x failed"),
        ("alembic:missing.ini", "does not exist"),
        ("mongo:whatever", "unknown kind 'mongo'"),
        ("env:test", "its own source"),
    ],
)
def test_a_bad_schema_source_is_a_config_error_and_changes_nothing(
    project_db: Any, spec: str, words: str
) -> None:
    project, _, dsn = project_db(source=spec)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE marker (id int)")
    with pytest.raises(ConfigError) as caught:
        reset(project, project.environment("test"))
    assert "schema_source of environment 'test'" in str(caught.value)
    assert words in str(caught.value) and caught.value.exit_code == 2
    assert tables_in(dsn) == ["marker"]


def test_an_attribute_that_is_no_metadata_is_named(project_db: Any) -> None:
    project, _, _ = project_db()
    env = project.environment("test")
    module = env.schema_source.split(":")[1]
    from dataclasses import replace

    broken = replace(env, schema_source=f"sqlalchemy:{module}:nothing_here")
    with pytest.raises(ConfigError, match="no MetaData at nothing_here"):
        reset(project, broken)


def test_a_source_that_fails_to_build_leaves_the_database_as_it_was(
    project_db: Any, tmp_path: Path
) -> None:
    (tmp_path / "broken.sql").write_text("CREATE TABLE ok (id int); CREATE TABLE bad (id nope);")
    project, _, dsn = project_db(source="sql:broken.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE before (id int)")
    # the source's fault: a configuration error (exit 2) naming the file and line
    with pytest.raises(ConfigError, match=r"building the schema from sql:broken\.sql failed") as e:
        reset(project, project.environment("test"))
    assert e.value.exit_code == 2 and e.value.where == f"{tmp_path / 'broken.sql'}:1"
    assert tables_in(dsn) == ["before"]


def test_without_createdb_the_schemas_are_rebuilt_in_place_and_it_says_so(
    tmp_path: Path, pg_server: Any
) -> None:
    from reset_support import unique

    role = unique("dbenv_nocreatedb")
    project, database, dsn = make_project(tmp_path, pg_server, stamp=True)
    try:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{role}"')
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
            conn.execute(f'GRANT ALL ON SCHEMA dbenv TO "{role}"')
            conn.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA dbenv TO "{role}"')
            conn.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA dbenv TO "{role}"')
        toml = tmp_path / "dbenv.toml"
        toml.write_text(toml.read_text().replace("postgres@", f"{role}@"))
        from lifecycle_support import load

        project = load(tmp_path)
        env = project.environment("test")
        result = reset(project, env)
        assert result.method == "schemas" and result.template is None
        assert "may not create databases" in result.notes[0]
        assert tables_in(dsn) == ["provider_tokens", "providers", "users"]
        with psycopg.connect(dsn) as conn:
            owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'users'")
            assert owner.fetchone() == (role,)
    finally:
        drop_project_databases(pg_server.dsn, project, database)
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_two_resets_at_once_the_second_waits_and_both_end_clean(project_db: Any) -> None:
    project, _, dsn = project_db()
    env = project.environment("test")
    reset(project, env)  # the template exists: the first reset is quick to hold the lock
    holding = threading.Event()
    messages: list[str] = []
    errors: list[BaseException] = []

    def first_progress(message: str) -> None:
        if message.startswith("cloning"):
            holding.set()
            time.sleep(1.0)

    def run(progress: Any) -> None:
        try:
            reset(project, env, progress=progress)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    one = threading.Thread(target=run, args=(first_progress,))
    one.start()
    assert holding.wait(10)
    two = threading.Thread(target=run, args=(messages.append,))
    two.start()
    one.join(30)
    two.join(30)
    assert errors == []
    assert any("waiting for another dbenv operation" in m for m in messages)
    assert tables_in(dsn) == ["provider_tokens", "providers", "users"]
    with psycopg.connect(dsn) as conn:
        assert stamp_state(conn, project.name, env) == "ok"


def test_env_source_copies_another_environments_structure(tmp_path: Path, pg_server: Any) -> None:
    from lifecycle_support import create_database, load

    other = unique("dbenv_reset_staging")
    create_database(pg_server.dsn, other)
    project, database, dsn = make_project(tmp_path, pg_server, source="env:staging")
    try:
        with psycopg.connect(pg_server.dsn_for(other), autocommit=True) as conn:
            conn.execute(
                "CREATE TYPE mood AS ENUM ('ok', 'meh');"
                "CREATE TABLE accounts (id serial PRIMARY KEY, mood mood);"
                "CREATE TABLE notes (id int PRIMARY KEY, account_id int REFERENCES accounts);"
                "INSERT INTO accounts (mood) VALUES ('ok')"
            )
        toml = tmp_path / "dbenv.toml"
        toml.write_text(
            toml.read_text()
            + f'\n[environments.staging]\ndatabase_url = "{pg_server.dsn_for(other)}"\n'
        )
        project = load(tmp_path)
        result = reset(project, project.environment("test"))
        assert result.tables == ("accounts", "notes")
        assert count(dsn, "accounts") == 0 and count(pg_server.dsn_for(other), "accounts") == 1
    finally:
        drop_project_databases(pg_server.dsn, project, database, other)


@pytest.mark.parametrize("form", ["comma", "list"])
def test_a_source_of_several_modules_builds_every_table_they_register(
    project_db: Any, tmp_path: Path, form: str
) -> None:
    """Tables live in several modules on one declarative Base (the usual app layout):
    each listed module is imported, so each one's tables are built. The list form
    (docs/lifecycle.md) spreads the comma-separated modules over a TOML list."""
    package = unique("shop")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "base.py").write_text(
        "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n"
    )
    for name, body in {
        "users": "class User(Base):\n    __tablename__ = 'users'\n",
        "orders": "class Order(Base):\n    __tablename__ = 'orders'\n",
    }.items():
        (tmp_path / package / f"{name}.py").write_text(
            "from sqlalchemy.orm import Mapped, mapped_column\n"
            f"from {package}.base import Base\n\n\n{body}"
            "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        )
    if form == "list":
        listed = [f"sqlalchemy:{package}.users", f"{package}.orders:Base.metadata"]
        project, _, dsn = project_db(schema_source=listed)
    else:
        project, _, dsn = project_db(
            source=f"sqlalchemy:{package}.users, {package}.orders:Base.metadata"
        )
    result = reset(project, project.environment("test"))
    assert result.tables == ("orders", "users")
    assert tables_in(dsn) == ["orders", "users"]


def test_a_sqlmodel_source_builds_its_tables(project_db: Any, tmp_path: Path) -> None:
    module = unique("sqlmodels")
    (tmp_path / f"{module}.py").write_text(
        "from sqlmodel import Field, SQLModel\n\n\n"
        f"class Hero_{module}(SQLModel, table=True):\n"
        f"    __tablename__ = 'heroes_{module}'\n"
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    name: str = Field(index=True)\n"
    )
    # SQLModel.metadata is one for the whole process: name the table we expect
    project, _, dsn = project_db(source=f"sqlmodel:{module}:SQLModel.metadata")
    result = reset(project, project.environment("test"))
    assert f"heroes_{module}" in result.tables
    with psycopg.connect(dsn) as conn:
        indexed = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%%(name)'",
            [f"heroes_{module}"],
        ).fetchone()
    assert indexed == (1,)
