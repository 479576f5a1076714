"""Status (read-only, per environment, clients by declared environment) and the lifecycle CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.status.report import parse_application_name, status
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    load,
    stamp_as,
    unique,
    write_project,
)


@pytest.fixture
def two_dbs(pg_server: Any) -> Iterator[dict[str, str]]:
    names = {"test": unique("st_test"), "production": unique("st_prod")}
    for env, name in names.items():
        create_database(pg_server.dsn, name)
        stamp_as(pg_server.dsn_for(name), "app", env)
    yield {env: pg_server.dsn_for(name) for env, name in names.items()}
    for name in names.values():
        drop_database(pg_server.dsn, name)


def project_file(root: Path, dsn: dict[str, str], **test: object) -> Path:
    return write_project(
        root,
        "app",
        {
            "test": {"tier": "disposable", "database_url": dsn["test"], **test},
            "production": {"database_url": dsn["production"]},
            "staging": {"database_url": "postgresql://app:Hush-Hush-1@127.0.0.1:1/app_staging"},
        },
    )


def test_application_names_parse() -> None:
    assert parse_application_name("dbenv:app:test:frontend") == ("app", "test", "frontend")
    assert parse_application_name("dbenv:app:test") == ("app", "test", None)
    assert parse_application_name("psql") is None


def test_status_reports_each_environment_and_unreachable_ones(
    two_dbs: dict[str, str], tmp_path: Path
) -> None:
    project_file(tmp_path, two_dbs)
    with psycopg.connect(two_dbs["test"], autocommit=True) as conn:
        conn.execute("CREATE TABLE a (id int); CREATE TABLE b (id int)")
        conn.execute(
            "CREATE TABLE alembic_version (version_num text); "
            "INSERT INTO alembic_version VALUES ('abc123')"
        )
    before = database_state(two_dbs["test"])
    report = status(load(tmp_path))
    rows = {r.name: r for r in report.environments}
    test = rows["test"]
    assert (test.reachable, test.stamp_state, test.table_count) == (True, "ok", 3)
    assert test.alembic_revision == "abc123" and test.fingerprint
    assert rows["production"].stamp_state == "ok" and rows["production"].table_count == 0
    assert test.reset_refused_by == () and rows["production"].reset_refused_by == ("tier",)
    staging = rows["staging"]
    assert not staging.reachable and staging.error and "Hush-Hush-1" not in staging.error
    assert database_state(two_dbs["test"]) == before  # status wrote nothing


def test_fingerprint_follows_the_structure(two_dbs: dict[str, str], tmp_path: Path) -> None:
    project_file(tmp_path, two_dbs)
    first = status(load(tmp_path), names=["test"]).environments[0].fingerprint
    with psycopg.connect(two_dbs["test"], autocommit=True) as conn:
        conn.execute("CREATE TABLE c (id int)")
    assert status(load(tmp_path), names=["test"]).environments[0].fingerprint != first


def test_clients_declaring_different_environments_are_flagged(
    two_dbs: dict[str, str], tmp_path: Path
) -> None:
    """Seed 000: a backend on production and a frontend on test, on one database."""
    project_file(tmp_path, two_dbs)
    backend = psycopg.connect(two_dbs["test"], application_name="dbenv:app:production:backend")
    frontend = psycopg.connect(two_dbs["test"], application_name="dbenv:app:test:frontend")
    try:
        row = status(load(tmp_path), names=["test"]).environments[0]
        assert row.clients == {"production": 1, "test": 1} and row.mixed
        assert row.components == {"production": ["backend"], "test": ["frontend"]}
        result = CliRunner().invoke(app, ["--project", str(tmp_path), "status", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert [e["mixed"] for e in data["environments"]] == [True, False, False]
        assert "Hush-Hush-1" not in result.output
        text = CliRunner().invoke(app, ["--project", str(tmp_path), "status", "test"])
        assert "declare different environments" in text.output
    finally:
        backend.close()
        frontend.close()
    alone = status(load(tmp_path), names=["test"]).environments[0]
    assert not alone.mixed


def test_cli_status_of_an_unknown_environment_is_bad_input(
    two_dbs: dict[str, str], tmp_path: Path
) -> None:
    project_file(tmp_path, two_dbs)
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "status", "tset"])
    assert result.exit_code == 2 and "unknown environment 'tset'" in result.output
    assert "Traceback" not in result.output


def test_cli_stamp_refuses_then_restamps_with_the_right_override(
    two_dbs: dict[str, str], tmp_path: Path
) -> None:
    project_file(tmp_path, two_dbs)
    stamp_as(two_dbs["test"], "app", "production", tier="protected")
    run = CliRunner().invoke
    refused = run(app, ["--project", str(tmp_path), "stamp", "test"])
    # production's stamp says protected: re-labelling it as test's lowers the tier
    assert refused.exit_code == 3 and "check 'stamp-tier' failed" in refused.output
    assert "(also failing: stamp)" in refused.output
    db = two_dbs["test"].rsplit("/", 1)[1]
    wrong = run(app, ["--project", str(tmp_path), "stamp", "test", "--i-mean-it", "nope"])
    assert wrong.exit_code == 3 and f"--i-mean-it={db}" in wrong.output
    lower = ["--tier", "disposable", f"--i-mean-it={db}"]
    ok = run(app, ["--project", str(tmp_path), "stamp", "test", *lower])
    assert ok.exit_code == 0, ok.output
    assert f"stamped {db} as app/test (was: other-environment)" in ok.output
    unknown = run(app, ["--project", str(tmp_path), "stamp", "prod"])
    assert unknown.exit_code == 2 and "unknown environment 'prod'" in unknown.output
    assert run(app, ["--project", str(tmp_path), "stamp", "production"]).exit_code == 0


def test_cli_reset_and_seed_go_through_the_guard(two_dbs: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE users (id int PRIMARY KEY, name text);\n")
    (tmp_path / "users.json").write_text(json.dumps({"users": [{"id": 1, "name": "ada"}]}))
    project_file(tmp_path, two_dbs, schema_source="sql:schema.sql")
    run = CliRunner().invoke
    base = ["--project", str(tmp_path)]
    reset = run(app, [*base, "reset", "test"])
    assert reset.exit_code == 0, reset.output
    assert "tables:" in reset.output and "users" in reset.output
    seeded = run(app, [*base, "seed", "test", str(tmp_path / "users.json")])
    assert seeded.exit_code == 0, seeded.output
    assert "seeded test: 1 rows" in seeded.output
    write_project(
        tmp_path,
        "app",
        {
            "test": {
                "tier": "disposable",
                "database_url": two_dbs["test"],
                "schema_source": "sql:schema.sql",
            },
            "production": {
                "database_url": two_dbs["production"],
                "schema_source": "sql:schema.sql",
            },
        },
    )
    refused = run(app, [*base, "reset", "production"])
    assert refused.exit_code == 3 and "check 'tier' failed" in refused.output
    assert "Traceback" not in refused.output
    seed_prod = run(app, [*base, "seed", "production", str(tmp_path / "users.json")])
    assert seed_prod.exit_code == 3 and "check 'tier' failed" in seed_prod.output
    missing = run(app, [*base, "seed", "test", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_the_unprefixed_side_of_a_shared_database_counts_only_its_own_tables(
    pg_server: Any, tmp_path: Path
) -> None:
    # seed 000: production's Agents beside test's test_Agents in one database
    name = unique("st_shared")
    create_database(pg_server.dsn, name)
    try:
        url = pg_server.dsn_for(name)
        write_project(
            tmp_path,
            "app",
            {
                "production": {"database_url": url},
                "test": {
                    "tier": "disposable",
                    "isolation": "prefix",
                    "prefix": "test_",
                    "database_url": url,
                },
            },
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute('CREATE TABLE "Agents" (id int); CREATE TABLE "Sessions" (id int)')
            production = status(load(tmp_path), names=["production"]).environments[0]
            conn.execute('CREATE TABLE "test_Agents" (id int)')
            rows = {r.name: r for r in status(load(tmp_path)).environments}
        assert rows["production"].table_count == 2 and rows["test"].table_count == 1
        assert rows["production"].fingerprint == production.fingerprint
    finally:
        drop_database(pg_server.dsn, name)
