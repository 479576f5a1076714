"""examples/agents-node (seed 000 in Node): a backend and a frontend, one database.

The example's own scripts run through ``dbenv run`` with real Node and the ``pg``
package: the backend's ``npm run migrate`` / ``npm run sync`` and the frontend's
``npm run dev`` (an HTTP server, asked over HTTP). Each package's ``.env`` says
``APP_ENV=test`` plus a ``DATABASE_URL`` to nowhere, as a checkout has it; dbenv's
values must win. Production's objects and rows (tests/test_prefix_isolation.py's
snapshot) must be identical after everything test did, including the data-only reset.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lifecycle_support import create_database, drop_database, unique
from node_support import DBENV, clean_env, dbenv, example_copy, ok, on_server
from test_prefix_isolation import production_snapshot

NOWHERE = "postgresql://nobody:not-this-one@127.0.0.1:9/seed000_azure"


@pytest.fixture
def example(tmp_path: Path, pg_server: Any) -> Iterator[tuple[Path, str]]:
    root = example_copy("agents-node", tmp_path / "agents-node")
    database = unique("agents_node")
    create_database(pg_server.dsn, database)
    url = pg_server.dsn_for(database)
    text = (root / "dbenv.toml").read_text(encoding="utf-8")
    (root / "dbenv.toml").write_text(on_server(text, {"production": url, "test": url}))
    for part in ("backend", "frontend"):  # as seed 000's README has them
        (root / part / ".env").write_text(f"APP_ENV=test\nDATABASE_URL={NOWHERE}\n")
    try:
        ok(dbenv(root, "stamp", "production"))  # lists test as a tenant
        ok(dbenv(root, "stamp", "test"))
        yield root, url
    finally:
        drop_database(pg_server.dsn, database)


def rows(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def frontend_agents(root: Path) -> dict[str, Any]:
    """Start ``dbenv run test -- npm run dev``, ask GET /api/agents, stop it."""
    server = subprocess.Popen(
        [DBENV, "--project", str(root), "run", "test", "--", "npm", "run", "dev"],
        cwd=root / "frontend",
        env=clean_env(PORT="0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: npm, sh and node stop together
    )
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line.startswith("listening on "):
                break
        else:
            pytest.fail("the frontend stopped before listening:\n" + "".join(lines))
        assert "📊 Environment: test\n" in lines
        url = line.split()[-1] + "/api/agents"
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(json.load(response))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def test_backend_and_frontend_run_on_tests_tables_and_production_is_untouched(
    example: tuple[Path, str],
) -> None:
    root, url = example
    backend = root / "backend"
    # the live app: production's tables, with a sync's rows in them
    ok(dbenv(root, "run", "production", "--", "npm", "run", "migrate", cwd=backend))
    ok(dbenv(root, "run", "production", "--", "npm", "run", "sync", cwd=backend))
    before = production_snapshot(url)
    assert before["data"]["Agents"][0] == 3

    ok(dbenv(root, "run", "test", "--", "npm", "run", "migrate", cwd=backend))
    synced = ok(dbenv(root, "run", "test", "--", "npm", "run", "sync", cwd=backend))
    assert "📋 Tables: test_Agents, test_Sessions, test_Conversations" in synced
    ok(dbenv(root, "run", "test", "--", "npm", "run", "sync", cwd=backend))
    assert (rows(url, "test_Agents"), rows(url, "test_Sessions")) == (3, 2)
    served = frontend_agents(root)
    assert served["environment"] == "test"
    assert {a["name"]: a["sessions"] for a in served["agents"]} == {
        "scheduler": 0,
        "support": 0,
        "sync-bot": 2,
    }
    assert production_snapshot(url) == before

    # the app made test's tables, so they are not yet test's to empty: refused, nothing changed
    refused = dbenv(root, "reset", "test", "--data-only")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "dbenv stamp test --i-mean-it=" in refused.stderr
    assert rows(url, "test_Agents") == 3
    database = url.rsplit("/", 1)[1]
    ok(dbenv(root, "stamp", "test", f"--i-mean-it={database}"))  # claim them, once
    emptied = ok(dbenv(root, "reset", "test", "--data-only"))
    assert "3 tables verified" in emptied
    assert [rows(url, t) for t in ("test_Agents", "test_Sessions", "test_Conversations")] == [
        0,
        0,
        0,
    ]
    assert production_snapshot(url) == before


def test_check_reports_components_that_disagree(example: tuple[Path, str]) -> None:
    root, _ = example
    assert "0 error(s), 0 warning(s)" in ok(dbenv(root, "check", "--offline"))
    # seed 000's "DO NOT DO" row: backend on production, frontend on test
    (root / "backend" / ".env").write_text("APP_ENV=production\n")
    done = dbenv(root, "check", "--offline")
    assert done.returncode == 1
    assert "components-disagree" in done.stdout
    assert "component 'backend' (backend/.env) selects environment 'production'" in done.stdout
