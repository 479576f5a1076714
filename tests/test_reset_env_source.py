"""``reset`` from an ``env:OTHER`` source: the other environment's structure, planned by diff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.diff.introspect import introspect
from dbenv.diff.model import filter_model
from dbenv.diff.plan import build_plan
from dbenv.lifecycle.reset import reset
from dbenv.sources.schema import fingerprint, render
from lifecycle_support import create_database, load
from reset_support import drop_project_databases, make_project, unique

STRUCTURE = """
CREATE SCHEMA billing;
CREATE TYPE mood AS ENUM ('ok', 'meh');
CREATE DOMAIN billing.cents AS bigint CHECK (VALUE >= 0);
CREATE TABLE accounts (id serial PRIMARY KEY, mood mood DEFAULT 'ok', name text NOT NULL,
                       CHECK (length(name) > 0));
COMMENT ON TABLE accounts IS 'who pays';
CREATE TABLE billing.invoices (id int GENERATED ALWAYS AS IDENTITY,
    account_id int REFERENCES accounts ON DELETE CASCADE, total billing.cents,
    issued date NOT NULL, PRIMARY KEY (id, issued)) PARTITION BY RANGE (issued);
CREATE TABLE billing.invoices_2024 PARTITION OF billing.invoices
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX ON billing.invoices (account_id) WHERE total > 0;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN NEW.name := trim(NEW.name); RETURN NEW; END';
CREATE TRIGGER accounts_touch BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW happy AS SELECT id, name FROM accounts WHERE mood = 'ok';
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON accounts USING (name = current_user);
INSERT INTO accounts (name) VALUES ('ada');
"""


@pytest.fixture
def staged(tmp_path: Path, pg_server: Any) -> Iterator[tuple[Any, str, str]]:
    """(project, the test DSN, the staging DSN): test's schema_source is env:staging."""
    other = unique("dbenv_reset_staging")
    create_database(pg_server.dsn, other)
    project, database, dsn = make_project(tmp_path, pg_server, source="env:staging")
    staging = pg_server.dsn_for(other)
    toml = tmp_path / "dbenv.toml"
    toml.write_text(toml.read_text() + f'\n[environments.staging]\ndatabase_url = "{staging}"\n')
    try:
        yield load(tmp_path), dsn, staging
    finally:
        drop_project_databases(pg_server.dsn, project, database, other)


def run(dsn: str, sql: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.encode())


def drift(source: str, target: str) -> list[str]:
    with psycopg.connect(source) as a, psycopg.connect(target) as b:
        plan = build_plan(filter_model(introspect(a)), filter_model(introspect(b)))
    return [s.sql for s in plan.statements] + list(plan.unplanned)


def test_the_copy_has_no_drift_from_the_other_environment(staged: tuple[Any, str, str]) -> None:
    project, dsn, staging = staged
    run(staging, STRUCTURE)
    env = project.environment("test")
    script = render(project, env, project_source(project))[1]
    assert script is not None and "pg_dump" not in script and "CREATE POLICY" in script
    result = reset(project, env)
    assert "accounts" in result.tables
    assert drift(staging, dsn) == []
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)  # no data


def project_source(project: Any) -> Any:
    from dbenv.sources.schema import load_schema_source

    return load_schema_source(project, project.environment("test"))


def test_the_fingerprint_follows_the_structure_not_the_catalog_order(
    staged: tuple[Any, str, str],
) -> None:
    project, _, staging = staged
    run(staging, STRUCTURE)
    env = project.environment("test")
    first = fingerprint(project, env)
    assert fingerprint(project, env) == first
    # Rewrites catalog rows (their storage order) and adds data: the structure is the same.
    run(
        staging,
        "ALTER TABLE accounts ALTER COLUMN name SET STATISTICS 100;"
        "ALTER TABLE accounts ALTER COLUMN name SET STATISTICS -1;"
        "COMMENT ON TABLE accounts IS NULL; COMMENT ON TABLE accounts IS 'who pays';"
        "INSERT INTO accounts (name) VALUES ('bob')",
    )
    assert fingerprint(project, env) == first
    run(staging, "ALTER TABLE accounts ADD COLUMN email text")
    assert fingerprint(project, env) != first


def test_objects_diff_cannot_create_fall_back_to_pg_dump(staged: tuple[Any, str, str]) -> None:
    project, dsn, staging = staged
    run(
        staging,
        "CREATE TABLE t (id int);"
        "CREATE FUNCTION same(int, int) RETURNS bool LANGUAGE sql AS 'SELECT $1 = $2';"
        "CREATE OPERATOR === (leftarg = int, rightarg = int, function = same);",
    )
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 1 === 1").fetchone() == (True,)
    assert drift(staging, dsn) == []
