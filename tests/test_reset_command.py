"""The ``cmd:`` schema source (issue 19): the app's own tool builds the template.

Real tools against the suite's server: ``psql -f`` (from the PostgreSQL bindir
the stack uses) and a Python script using psycopg. The command runs with the
variables ``dbenv run`` gives, its database variables naming the database being
built; the template is reused (the command not run again) until the command or
an input changes; a failure, a timeout or bad configuration leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from dbenv.lifecycle.template import template_name
from dbenv.sources.schema import fingerprint
from dbenv.sources.scratch import SCRATCH
from lifecycle_support import load
from reset_support import drop_project_databases, make_project, tables_in

SCHEMA = "CREATE TABLE plans (code text PRIMARY KEY);\n"
# a shell line: psql gets the URL dbenv exported, and every run leaves a mark
PSQL = (
    'cmd:sh -c \'{psql} -X -q -v ON_ERROR_STOP=1 -f schema.sql "$DATABASE_URL"'
    " && echo run >> runs.log'"
)

BUILDER = """
import os
import sys

import psycopg

# the app's own variable, exported by [export] POSTGRES_URL = "url"
with psycopg.connect(os.environ["POSTGRES_URL"]) as conn:
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, env text)")
    conn.execute("INSERT INTO orders VALUES (1, %s)", [os.environ["APP_ENV"]])
with open("runs.log", "a") as log:
    log.write("run\\n")
"""


@pytest.fixture(autouse=True)
def _clean_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL", "POSTGRES_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def psql() -> str:
    from dbenv.stack.host import find_pg_binaries

    bindir = os.environ.get("DBENV_PG_BINDIR")
    return find_pg_binaries(bindir=Path(bindir) if bindir else None).tool("psql")


@pytest.fixture
def made(tmp_path: Path, pg_server: Any) -> Any:
    created: list[tuple[Any, str]] = []

    def factory(source: str, *, tail: str = "", **settings: object) -> tuple[Any, str]:
        project, database, dsn = make_project(tmp_path, pg_server, source=source, **settings)
        created.append((project, database))
        if tail:
            with (tmp_path / "dbenv.toml").open("a") as toml:
                toml.write("\n" + textwrap.dedent(tail))
            project = load(tmp_path)
        return project, dsn

    yield factory
    for project, database in created:
        drop_project_databases(pg_server.dsn, project, database)


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def runs(root: Path) -> int:
    log = root / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def leftovers(pg_server: Any, project: Any) -> list[str]:
    """Databases of the project's templates, finished or half-built."""
    stem = template_name(project.name, "")
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE left(datname, %s) = %s", [len(stem), stem]
        ).fetchall()
    return sorted(r[0] for r in rows)


def test_a_psql_command_builds_the_template_once_and_again_when_an_input_changes(
    made: Any, tmp_path: Path, psql: str, pg_server: Any
) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    project, dsn = made(PSQL.format(psql=psql), schema_inputs=["schema.sql"])
    first = invoke(tmp_path, "reset", "test")
    assert first.exit_code == 0, first.output
    assert tables_in(dsn) == ["plans"] and runs(tmp_path) == 1
    (built,) = leftovers(pg_server, project)

    again = invoke(tmp_path, "reset", "test")  # unchanged inputs: a clone, no command
    assert again.exit_code == 0, again.output
    assert runs(tmp_path) == 1 and leftovers(pg_server, project) == [built]

    (tmp_path / "schema.sql").write_text(SCHEMA + "CREATE TABLE boxes (id int);\n")
    changed = invoke(tmp_path, "reset", "test")
    assert changed.exit_code == 0, changed.output
    assert tables_in(dsn) == ["boxes", "plans"] and runs(tmp_path) == 2
    (rebuilt,) = leftovers(pg_server, project)  # the stale template was dropped
    assert rebuilt != built


def test_a_python_command_gets_the_apps_variables_pointed_at_the_build(
    made: Any, tmp_path: Path, pg_server: Any
) -> None:
    (tmp_path / "build_schema.py").write_text(textwrap.dedent(BUILDER))
    source = f"cmd:{sys.executable} build_schema.py"
    tail = '[export]\nPOSTGRES_URL = "url"\n'
    _, dsn = made(source, schema_inputs=["build_schema.py"], tail=tail)
    result = invoke(tmp_path, "reset", "test", "--json")
    assert result.exit_code == 0, result.output
    assert tables_in(dsn) == ["orders"]
    with psycopg.connect(dsn) as conn:  # the command saw what dbenv run gives
        assert conn.execute("SELECT env FROM orders").fetchall() == [("test",)]
    assert runs(tmp_path) == 1
    assert invoke(tmp_path, "reset", "test").exit_code == 0
    assert runs(tmp_path) == 1  # the template was reused


