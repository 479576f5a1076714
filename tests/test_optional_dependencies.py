"""Dependencies an app may have at other versions, or not at all.

A missing optional dependency (the ``sqlalchemy`` extra) is one sentence naming the
extra, exit 2, nothing changed: run in a subprocess whose imports of SQLAlchemy and
Alembic fail (an import blocker at the process edge, as in a venv without the extra).
Typer's exits and usage errors keep their meaning across the declared Typer range
(``typer.TyperException`` exists only in the newer releases).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer

from dbenv.cli.app import TYPER_EXITS
from dbenv.errors import missing_dependency
from reset_support import drop_project_databases, make_project

# Runs dbenv's CLI with the modules named in argv[1] unimportable.
WITHOUT = """
import sys

blocked = set(sys.argv[1].split(","))


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
from dbenv.cli import main

sys.argv = ["dbenv", *sys.argv[2:]]
main()
"""


@pytest.fixture
def project(tmp_path: Path, pg_server: Any) -> Any:
    project, database, dsn = make_project(tmp_path, pg_server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    yield tmp_path, dsn
    drop_project_databases(pg_server.dsn, project, database)


def _dbenv_without(blocked: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", WITHOUT, blocked, "--project", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("reset", "test"),
        ("diff", "sqlalchemy:{module}:metadata", "test"),
    ],
)
def test_without_the_sqlalchemy_extra_the_sentence_names_it(project: Any, args: Any) -> None:
    root, dsn = project
    module = next(p.stem for p in root.glob("models_*.py"))
    done = _dbenv_without("sqlalchemy,alembic", root, *(a.format(module=module) for a in args))
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("dbenv:")]
    assert len(errors) == 1, done.stderr  # one sentence (after diff's progress lines)
    assert "SQLAlchemy is not installed" in errors[0]
    assert "pip install 'dbenv[sqlalchemy]'" in errors[0]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    with psycopg.connect(dsn) as conn:  # nothing changed: the table reset would drop is there
        assert conn.execute("SELECT to_regclass('kept') IS NOT NULL").fetchone() == (True,)


def test_only_optional_dependencies_are_called_missing_extras() -> None:
    found = missing_dependency(ModuleNotFoundError("no", name="sqlalchemy.ext.asyncio"))
    assert found is not None and found.exit_code == 2
    assert "pip install 'dbenv[sqlalchemy]'" in str(found)
    # a module of the app's own that is missing is the app's problem, not an extra
    assert missing_dependency(ModuleNotFoundError("no", name="app.settings")) is None


def test_typer_usage_errors_and_exits_keep_their_meaning() -> None:
    # typer.BadParameter derives from TyperException (vendored Click) or ClickException
    assert issubclass(typer.BadParameter, TYPER_EXITS)
    assert issubclass(typer.Exit, TYPER_EXITS) and issubclass(typer.Abort, TYPER_EXITS)
    assert not issubclass(ValueError, TYPER_EXITS)


def test_sqlalchemy_1_4_metadata_resets_and_engines_are_refused_in_one_sentence(
    project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLAlchemy 1.4 has no psycopg 3 dialect: a sqlalchemy: source still works (dbenv
    only renders its DDL), an engine is refused with one sentence. The version is faked
    here (the suite's venv has 2.x); a real 1.4 install behaves the same."""
    import sqlalchemy

    from dbenv.config import load_project
    from dbenv.errors import ConfigError
    from dbenv.integrations.sqlalchemy import create_engine
    from dbenv.lifecycle.reset import reset

    root, _ = project
    monkeypatch.setattr(sqlalchemy, "__version__", "1.4.54")
    loaded = load_project(project=root)
    result = reset(loaded, loaded.environment("test"))
    assert "users" in result.tables
    with pytest.raises(ConfigError) as refused:
        create_engine(loaded.environment("test"))
    message = str(refused.value)
    assert message.startswith("SQLAlchemy 1.4.54 is installed, but dbenv connects SQLAlchemy")
    assert "needs SQLAlchemy 2.0 or later" in message and refused.value.exit_code == 2
