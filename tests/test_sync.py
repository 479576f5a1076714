"""Sync end to end on seed 002's scenario: production -> test with the reference profile.

Covers the acceptance list: mirrored tables equal (masked), structure-only tables
keep their rows but follow the source's structure, a ``project_*`` schema
mirrored, sequences and checksums, refusals (protected target, personal columns
without rules, --no-mask without the override, destructive structure steps) that
change nothing, where subsets with their FK parents, and a failed load rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbenv.commands import sync as commands
from dbenv.errors import GuardRefusal, OperationError, UsageError
from lifecycle_support import journal_rows
from sync_support import PROFILE, Scenario, execute, make_scenario, query, table_state

PRODUCTION_PERSONAL = (
    ("prompts", "owner_email"),
    ("project_acme.documents", "author_email"),
)


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    yield from make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen")


def run(scenario: Scenario, **kwargs: Any) -> commands.SyncResult:
    project = scenario.project()
    return commands.sync(
        project, project.environment("production"), project.environment("test"), **kwargs
    )


def all_text(dsn: str) -> str:
    """Every row of every user table of the database, as one text."""
    tables = query(
        dsn,
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    parts = []
    for (table,) in tables:
        parts.extend(r[0] for r in query(dsn, f"SELECT t::text FROM {table} t"))
    return "\n".join(parts)


def test_reference_profile_mirrors_tables_and_schema(scenario: Scenario) -> None:
    result = run(scenario)
    mirrored = {t.table: t for t in result.tables if t.policy == "mirror"}
    assert set(mirrored) == {"public.object_models", "public.prompts", "project_acme.documents"}
    assert {t.table for t in result.tables if t.policy == "structure"} == {
        "public.clients",
        "public.projects",
        "public.llm_usage",
    }
    assert all(t.verified for t in mirrored.values())
    assert mirrored["public.prompts"].rows == 200
    assert mirrored["project_acme.documents"].rows == 25
    prod, test = table_state(scenario.production), table_state(scenario.test)
    assert test["object_models"] == prod["object_models"]
    unmasked = "SELECT id, object_model_id, name, template, active, weight FROM prompts ORDER BY id"
    assert query(scenario.test, unmasked) == query(scenario.production, unmasked)
    # structure-only tables keep the test rows
    assert [r[0] for r in query(scenario.test, "SELECT name FROM clients")] == ["Test Client"]
    assert query(scenario.test, "SELECT count(*) FROM llm_usage") == [(1,)]
    assert result.masking


def test_masked_values_never_reach_the_target(scenario: Scenario) -> None:
    run(scenario)
    everything = all_text(scenario.test)
    for table, column in PRODUCTION_PERSONAL:
        values = [r[0] for r in query(scenario.production, f"SELECT {column} FROM {table}")]
        assert values and all(v for v in values)
        leaked = [v for v in values if v in everything]
        assert leaked == []
    masked = query(scenario.test, "SELECT owner_email FROM prompts ORDER BY id")
    assert all(r[0].endswith("@example.invalid") for r in masked)
    assert len({r[0] for r in masked}) == 200  # distinct inputs stay distinct


def test_masking_is_deterministic_across_runs(scenario: Scenario) -> None:
    run(scenario)
    first = query(scenario.test, "SELECT id, owner_email FROM prompts ORDER BY id")
    execute(scenario.production, "UPDATE prompts SET template = template || '!' WHERE id = 1")
    run(scenario)
    assert query(scenario.test, "SELECT id, owner_email FROM prompts ORDER BY id") == first
    hashed = query(scenario.test, "SELECT author_email FROM project_acme.documents ORDER BY id")
    assert all(len(r[0]) == 64 for r in hashed)


def test_sequences_and_identity_follow_the_source(scenario: Scenario) -> None:
    result = run(scenario)
    assert result.sequences["public.prompts_id_seq"] == 200
    assert query(scenario.test, "SELECT nextval('prompts_id_seq')") == [(201,)]
    seq = "pg_get_serial_sequence('object_models', 'id')"
    assert query(
        scenario.test, f"SELECT last_value FROM {query(scenario.test, f'SELECT {seq}')[0][0]}"
    ) == [(30,)]


def test_checksums_match_and_journal_row_written(scenario: Scenario) -> None:
    result = run(scenario)
    models = next(t for t in result.tables if t.table == "public.object_models")
    digest = query(
        scenario.production,
        "SELECT sum(h >> 32)::text || ':' || sum(h & 4294967295)::text FROM (SELECT"
        " hashtextextended(q::text, 0) AS h FROM"
        " (SELECT id, name, definition, version, tags FROM object_models) q) r",
    )
    assert models.checksum == digest[0][0]  # text[] has no extended hash: rows as text
    prompts = next(t for t in result.tables if t.table == "public.prompts")
    assert prompts.verified and ":" in prompts.checksum
    rows = [r for r in journal_rows(scenario.test) if r[0] == "sync"]
    assert rows and rows[-1][2] == "ok"
    assert rows[-1][5]["public.prompts"] == 200


def test_checksum_is_order_independent_and_sees_changes(scenario: Scenario) -> None:
    import psycopg

    from dbenv.sync.copy import checksum

    with psycopg.connect(scenario.production, autocommit=True) as conn:
        for hashed in (False, True):
            one = checksum(conn, "SELECT id, name FROM prompts ORDER BY id", hashed=hashed)
            two = checksum(conn, "SELECT id, name FROM prompts ORDER BY id DESC", hashed=hashed)
            other = checksum(
                conn, "SELECT id, name || 'x' AS name FROM prompts ORDER BY id", hashed=hashed
            )
            assert one == two and one.rows == 200
            assert other.digest != one.digest


def test_structure_only_tables_follow_the_source_structure(scenario: Scenario) -> None:
    execute(scenario.production, "ALTER TABLE clients ADD COLUMN region text DEFAULT 'eu'")
    result = run(scenario)
    assert any("clients" in s.target for s in result.structure)
    assert query(scenario.test, "SELECT name, region FROM clients") == [("Test Client", "eu")]


def test_dry_run_changes_nothing(scenario: Scenario) -> None:
    execute(scenario.production, "ALTER TABLE clients ADD COLUMN region text")
    before = table_state(scenario.test)
    result = run(scenario, dry_run=True)
    assert result.dry_run and any("clients" in s.target for s in result.structure)
    assert table_state(scenario.test) == before
    assert query(
        scenario.test,
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_name = 'clients' AND column_name = 'region'",
    ) == [(0,)]


def test_sync_into_protected_environment_is_refused(scenario: Scenario) -> None:
    scenario.write(test_tier="protected")
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal) as caught:
        run(scenario)
    assert caught.value.exit_code == 3 and caught.value.check == "tier"
    assert table_state(scenario.test) == before


def test_personal_columns_without_rules_are_refused(scenario: Scenario) -> None:
    scenario.write(PROFILE.replace('"public.prompts.owner_email" = "email"\n', ""))
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal) as caught:
        run(scenario)
    assert caught.value.check == "masking"
    assert "public.prompts.owner_email" in caught.value.message
    assert "documents" not in caught.value.message  # that one has a rule
    assert table_state(scenario.test) == before


def test_no_mask_needs_the_override(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal) as caught:
        run(scenario, no_mask=True)
    assert "--i-mean-it=" + scenario.names[1] in str(caught.value)
    assert table_state(scenario.test) == before
    run(scenario, no_mask=True, override=scenario.names[1])
    emails = "SELECT owner_email FROM prompts ORDER BY id"
    assert query(scenario.test, emails) == query(scenario.production, emails)


def test_destructive_structure_step_needs_allow_destructive(scenario: Scenario) -> None:
    execute(scenario.test, "ALTER TABLE object_models ADD COLUMN test_only text")
    before = table_state(scenario.test)
    with pytest.raises(GuardRefusal) as caught:
        run(scenario)
    assert caught.value.check == "destructive-structure"
    assert "--allow-destructive" in str(caught.value)
    assert table_state(scenario.test) == before
    run(scenario, allow_destructive=True)
    columns = query(
        scenario.test,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'object_models'",
    )
    assert ("test_only",) not in columns


WHERE_PROFILE = PROFILE.replace(
    "[sync.profiles.reference.mask]",
    '[sync.profiles.reference.where]\n"public.prompts" = "id <= 10"\n'
    '"public.object_models" = "id = 1"\n\n[sync.profiles.reference.mask]',
)


def test_where_subsets_pull_in_fk_parents(scenario: Scenario) -> None:
    scenario.write(WHERE_PROFILE)
    result = run(scenario)
    assert query(scenario.test, "SELECT count(*) FROM prompts") == [(10,)]
    wanted = query(
        scenario.production,
        "SELECT DISTINCT object_model_id FROM prompts WHERE id <= 10 UNION SELECT 1 ORDER BY 1",
    )
    assert query(scenario.test, "SELECT id FROM object_models ORDER BY 1") == wanted
    orphans = query(
        scenario.test,
        "SELECT count(*) FROM prompts p LEFT JOIN object_models m ON m.id = p.object_model_id"
        " WHERE m.id IS NULL",
    )
    assert orphans == [(0,)]
    models = next(t for t in result.tables if t.table == "public.object_models")
    assert models.condition and "IN (SELECT" in models.condition


def test_rows_referencing_unsynced_parents_roll_everything_back(scenario: Scenario) -> None:
    before = table_state(scenario.test)
    with pytest.raises(OperationError) as caught:
        run(scenario, tables=("public.prompts",))
    assert "foreign key" in caught.value.message and "left as it was" in caught.value.message
    assert table_state(scenario.test) == before
    rows = [r for r in journal_rows(scenario.test) if r[0] == "sync"]
    assert rows and rows[-1][2] == "failed"


def test_unknown_profile_and_same_database_are_usage_errors(scenario: Scenario) -> None:
    with pytest.raises(UsageError) as caught:
        run(scenario, profile="nope")
    assert "no sync profile named 'nope'" in caught.value.message
    project = scenario.project()
    env = project.environment("test")
    with pytest.raises(UsageError):
        commands.sync(project, env, env, tables=("public.prompts",))


def test_structure_only_flag_keeps_target_rows(scenario: Scenario) -> None:
    result = run(scenario, structure_only=("public.prompts",))
    policies = {t.table: t.policy for t in result.tables}
    assert policies["public.prompts"] == "structure"
    assert query(scenario.test, "SELECT name FROM prompts") == [("stale",)]


def test_new_project_schema_is_created_and_unnamed_tables_untouched(scenario: Scenario) -> None:
    execute(
        scenario.production,
        "CREATE SCHEMA project_beta; CREATE TABLE project_beta.notes (id int PRIMARY KEY,"
        " title text); INSERT INTO project_beta.notes"
        " SELECT g, 'n' || g FROM generate_series(1, 7) g",
    )
    execute(
        scenario.test,
        "CREATE TABLE audit_log (id int, what text); INSERT INTO audit_log VALUES (1, 'x')",
    )
    result = run(scenario)
    assert any(t.table == "project_beta.notes" and t.rows == 7 for t in result.tables)
    assert query(scenario.test, "SELECT count(*) FROM project_beta.notes") == [(7,)]
    assert query(scenario.test, "SELECT * FROM audit_log") == [(1, "x")]
