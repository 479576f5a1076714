"""Schema builds with migrations whose env.py reads the app's settings (issue 15.5).

The migrations run in a child process with the environment's variables, its
database variables naming the database being built; the build is then checked
(tables present, Alembic at head, the live database unchanged) and a failed one
is never kept as a template. ``[environments.NAME.build]`` adds steps before
(SQL) and after (commands) the schema source.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.lifecycle.template import PREFIX
from lifecycle_support import load
from reset_support import count, drop_project_databases, make_project, tables_in

# An app's settings module and the env.py of alembic init's async template reduced
# to what matters: the URL comes from the settings, never from sqlalchemy.url.
SETTINGS = """
import os

if os.environ.get("APP_ENV") != "test":  # the app validates its environment at import
    raise RuntimeError("APP_ENV must be set")
DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
"""
ENV_FROM_SETTINGS = """
import sys

from alembic import context
from sqlalchemy import create_engine

import appsettings

engine = create_engine(appsettings.DATABASE_URL)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
engine.dispose()
"""
# an env.py whose URL is one the environment does not export: the live database
ENV_TO_LIVE = ENV_FROM_SETTINGS.replace("appsettings.DATABASE_URL", "os.environ['LIVE_URL']")
ENV_TO_LIVE = ENV_TO_LIVE.replace("import sys", "import os")

MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("plans", sa.Column("code", sa.String(10), primary_key=True))
    op.create_table(
        "boxes", sa.Column("id", sa.Integer, primary_key=True), schema="box_packing"
    )
"""

SEEDER = """
import os

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("INSERT INTO plans VALUES ('free'), ('pro')")
"""


@pytest.fixture(autouse=True)
def _clean_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", "LIVE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def made(tmp_path: Path, pg_server: Any) -> Any:
    created: list[tuple[Any, str]] = []

    def factory(env_py: str, *, build: str = "", revisions: bool = True) -> tuple[Any, str]:
        write_alembic(tmp_path, env_py, revisions=revisions)
        project, database, dsn = make_project(tmp_path, pg_server, source="alembic:alembic.ini")
        created.append((project, database))
        if build:
            with (tmp_path / "dbenv.toml").open("a") as toml:
                toml.write("\n[environments.test.build]\n" + textwrap.dedent(build))
            project = load(tmp_path)
        return project, dsn

    yield factory
    for project, database in created:
        drop_project_databases(pg_server.dsn, project, database)


def write_alembic(root: Path, env_py: str, *, revisions: bool = True) -> None:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (root / "migrations" / "env.py").write_text(textwrap.dedent(env_py))
    (root / "appsettings.py").write_text(textwrap.dedent(SETTINGS))
    if revisions:
        (versions / "0001_init.py").write_text(textwrap.dedent(MIGRATION))


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def templates(pg_server: Any, project: Any) -> list[str]:
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE left(datname, %s) = %s "
            "AND strpos(datname, %s) > 0",
            [len(PREFIX), PREFIX, project.name.lower()],
        ).fetchall()
    return [r[0] for r in rows]


PRE_AND_POST = """
before_sql = ["CREATE SCHEMA IF NOT EXISTS box_packing"]
after = ["{python} seed_plans.py"]
"""


