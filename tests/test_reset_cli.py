"""`dbenv reset` / `dbenv seed` from the command line: results, exit codes, one sentence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dbenv.cli import app
from reset_support import drop_project_databases, make_project


@pytest.fixture
def project_root(tmp_path: Path, pg_server: Any) -> Any:
    project, database, _ = make_project(tmp_path, pg_server)
    yield tmp_path
    drop_project_databases(pg_server.dsn, project, database)


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--project", str(root), *args])


def test_reset_and_seed_report_their_results(project_root: Path) -> None:
    reset = invoke(project_root, "reset", "test", "--json")
    assert reset.exit_code == 0, reset.output
    data = json.loads(reset.stdout)
    assert data["method"] == "template" and data["tables"] == [
        "provider_tokens",
        "providers",
        "users",
    ]
    (project_root / "users.json").write_text(json.dumps({"users": [{"id": 1, "email": "a"}]}))
    seeded = invoke(project_root, "seed", "test", str(project_root / "users.json"), "--json")
    assert seeded.exit_code == 0, seeded.output
    assert json.loads(seeded.stdout)["changed"] == {"users": 1}
    emptied = invoke(project_root, "reset", "test", "--data-only", "--json")
    assert json.loads(emptied.stdout)["emptied"] == ["users"]


def test_a_bad_seed_file_exits_2_with_one_sentence_and_no_traceback(project_root: Path) -> None:
    invoke(project_root, "reset", "test")
    (project_root / "bad.json").write_text(json.dumps({"users": [{"id": "x", "email": "a"}]}))
    result = invoke(project_root, "seed", "test", str(project_root / "bad.json"))
    assert result.exit_code == 2
    assert "bad.json, table users, row 1, column id" in result.output
    assert "Traceback" not in result.output


def test_a_bad_schema_source_exits_2(project_root: Path) -> None:
    toml = project_root / "dbenv.toml"
    text = toml.read_text()
    start = text.index('schema_source = "') + len('schema_source = "')
    end = text.index('"', start)
    toml.write_text(text[:start] + "sqlalchemy:only_module" + text[end:])
    result = invoke(project_root, "reset", "test")
    assert result.exit_code == 2
    assert "schema_source of environment 'test'" in result.output
    assert "Traceback" not in result.output


def test_a_protected_environment_is_refused_before_its_inputs_are_read(tmp_path: Path) -> None:
    # production has no schema_source and no seed files, and its server does not
    # exist: the tier refusal must come first, without a connection
    (tmp_path / "dbenv.toml").write_text(
        '[project]\nname = "shop"\n\n[environments.production]\n'
        'database_url = "postgresql://shop@db.invalid:5432/shop"\n'
    )
    for verb in ("reset", "seed"):
        result = invoke(tmp_path, verb, "production")
        assert result.exit_code == 3, result.output
        assert f"refused to {verb} 'production': check 'tier' failed" in result.output
        assert "schema_source" not in result.output and "seed_files" not in result.output
    # with an override the full guard decides (here: the server cannot be reached)
    overridden = invoke(tmp_path, "reset", "production", "--i-mean-it=shop")
    assert overridden.exit_code == 2 and "schema_source" in overridden.output
