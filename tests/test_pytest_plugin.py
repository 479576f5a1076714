"""The pytest plugin, run by pytester on example test files against the suite's servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_plugin_support import PluginProject, drop_project_databases, make_project

from conftest import PgServer

PLUGIN = ("-p", "dbenv")


@pytest.fixture(autouse=True)
def _no_declared_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester, pg_server: PgServer) -> Iterator[PluginProject]:
    made = make_project(pytester.path, pg_server.dsn_for, pg_server.dsn)
    try:
        yield made
    finally:
        drop_project_databases(made)


ISOLATION = """
import pytest
from sqlalchemy import func, select
from models import User


def test_insert_with_db(db):
    db.execute("INSERT INTO users (name) VALUES ('a')")
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 1


def test_invisible_next(db):
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_commit_through_session(sa_session):
    sa_session.add(User(name="b"))
    sa_session.commit()
    assert sa_session.scalar(select(func.count()).select_from(User)) == 1


def test_commit_isolated(sa_session, db):
    assert sa_session.scalar(select(func.count()).select_from(User)) == 0
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
"""


def test_a_row_from_one_test_is_invisible_in_the_next(
    pytester: pytest.Pytester, project: PluginProject
) -> None:
    pytester.makepyfile(test_isolation=ISOLATION)
    result = pytester.runpytest(*PLUGIN, "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    assert project.query(project.test_database, "SELECT count(*) FROM users") == [(0,)]
