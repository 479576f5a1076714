"""The guard matrix: every combination of the five checks and the override.

operation × tier × stamp state × name pattern × shared with a protected
environment × process environment × override. Each cell predicts the outcome
from DESIGN §3; a refused cell must raise ``GuardRefusal`` naming the first failing
check and leave the database exactly as it was (catalog, row counts, database
settings); a safe cell must run its body and leave an ``ok`` journal row.
The databases are built once per stamp state; cells only add journal rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv import guard
from dbenv.config import Project
from dbenv.errors import GuardRefusal
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    drop_marker,
    journal_rows,
    load,
    stamp_as,
    unique,
    write_project,
)

STATES = ("ok", "absent", "empty", "other-environment", "other-project", "copy")
OPERATIONS = ("reset", "stamp")
TIERS = ("disposable", "protected")
PATTERNS = ("match", "mismatch")
SHARED = ("own", "shared")
DECLARED = ("agree", "disagree")
OVERRIDES = ("none", "right", "wrong")


def expected_refusal(
    operation: str,
    tier: str,
    state: str,
    pattern: str,
    shared: str,
    declared: str,
    override: str,
) -> str | None:
    """The check a cell must be refused by, or None when it must run."""
    failing = []
    if operation != "stamp" and tier == "protected":
        failing.append("tier")
    labelling_ok = operation == "stamp" and (
        state == "empty" or (state == "absent" and tier == "protected")
    )
    if state != "ok" and not labelling_ok:
        failing.append("stamp")
    if pattern == "mismatch":
        failing.append("pattern")
    if shared == "shared":
        failing.append("shared")
    if declared == "disagree" and operation != "stamp":
        failing.append("declared")
    if override == "wrong":
        return "override"
    if failing and override != "right":
        return failing[0]
    return None


@pytest.fixture(scope="module")
def databases(pg_server: Any) -> Iterator[dict[str, str]]:
    """One database per stamp state, named so that 'test' matches."""
    admin = pg_server.dsn
    names = {state: unique(f"gm_{state.replace('-', '_')}_test") for state in STATES}
    for state, name in names.items():
        create_database(admin, name)
        dsn = pg_server.dsn_for(name)
        if state != "empty":
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE app_rows (id int PRIMARY KEY, note text)")
                conn.execute("INSERT INTO app_rows VALUES (1, 'kept'), (2, 'kept')")
        if state == "ok":
            stamp_as(dsn, "app", "test")
        elif state == "other-environment":
            stamp_as(dsn, "app", "development")
        elif state == "other-project":
            stamp_as(dsn, "elsewhere", "test")
        elif state == "copy":
            stamp_as(dsn, "app", "production", tier="protected")
            drop_marker(dsn)
    yield {state: pg_server.dsn_for(name) for state, name in names.items()}
    for name in names.values():
        drop_database(admin, name)


CELLS = list(itertools.product(OPERATIONS, TIERS, STATES, PATTERNS, SHARED, DECLARED, OVERRIDES))


@pytest.fixture(scope="module")
def observers(databases: dict[str, str]) -> Iterator[dict[str, psycopg.Connection[Any]]]:
    """One connection per database for the before/after comparisons."""
    conns = {state: psycopg.connect(dsn, autocommit=True) for state, dsn in databases.items()}
    yield conns
    for conn in conns.values():
        conn.close()


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], Project]:
    """Projects by (state, tier, pattern, shared, declared), written and loaded once each."""
    return {}


def project_for(
    projects: dict[tuple[str, ...], Project],
    tmp: pytest.TempPathFactory,
    dsn: str,
    key: tuple[str, str, str, str, str],
) -> Project:
    if key not in projects:
        _, tier, pattern, shared, declared = key
        root = tmp.mktemp("cell")
        elsewhere = dsn.rsplit("/", 1)[0] + "/gm_production_elsewhere"
        write_project(
            root,
            "app",
            {
                "test": {
                    "tier": tier,
                    "database_url": dsn,
                    "guard_pattern": "test" if pattern == "match" else "^nomatch$",
                },
                "production": {"database_url": dsn if shared == "shared" else elsewhere},
            },
        )
        projects[key] = load(root, {"APP_ENV": "test" if declared == "agree" else "production"})
    return projects[key]


@pytest.mark.parametrize(
    ("operation", "tier", "state", "pattern", "shared", "declared", "override"), CELLS
)
def test_guard_cell(
    databases: dict[str, str],
    observers: dict[str, psycopg.Connection[Any]],
    projects: dict[tuple[str, ...], Project],
    tmp_path_factory: pytest.TempPathFactory,
    operation: str,
    tier: str,
    state: str,
    pattern: str,
    shared: str,
    declared: str,
    override: str,
) -> None:
    dsn = databases[state]
    observer = observers[state]
    database = dsn.rsplit("/", 1)[1]
    key = (state, tier, pattern, shared, declared)
    project = project_for(projects, tmp_path_factory, dsn, key)
    env = project.environment("test")
    given = {"none": None, "right": database, "wrong": f"not_{database}"}[override]
    refusal = expected_refusal(operation, tier, state, pattern, shared, declared, override)
    before = database_state(observer)
    journal_before = len(journal_rows(observer))

    if refusal is not None:
        with (
            pytest.raises(GuardRefusal) as caught,
            guard.destructive(project, env, operation, override=given),
        ):
            pytest.fail("the body of a refused operation ran")
        assert caught.value.check == refusal
        assert caught.value.exit_code == 3
        assert database_state(observer) == before
        return

    ran = []
    with guard.destructive(project, env, operation, override=given) as guarded:
        guarded.conn.execute("SELECT 1")
        ran.append(True)
    assert ran == [True]
    rows = journal_rows(observer)
    assert len(rows) == journal_before + 1
    last = rows[-1]
    assert (last[0], last[1], last[2]) == (operation, "test", "ok")
    overridden = (
        override == "right"
        and expected_refusal(operation, tier, state, pattern, shared, declared, "none") is not None
    )
    assert (last[3] == database) is overridden
    assert (last[4] is not None) is (overridden and operation != "stamp")
    if last[4] is not None:
        assert Path(last[4]).is_file()
    after = database_state(observer)
    assert after["counts"].get("public.app_rows") == before["counts"].get("public.app_rows")
