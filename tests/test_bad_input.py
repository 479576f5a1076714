"""Bad input: one sentence, the right exit code, no traceback, nothing changed.

Each case comes from a tester's run of malformed configurations and command lines
(issue 16). A project with a built and filled ``test`` database runs each bad
command line; the database's state (catalog, rows, stamp) must be as before.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from lifecycle_support import database_state, drop_database, unique
from servers import PgServer, RedisServer

SCHEMA = """\
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers(id));
"""


@dataclass
class Site:
    root: Path
    dsn: str
    database: str

    def run(self, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, ["--project", str(self.root), *argv], env=env)
        return result.exit_code, result.stdout, result.stderr

    def state(self) -> dict[str, object]:
        """Catalog, rows and stamp; the journal may record the failed attempt (by design)."""
        state = database_state(self.dsn)
        state["counts"].pop("dbenv.journal", None)
        return state


def _toml(dsn: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        [project]
        name = "badinput"

        [environments.test]
        tier = "disposable"
        schema_source = "sql:schema.sql"
        database_url = "{dsn}"
        """) + textwrap.dedent(extra)


@pytest.fixture
def site(pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    for name in ("APP_ENV", "ENVIRONMENT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    database = unique("badinput_test")
    dsn = pg_server.dsn_for(database)
    root = tmp_path / "project"
    root.mkdir()
    (root / "schema.sql").write_text(SCHEMA)
    (root / "dbenv.toml").write_text(_toml(dsn))
    site = Site(root, dsn, database)
    code, out, err = site.run("provision", "test")
    assert code == 0, out + err
    code, out, err = site.run("reset", "test")
    assert code == 0, out + err
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO customers VALUES (1, 'kept'), (2, 'also')")
        conn.execute("INSERT INTO orders VALUES (1, 1)")
    try:
        yield site
    finally:
        drop_database(pg_server.dsn, database)


def _one_sentence(err: str) -> str:
    """The single ``dbenv:`` line of stderr (progress lines may precede it)."""
    assert "Traceback" not in err and "During handling" not in err
    lines = [line for line in err.splitlines() if line.startswith("dbenv:")]
    assert len(lines) == 1, err
    assert "None" not in lines[0] and "internal error" not in lines[0]
    return lines[0]


CASES = {
    "keep without data-only": (["reset", "test", "--keep", "customers"], 2, "data-only"),
    "keep an unknown table": (
        ["reset", "test", "--data-only", "--keep", "custmers"],
        2,
        "--keep names no table",
    ),
    "restore -j 0": (["restore", "missing.dump", "test", "-j", "0"], 2, "-j/--jobs must be"),
    "restore absurd -j": (["restore", "missing.dump", "test", "-j", "100000"], 2, "from 1 to"),
    "dump -j 0": (["dump", "test", "-j", "0", "-o", "out.dump"], 2, "-j/--jobs must be"),
    "dump absurd -j": (["dump", "test", "-j", "100000", "-o", "out.dump"], 2, "from 1 to"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_command_lines(site: Site, case: str) -> None:
    argv, exit_code, says = CASES[case]
    before = site.state()
    code, _, err = site.run(*argv)
    assert code == exit_code, err
    assert says in _one_sentence(err)
    assert site.state() == before
    assert not (site.root.parent / "out.dump").exists()


def test_an_unknown_app_env_is_bad_configuration_not_a_refusal(site: Site) -> None:
    before = site.state()
    code, _, err = site.run("reset", "test", env={"APP_ENV": "tset"})
    assert code == 2, err
    line = _one_sentence(err)
    assert "unknown environment 'tset'" in line and "Did you mean 'test'" in line
    assert site.state() == before


def test_a_sql_syntax_error_is_exit_2_naming_file_and_line(site: Site) -> None:
    (site.root / "schema.sql").write_text(SCHEMA + "\nCREATE TABLE broken (id int;\n")
    before = site.state()
    code, _, err = site.run("reset", "test")
    assert code == 2, err
    line = _one_sentence(err)
    assert f"{site.root / 'schema.sql'}:4:" in line and "syntax error" in line
    assert site.state() == before


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ('redis_url = "redis://127.0.0.1:1"\nredis_db = -1\n', "redis_db' in "),
        ('env_files = ["a-directory"]\n', "is a directory"),
    ],
)
def test_bad_settings_are_refused_before_anything(site: Site, extra: str, says: str) -> None:
    (site.root / "a-directory").mkdir()
    (site.root / "dbenv.toml").write_text(_toml(site.dsn, extra))
    before = site.state()
    for argv in (["config", "show", "test"], ["reset", "test"]):
        code, _, err = site.run(*argv)
        assert code == 2, err
        assert says in _one_sentence(err)
    assert site.state() == before


def test_a_redis_db_the_server_lacks_is_refused_before_the_rebuild(
    site: Site, redis_server: RedisServer
) -> None:
    extra = f'redis_url = "{redis_server.url}"\nredis_db = 99\n'
    (site.root / "dbenv.toml").write_text(_toml(site.dsn, extra))
    before = site.state()
    for argv in (["reset", "test"], ["flush", "test"]):
        code, _, err = site.run(*argv)
        assert code == 2, err
        assert "uses Redis db 99, which its Redis" in _one_sentence(err)
    assert site.state() == before  # not rebuilt: the template clone would show


def test_a_missing_project_table_names_the_file_without_a_line(tmp_path: Path) -> None:
    (tmp_path / "dbenv.toml").write_text('[environments.test]\ntier = "disposable"\n')
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "config", "show", "test"])
    assert result.exit_code == 2
    line = _one_sentence(result.stderr)
    assert f"{tmp_path / 'dbenv.toml'}: the project has no name" in line
