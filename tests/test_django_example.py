"""examples/django-app: Django's migrations build test's template (``cmd:python manage.py
migrate``), pytest-django's tests run on dbenv's database, and neither a protected
environment nor Django's own test-database naming can be reached.

The example runs as a user runs it: ``python -m pytest`` in its directory, Django,
pytest-django and dbenv's plugin loaded by their entry points. It runs from a copy
whose dbenv.toml names the suite's server (and databases of this test's own), so
development too is a real database there, and the example stays as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from servers import PgServer

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "django-app"
BIN = str(Path(sys.executable).parent)  # python, manage.py's interpreter, and dbenv


class Project:
    """The example's databases on the suite's server, named for this test alone."""

    def __init__(self, pg_server: PgServer, root: Path) -> None:
        self.pg = pg_server
        self.root = root
        self.tag = f"dj{uuid.uuid4().hex[:8]}"
        self.test_db = f"{self.tag}_test"
        self.dev_db = f"{self.tag}_dev"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
        text = (root / "dbenv.toml").read_text()
        for name in ("dev", "test"):
            before = f"postgresql://notes@localhost:5432/notes_{name}"
            assert before in text
            text = text.replace(before, pg_server.dsn_for(f"{self.tag}_{name}"))
        (root / "dbenv.toml").write_text(text)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "DBENV_"))
            and k not in ("APP_ENV", "ENVIRONMENT", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")
        }
        env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.env = env

    def name_development(self, database: str) -> None:
        path = self.root / "dbenv.toml"
        path.write_text(path.read_text().replace(self.dev_db, database))

    def run(self, *argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=self.root, env=self.env | extra, capture_output=True, text=True, timeout=300
        )

    def pytest(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        # no cache directory and no bytecode: the run leaves the example as it is
        return self.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, **extra)

    def databases(self) -> list[str]:
        with psycopg.connect(self.pg.dsn) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s "
                "ORDER BY 1",
                [f"%{self.tag}%", "dbenv_tpl_notes_%"],
            ).fetchall()
        return [r[0] for r in rows]

    def query(self, database: str, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.pg.dsn_for(database)) as conn:
            return conn.execute(sql).fetchall()

    def drop(self) -> None:
        with psycopg.connect(self.pg.dsn, autocommit=True) as conn:
            for name in self.databases():
                if self.tag in name:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def project(pg_server: PgServer, tmp_path: Path) -> Iterator[Project]:
    made = Project(pg_server, tmp_path / "django-app")
    try:
        yield made
    finally:
        made.drop()


def test_pytest_django_runs_on_dbenvs_database_built_by_manage_py_migrate(
    project: Project,
) -> None:
    first = project.pytest("-v")
    assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
    assert "5 passed" in first.stdout
    assert "django-" in next(li for li in first.stdout.splitlines() if li.startswith("plugins:"))
    # dbenv's test database, from the template migrate built; Django made no test_<NAME>
    assert project.test_db in project.databases()
    assert not [d for d in project.databases() if d.startswith("test_")]
    tables = project.query(
        project.test_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    )
    # notes_note, django_content_type, auth_* (six), django_migrations
    assert tables == [(9,)]
    # a second run reuses it: the template is not rebuilt, manage.py does not run
    templates = [d for d in project.databases() if d.startswith("dbenv_tpl_")]
    again = project.pytest("-q", PATH="/nonexistent")  # no python for a cmd: build to find
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    assert "5 passed" in again.stdout
    assert [d for d in project.databases() if d.startswith("dbenv_tpl_")] == templates
    # pytest-django's --create-db rebuilds: manage.py must run, and cannot be found here
    rebuilt = project.pytest("-q", "--create-db", PATH="/nonexistent")
    assert rebuilt.returncode != 0
    assert "python manage.py migrate --noinput` for 'test' could not be started" in rebuilt.stdout


def test_xdist_workers_each_get_their_own_clone(project: Project) -> None:
    done = project.pytest("-q", "-n", "2")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "5 passed" in done.stdout
    names = project.databases()
    assert {f"{project.test_db}_gw0", f"{project.test_db}_gw1"} <= set(names)
    assert not [d for d in names if d.startswith("test_")]


def test_a_protected_environment_is_refused_and_left_alone(project: Project) -> None:
    named = project.pytest("-q", "--dbenv-env", "development")
    declared = project.pytest("-q", APP_ENV="development")
    for done in (named, declared):
        assert done.returncode != 0
        assert "passed" not in done.stdout.splitlines()[-1]
        assert "dbenv: refused" in done.stdout, done.stdout
        assert "Traceback" not in done.stdout
    assert "'development' is protected" in named.stdout
    # nothing was made for development, nor a test database of Django's naming
    assert project.dev_db not in project.databases()
    assert not [d for d in project.databases() if d.startswith("test_")]


def test_djangos_test_database_name_cannot_be_a_protected_database(project: Project) -> None:
    # development's database is exactly what Django's runner would create and drop
    # for test (test_<NAME>): refused before anything connects
    victim = f"test_{project.test_db}"
    with psycopg.connect(project.pg.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{victim}"')
    try:
        project.query(victim, "SELECT 1")
        with psycopg.connect(project.pg.dsn_for(victim), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
        project.name_development(victim)
        refused = f"Django's test database for 'test' would be '{victim}'"
        # Django's own runner (keepdb off, --noinput: it drops an existing test database)
        done = project.run(
            sys.executable, "manage.py", "test", "--noinput",
            DJANGO_SETTINGS_MODULE="shop.settings_test",
        )  # fmt: skip
        assert done.returncode != 0 and refused in done.stderr, done.stdout + done.stderr
        # pytest with --reuse-db (keepdb) and with --create-db
        for flag in ("--reuse-db", "--create-db"):
            done = project.pytest("-q", flag)
            assert done.returncode != 0 and refused in done.stderr, done.stdout + done.stderr
        assert project.query(victim, "SELECT id FROM kept") == [(1,)]
    finally:
        with psycopg.connect(project.pg.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{victim}" WITH (FORCE)')


def test_dbenv_reset_and_run_use_the_apps_own_migrations(project: Project) -> None:
    provision = project.run("dbenv", "provision", "test")
    assert provision.returncode == 0, provision.stdout + provision.stderr
    reset = project.run("dbenv", "reset", "test")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    rows = project.query(project.test_db, "SELECT count(*) FROM django_migrations")
    assert rows[0][0] > 1  # contenttypes, auth, notes
    # development is protected: built the app's way, under dbenv run
    with psycopg.connect(project.pg.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{project.dev_db}"')
    done = project.run(
        "dbenv", "run", "development", "--", "python", "manage.py", "migrate"
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert project.query(project.dev_db, "SELECT to_regclass('notes_note')::text") == [
        ("notes_note",)
    ]
