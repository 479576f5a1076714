"""`dbenv check`'s topology rules: static ones from the URLs, connecting ones on real servers.

The connecting rules run against the suite's PgBouncer (in front of ``pg_server``)
and the ``replica_pair`` (a primary of its own, another system identifier, and its
streaming standby).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from dbenv.config import load_project
from dbenv.doctor.check import RULES, CheckReport, Finding, run_checks
from lifecycle_support import create_database, drop_database, unique
from pgbouncer_support import PgBouncer
from replica_support import ReplicaPair


def check(root: Path, toml: str, *, connect: bool = False) -> CheckReport:
    (root / "dbenv.toml").write_text(textwrap.dedent(toml))
    return run_checks(load_project(project=root, process_env={}), stamps=connect)


def rule(report: CheckReport, rule_id: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule_id]


HEAD = '[project]\nname = "shop"\n'


def test_every_topology_rule_is_described() -> None:
    for rule_id in (
        "migrations-over-pooler",
        "redis-shared",
        "replica-not-in-recovery",
        "replica-of-other-primary",
        "pooler-leads-elsewhere",
    ):
        assert RULES[rule_id]


# -- static ------------------------------------------------------------------------


def test_schema_source_over_a_transaction_pooler_only(tmp_path: Path) -> None:
    pooled_only = HEAD + (
        "[environments.staging]\n"
        'database_url = "postgresql://app@pgbouncer.internal:6432/shop?sslmode=require"\n'
        'pool_mode = "transaction"\nschema_source = "sql:schema.sql"\n'
    )
    (found,) = rule(check(tmp_path, pooled_only), "migrations-over-pooler")
    assert found.severity == "error" and found.environment == "staging"
    assert "transaction-mode pooler" in found.message and "database_url" in found.fix
    direct = pooled_only.replace(
        'pool_mode = "transaction"',
        'pooler_url = "postgresql://app@pgbouncer.internal:6432/shop?sslmode=require"\n'
        'pool_mode = "transaction"',
    ).replace("pgbouncer.internal:6432", "db.internal:5432", 1)
    assert not rule(check(tmp_path, direct), "migrations-over-pooler")
    session = pooled_only.replace('"transaction"', '"session"')
    assert not rule(check(tmp_path, session), "migrations-over-pooler")


def test_a_protected_pooler_or_replica_without_tls(tmp_path: Path) -> None:
    toml = HEAD + (
        "[environments.production]\n"
        'database_url = "postgresql://app@db.internal/shop?sslmode=verify-full"\n'
        'pooler_url = "postgresql://app@pgbouncer.internal:6432/shop"\n'
        'replicas = ["postgresql://app@replica.internal/shop?sslmode=disable",'
        ' "postgresql://app@replica2.internal/shop?sslmode=require"]\n'
    )
    found = rule(check(tmp_path, toml), "no-tls")
    assert [f.message.split("'s ")[1].split(" connects")[0] for f in found] == [
        "pooler_url",
        "replica 1",
    ]
    assert all(f.severity == "warning" for f in found)
    assert "sslmode=disable" in found[1].message
    safe = toml.replace("6432/shop", "6432/shop?sslmode=require").replace("=disable", "=require")
    assert not rule(check(tmp_path, safe), "no-tls")


def test_a_replica_spelled_as_another_environments_primary_offline(tmp_path: Path) -> None:
    toml = HEAD + (
        "[environments.production]\n"
        'database_url = "postgresql://app@db.internal:5432/shop?sslmode=require"\n'
        "[environments.staging]\n"
        'database_url = "postgresql://app@db-staging.internal/shop?sslmode=require"\n'
        'replicas = ["postgresql://ro@DB.internal/shop?sslmode=require"]\n'
    )
    (found,) = rule(check(tmp_path, toml), "replica-of-other-primary")
    assert found.environment == "staging" and "environment 'production''s" in found.message


REDIS = HEAD + (
    "[environments.production]\n"
    'database_url = "postgresql://app@db.internal/shop?sslmode=require"\n'
    'redis_cluster = ["rediss://redis-0.internal:6379", "rediss://redis-1.internal:6379"]\n'
    "[environments.staging]\n"
    'database_url = "postgresql://app@db.internal/shop_staging?sslmode=require"\n'
    'redis_url = "rediss://cache.internal:6379"\nredis_db = 0\n'
    "[environments.test]\n"
    'tier = "disposable"\n'
    'database_url = "postgresql://app@localhost/shop_test"\n'
)


@pytest.mark.parametrize(
    ("lines", "shared"),
    [
        ('redis_url = "redis://cache.internal:6379/0"', "staging"),  # staging's node and db
        ('redis_url = "redis://cache.internal:6379/1"', None),  # another db index
        ('redis_url = "redis://redis-1.internal:6379/4"', "production"),  # a cluster node
        ('redis_cluster = ["redis://redis-0.internal:6379"]', "production"),
        ('[environments.test.redis.queue]\nhost = "redis-1.internal"', "production"),
        ('redis_url = "redis://localhost:6379/1"', None),
    ],
)
def test_a_disposable_redis_inside_a_protected_ones(
    tmp_path: Path, lines: str, shared: str | None
) -> None:
    found = rule(check(tmp_path, REDIS + lines + "\n"), "redis-shared")
    if shared is None:
        assert not found
        return
    (finding,) = found
    assert finding.severity == "error" and finding.environment == "test"
    assert f"protected environment '{shared}'" in finding.message
    assert "a flush of 'test' would empty" in finding.message


# -- connecting --------------------------------------------------------------------


@pytest.fixture
def databases(pg_server: Any, replica_pair: ReplicaPair) -> Iterator[tuple[str, str]]:
    suite, pair = unique("check_suite"), unique("check_pair")
    create_database(pg_server.dsn, suite)
    create_database(replica_pair.primary.dsn, pair)
    replica_pair.wait_replayed()
    yield suite, pair
    drop_database(pg_server.dsn, suite)
    drop_database(replica_pair.primary.dsn, pair)


def test_staging_replica_streaming_from_production_and_a_replica_that_is_a_primary(
    tmp_path: Path, pg_server: Any, replica_pair: ReplicaPair, databases: tuple[str, str]
) -> None:
    suite, pair = databases
    toml = HEAD + (
        "[environments.production]\n"
        f'database_url = "{replica_pair.primary.dsn_for(pair)}"\n'
        "[environments.staging]\n"
        f'database_url = "{pg_server.dsn_for(suite)}"\n'
        f'replicas = ["{replica_pair.standby.dsn_for(pair)}",'
        f' "{replica_pair.primary.dsn_for("postgres")}"]\n'
    )
    report = check(tmp_path, toml, connect=True)
    (other,) = rule(report, "replica-of-other-primary")
    assert other.environment == "staging" and "replica 1" in other.message
    assert "streams from environment 'production''s primary" in other.message
    (primary,) = rule(report, "replica-not-in-recovery")
    assert "replica 2" in primary.message and "not in recovery" in primary.message
    offline = check(tmp_path, toml)
    assert not rule(offline, "replica-of-other-primary") + rule(offline, "replica-not-in-recovery")


def test_production_replica_of_its_own_primary_is_clean(
    tmp_path: Path, replica_pair: ReplicaPair, databases: tuple[str, str]
) -> None:
    _, pair = databases
    toml = HEAD + (
        "[environments.production]\n"
        f'database_url = "{replica_pair.primary.dsn_for(pair)}"\n'
        f'replicas = ["{replica_pair.standby.dsn_for(pair)}"]\n'
    )
    report = check(tmp_path, toml, connect=True)
    assert not [f for f in report.findings if f.rule.startswith(("replica", "pooler"))]


def test_a_pooler_that_leads_elsewhere_and_an_unreachable_replica_note(
    tmp_path: Path,
    pgbouncer: PgBouncer,
    replica_pair: ReplicaPair,
    databases: tuple[str, str],
) -> None:
    suite, pair = databases
    toml = HEAD + (
        "[environments.staging]\n"
        f'database_url = "{replica_pair.primary.dsn_for(pair)}"\n'
        f'pooler_url = "{pgbouncer.dsn_for(suite)}"\n'
        'replicas = ["postgresql://postgres@127.0.0.1:1/nothing"]\n'
    )
    report = check(tmp_path, toml, connect=True)
    (elsewhere,) = rule(report, "pooler-leads-elsewhere")
    assert elsewhere.severity == "error" and suite in elsewhere.message
    assert any("replica 1" in note and "not compared" in note for note in report.notes)
    fine = toml.replace(replica_pair.primary.dsn_for(pair), pgbouncer.server.dsn_for(suite))
    report = check(tmp_path, fine, connect=True)
    assert not rule(report, "pooler-leads-elsewhere")
    assert not [note for note in report.notes if "pooler was not" in note]  # compared, equal


def test_the_cli_reports_topology_findings_in_json(
    tmp_path: Path, pg_server: Any, replica_pair: ReplicaPair, databases: tuple[str, str]
) -> None:
    suite, _ = databases
    (tmp_path / "dbenv.toml").write_text(
        HEAD
        + "[environments.staging]\n"
        + f'database_url = "{pg_server.dsn_for(suite)}"\n'
        + f'replicas = ["{replica_pair.primary.dsn_for("postgres")}"]\n'
    )
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "check", "--json"])
    assert result.exit_code == 1, result.output
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "replica-not-in-recovery" in rules
