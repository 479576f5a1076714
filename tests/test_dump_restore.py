"""dump and restore: a round trip that lands as the target environment, never the source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.commands import sync as commands
from dbenv.config.model import Environment
from dbenv.errors import GuardRefusal, OperationError, UsageError
from dbenv.safety.stamp import stamp_state
from dbenv.sync.dump import dump_origin
from lifecycle_support import journal_rows, stamp_as
from sync_support import Scenario, execute, make_scenario, query, table_state


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def test_dump_restore_round_trip_is_stamped_as_the_target(
    scenario: Scenario, tmp_path: Path
) -> None:
    project = scenario.project()
    prod, test = project.environment("production"), project.environment("test")
    dumped = commands.dump(project, prod, output=tmp_path / "prod.dump")
    assert dumped.format == "custom" and dumped.bytes > 0
    assert (tmp_path / "prod.dump").read_bytes()[:5] == b"PGDMP"
    # production's rows, unmasked on purpose
    override = scenario.names[1]
    result = commands.restore(
        project, tmp_path / "prod.dump", test, no_mask=True, override=override
    )
    assert result.database == scenario.names[1]
    assert table_state(scenario.test) == table_state(scenario.production)
    with psycopg.connect(scenario.test, autocommit=True) as conn:
        assert stamp_state(conn, "contentgen", test) == "ok"
    rows = [r for r in journal_rows(scenario.test) if r[0] == "restore"]
    assert rows and rows[-1][2] == "ok"


def test_parallel_directory_dump_and_schema_only(scenario: Scenario, tmp_path: Path) -> None:
    project = scenario.project()
    prod, test = project.environment("production"), project.environment("test")
    dumped = commands.dump(project, prod, output=tmp_path / "prod.d", jobs=2)
    assert dumped.format == "directory" and (tmp_path / "prod.d" / "toc.dat").exists()
    unmasked: dict[str, Any] = {
        "no_mask": True,
        "override": scenario.names[1],
    }  # production's rows, on purpose
    commands.restore(project, tmp_path / "prod.d", test, jobs=2, **unmasked)
    assert query(scenario.test, "SELECT count(*) FROM prompts") == [(200,)]
    schema = commands.dump(project, prod, output=tmp_path / "schema.dump", schema_only=True)
    assert schema.schema_only
    commands.restore(project, tmp_path / "schema.dump", test, **unmasked)
    assert query(scenario.test, "SELECT count(*) FROM prompts") == [(0,)]


def test_a_large_database_dumps_in_parallel_unless_told_otherwise(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbenv.sync import dump as dump_module

    monkeypatch.setattr(dump_module, "PARALLEL_ABOVE", 0)  # every database counts as large
    project = scenario.project()
    prod = project.environment("production")
    said: list[str] = []
    auto = commands.dump(project, prod, progress=said.append)
    assert auto.format == "directory" and (Path(auto.path) / "toc.dat").exists()
    assert any("parallel jobs" in line for line in said)
    named = commands.dump(project, prod, output=tmp_path / "prod.dump")  # a file was asked for
    assert named.format == "custom"
    one = commands.dump(project, prod, jobs=1)
    assert one.format == "custom" and one.path != auto.path


def test_restore_into_protected_environment_is_refused(scenario: Scenario, tmp_path: Path) -> None:
    project = scenario.project()
    dump = commands.dump(project, project.environment("test"), output=tmp_path / "t.dump")
    before = table_state(scenario.production)
    with pytest.raises(GuardRefusal) as caught:
        commands.restore(project, Path(dump.path), project.environment("production"))
    assert caught.value.exit_code == 3
    assert table_state(scenario.production) == before


def test_a_protected_environments_dump_is_not_restored_unmasked(
    scenario: Scenario, tmp_path: Path
) -> None:
    stamp_as(scenario.production, "contentgen", "production", tier="protected")
    project = scenario.project()
    test = project.environment("test")
    dump = Path(
        commands.dump(project, project.environment("production"), output=tmp_path / "p").path
    )
    assert dump_origin(dump) == ("production", "protected")
    before = table_state(scenario.test)
    for kwargs in ({}, {"no_mask": True}, {"no_mask": True, "override": "some_other_db"}):
        with pytest.raises(GuardRefusal, match="cannot mask") as caught:
            commands.restore(project, dump, test, **kwargs)  # type: ignore[arg-type]
        assert caught.value.check == "masking"
        assert f"--no-mask --i-mean-it={scenario.names[1]}" in str(caught.value.hint)
    assert table_state(scenario.test) == before
    refused = CliRunner().invoke(
        app, ["--project", str(scenario.root), "restore", str(dump), "test"]
    )
    assert refused.exit_code == 3 and "dbenv clone production test" in refused.output
    assert table_state(scenario.test) == before
    commands.restore(project, dump, test, no_mask=True, override=scenario.names[1])
    assert table_state(scenario.test) == table_state(scenario.production)
    with psycopg.connect(scenario.test, autocommit=True) as conn:
        assert stamp_state(conn, "contentgen", test) == "ok"
    # a test dump (disposable origin) restores without ceremony
    again = Path(commands.dump(project, test, output=tmp_path / "t").path)
    assert dump_origin(again) == ("test", "disposable")
    commands.restore(project, again, test)


def test_an_unstamped_protected_environments_dump_records_its_origin(
    scenario: Scenario, tmp_path: Path
) -> None:
    project = scenario.project()
    prod, test = project.environment("production"), project.environment("test")
    assert query(scenario.production, "SELECT to_regclass('dbenv.stamp') IS NULL") == [(True,)]
    dumped = commands.dump(project, prod, output=tmp_path / "p.dump")
    record = json.loads(Path(dumped.origin).read_text(encoding="utf-8"))
    assert record["environment"] == "production" and record["tier"] == "protected"
    assert record["project"] == "contentgen" and "postgres" not in json.dumps(record)
    assert dump_origin(Path(dumped.path)) == ("production", "protected")
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal, match="cannot mask") as caught:
        commands.restore(project, Path(dumped.path), test)
    assert caught.value.exit_code == 3 and caught.value.check == "masking"
    assert "dbenv clone production test" in str(caught.value.hint)
    assert table_state(scenario.test) == before
    # a directory dump carries its record inside; the file copied without its record is
    # still known by the database name in its header
    directory = commands.dump(project, prod, output=tmp_path / "p.d", jobs=2)
    assert Path(directory.origin).parent == Path(directory.path)
    Path(dumped.origin).unlink()
    assert dump_origin(Path(dumped.path)) is None
    for path in (Path(directory.path), Path(dumped.path)):
        with pytest.raises(GuardRefusal, match="protected environment 'production'"):
            commands.restore(project, path, test)
    assert table_state(scenario.test) == before
    commands.restore(project, Path(dumped.path), test, no_mask=True, override=scenario.names[1])
    assert table_state(scenario.test) == table_state(scenario.production)
    rows = [r for r in journal_rows(scenario.test) if r[0] == "restore"]
    assert rows[-1][2] == "ok"


def test_a_disposable_environments_dump_restores_without_ceremony(
    scenario: Scenario, tmp_path: Path
) -> None:
    project = scenario.project()
    test = project.environment("test")
    execute(scenario.test, "INSERT INTO clients (name) VALUES ('second')")
    dumped = commands.dump(project, test, output=tmp_path / "t.dump")
    assert json.loads(Path(dumped.origin).read_text(encoding="utf-8"))["tier"] == "disposable"
    execute(scenario.test, "DELETE FROM llm_usage")
    commands.restore(project, Path(dumped.path), test)
    assert query(scenario.test, "SELECT count(*) FROM clients") == [(2,)]
    assert query(scenario.test, "SELECT count(*) FROM llm_usage") == [(1,)]


def test_bad_inputs_change_nothing(scenario: Scenario, tmp_path: Path) -> None:
    project = scenario.project()
    test = project.environment("test")
    before = table_state(scenario.test)
    with pytest.raises(UsageError, match="no dump at"):
        commands.restore(project, tmp_path / "missing.dump", test)
    plain = tmp_path / "plain.sql"
    plain.write_text("SELECT 1;", encoding="utf-8")
    with pytest.raises(UsageError, match="not a pg_dump custom-format file"):
        commands.restore(project, plain, test)
    with pytest.raises(UsageError, match="does not exist"):
        commands.dump(project, test, output=tmp_path / "nowhere" / "x.dump")
    assert table_state(scenario.test) == before


def test_tool_errors_never_show_the_password(tmp_path: Path) -> None:
    from dbenv.config.model import SecretURL
    from dbenv.errors import OperationError

    env = Environment(
        name="test",
        project="p",
        root=tmp_path,
        tier="disposable",
        database_url=SecretURL("postgresql://u:hunter2secret@127.0.0.1:1/nodb"),
    )

    class FakeProject:
        root = tmp_path

    with pytest.raises(OperationError) as caught:
        commands.dump(FakeProject(), env, output=tmp_path / "x.dump")  # type: ignore[arg-type]
    assert "hunter2secret" not in str(caught.value)


def test_restore_without_createdb_is_refused_before_dropping(
    scenario: Scenario, tmp_path: Path
) -> None:
    import uuid

    role = f"sync_owner_{uuid.uuid4().hex[:8]}"
    db = scenario.names[1]
    with psycopg.connect(scenario.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
        conn.execute(f'ALTER DATABASE "{db}" OWNER TO "{role}"')
    with psycopg.connect(scenario.test, autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA dbenv TO "{role}"')
        conn.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA dbenv TO "{role}"')
        conn.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA dbenv TO "{role}"')
    try:
        project = scenario.project()
        dump = commands.dump(project, project.environment("production"), output=tmp_path / "p.dump")
        own_url = scenario.test.replace("postgres@", f"{role}@", 1)
        scenario.test, original = own_url, scenario.test
        scenario.write()
        before = table_state(original)
        project = scenario.project()
        with pytest.raises(OperationError) as caught:
            commands.restore(
                project,
                Path(dump.path),
                project.environment("test"),
                no_mask=True,
                override=scenario.names[1],
            )
        assert "may not drop and re-create" in caught.value.message
        assert table_state(original) == before
    finally:
        with psycopg.connect(scenario.admin_dsn, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{db}" OWNER TO postgres')
        with psycopg.connect(original, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(scenario.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