def test_a_url_variable_dbenv_does_not_point_is_refused_before_the_command_runs(
    made: Any, tmp_path: Path, pg_server: Any
) -> None:
    # POSTGRES_URL comes from .env naming the live database, and is not exported: the
    # command would build there (tests/test_example_heliotrope.py: drizzle-kit did)
    (tmp_path / "build_schema.py").write_text(textwrap.dedent(BUILDER))
    project, dsn = made(f"cmd:{sys.executable} build_schema.py", schema_inputs=["*.py"])
    (tmp_path / ".env").write_text(f"POSTGRES_URL={dsn}\n")
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "would get POSTGRES_URL from .env:1, a PostgreSQL URL dbenv does not point" in text
    assert 'POSTGRES_URL = "url" under [export]' in text
    assert not (tmp_path / "runs.log").exists() and tables_in(dsn) == []
    assert leftovers(pg_server, project) == []


def test_a_command_writing_where_dbenv_did_not_point_it_fails_and_keeps_nothing(
    made: Any, tmp_path: Path, pg_server: Any
) -> None:
    # the tool's own configuration names the live database: dbenv cannot see it before,
    # only after (the live database changed)
    builder = textwrap.dedent(BUILDER).replace(
        'os.environ["POSTGRES_URL"]', 'open("tool.url").read()'
    )
    (tmp_path / "build_schema.py").write_text(builder)
    project, dsn = made(f"cmd:{sys.executable} build_schema.py", schema_inputs=["*.py"])
    (tmp_path / "tool.url").write_text(dsn)
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "changed its live database" in text
    assert '[export] POSTGRES_URL = "url"' in text
    assert leftovers(pg_server, project) == []


def test_the_fingerprint_changes_exactly_when_the_command_or_an_input_does(
    made: Any, tmp_path: Path, psql: str
) -> None:
    (tmp_path / "drizzle").mkdir()
    (tmp_path / "drizzle" / "0000_init.sql").write_text(SCHEMA)
    (tmp_path / "drizzle" / "node_modules").mkdir()  # a tool's directory: never an input
    (tmp_path / "drizzle" / "node_modules" / "x.js").write_text("1")
    (tmp_path / "schema.ts").write_text("export const plans = 1;\n")
    (tmp_path / "README.md").write_text("not an input\n")
    project, _ = made("cmd:npx drizzle-kit push --force", schema_inputs=["drizzle/**", "*.ts"])
    env = project.environment("test")

    def now() -> str:
        return fingerprint(project, env)

    base = now()
    assert now() == base  # stable
    os.utime(tmp_path / "schema.ts", (1, 1))  # a new mtime, same content
    (tmp_path / "README.md").write_text("changed, but not an input\n")
    (tmp_path / "drizzle" / "node_modules" / "x.js").write_text("2")
    assert now() == base

    (tmp_path / "schema.ts").write_text("export const plans = 2;\n")
    content = now()
    (tmp_path / "drizzle" / "meta").mkdir()
    (tmp_path / "drizzle" / "meta" / "_journal.json").write_text("{}")  # a file more
    added = now()
    (tmp_path / "drizzle" / "meta" / "_journal.json").rename(tmp_path / "drizzle" / "j.json")
    renamed = now()  # same bytes, another path
    other = fingerprint(project, replace(env, schema_source="cmd:npx drizzle-kit migrate"))
    assert len({base, content, added, renamed, other}) == 5

    (tmp_path / "drizzle" / "j.json").rename(tmp_path / "drizzle" / "meta" / "_journal.json")
    assert now() == added  # back as it was: the same fingerprint


def test_schema_inputs_of_another_kind_join_its_fingerprint(made: Any, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "settings.py").write_text("SCHEMA = 'public'\n")  # what an env.py might read
    project, _ = made("sql:schema.sql", schema_inputs=["settings.py"])
    env = project.environment("test")
    base = fingerprint(project, env)
    without = fingerprint(project, replace(env, schema_inputs=()))
    (tmp_path / "settings.py").write_text("SCHEMA = 'app'\n")
    assert len({base, without, fingerprint(project, env)}) == 3