def test_env_py_reading_the_apps_settings_builds_the_template_with_steps_around_it(
    made: Any, tmp_path: Path, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seed_plans.py").write_text(textwrap.dedent(SEEDER))
    project, dsn = made(ENV_FROM_SETTINGS, build=PRE_AND_POST.format(python=sys.executable))
    # this process already imported the app's settings naming another database: a build
    # in-process would migrate that one (the child process reads them afresh)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", pg_server.dsn_for("postgres"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import appsettings

    assert appsettings.DATABASE_URL.endswith("/postgres")
    result = invoke(tmp_path, "reset", "test", "--json")
    assert result.exit_code == 0, result.output
    assert tables_in(dsn) == ["alembic_version", "plans"]
    assert tables_in(dsn, "box_packing") == ["boxes"]
    assert count(dsn, "plans") == 2  # the seeder ran against the build
    assert len(templates(pg_server, project)) == 1
    with psycopg.connect(pg_server.dsn_for("postgres")) as conn:  # nothing went there
        found = conn.execute("SELECT to_regclass('public.plans')").fetchone()
    assert found == (None,)
    # the seeder's rows are the source's: a data-only reset puts them back
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM plans")
    assert invoke(tmp_path, "reset", "test", "--data-only").exit_code == 0
    assert count(dsn, "plans") == 2
    del sys.modules["appsettings"]


def test_a_schema_the_migrations_expect_is_a_pre_step(made: Any, tmp_path: Path) -> None:
    made(ENV_FROM_SETTINGS)
    missing = invoke(tmp_path, "reset", "test")
    assert missing.exit_code == 1
    assert 'schema "box_packing" does not exist' in missing.output
    assert "Traceback" not in missing.output

    with (tmp_path / "dbenv.toml").open("a") as toml:
        toml.write('\n[environments.test.build]\nbefore_sql = ["CREATE SCHEMA box_packing"]\n')
    assert invoke(tmp_path, "reset", "test").exit_code == 0


def test_a_build_that_creates_nothing_fails_and_is_never_kept(
    made: Any, tmp_path: Path, pg_server: Any
) -> None:
    project, dsn = made(ENV_FROM_SETTINGS, revisions=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")  # the live database stays as it was
    for _ in range(2):  # never cached: the second reset fails the same way
        result = invoke(tmp_path, "reset", "test")
        assert result.exit_code == 1, result.output
        text = " ".join(result.output.split())
        assert "building alembic:alembic.ini for 'test' produced no tables:" in text
        assert "Nothing was kept as a template." in text
        assert "Traceback" not in result.output
        assert templates(pg_server, project) == []
        assert tables_in(dsn) == ["kept"]


def test_a_sqlalchemy_source_without_tables_fails_naming_the_modules(
    tmp_path: Path, pg_server: Any
) -> None:
    body = "from sqlalchemy import MetaData\n\nmetadata = MetaData()\n"
    project, database, _ = make_project(tmp_path, pg_server, body=body)
    try:
        result = invoke(tmp_path, "reset", "test")
        assert result.exit_code == 1
        assert "produced no tables: the metadata holds no tables" in " ".join(result.output.split())
        assert templates(pg_server, project) == []
    finally:
        drop_project_databases(pg_server.dsn, project, database)


def test_an_env_py_that_migrates_the_live_database_is_detected(
    made: Any, tmp_path: Path, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, dsn = made(ENV_TO_LIVE, build='before_sql = ["CREATE SCHEMA box_packing"]\n')
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA box_packing")
    monkeypatch.setenv("LIVE_URL", dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    database = dsn.rsplit("/", 1)[1]
    assert f"changed its live database '{database}' instead of the database being built" in text
    assert "its env.py most likely connects by a setting of the app" in text
    assert templates(pg_server, project) == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ("befor_sql = []\n", "unknown key 'befor_sql' in [environments.test.build]"),
        ('after = "python seed.py"\n', "'environments.test.build.after' in"),
    ],
)
def test_build_keys_are_validated(made: Any, tmp_path: Path, build: str, message: str) -> None:
    made(ENV_FROM_SETTINGS)
    with (tmp_path / "dbenv.toml").open("a") as toml:
        toml.write("\n[environments.test.build]\n" + build)
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "dbenv.toml:" in result.output
    assert os.environ.get("DATABASE_URL") is None


PLAIN_MIGRATION = MIGRATION.replace(
    """    op.create_table(
        "boxes", sa.Column("id", sa.Integer, primary_key=True), schema="box_packing"
    )
""",
    "",
)


def test_dbenv_diff_builds_an_alembic_source_through_the_apps_settings(
    made: Any, tmp_path: Path
) -> None:
    made(ENV_FROM_SETTINGS)
    (tmp_path / "migrations" / "versions" / "0001_init.py").write_text(
        textwrap.dedent(PLAIN_MIGRATION)
    )
    # the scratch database is on test's server; the env.py needs APP_ENV=test to import
    result = invoke(tmp_path, "diff", "alembic:alembic.ini", "test", "--json")
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE public.plans" in result.output

    (tmp_path / "migrations" / "versions" / "0001_init.py").unlink()
    empty = invoke(tmp_path, "diff", "alembic:alembic.ini", "test")
    assert empty.exit_code == 1
    assert "produced no tables" in " ".join(empty.output.split())


def test_the_build_steps_are_part_of_the_templates_fingerprint(made: Any) -> None:
    from dataclasses import replace

    from dbenv.sources.schema import fingerprint

    project, _ = made(ENV_FROM_SETTINGS)
    env = project.environment("test")
    plain = fingerprint(project, env)
    before = fingerprint(project, replace(env, build_before_sql=("CREATE SCHEMA x",)))
    after = fingerprint(project, replace(env, build_after=("python seed.py",)))
    assert len({plain, before, after}) == 3


def test_a_before_sql_statement_that_is_wrong_is_a_configuration_error(
    made: Any, tmp_path: Path, pg_server: Any
) -> None:
    project, dsn = made(ENV_FROM_SETTINGS, build='before_sql = ["CREATE SCHEM box_packing"]\n')
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "build.before_sql of 'test' failed on 'CREATE SCHEM box_packing': syntax error" in text
    assert templates(pg_server, project) == [] and tables_in(dsn) == []
