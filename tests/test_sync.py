"""Sync end to end on seed 002's scenario: production -> test with the reference profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbenv.commands import sync as commands
from dbenv.errors import GuardRefusal, UsageError
from sync_support import SALT, Scenario, make_scenario, query, table_state


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def run(scenario: Scenario, **kwargs: Any) -> commands.SyncResult:
    project = scenario.project()
    return commands.sync(
        project, project.environment("production"), project.environment("test"), **kwargs
    )


def test_reference_profile_mirrors_and_masks(scenario: Scenario) -> None:
    result = run(scenario)
    mirrored = {t.table: t for t in result.tables if t.policy == "mirror"}
    assert set(mirrored) == {"public.object_models", "public.prompts", "project_acme.documents"}
    assert all(t.verified for t in mirrored.values())
    assert mirrored["public.prompts"].rows == 200
    prod, test = table_state(scenario.production), table_state(scenario.test)
    assert test["object_models"] == prod["object_models"]
    # structure-only tables keep the test rows
    assert [r[0] for r in query(scenario.test, "SELECT name FROM clients")] == ["Test Client"]
    assert query(scenario.test, "SELECT count(*) FROM llm_usage") == [(1,)]
