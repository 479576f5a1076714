"""clone: the template path (same server, nobody connected, no masking) and the logical one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.commands import sync as commands
from dbenv.config import load_project
from dbenv.errors import GuardRefusal, UsageError
from dbenv.safety.stamp import stamp_state
from lifecycle_support import stamp_as
from sync_support import PROFILE, Scenario, make_scenario, query, table_state

CLONE_RULES = (
    PROFILE
    + """"public.clients.name" = "name"
"public.clients.email" = "email"
"public.clients.phone" = "phone"
"public.projects.name" = "keep"
"public.llm_usage.ip" = "null"
"""
)


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def clone(scenario: Scenario, **kwargs: Any) -> commands.CloneResult:
    project = scenario.project()
    return commands.clone(
        project, project.environment("production"), project.environment("test"), **kwargs
    )


def _stamped_as_test(scenario: Scenario) -> None:
    project = scenario.project()
    with psycopg.connect(scenario.test, autocommit=True) as conn:
        assert stamp_state(conn, "contentgen", project.environment("test")) == "ok"


def test_template_clone_when_nothing_is_connected(scenario: Scenario) -> None:
    result = clone(scenario, no_mask=True, override=scenario.names[1])
    assert result.method == "template" and result.strategy == "WAL_LOG"
    assert table_state(scenario.test) == table_state(scenario.production)
    _stamped_as_test(scenario)


def test_a_large_source_is_copied_with_file_copy(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbenv.sync import clone as clone_module

    monkeypatch.setattr(clone_module, "FILE_COPY_ABOVE", 0)  # every source counts as large
    result = clone(scenario, no_mask=True, override=scenario.names[1])
    assert result.method == "template" and result.strategy == "FILE_COPY"
    assert table_state(scenario.test) == table_state(scenario.production)
    _stamped_as_test(scenario)


def test_connected_source_falls_back_to_logical(scenario: Scenario) -> None:
    with psycopg.connect(scenario.production) as _busy:
        result = clone(scenario, no_mask=True, override=scenario.names[1])
        assert result.method == "logical"
        with pytest.raises(UsageError, match="other session"):
            clone(scenario, no_mask=True, override=scenario.names[1], method="template")
    assert table_state(scenario.test) == table_state(scenario.production)
    assert result.rows == sum(len(v) for v in table_state(scenario.production).values())
    indexes = query(scenario.test, "SELECT indexname FROM pg_indexes WHERE tablename = 'prompts'")
    assert ("prompts_model_idx",) in indexes
    fks = query(scenario.test, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
    assert fks == query(
        scenario.production, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
    )
    assert query(scenario.test, "SELECT nextval('clients_id_seq')") == [(41,)]
    _stamped_as_test(scenario)


def test_masked_clone_is_logical_and_leaks_nothing(scenario: Scenario) -> None:
    scenario.write(CLONE_RULES)
    result = clone(scenario)
    assert result.method == "logical" and result.masked
    assert query(scenario.test, "SELECT count(*) FROM clients") == [(40,)]
    text = "\n".join(
        r[0]
        for table in ("clients", "prompts", "llm_usage", "project_acme.documents")
        for r in query(scenario.test, f"SELECT t::text FROM {table} t")
    )
    for column in ("name", "email", "phone"):
        for (value,) in query(scenario.production, f"SELECT {column} FROM clients"):
            assert value not in text
    assert query(scenario.test, "SELECT count(*) FROM llm_usage WHERE ip IS NOT NULL") == [(0,)]
    joined = query(
        scenario.test, "SELECT count(*) FROM projects p JOIN clients c ON c.id = p.client_id"
    )
    assert joined == [(40,)]


def test_clone_refuses_personal_columns_without_rules(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal) as caught:
        clone(scenario)
    assert caught.value.check == "masking" and "public.clients.email" in caught.value.message
    assert table_state(scenario.test) == before


def test_clone_refusals_change_nothing(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal):
        clone(scenario, no_mask=True)
    with pytest.raises(UsageError, match="--method"):
        clone(scenario, method="rsync")
    scenario.write(test_tier="protected")
    with pytest.raises(GuardRefusal) as caught:
        clone(scenario, no_mask=True, override="wrong_db")
    assert caught.value.exit_code == 3
    assert table_state(scenario.test) == before


OWNED_SCHEMA = """
CREATE TYPE mood AS ENUM ('ok', 'bad');
CREATE DOMAIN score AS int CHECK (VALUE >= 0);
CREATE SCHEMA app;
CREATE TABLE app.items (id serial PRIMARY KEY, name text, m mood, s score);
CREATE SEQUENCE app.tickets;
CREATE VIEW app.names AS SELECT name FROM app.items;
CREATE MATERIALIZED VIEW app.counted AS SELECT count(*) AS n FROM app.items;
CREATE FUNCTION app.twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
CREATE PROCEDURE app.noop() LANGUAGE sql AS 'SELECT 1';
INSERT INTO app.items (name, m, s) VALUES ('a', 'ok', 1), ('b', 'bad', 2);
"""


@pytest.fixture
def owned_pair(pg_server: Any, tmp_path: Path) -> Iterator[tuple[Path, str, str, str]]:
    """Production and test on one server, each database and its objects owned by its own role."""
    suffix = uuid.uuid4().hex[:8]
    prod_role, test_role = f"cg_prod_{suffix}", f"cg_test_{suffix}"
    prod_db, test_db = f"cg_prod_{suffix}", f"cg_test_{suffix}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        for role in (prod_role, test_role):
            conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{suffix}'".encode())
        conn.execute(f"CREATE DATABASE {prod_db} OWNER {prod_role}".encode())
        conn.execute(f"CREATE DATABASE {test_db} OWNER {test_role}".encode())
    prod = pg_server.dsn_for(prod_db, prod_role, f"pw-{suffix}")
    test = pg_server.dsn_for(test_db, test_role, f"pw-{suffix}")
    with psycopg.connect(prod, autocommit=True) as conn:
        conn.execute(OWNED_SCHEMA.encode())
    stamp_as(pg_server.dsn_for(test_db), "owned", "test")  # the marker needs a superuser
    with psycopg.connect(pg_server.dsn_for(test_db), autocommit=True) as conn:
        conn.execute(f"ALTER SCHEMA dbenv OWNER TO {test_role}".encode())
        conn.execute(f"ALTER TABLE dbenv.stamp OWNER TO {test_role}".encode())
    (tmp_path / "dbenv.toml").write_text(
        '[project]\nname = "owned"\n\n'
        f'[environments.production]\ntier = "protected"\ndatabase_url = "{prod}"\n\n'
        f'[environments.test]\ntier = "disposable"\ndatabase_url = "{test}"\n'
        f'admin_url = "{pg_server.dsn}"\n'
    )
    try:
        yield tmp_path, prod, test, test_role
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            for db in (prod_db, test_db):
                conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)".encode())
            for role in (prod_role, test_role):
                conn.execute(f"DROP ROLE IF EXISTS {role}".encode())


def test_template_clone_hands_every_object_to_the_target_role(
    owned_pair: tuple[Path, str, str, str],
) -> None:
    root, prod, test, test_role = owned_pair
    project = load_project(project=root, process_env={})
    test_db = test.rsplit("/", 1)[1].split("?")[0]
    result = commands.clone(
        project,
        project.environment("production"),
        project.environment("test"),
        no_mask=True,
        override=test_db,
    )
    assert result.method == "template"
    with psycopg.connect(test, autocommit=True) as conn:  # as test's own role
        assert stamp_state(conn, "owned", project.environment("test")) == "ok"
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('app', 'dbenv')"
            " UNION SELECT DISTINCT pg_get_userbyid(proowner) FROM pg_proc"
            " WHERE pronamespace = 'app'::regnamespace"
            " UNION SELECT DISTINCT pg_get_userbyid(typowner) FROM pg_type"
            " WHERE typname IN ('mood', 'score')"
        ).fetchall()
        assert owners == [(test_role,)]
        conn.execute("INSERT INTO app.items (name, m, s) VALUES ('c', 'ok', 3)")
        assert conn.execute("SELECT app.twice(nextval('app.tickets')::int)").fetchone() == (2,)
        conn.execute("REFRESH MATERIALIZED VIEW app.counted")
        conn.execute("DROP TABLE app.items CASCADE")  # only an owner may
    with psycopg.connect(prod, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM app.items").fetchone() == (2,)
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert owner is not None and owner[0].startswith("cg_prod_")
