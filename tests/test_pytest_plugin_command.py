"""The pytest plugin with a ``cmd:`` schema source: reused across runs, the command run
only when its inputs change (issue 19)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_plugin_support import PluginProject, drop_project_databases, make_project
from servers import PgServer

PLUGIN = ("-p", "dbenv")
SCHEMA = "CREATE TABLE users (id serial PRIMARY KEY, name text UNIQUE);\n"
REUSE = """
def test_prepared(dbenv_databases, db, request):
    target = dbenv_databases.target()
    print(f"REUSED={target.reused}")
    db.execute("INSERT INTO users (name) VALUES ('x')")
"""


@pytest.fixture(autouse=True)
def _no_declared_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester, pg_server: PgServer) -> Iterator[PluginProject]:
    from dbenv.stack.host import find_pg_binaries

    bindir = os.environ.get("DBENV_PG_BINDIR")
    psql = find_pg_binaries(bindir=Path(bindir) if bindir else None).tool("psql")
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn)
    toml = made.root / "dbenv.toml"
    command = (
        f"cmd:sh -c '{psql} -X -q -v ON_ERROR_STOP=1 -f schema.sql "
        '\\"$DATABASE_URL\\" && echo run >> runs.log\''
    )
    toml.write_text(
        toml.read_text().replace(
            'schema_source = "sqlalchemy:models:Base.metadata"',
            f'schema_source = "{command}"\nschema_inputs = ["schema.sql"]',
        )
    )
    (made.root / "schema.sql").write_text(SCHEMA)
    try:
        yield made
    finally:
        drop_project_databases(made)


def runs(root: Path) -> int:
    log = root / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_cmd_source_is_reused_across_runs_and_rebuilt_when_an_input_changes(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_reuse=REUSE)
    first = pytester.runpytest(*PLUGIN, "-s")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*REUSED=False*"])
    assert runs(project.root) == 1
    second = pytester.runpytest(*PLUGIN, "-s")
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["*REUSED=True*"])
    assert runs(project.root) == 1  # the command did not run again

    (project.root / "schema.sql").write_text(SCHEMA.replace("text UNIQUE", "text UNIQUE, age int"))
    pytester.makepyfile(
        test_changed="""
def test_new_column(db):
    db.execute("INSERT INTO users (name, age) VALUES ('y', 3)")
"""
    )
    third = pytester.runpytest(*PLUGIN, "-s")
    third.assert_outcomes(passed=2)
    third.stdout.fnmatch_lines(["*REUSED=False*"])
    assert runs(project.root) == 2