PG_EXPORTS = """
[export]
PGHOST = "host"
PGPORT = "port"
PGUSER = "user"
PGPASSWORD = "password"
PGDATABASE = "database"
"""


def test_dbenv_diff_builds_a_cmd_side_in_a_scratch_database(
    made: Any, tmp_path: Path, psql: str, pg_server: Any
) -> None:
    # psql without a shell: it reads the PG* variables, exported naming the scratch database
    (tmp_path / "schema.sql").write_text(SCHEMA)
    source = f"cmd:{psql} -X -q -v ON_ERROR_STOP=1 -f schema.sql"
    _, dsn = made(source, schema_inputs=["schema.sql"], tail=PG_EXPORTS)
    result = invoke(tmp_path, "diff", source, "test")
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE public.plans" in result.output
    assert tables_in(dsn) == []  # test's own database was only compared
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:  # the scratch one is gone
        scratch = conn.execute(
            "SELECT datname FROM pg_database WHERE left(datname, %s) = %s",
            [len(SCRATCH), SCRATCH],
        ).fetchall()
    assert scratch == []

    (tmp_path / "schema.sql").write_text("CREATE TABLE plans (code text PRIMARY KEY;\n")
    failed = invoke(tmp_path, "diff", source, "test")
    assert failed.exit_code == 1, failed.output
    assert 'syntax error at or near ";"' in failed.output
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE left(datname, %s) = %s",
            [len(SCRATCH), SCRATCH],
        ).fetchone()
    assert left == (0,)


def test_a_protected_environment_is_refused_before_the_command_runs(
    made: Any, tmp_path: Path, psql: str
) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    made(PSQL.format(psql=psql), schema_inputs=["schema.sql"], tier="protected")
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 3, result.output
    assert runs(tmp_path) == 0


# -- bad input ------------------------------------------------------------------------------


def test_a_cmd_source_without_inputs_is_bad_input(made: Any, tmp_path: Path) -> None:
    made("cmd:true")
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "environment 'test' has a cmd: schema_source but no schema_inputs" in text
    assert "schema_inputs = [" in text and "Traceback" not in result.output


def test_a_glob_matching_nothing_is_bad_input_naming_it(made: Any, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    made("cmd:true", schema_inputs=["schema.sql", "drizzle/**"])
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2
    assert "has 'drizzle/**', which matches no file" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("source", "inputs", "isolation", "said"),
    [
        ("cmd:sh -c 'unbalanced", ["schema.sql"], "database", "does not parse"),
        ("cmd:   ", ["schema.sql"], "database", "nothing follows 'cmd:'"),
        ("cmd:''", ["schema.sql"], "database", "the command is empty"),
        ("cmd:true", ["/etc/hostname"], "database", "an absolute path"),
        ("cmd:true", ["schema.sql"], "schema", "database isolation only"),
        ("cmd:no-such-tool-dbenv --x", ["schema.sql"], "database", "could not be started"),
    ],
)
def test_bad_cmd_sources_are_one_sentence_and_exit_2(
    made: Any,
    tmp_path: Path,
    pg_server: Any,
    source: str,
    inputs: list[str],
    isolation: str,
    said: str,
) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    extra: dict[str, object] = {"isolation": isolation}
    if isolation == "schema":
        extra["schema"] = "app"
    project, _ = made(source, schema_inputs=inputs, **extra)
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert leftovers(pg_server, project) == []


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("schema_timeout = -1", "environments.test.schema_timeout"),
        ('schema_timeout = "5m"', "environments.test.schema_timeout"),
        ("schema_timeout = nan", "environments.test.schema_timeout"),
        ('schema_inputs = [""]', "environments.test.schema_inputs"),
        ('schema_inputs = "schema.sql"', "environments.test.schema_inputs"),
    ],
)
def test_bad_schema_timeout_and_inputs_values_are_exit_2(
    made: Any, tmp_path: Path, line: str, where: str
) -> None:
    made("cmd:true", schema_inputs=["dbenv.toml"])
    path = tmp_path / "dbenv.toml"
    key = line.partition(" ")[0]
    kept = [ln for ln in path.read_text().splitlines() if not ln.startswith(key)]
    at = kept.index("[environments.test]") + 1
    path.write_text("\n".join([*kept[:at], line, *kept[at:]]) + "\n")
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2, result.output
    assert f"'{where}'" in result.output


