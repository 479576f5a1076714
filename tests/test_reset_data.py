"""Data-only reset and reference rows, against a real server."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.errors import GuardRefusal
from dbenv.lifecycle.reset import reset
from reset_support import count, drop_project_databases, make_project, tables_in

CYCLES = """
CREATE TABLE a (id serial PRIMARY KEY, b_id int);
CREATE TABLE b (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a_id int REFERENCES a);
ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;
CREATE TABLE ruled (id int PRIMARY KEY);
CREATE RULE keep_rows AS ON DELETE TO ruled DO INSTEAD NOTHING;
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
INSERT INTO countries VALUES ('fr', 'France'), ('de', 'Germany');
CREATE TABLE orders (id serial PRIMARY KEY, country text REFERENCES countries);
CREATE TABLE untouched (id serial PRIMARY KEY);
"""


@pytest.fixture
def made(tmp_path: Path, pg_server: Any) -> Any:
    created: list[tuple[Any, str]] = []

    def factory(**kwargs: Any) -> tuple[Any, str]:
        project, database, dsn = make_project(tmp_path, pg_server, **kwargs)
        created.append((project, database))
        return project, dsn

    yield factory
    for project, database in created:
        drop_project_databases(pg_server.dsn, project, database)


def test_data_only_empties_just_the_dirty_tables_and_restarts_their_sequences(
    made: Any,
) -> None:
    project, dsn = made()
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a'), ('b')")
        conn.execute("INSERT INTO providers (user_id, name) VALUES (1, 'x')")
        conn.execute("INSERT INTO provider_tokens (provider_id, token) VALUES (1, 't')")
    result = reset(project, env, data_only=True)
    assert result.method == "data"
    assert result.emptied == ("provider_tokens", "providers", "users")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("INSERT INTO users (email) VALUES ('c') RETURNING id").fetchone()
        assert row == (1,)
        conn.execute("INSERT INTO providers (user_id, name) VALUES (1, 'x')")
        token = conn.execute(
            "INSERT INTO provider_tokens (provider_id, token) VALUES (1, 't') RETURNING id"
        ).fetchone()
        assert token == (1,)  # the identity restarted too
    again = reset(project, env, data_only=True)
    assert len(again.emptied) == 3
    assert reset(project, env, data_only=True).emptied == ()


def test_data_only_reset_journals_the_rows_it_deleted(made: Any) -> None:
    project, dsn = made()
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) SELECT 'u' || i FROM generate_series(1, 7) i")
        conn.execute("INSERT INTO providers (user_id, name) VALUES (1, 'x'), (2, 'y')")
    result = reset(project, env, data_only=True)
    assert result.rows_deleted == {"users": 7, "providers": 2}
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT rows FROM dbenv.journal WHERE operation = 'reset' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert rows is not None
    assert rows[0] == {
        "deleted": 9,
        "emptied": 2,
        "deleted:providers": 2,
        "deleted:users": 7,
    }


def test_a_sequence_moved_by_a_rolled_back_insert_is_restarted(made: Any) -> None:
    project, dsn = made()
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('gone')")
        conn.rollback()
    assert reset(project, env, data_only=True).emptied == ()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("INSERT INTO users (email) VALUES ('x') RETURNING id").fetchone() == (
            1,
        )


def test_cycles_rules_and_reference_rows(made: Any, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(CYCLES)
    project, dsn = made(source="sql:schema.sql")
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO a (id) VALUES (1)")
        conn.execute("INSERT INTO b (a_id) VALUES (1)")
        conn.execute("UPDATE a SET b_id = 1")
        conn.execute("INSERT INTO ruled VALUES (1)")
        conn.execute("INSERT INTO countries VALUES ('it', 'Italy')")
        conn.execute("UPDATE countries SET name = 'Deutschland' WHERE code = 'de'")
        conn.execute("INSERT INTO orders (country) VALUES ('it')")
    result = reset(project, env, data_only=True)
    names = set(result.emptied)
    assert names == {"a", "b", "ruled", "countries", "orders"}
    # rows deleted: not the reference rows put back, not what TRUNCATE emptied
    assert result.rows_deleted == {"orders": 1}
    for table in ("a", "b", "ruled", "orders", "untouched"):
        assert count(dsn, table) == 0, table
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT code, name FROM countries ORDER BY code").fetchall()
    assert rows == [("de", "Germany"), ("fr", "France")]


def test_reference_rows_false_empties_them_like_any_table(made: Any, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(CYCLES)
    project, dsn = made(source="sql:schema.sql", reference_rows=False)
    env = project.environment("test")
    reset(project, env)
    assert count(dsn, "countries") == 2  # the source's rows, as built
    result = reset(project, env, data_only=True)
    assert result.emptied == ("countries",) and count(dsn, "countries") == 0


TRIGGERS = """
CREATE TABLE parents (id serial PRIMARY KEY);
CREATE TABLE children (id serial PRIMARY KEY, parent_id int REFERENCES parents);
CREATE TABLE audit (id serial PRIMARY KEY, note text);
CREATE FUNCTION audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit (note) VALUES ('deleted ' || OLD.id); RETURN OLD; END $$;
CREATE TRIGGER audit_delete AFTER DELETE ON parents FOR EACH ROW EXECUTE FUNCTION audit_delete();
"""


def test_rows_a_delete_trigger_writes_elsewhere_are_emptied_too(made: Any, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(TRIGGERS)
    project, dsn = made(source="sql:schema.sql")
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO parents DEFAULT VALUES")
        conn.execute("INSERT INTO children (parent_id) VALUES (1)")
    result = reset(project, env, data_only=True)
    # children before parents (FK order), then the audit rows the trigger wrote
    assert result.emptied == ("audit", "children", "parents")
    for table in ("parents", "children", "audit"):
        assert count(dsn, table) == 0, table
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("INSERT INTO audit (note) VALUES ('x') RETURNING id").fetchone()
    assert row == (1,)  # the sequence the trigger moved was restarted too


def test_keep_leaves_a_table_alone(made: Any) -> None:
    project, dsn = made()
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email) VALUES (1, 'a')")
        conn.execute("INSERT INTO providers (user_id, name) VALUES (1, 'x')")
    reset(project, env, data_only=True, keep=["users"])
    assert count(dsn, "users") == 1 and count(dsn, "providers") == 0


def test_keep_tables_in_the_project_file_are_left_alone(made: Any) -> None:
    project, dsn = made(keep_tables=["users"])
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email) VALUES (1, 'a')")
        conn.execute("INSERT INTO providers (user_id, name) VALUES (1, 'x')")
    assert reset(project, env, data_only=True).emptied == ("providers",)
    assert count(dsn, "users") == 1 and count(dsn, "providers") == 0


ALEMBIC_ENV = """
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
"""

MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("plans", sa.Column("code", sa.String(10), primary_key=True))
    op.execute("INSERT INTO plans VALUES ('free'), ('pro')")
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan", sa.String(10), sa.ForeignKey("plans.code")),
    )


def downgrade():
    op.drop_table("accounts")
    op.drop_table("plans")
"""


