"""Prefix isolation (seed 000): resetting and seeding test never touches production.

One database holds production's ``Agents``, ``Sessions``, ``Conversations`` and the
test environment's ``test_`` copies (examples/agents). Production's objects are
snapshotted — catalog (columns, indexes, constraints, enum labels, relfilenodes),
row counts, row checksums and sequence positions — before every reset and seed of
test and compared after: they must be identical.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from dbenv.lifecycle.reset import reset
from dbenv.lifecycle.seed import seed
from dbenv.safety.stamp import write_stamp
from dbenv.sources.schema import load_schema_source, physical_metadata
from lifecycle_support import create_database, load, write_project
from reset_support import drop_project_databases, unique

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "agents"

SNAPSHOT = """
SELECT c.relname, c.relkind::text, c.relfilenode::text,
  coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
            FROM pg_attribute a LEFT JOIN pg_attrdef d
              ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''),
  coalesce((SELECT string_agg(pg_get_constraintdef(k.oid), '; ' ORDER BY k.conname)
            FROM pg_constraint k WHERE k.conrelid = c.oid), ''),
  coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY i.indexrelid)
            FROM pg_index i WHERE i.indrelid = c.oid), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND left(c.relname, 5) <> 'test_'
ORDER BY 1
"""


def production_snapshot(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        catalog = conn.execute(SNAPSHOT).fetchall()
        enums = conn.execute(
            "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
            "JOIN pg_enum e ON e.enumtypid = t.oid WHERE left(t.typname, 5) <> 'test_' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        data = {}
        for name, kind, *_ in catalog:
            if kind == "r":
                data[name] = conn.execute(
                    f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) "
                    f'FROM "{name}" t'
                ).fetchone()
            elif kind == "S":
                data[name] = conn.execute(f'SELECT last_value, is_called FROM "{name}"').fetchone()
    return {"catalog": catalog, "enums": enums, "data": data}


@pytest.fixture
def agents(tmp_path: Path, pg_server: Any) -> Any:
    module = unique("agents_models")
    shutil.copy(EXAMPLE / "models.py", tmp_path / f"{module}.py")
    shutil.copytree(EXAMPLE / "seeds", tmp_path / "seeds")
    database = unique("agents_shared")
    create_database(pg_server.dsn, database)
    url = pg_server.dsn_for(database)
    source = f"sqlalchemy:{module}:Base.metadata"
    name = unique("agents")
    write_project(
        tmp_path,
        name,
        {
            "production": {
                "database_url": url,
                "schema_source": source,
                "tenants": ["test"],  # seed 000: test lives in production's database
            },
            "test": {
                "tier": "disposable",
                "isolation": "prefix",
                "prefix": "test_",
                "database_url": url,
                "schema_source": source,
                "shares_with": ["production"],
                "seed_files": ["seeds/agents.json", "seeds/Conversations.csv"],
            },
        },
    )
    project = load(tmp_path)
    production = project.environment("production")
    engine = sa.create_engine(url.replace("postgresql", "postgresql+psycopg", 1))
    physical_metadata(load_schema_source(project, production), production).create_all(engine)
    engine.dispose()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO "Agents" (name, model) VALUES ('live-1', 'm'), ('live-2', 'm')"""
        )
        conn.execute("""INSERT INTO "Sessions" (agent_id, status) VALUES (1, 'active')""")
        conn.execute(
            """INSERT INTO "Conversations" (session_id, role, content)
               VALUES (1, 'user', 'real customer data')"""
        )
        write_stamp(conn, name, production)
        write_stamp(conn, name, project.environment("test"))
    yield project, url
    drop_project_databases(pg_server.dsn, project, database)


def test_reset_and_seed_of_test_leave_production_exactly_as_it_was(agents: Any) -> None:
    project, url = agents
    env = project.environment("test")
    before = production_snapshot(url)
    result = reset(project, env)
    assert result.method == "prefix"
    assert result.tables == ("test_Agents", "test_Conversations", "test_Sessions")
    assert production_snapshot(url) == before
    seeded = seed(project, env)
    assert seeded.changed == {"test_Agents": 2, "test_Sessions": 2, "test_Conversations": 3}
    assert production_snapshot(url) == before
    assert reset(project, env, data_only=True).emptied
    assert production_snapshot(url) == before
    seed(project, env)
    reset(project, env)
    assert production_snapshot(url) == before
    with psycopg.connect(url) as conn:
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'test_Sessions' ORDER BY 1"
        ).fetchall()
        enum = conn.execute("SELECT 1 FROM pg_type WHERE typname = 'test_session_status'")
        assert enum.fetchone() == (1,)
    assert ("test_ix_sessions_agent_status",) in indexes


def test_a_production_object_depending_on_a_test_table_stops_the_reset(agents: Any) -> None:
    project, url = agents
    env = project.environment("test")
    reset(project, env)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('CREATE VIEW "AgentReport" AS SELECT count(*) FROM "test_Agents"')
    before = production_snapshot(url)
    from dbenv.errors import OperationError

    with pytest.raises(OperationError, match="rebuilding 'test'"):
        reset(project, env)
    assert production_snapshot(url) == before
