"""examples/heliotrope (seed 003): a Drizzle schema built through a ``cmd:`` source.

``dbenv reset test`` runs the example's ``npx drizzle-kit push --force`` (the real
drizzle-kit, from the npm registry) into a template database and clones it; a second
reset clones the same template without running the command (proved by taking
drizzle-kit away first); editing an input (``server/db/schema.js``) builds a new one.
The project root holds a ``.env`` naming development's database, which drizzle-kit
loads by itself: development must come out byte for byte as it went in. The app's
own scripts (drizzle-orm on ``pg``) then run on test's database. The doctor's
findings on the example as shipped: staging shares production's database
(``dbenv check``), and the team's architecture doc carries their passwords
(``dbenv scan``), masked.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.config import load_project
from dbenv.lifecycle.template import template_name
from lifecycle_support import create_database, database_state, unique
from node_support import dbenv, example_copy, ok, on_server
from reset_support import drop_project_databases, tables_in

TABLES = ["training_documents", "users", "workshop_progress", "workshops"]
PASSWORD = "HeliotropeDev2025"  # the seed's, in examples/heliotrope/docs/


@pytest.fixture
def example(tmp_path: Path, pg_server: Any) -> Iterator[tuple[Path, str, str]]:
    root = example_copy("heliotrope", tmp_path / "heliotrope")
    names = {env: unique(f"heliotrope_{env}") for env in ("development", "test")}
    for name in names.values():
        create_database(pg_server.dsn, name)
    urls = {env: pg_server.dsn_for(name) for env, name in names.items()}
    text = (root / "dbenv.toml").read_text(encoding="utf-8")
    text = text.replace('name = "heliotrope"', f'name = "{unique("heliotrope")}"')
    (root / "dbenv.toml").write_text(on_server(text, urls))
    project = load_project(project=root, process_env={})
    try:
        ok(dbenv(root, "stamp", "development"))
        ok(dbenv(root, "stamp", "test"))
        yield root, urls["development"], urls["test"]
    finally:
        drop_project_databases(pg_server.dsn, project, *names.values())


def columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
        ).fetchall()
    return [row[0] for row in rows]


def reset_test(root: Path) -> dict[str, Any]:
    done = dbenv(root, "reset", "test", "--json")
    ok(done)
    return dict(json.loads(done.stdout))


def test_reset_builds_the_drizzle_schema_once_and_clones_it_after(
    example: tuple[Path, str, str],
) -> None:
    root, development, test = example
    ok(dbenv(root, "run", "development", "--", "npm", "run", "db:push"))
    ok(dbenv(root, "run", "development", "--", "npm", "run", "db:seed"))
    # the user's .env for drizzle-kit, naming development: loaded by drizzle-kit itself
    (root / ".env").write_text(f"DATABASE_URL={development}\n")
    before = database_state(development)

    first = reset_test(root)
    assert first["template_built"] and first["method"] == "template"
    assert tables_in(test) == TABLES
    assert database_state(development) == before

    (root / "node_modules").unlink()  # no drizzle-kit: only a clone can succeed now
    second = reset_test(root)
    assert not second["template_built"]
    assert (second["template"], second["fingerprint"]) == (first["template"], first["fingerprint"])
    assert tables_in(test) == TABLES

    (root / "node_modules").symlink_to(
        Path(__file__).resolve().parent.parent / "examples" / "heliotrope" / "node_modules"
    )
    schema = root / "server" / "db" / "schema.js"
    text = schema.read_text()
    anchor = 'facilitatorId: integer("facilitator_id")'
    assert text.count(anchor) == 1
    schema.write_text(text.replace(anchor, 'venue: text("venue"),\n  ' + anchor))
    third = reset_test(root)
    assert third["template_built"] and third["fingerprint"] != first["fingerprint"]
    assert "venue" in columns(test, "workshops")
    # had drizzle-kit taken .env's DATABASE_URL, development would have the column now
    assert "venue" not in columns(development, "workshops")
    assert database_state(development) == before

    ok(dbenv(root, "run", "test", "--", "npm", "run", "db:seed"))
    status = ok(dbenv(root, "run", "test", "--", "npm", "run", "-s", "status"))
    test_db = test.rsplit("/", 1)[1]
    assert "Environment: test\n" in status and f"/{test_db}\n" in status
    assert 'Rows: {"users":3,"workshops":1,"trainingDocuments":1}' in status


def test_the_doctor_flags_the_shared_database_and_the_leaked_passwords(
    example: tuple[Path, str, str],
) -> None:
    root = example[0]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    check = dbenv(root, "check", "--offline")
    assert check.returncode == 1
    assert (
        "error   shared-database        [staging] environments 'production' and 'staging' "
        "both resolve to heliotrope-shared.rds.example.invalid:5432/postgres" in check.stdout
    )
    assert 'add shares_with = ["production"] to [environments.staging]' in check.stdout
    scan = dbenv(root, "scan")
    assert scan.returncode == 1
    lines = [line for line in scan.stdout.splitlines() if "credential-in-file" in line]
    assert [line.split()[2].rstrip(":") for line in lines] == [
        f"docs/DATABASE_ARCHITECTURE.md:{n}" for n in (46, 53, 60, 68, 76, 83)
    ]
    for output in (check.stdout + check.stderr, scan.stdout + scan.stderr):
        assert PASSWORD not in output and "credential-in-file" in output
    # the deploy build checks the tier it was started for (seed 003 set NODE_ENV by hand)
    wrong = dbenv(root, "run", "test", "--", "npm", "run", "-s", "build:staging")
    assert wrong.returncode == 2
    assert "start it with `dbenv run staging -- npm run build:staging`" in wrong.stderr
    # staging and production are the team's: nothing destructive reaches them
    refused = dbenv(root, "reset", "staging")
    assert refused.returncode == 3 and "protected" in refused.stderr


def test_a_url_variable_dbenv_does_not_point_is_refused_before_drizzle_kit_runs(
    example: tuple[Path, str, str], pg_server: Any
) -> None:
    # nextjs-saas-starter's shape: drizzle.config.ts reads POSTGRES_URL, and .env (which
    # drizzle-kit loads by itself) names development
    root, development, test = example
    ok(dbenv(root, "run", "development", "--", "npm", "run", "db:push"))
    config = root / "drizzle.config.ts"
    config.write_text(config.read_text().replace("env.DATABASE_URL", "env.POSTGRES_URL"))
    (root / ".env").write_text(f"POSTGRES_URL={development}\n")
    schema = root / "server" / "db" / "schema.js"
    anchor = 'facilitatorId: integer("facilitator_id")'
    schema.write_text(schema.read_text().replace(anchor, 'venue: text("venue"),\n  ' + anchor))
    before, test_before = database_state(development), database_state(test)
    project = load_project(project=root, process_env={})

    refused = dbenv(root, "reset", "test")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert (
        "the schema command of 'test' would get POSTGRES_URL from .env:1, a PostgreSQL URL "
        "dbenv does not point at the database being built" in refused.stderr
    )
    assert 'POSTGRES_URL = "url" under [export]' in refused.stderr
    (root / ".env").unlink()
    shell = dbenv(root, "reset", "test", POSTGRES_URL=development)
    assert shell.returncode == 2 and "from the process environment" in shell.stderr
    assert database_state(development) == before and database_state(test) == test_before
    with psycopg.connect(pg_server.dsn) as conn:
        stem = template_name(project.name, "")
        made = conn.execute(
            "SELECT count(*) FROM pg_database WHERE left(datname, %s) = %s", [len(stem), stem]
        ).fetchone()
    assert made == (0,)  # refused before any template was made

    (root / ".env").write_text(f"POSTGRES_URL={development}\n")
    text = (root / "dbenv.toml").read_text()
    (root / "dbenv.toml").write_text(
        text.replace("[local]", '[export]\nPOSTGRES_URL = "url"\n\n[local]')
    )
    assert reset_test(root)["template_built"]
    assert "venue" in columns(test, "workshops")
    assert "venue" not in columns(development, "workshops")
    assert database_state(development) == before
