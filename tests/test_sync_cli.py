"""The sync/dump/restore/clone commands: exit codes, one-sentence errors, no secrets shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from sync_support import PROFILE, SALT, Scenario, make_scenario, query, table_state


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    for name in ("APP_ENV", "ENVIRONMENT", "DBENV_I_MEAN_IT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBENV_MASK_SALT", SALT)
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def invoke(scenario: Scenario, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(scenario.root), *args])


def assert_clean(result: Result) -> None:
    assert "Traceback" not in result.output
    assert SALT not in result.output


def test_sync_prints_a_summary(scenario: Scenario) -> None:
    result = invoke(scenario, "sync", "production", "test")
    assert result.exit_code == 0, result.output
    assert_clean(result)
    assert "public.prompts: 200 rows" in result.stdout and "checksum ok" in result.stdout
    assert "public.clients: structure only" in result.stdout
    assert "masked owner_email:email" in result.stdout


def test_tables_option_takes_a_comma_separated_list(scenario: Scenario) -> None:
    result = invoke(
        scenario, "sync", "production", "test", "--tables", "public.object_models,public.prompts"
    )
    assert result.exit_code == 0, result.output
    assert "public.object_models: 30 rows" in result.stdout
    assert "project_acme" not in result.stdout


def test_sync_json_and_dry_run(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    result = invoke(scenario, "sync", "production", "test", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dry_run"] is True and data["profile"] == "reference"
    assert table_state(scenario.test) == before


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("sync", "production", "nowhere"), 2, "unknown environment 'nowhere'"),
        (("sync", "production", "test", "--profile", "nope"), 2, "no sync profile named 'nope'"),
        (("sync", "production", "test", "--tables", "a.b.c"), 2, "not a 'schema.table' pattern"),
        (("sync", "production", "test", "--no-mask"), 3, "--i-mean-it="),
        (
            ("sync", "test", "production", "--tables", "public.prompts"),
            3,
            "refused to sync 'production'",
        ),
        (("sync", "production", "test", "--where", "public.prompts"), 2, "is not TABLE=CONDITION"),
        (("sync", "production", "test", "--where", "public.prompts="), 2, "is not TABLE=CONDITION"),
        (("sync", "production", "test", "--where", "a.b.c=true"), 2, "is not TABLE=CONDITION"),
        (("sync", "production", "test", "--where", "project_*.*=true"), 2, "names a pattern"),
        (
            ("sync", "production", "test", "--where", "public.nope=true"),
            2,
            "'public.nope', which is not a table of the source",
        ),
        (
            ("sync", "production", "test", "--where", "clients=true"),
            2,
            "'public.clients', which this sync does not mirror",
        ),
        (
            ("sync", "production", "test", "--where", "public.prompts=no_such_column > 1"),
            2,
            "the where filter on public.prompts is not a valid condition",
        ),
        (
            ("sync", "production", "test", "--where", "public.prompts=true; DROP TABLE clients"),
            2,
            "is not TABLE=CONDITION",
        ),
        (("restore", "missing.dump", "test"), 2, "no dump at"),
        (("clone", "production", "test", "--method", "rsync"), 2, "--method must be"),
    ],
)
def test_bad_input_and_refusals(
    scenario: Scenario, args: tuple[str, ...], code: int, needle: str
) -> None:
    before = table_state(scenario.test), table_state(scenario.production)
    result = invoke(scenario, *args)
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("dbenv: ") and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert_clean(result)
    assert (table_state(scenario.test), table_state(scenario.production)) == before


def test_where_option_keeps_the_foreign_key_parents_of_its_rows(scenario: Scenario) -> None:
    result = invoke(
        scenario,
        "sync",
        "production",
        "test",
        "--where",
        "public.prompts=id <= 10",
        "--where",
        "object_models = id IN (1, 2)",
    )
    assert result.exit_code == 0, result.output
    assert "public.prompts: 10 rows" in result.stdout and "subset" in result.stdout
    assert query(scenario.test, "SELECT count(*) FROM prompts") == [(10,)]
    wanted = query(
        scenario.production,
        "SELECT object_model_id FROM prompts WHERE id <= 10 UNION SELECT 1 UNION SELECT 2"
        " ORDER BY 1",
    )
    assert len(wanted) > 2  # the prompts use models the object_models filter left out
    assert query(scenario.test, "SELECT id FROM object_models ORDER BY 1") == wanted
    # the unfiltered mirrored schema is copied whole
    assert query(scenario.test, "SELECT count(*) FROM project_acme.documents") == [(25,)]


def test_personal_columns_refusal_names_them(scenario: Scenario) -> None:
    scenario.write(PROFILE.replace('"project_*.documents.author_email" = "hash"\n', ""))
    result = invoke(scenario, "sync", "production", "test")
    assert result.exit_code == 3
    assert "project_acme.documents.author_email" in result.stderr


def test_dump_restore_and_clone_commands(scenario: Scenario, tmp_path: Path) -> None:
    dump = tmp_path / "p.dump"
    result = invoke(scenario, "dump", "production", "-o", str(dump))
    assert result.exit_code == 0, result.output
    assert dump.exists()
    # an unstamped production still counts as production: dbenv dump recorded its origin
    before = table_state(scenario.test)
    result = invoke(scenario, "restore", str(dump), "test")
    assert result.exit_code == 3, result.output
    assert "dump of protected environment 'production'" in result.stderr
    assert "dbenv clone production test" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert table_state(scenario.test) == before
    result = invoke(
        scenario, "restore", str(dump), "test", "--no-mask", "--i-mean-it", scenario.names[1]
    )
    assert result.exit_code == 0, result.output
    assert "stamped as test" in result.stdout
    assert query(scenario.test, "SELECT count(*) FROM clients") == [(40,)]
    result = invoke(
        scenario, "clone", "production", "test", "--no-mask", "--i-mean-it", scenario.names[1]
    )
    assert result.exit_code == 0, result.output
    assert "template" in result.stdout
    assert_clean(result)