def test_a_bad_project_wide_schema_timeout_is_exit_2(made: Any, tmp_path: Path) -> None:
    made("cmd:true", schema_inputs=["dbenv.toml"])
    path = tmp_path / "dbenv.toml"
    path.write_text(path.read_text().replace("[project]\n", "[project]\nschema_timeout = 0\n"))
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 2
    assert "'project.schema_timeout'" in result.output


CANARY = "cnry-cmd-pw-19a"
LOUD = """
import os
import sys

for n in range(30):
    print(f"line {n}", flush=True)
print("connecting to", os.environ["DATABASE_URL"], flush=True)
print("token", os.environ["API_TOKEN"], file=sys.stderr, flush=True)
sys.exit(3)
"""


def test_a_failing_command_shows_its_last_lines_without_secrets(
    made: Any, tmp_path: Path, pg_server: Any
) -> None:
    (tmp_path / "loud.py").write_text(textwrap.dedent(LOUD))
    (tmp_path / ".env").write_text(f"API_TOKEN={CANARY}-tok\n")
    project, dsn = made(f"cmd:{sys.executable} loud.py", schema_inputs=["loud.py"])
    path = tmp_path / "dbenv.toml"
    # the server trusts loopback: any password logs in, and this one must never show
    with_password = dsn.replace("postgres@", f"postgres:{CANARY}@")
    path.write_text(path.read_text().replace(dsn, with_password))
    result = invoke(tmp_path, "reset", "test")
    assert result.exit_code == 1, result.output
    text = result.output
    assert f"`{sys.executable} loud.py` for 'test' exited with 3." in " ".join(text.split())
    assert "line 29" in text and "line 12" in text and "line 11" not in text  # the last 20
    assert "connecting to postgresql://postgres:****@" in text
    assert "token ****" in text
    assert CANARY not in text
    assert leftovers(pg_server, project) == []


HANGS = """
import subprocess
import sys
import time

# a child of its own (as npx starts node): the timeout must kill it too
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open("grandchild.pid", "w").write(str(child.pid))
import psycopg, os
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute("CREATE TABLE half (id int)")
print("waiting for a lock", flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] not in ("Z", "X")


def test_a_command_that_never_exits_is_killed_with_its_children_and_nothing_is_left(
    made: Any, tmp_path: Path, pg_server: Any
) -> None:
    (tmp_path / "hangs.py").write_text(textwrap.dedent(HANGS))
    project, dsn = made(
        f"cmd:{sys.executable} hangs.py", schema_inputs=["hangs.py"], schema_timeout=2
    )
    try:
        result = invoke(tmp_path, "reset", "test")
        assert result.exit_code == 1, result.output
        text = " ".join(result.output.split())
        assert "did not finish in 2 s and was killed with every process it started" in text
        assert "raise schema_timeout" in text
        assert "Its last lines: waiting for a lock" in text  # where it waited
        assert leftovers(pg_server, project) == []  # the half-built database was dropped
        assert tables_in(dsn) == []
        grandchild = int((tmp_path / "grandchild.pid").read_text())
        assert not _alive(grandchild)
    finally:
        if (tmp_path / "grandchild.pid").exists():
            pid = int((tmp_path / "grandchild.pid").read_text())
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_without_createdb_the_command_rebuilds_the_environments_database_in_place(
    made: Any, tmp_path: Path, psql: str, pg_server: Any
) -> None:
    from reset_support import unique

    (tmp_path / "schema.sql").write_text(SCHEMA)
    role = unique("dbenv_nocreatedb")
    project, dsn = made(PSQL.format(psql=psql), schema_inputs=["schema.sql"])
    database = dsn.rsplit("/", 1)[1]
    try:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB'.encode())
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{role}"'.encode())
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"'.encode())
            for grant in (
                "SCHEMA dbenv",
                "ALL TABLES IN SCHEMA dbenv",
                "ALL SEQUENCES IN SCHEMA dbenv",
            ):
                conn.execute(f'GRANT ALL ON {grant} TO "{role}"'.encode())
            conn.execute("CREATE TABLE old_one (id int)")
        toml = tmp_path / "dbenv.toml"
        toml.write_text(toml.read_text().replace("postgres@", f"{role}@"))
        result = invoke(tmp_path, "reset", "test")
        assert result.exit_code == 0, result.output
        assert "may not create databases" in result.output
        assert tables_in(dsn) == ["plans"] and runs(tmp_path) == 1  # dropped, then built
        assert leftovers(pg_server, project) == []
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'.encode())
            conn.execute(f'DROP ROLE IF EXISTS "{role}"'.encode())
