"""The plugin on the project `dbenv init` writes: the local stack, roles that are not superusers.

The environment's role is what reads the reuse key on the next run, while on
PostgreSQL 15 and later only the superuser may stamp a database: the plugin
must leave the key readable to the role (issue 15.8: the second `pytest` failed
with "permission denied for table pytest_state").
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbenv.commands.config import init
from dbenv.errors import BinariesNotFound
from dbenv.stack.host import find_pg_binaries
from dbenv.stack.local import LocalStack
from pytest_plugin_support import MODELS
from servers import missing

PLUGIN = ("-p", "dbenv")

REUSE = """
def test_prepared(dbenv_databases, db):
    target = dbenv_databases.target()
    user = db.execute("SELECT current_user").fetchone()[0]
    print(f"REUSED={target.reused} USER={user}")
    db.execute("INSERT INTO users (name) VALUES ('x')")
    assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)
"""


@pytest.fixture(autouse=True)
def _clean_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in sys.modules if n == "models"]:
        del sys.modules[name]
    yield


@pytest.fixture
def stack_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The local stack's data directory (reachable by the server's user), stopped after."""
    try:
        find_pg_binaries()
    except BinariesNotFound as error:
        missing(str(error))
    data = Path(tempfile.mkdtemp(prefix="dbenv-plugin-init-"))
    data.chmod(0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(data / "cache"))  # no initdb cache in ~
    yield data / "stack"
    LocalStack(data / "stack").stop()
    shutil.rmtree(data, ignore_errors=True)


def _init_project(root: Path, data_dir: Path) -> str:
    """`dbenv init` in ``root``, then the two edits its comments ask for."""
    init(root, name="initproj")
    path = root / "dbenv.toml"
    text = path.read_text()
    text = text.replace('data_dir = ".dbenv"', f'data_dir = "{data_dir}"')
    text = text.replace(
        '# schema_source = "sqlalchemy:initproj.models:Base.metadata"',
        'schema_source = "sqlalchemy:models:Base.metadata"',
    )
    assert 'schema_source = "sqlalchemy:models' in text and str(data_dir) in text
    path.write_text(text)
    (root / "models.py").write_text(MODELS)
    return text


def _admin(data_dir: Path, database: str) -> psycopg.Connection[tuple[object, ...]]:
    status = LocalStack(data_dir).status()
    assert status.urls is not None
    url = status.urls.postgres.replace("/postgres?", f"/{database}?")
    return psycopg.connect(url, autocommit=True)


def test_the_second_run_reuses_the_database_as_the_environments_role(
    pytester: pytest.Pytester, stack_dir: Path
) -> None:
    _init_project(pytester.path, stack_dir)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_reuse=REUSE)

    first = pytester.runpytest(*PLUGIN, "-s", "-p", "no:cacheprovider")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*REUSED=False USER=initproj_test*"])
    for _ in range(2):
        again = pytester.runpytest(*PLUGIN, "-s", "-p", "no:cacheprovider")
        again.assert_outcomes(passed=1)
        again.stdout.fnmatch_lines(["*REUSED=True USER=initproj_test*"])
        assert "permission denied" not in again.stdout.str()

    # a database labelled by an older dbenv (the key's table the superuser's alone)
    # is cloned again instead of failing, and left readable
    with _admin(stack_dir, "initproj_test") as conn:
        conn.execute("REVOKE ALL ON dbenv.pytest_state FROM initproj_test")
    healed = pytester.runpytest(*PLUGIN, "-s", "-p", "no:cacheprovider")
    healed.assert_outcomes(passed=1)
    healed.stdout.fnmatch_lines(["*REUSED=False USER=initproj_test*"])
    last = pytester.runpytest(*PLUGIN, "-s", "-p", "no:cacheprovider")
    last.stdout.fnmatch_lines(["*REUSED=True*"])
    with _admin(stack_dir, "initproj_test") as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
    assert row == (0,)


def test_a_server_error_in_setup_is_one_sentence_without_a_chained_traceback(
    pytester: pytest.Pytester, stack_dir: Path
) -> None:
    _init_project(pytester.path, stack_dir)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_reuse=REUSE)
    pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider").assert_outcomes(passed=1)
    # the role loses its database: the next run's reuse check is refused by the server
    with _admin(stack_dir, "initproj_test") as conn:
        conn.execute("REVOKE CONNECT ON DATABASE initproj_test FROM PUBLIC, initproj_test")
        conn.execute("ALTER DATABASE initproj_test OWNER TO postgres")
    result = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    text = result.stdout.str()
    assert "dbenv: " in text
    assert "During handling of the above exception" not in text
    assert "Traceback" not in text
