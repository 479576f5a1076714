"""Every lock a destructive verb waits for ends: the timeout, the blocker named, nothing changed.

A real session blocks each verb the way users met it — a ``SELECT ... FOR UPDATE``
left open, an idle-in-transaction reader, another dbenv holding the target's
advisory lock — and the verb, run through the CLI with ``lock_timeout = 2``, must
say after about a second whom it waits for, then stop with exit 1, one sentence
naming the blocking pid, its application_name and environment, and leave the
target's rows as they were. Ctrl-C while ``diff --apply`` waits exits 130.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbenv.cli import app
from sync_support import SALT, Scenario, execute, make_scenario, query, table_state

TIMEOUT = 2


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    for made in make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen"):
        path = made.root / "dbenv.toml"
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace(
                'name = "contentgen"\n', f'name = "contentgen"\nlock_timeout = {TIMEOUT}\n'
            ),
            encoding="utf-8",
        )
        yield made


def _blocker(dsn: str, statement: str, app_name: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, application_name=app_name)
    conn.execute(statement.encode())  # psycopg opened a transaction: it stays open
    return conn


def _cli(scenario: Scenario, *args: str) -> Any:
    return CliRunner().invoke(
        app, ["--project", str(scenario.root), *args], env={"DBENV_MASK_SALT": SALT}
    )


def _assert_gave_up(result: Any, pid: int, environment: str) -> None:
    text = result.stderr
    assert result.exit_code == 1, text
    assert "Traceback" not in text and "internal error" not in text, text
    final = [line for line in text.splitlines() if line.startswith("dbenv: ")]
    assert len(final) == 1, text
    assert f"pid {pid}" in final[0] and f"environment {environment}" in final[0], text
    assert "nothing was changed" in final[0], text
    # reported while it waited, through the progress callback
    assert "waiting for a lock held by" in text or "waiting for another dbenv" in text, text


FOR_UPDATE = "SELECT * FROM prompts FOR UPDATE"


@pytest.mark.parametrize(
    ("verb", "statement"),
    [
        ("sync", "SELECT count(*) FROM prompts"),  # idle in transaction: TRUNCATE waits
        ("seed", FOR_UPDATE),
        ("reset-data", FOR_UPDATE),
        ("diff-apply", FOR_UPDATE),
    ],
)
def test_a_verb_behind_a_held_lock_gives_up_naming_the_holder(
    scenario: Scenario, tmp_path: Path, verb: str, statement: str
) -> None:
    args = {
        "sync": ["sync", "production", "test"],
        "seed": ["seed", "test", str(tmp_path / "prompts.json")],
        "reset-data": ["reset", "test", "--data-only"],
        "diff-apply": ["diff", "production", "test", "--apply"],
    }[verb]
    (tmp_path / "prompts.json").write_text(
        json.dumps({"prompts": [{"id": 1, "object_model_id": 1, "name": "x", "template": "y"}]})
    )
    execute(scenario.production, "ALTER TABLE prompts ADD COLUMN extra int")  # for the diff
    before = table_state(scenario.test)
    blocker = _blocker(scenario.test, statement, "dbenv:contentgen:production:worker")
    pid = blocker.info.backend_pid
    try:
        started = time.monotonic()
        result = _cli(scenario, *args)
        took = time.monotonic() - started
    finally:
        blocker.close()
    _assert_gave_up(result, pid, "production")
    assert took < TIMEOUT + 15
    assert table_state(scenario.test) == before
    columns = query(
        scenario.test,
        "SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'",
    )
    assert columns == [(0,)]


def _hold_advisory_lock(scenario: Scenario) -> psycopg.Connection[Any]:
    from dbenv.safety.lock import lock_key
    from dbenv.target import Target

    key = lock_key(Target.of(scenario.project().environment("test")))
    conn = psycopg.connect(
        scenario.admin_dsn, autocommit=True, application_name="dbenv:contentgen:test:reset"
    )
    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
    return conn


@pytest.mark.parametrize("verb", ["restore", "clone"])
def test_a_verb_behind_another_dbenv_gives_up_naming_it(
    scenario: Scenario, tmp_path: Path, verb: str
) -> None:
    dump = tmp_path / "test.dump"
    if verb == "restore":
        assert _cli(scenario, "dump", "test", "-o", str(dump)).exit_code == 0
    before = table_state(scenario.test)
    holder = _hold_advisory_lock(scenario)
    pid = holder.info.backend_pid
    unmasked = ["--no-mask", f"--i-mean-it={scenario.names[1]}"]
    args = ["restore", str(dump), "test"] if verb == "restore" else ["clone", "production", "test"]
    try:
        result = _cli(scenario, *args, *(unmasked if verb == "clone" else []))
    finally:
        holder.close()
    _assert_gave_up(result, pid, "test")
    assert "held its lock for more than 2 s" in result.stderr
    assert table_state(scenario.test) == before


@pytest.mark.parametrize("behind", ["another dbenv", "a row lock"])
def test_ctrl_c_while_diff_apply_waits_exits_130(scenario: Scenario, behind: str) -> None:
    execute(scenario.production, "ALTER TABLE prompts ADD COLUMN extra int")
    if behind == "another dbenv":
        holder, waiter = _hold_advisory_lock(scenario), "dbenv:contentgen:test:lock"
    else:
        holder = _blocker(scenario.test, FOR_UPDATE, "psql")
        waiter = "dbenv:contentgen:test:diff-apply"
    path = scenario.root / "dbenv.toml"
    path.write_text(path.read_text().replace(f"lock_timeout = {TIMEOUT}", "lock_timeout = 120"))
    child = subprocess.Popen(
        [sys.executable, "-m", "dbenv", "--project", str(scenario.root), *DIFF_APPLY],
        env={**os.environ, "DBENV_MASK_SALT": SALT},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _waiting(scenario, waiter):
            assert child.poll() is None, child.communicate()[1].decode()
            assert time.monotonic() < deadline, "diff --apply never waited for the lock"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        holder.close()
        if child.poll() is None:
            child.kill()
    text = stderr.decode()
    assert child.returncode == 130, text
    assert "dbenv: interrupted." in text
    assert "Traceback" not in text and "internal error" not in text, text
    columns = query(
        scenario.test, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'"
    )
    assert columns == [(0,)]


DIFF_APPLY = ("diff", "production", "test", "--apply")


def _waiting(scenario: Scenario, application_name: str) -> bool:
    rows = query(
        scenario.admin_dsn,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        " AND wait_event_type = 'Lock'",
        (application_name,),
    )
    return bool(rows[0][0])


def test_a_reset_behind_another_template_build_gives_up_naming_it(
    tmp_path: Path, pg_server: Any
) -> None:
    from dbenv.backends.postgres import lock_key
    from dbenv.errors import OperationError
    from dbenv.lifecycle.template import ensure_template, template_name
    from dbenv.sources.schema import load_schema_source, render
    from reset_support import drop_project_databases, make_project

    project, database, _ = make_project(tmp_path, pg_server)
    env = project.environment("test")
    name = template_name(project.name, render(project, env, load_schema_source(project, env))[0])
    said: list[str] = []
    try:
        with psycopg.connect(
            pg_server.dsn, autocommit=True, application_name=f"dbenv:{project.name}:test:template"
        ) as builder:
            builder.execute("SELECT pg_advisory_lock(%s)", [lock_key(name)])
            with pytest.raises(OperationError) as caught:
                ensure_template(project, env, progress=said.append, lock_timeout=1.5)
            pid = builder.info.backend_pid
        assert f"pid {pid}" in caught.value.message and "environment test" in caught.value.message
        assert "waited 1.5 s" in caught.value.message
        assert any("is waiting for a lock held by" in line for line in said), said
        assert ensure_template(project, env, lock_timeout=1.5).name == name  # free again
    finally:
        drop_project_databases(pg_server.dsn, project, database)
