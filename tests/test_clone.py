"""clone: the template path (same server, nobody connected, no masking) and the logical one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.commands import sync as commands
from dbenv.errors import GuardRefusal, UsageError
from dbenv.stamp import stamp_state
from sync_support import PROFILE, Scenario, make_scenario, query, table_state

CLONE_RULES = (
    PROFILE
    + """"public.clients.name" = "name"
"public.clients.email" = "email"
"public.clients.phone" = "phone"
"public.projects.name" = "keep"
"public.llm_usage.ip" = "null"
"""
)


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def clone(scenario: Scenario, **kwargs: Any) -> commands.CloneResult:
    project = scenario.project()
    return commands.clone(
        project, project.environment("production"), project.environment("test"), **kwargs
    )


def _stamped_as_test(scenario: Scenario) -> None:
    project = scenario.project()
    with psycopg.connect(scenario.test, autocommit=True) as conn:
        assert stamp_state(conn, "contentgen", project.environment("test")) == "ok"


def test_template_clone_when_nothing_is_connected(scenario: Scenario) -> None:
    result = clone(scenario, no_mask=True, override=scenario.names[1])
    assert result.method == "template" and result.strategy == "WAL_LOG"
    assert table_state(scenario.test) == table_state(scenario.production)
    _stamped_as_test(scenario)


def test_connected_source_falls_back_to_logical(scenario: Scenario) -> None:
    with psycopg.connect(scenario.production) as _busy:
        result = clone(scenario, no_mask=True, override=scenario.names[1])
        assert result.method == "logical"
        with pytest.raises(UsageError, match="other session"):
            clone(scenario, no_mask=True, override=scenario.names[1], method="template")
    assert table_state(scenario.test) == table_state(scenario.production)
    assert result.rows == sum(len(v) for v in table_state(scenario.production).values())
    indexes = query(scenario.test, "SELECT indexname FROM pg_indexes WHERE tablename = 'prompts'")
    assert ("prompts_model_idx",) in indexes
    fks = query(scenario.test, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
    assert fks == query(
        scenario.production, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
    )
    assert query(scenario.test, "SELECT nextval('clients_id_seq')") == [(41,)]
    _stamped_as_test(scenario)


def test_masked_clone_is_logical_and_leaks_nothing(scenario: Scenario) -> None:
    scenario.write(CLONE_RULES)
    result = clone(scenario)
    assert result.method == "logical" and result.masked
    assert query(scenario.test, "SELECT count(*) FROM clients") == [(40,)]
    text = "\n".join(
        r[0]
        for table in ("clients", "prompts", "llm_usage", "project_acme.documents")
        for r in query(scenario.test, f"SELECT t::text FROM {table} t")
    )
    for column in ("name", "email", "phone"):
        for (value,) in query(scenario.production, f"SELECT {column} FROM clients"):
            assert value not in text
    assert query(scenario.test, "SELECT count(*) FROM llm_usage WHERE ip IS NOT NULL") == [(0,)]
    joined = query(
        scenario.test, "SELECT count(*) FROM projects p JOIN clients c ON c.id = p.client_id"
    )
    assert joined == [(40,)]


def test_clone_refuses_personal_columns_without_rules(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal) as caught:
        clone(scenario)
    assert caught.value.check == "masking" and "public.clients.email" in caught.value.message
    assert table_state(scenario.test) == before


def test_clone_refusals_change_nothing(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal):
        clone(scenario, no_mask=True)
    with pytest.raises(UsageError, match="--method"):
        clone(scenario, method="rsync")
    scenario.write(test_tier="protected")
    with pytest.raises(GuardRefusal) as caught:
        clone(scenario, no_mask=True, override="wrong_db")
    assert caught.value.exit_code == 3
    assert table_state(scenario.test) == before
