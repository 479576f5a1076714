"""The drift column of ``dbenv status``: each environment against its ``reference``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.errors import ProjectFileError
from dbenv.status.report import status
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    load,
    unique,
    write_project,
)

SCHEMA = "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);"
DEAD = "postgresql://app:Hush-Hush-1@127.0.0.1:1/app_production"


@pytest.fixture
def dbs(pg_server: Any) -> Iterator[dict[str, str]]:
    names = {"production": unique("sd_prod"), "staging": unique("sd_staging")}
    for name in names.values():
        create_database(pg_server.dsn, name)
        with psycopg.connect(pg_server.dsn_for(name), autocommit=True) as conn:
            conn.execute(SCHEMA)
    yield {env: pg_server.dsn_for(name) for env, name in names.items()}
    for name in names.values():
        drop_database(pg_server.dsn, name)


def project(root: Path, dsn: dict[str, str], **staging: object) -> Path:
    write_project(
        root,
        "app",
        {
            "production": {"database_url": dsn["production"]},
            "staging": {"database_url": dsn["staging"], "reference": "production", **staging},
        },
    )
    return root


def rows(root: Path) -> dict[str, Any]:
    return {r.name: r for r in status(load(root)).environments}


def test_no_reference_means_no_drift_and_nothing_read(dbs: dict[str, str], tmp_path: Path) -> None:
    write_project(tmp_path, "app", {"production": {"database_url": dbs["production"]}})
    assert rows(tmp_path)["production"].drift is None
    data = json.loads(
        CliRunner().invoke(app, ["--project", str(tmp_path), "status", "--json"]).output
    )
    assert data["environments"][0]["drift"] is None


def test_drift_counts_the_statements_that_would_converge(
    dbs: dict[str, str], tmp_path: Path
) -> None:
    project(tmp_path, dbs)
    same = rows(tmp_path)
    assert same["staging"].drift.statements == 0 and same["staging"].drift.drifted is False
    assert same["production"].drift is None
    with psycopg.connect(dbs["production"], autocommit=True) as conn:
        conn.execute("ALTER TABLE accounts ADD COLUMN email text; CREATE INDEX ON accounts (name)")
    before = database_state(dbs["staging"])
    drift = rows(tmp_path)["staging"].drift
    assert (drift.reference, drift.statements, drift.error) == ("production", 2, None)
    assert database_state(dbs["staging"]) == before  # status changed nothing
    base = ["--project", str(tmp_path), "status"]
    data = json.loads(CliRunner().invoke(app, [*base, "--json"]).output)
    by_name = {e["name"]: e for e in data["environments"]}
    assert by_name["staging"]["drift"] == {
        "reference": "production",
        "statements": 2,
        "unplanned": 0,
        "error": None,
    }
    table = CliRunner().invoke(app, [*base, "staging"])
    assert table.exit_code == 0, table.output
    assert "2 statement(s)" in table.output
    assert "staging: drift from production: 2 statement(s)" in table.output


def test_an_unreachable_reference_is_reported_not_raised(
    dbs: dict[str, str], tmp_path: Path
) -> None:
    write_project(
        tmp_path,
        "app",
        {
            "production": {"database_url": DEAD},
            "staging": {"database_url": dbs["staging"], "reference": "production"},
        },
    )
    found = rows(tmp_path)
    staging = found["staging"]
    assert staging.reachable and staging.error is None and staging.table_count == 1
    assert staging.drift.statements is None and staging.drift.error
    assert "Hush-Hush-1" not in staging.drift.error
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "status"])
    assert result.exit_code == 0, result.output
    assert "staging: drift from production unknown" in result.output
    assert "Hush-Hush-1" not in result.output


@pytest.mark.parametrize(
    ("reference", "words"), [("prod", "not declared"), ("staging", "its own reference")]
)
def test_a_bad_reference_is_a_project_file_error(
    dbs: dict[str, str], tmp_path: Path, reference: str, words: str
) -> None:
    project(tmp_path, dbs, reference=reference)
    with pytest.raises(ProjectFileError, match=words) as caught:
        load(tmp_path)
    assert caught.value.exit_code == 2
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "status"])
    assert result.exit_code == 2 and words in result.stderr