# The other common env.py: its own engine from sqlalchemy.url (alembic init's default)
ALEMBIC_ENV_OWN_ENGINE = """
from alembic import context
from sqlalchemy import create_engine

engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
engine.dispose()
"""


def write_alembic(root: Path, env_py: str = ALEMBIC_ENV) -> None:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (root / "migrations" / "env.py").write_text(textwrap.dedent(env_py))
    (versions / "0001_init.py").write_text(textwrap.dedent(MIGRATION))


def test_alembic_source_upgrades_head_and_data_reset_keeps_its_rows(
    made: Any, tmp_path: Path
) -> None:
    write_alembic(tmp_path)
    project, dsn = made(source="alembic:alembic.ini")
    env = project.environment("test")
    result = reset(project, env)
    assert tables_in(dsn) == ["accounts", "alembic_version", "plans"]
    assert result.template_built
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        conn.execute("INSERT INTO accounts VALUES (1, 'pro')")
        conn.execute("DELETE FROM alembic_version")
    reset(project, env, data_only=True)
    assert count(dsn, "accounts") == 0 and count(dsn, "plans") == 2
    assert count(dsn, "alembic_version") == 1
    (tmp_path / "migrations" / "versions" / "0001_init.py").write_text(
        textwrap.dedent(MIGRATION).replace("'pro'", "'pro'), ('team'")
    )
    rebuilt = reset(project, env)
    assert rebuilt.template_built and rebuilt.fingerprint != result.fingerprint
    assert count(dsn, "plans") == 3


