"""Sync's structure step: only what the selected tables use, nothing database-wide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.commands import sync as commands
from dbenv.diff.introspect import introspect
from dbenv.sync.structure import narrow
from sync_support import Scenario, execute, make_scenario, query


def test_narrow_drops_database_wide_objects_and_keeps_rules_of_selected_tables(
    scratch_db: str,
) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute(
            """
            create table t (id int); create table other (id int);
            create rule t_nothing as on delete to t do instead nothing;
            create rule other_nothing as on delete to other do instead nothing;
            alter default privileges grant select on tables to public;
            create function same(int, int) returns bool language sql as 'select $1 = $2';
            create operator === (leftarg = int, rightarg = int, function = same);
            create function et() returns event_trigger language plpgsql as $$ begin end $$;
            create event trigger et_ddl on ddl_command_end execute function et();
            """
        )
        model = introspect(conn)
        conn.execute("drop event trigger et_ddl")
    assert model.default_privileges and model.event_triggers and model.not_compared
    narrowed = narrow(model, lambda schema, table: table == "t")
    assert list(narrowed.rules) == ["rule:public.t:t_nothing"]
    assert not narrowed.default_privileges
    assert not narrowed.event_triggers
    assert not narrowed.not_compared


NEEDED = """
CREATE SCHEMA kinds;
CREATE TYPE kinds.level AS ENUM ('low', 'high');
CREATE FUNCTION kinds.is_short(text) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS 'SELECT length($1) < 40';
CREATE DOMAIN kinds.short_text AS text CHECK (kinds.is_short(VALUE));
CREATE FUNCTION kinds.default_level() RETURNS kinds.level LANGUAGE sql
    AS $$SELECT 'low'::kinds.level$$;
CREATE FUNCTION kinds.touch() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN NEW.version := NEW.version + 1; RETURN NEW; END$$;
ALTER TABLE object_models ADD COLUMN level kinds.level DEFAULT kinds.default_level(),
    ADD COLUMN code kinds.short_text;
UPDATE object_models SET code = 'c' || id;
CREATE TRIGGER touch BEFORE UPDATE ON object_models FOR EACH ROW
    EXECUTE FUNCTION kinds.touch();
"""

UNRELATED = """
CREATE SCHEMA util;
CREATE FUNCTION util.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TYPE util.mood AS ENUM ('ok', 'meh');
CREATE FUNCTION public.unrelated() RETURNS text LANGUAGE sql AS $$SELECT 'production'$$;
"""


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def test_structure_step_takes_only_what_the_selected_tables_use(scenario: Scenario) -> None:
    execute(scenario.production, NEEDED + UNRELATED)
    execute(
        scenario.test,
        "CREATE FUNCTION public.unrelated() RETURNS text LANGUAGE sql AS $$SELECT 'test'$$",
    )
    project = scenario.project()
    result = commands.sync(project, project.environment("production"), project.environment("test"))
    targets = " ".join(s.target for s in result.structure)
    assert "util" not in targets and "unrelated" not in targets
    # a function and a type in a schema with no selected table, never created
    assert query(scenario.test, "SELECT count(*) FROM pg_namespace WHERE nspname = 'util'") == [
        (0,)
    ]
    assert query(scenario.test, "SELECT public.unrelated()") == [("test",)]
    # what the mirrored table uses came along, schema first
    assert query(scenario.test, "SELECT level::text, code FROM object_models WHERE id = 3") == [
        ("low", "c3")
    ]
    execute(scenario.test, "INSERT INTO object_models (name, definition) VALUES ('n', '{}')")
    assert query(scenario.test, "SELECT level::text FROM object_models WHERE name = 'n'") == [
        ("low",)
    ]
    with pytest.raises(psycopg.errors.CheckViolation):
        execute(scenario.test, f"UPDATE object_models SET code = '{'x' * 50}' WHERE id = 1")
    execute(scenario.test, "UPDATE object_models SET name = 'renamed' WHERE id = 2")
    assert query(scenario.test, "SELECT version FROM object_models WHERE id = 2") == [(2,)]


ENUM_SOURCE = """
CREATE TYPE public.model_kind AS ENUM ('chat', 'embedding', 'vision');
ALTER TABLE object_models ADD COLUMN kind public.model_kind, ADD COLUMN notes text;
UPDATE object_models SET kind = 'vision';
"""
ENUM_TARGET = """
CREATE TYPE public.model_kind AS ENUM ('chat', 'embedding');
ALTER TABLE object_models ADD COLUMN kind public.model_kind;
"""


def test_an_enum_value_goes_first_and_the_rest_stays_atomic(scenario: Scenario) -> None:
    """ALTER TYPE ... ADD VALUE cannot run in the sync's transaction (its value could not
    be used there): it runs first, alone; a failure later leaves every other change out."""
    execute(scenario.production, ENUM_SOURCE)
    execute(scenario.test, ENUM_TARGET)
    project = scenario.project()
    source, target = project.environment("production"), project.environment("test")
    before = query(scenario.test, "SELECT count(*) FROM object_models")
    from dbenv.errors import OperationError

    broken = ["public.object_models=1 / (id - id) = 1"]  # fails while copying, after the DDL
    with pytest.raises(OperationError, match="division by zero; its tables were left as they"):
        commands.sync(project, source, target, where=broken)
    assert query(scenario.test, "SELECT count(*) FROM object_models") == before
    columns = "SELECT count(*) FROM pg_attribute WHERE attrelid = 'object_models'::regclass"
    assert query(scenario.test, columns + " AND attname = 'notes'") == [(0,)]  # rolled back
    labels = "SELECT enum_range(NULL::public.model_kind)::text"
    assert query(scenario.test, labels) == [("{chat,embedding,vision}",)]  # additive, kept
    commands.sync(project, source, target)
    assert query(scenario.test, "SELECT DISTINCT kind::text FROM object_models") == [("vision",)]