def test_reset_flushes_the_environments_redis_db(made: Any, redis_server: Any) -> None:
    import redis

    project, _ = made(redis_url=redis_server.url, redis_db=13)
    client = redis.Redis.from_url(redis_server.url, db=13)
    try:
        client.set("dbenv-reset-test", "1")
        result = reset(project, project.environment("test"))
        assert result.redis_flushed and client.get("dbenv-reset-test") is None
    finally:
        client.close()


def test_reset_is_refused_before_anything_changes_when_redis_is_shared(
    tmp_path: Path, pg_server: Any, redis_server: Any
) -> None:
    import redis

    from lifecycle_support import load

    project, database, dsn = make_project(
        tmp_path, pg_server, redis_url=redis_server.url, redis_db=14
    )
    try:
        toml = tmp_path / "dbenv.toml"
        toml.write_text(
            toml.read_text()
            + f'\n[environments.production]\ndatabase_url = "{pg_server.dsn_for("prod_x")}"\n'
            f'redis_url = "{redis_server.url}"\nredis_db = 14\n'
        )
        project = load(tmp_path)
        client = redis.Redis.from_url(redis_server.url, db=14)
        client.set("dbenv-prod-key", "1")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE precious (id int)")
        with pytest.raises(GuardRefusal) as caught:
            reset(project, project.environment("test"))
        assert caught.value.check == "redis-shared"
        assert client.get("dbenv-prod-key") == b"1" and tables_in(dsn) == ["precious"]
        client.delete("dbenv-prod-key")
        client.close()
    finally:
        drop_project_databases(pg_server.dsn, project, database)


@pytest.mark.parametrize("env_py", [ALEMBIC_ENV, ALEMBIC_ENV_OWN_ENGINE])
def test_alembic_in_schema_isolation_builds_inside_the_schema(
    made: Any, tmp_path: Path, env_py: str
) -> None:
    write_alembic(tmp_path, env_py)
    project, dsn = made(source="alembic:alembic.ini", isolation="schema", schema="test_alembic")
    env = project.environment("test")
    result = reset(project, env)
    assert result.method == "schema"
    assert tables_in(dsn, "test_alembic") == ["accounts", "alembic_version", "plans"]
    assert tables_in(dsn, "public") == []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO test_alembic.accounts VALUES (1, 'free')")
    reset(project, env, data_only=True)
    assert count(dsn, "test_alembic.accounts") == 0 and count(dsn, "test_alembic.plans") == 2


def test_a_failing_migration_never_shows_the_password(tmp_path: Path, pg_server: Any) -> None:
    from dbenv.errors import OperationError
    from lifecycle_support import load
    from reset_support import unique

    write_alembic(tmp_path)
    versions = tmp_path / "migrations" / "versions" / "0001_init.py"
    versions.write_text(
        textwrap.dedent(MIGRATION).replace(
            'op.execute("INSERT INTO plans', 'op.execute("INSERT INTO no_such_table'
        )
    )
    role, secret = unique("dbenv_pw"), "S3cret-" + unique("pw")
    project, database, _ = make_project(tmp_path, pg_server, source="alembic:alembic.ini")
    try:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE \"{role}\" LOGIN SUPERUSER PASSWORD '{secret}'")
        toml = tmp_path / "dbenv.toml"
        toml.write_text(toml.read_text().replace("postgres@", f"{role}:{secret}@"))
        project = load(tmp_path)
        said: list[str] = []
        with pytest.raises(OperationError) as caught:
            reset(project, project.environment("test"), progress=said.append)
        assert "alembic upgrade head failed" in str(caught.value)
        assert secret not in str(caught.value) and not any(secret in m for m in said)
    finally:
        drop_project_databases(pg_server.dsn, project, database)
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_an_environment_that_does_not_resolve_here_does_not_stop_a_reset(
    made: Any, redis_server: Any
) -> None:
    """Production's ${PROD_HOST} unset on a CI machine: reset of test (with Redis)
    skips it, as the guard and flush do, instead of failing on it."""
    from dbenv.config import load_project

    project, dsn = made(redis_url=redis_server.url, redis_db=12)
    toml = project.root / "dbenv.toml"
    toml.write_text(
        toml.read_text()
        + '\n[environments.production]\ndatabase_url = "postgresql://app@${PROD_HOST}/app"\n'
        + f'redis_url = "{redis_server.url}"\nredis_db = 0\n'
    )
    project = load_project(project=project.root, process_env={})
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a')")
    assert reset(project, env, data_only=True).emptied == ("users",)
