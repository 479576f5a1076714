"""Each guard refusal on its own, the override, the advisory lock and the journal."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dbenv.config import Project
from dbenv.errors import GuardRefusal, OperationError
from dbenv.safety import guard, journal
from dbenv.safety.stamp import stamp_state
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    journal_rows,
    load,
    stamp_as,
    unique,
    write_project,
)


@dataclass
class Site:
    """A project with a stamped test database and a stamped production database."""

    root: Path
    admin: str
    test_db: str
    prod_db: str
    dsn: dict[str, str]

    def project(
        self,
        extra: dict[str, dict[str, object]] | None = None,
        process_env: dict[str, str] | None = None,
    ) -> Project:
        envs: dict[str, dict[str, object]] = {
            "test": {"tier": "disposable", "database_url": self.dsn["test"]},
            "production": {"database_url": self.dsn["production"]},
        }
        envs.update(extra or {})
        write_project(self.root, "app", envs)
        return load(self.root, process_env)


@pytest.fixture
def site(pg_server: Any, tmp_path: Path) -> Iterator[Site]:
    admin = pg_server.dsn
    test_db, prod_db = unique("g_test"), unique("g_prod")
    made: list[str] = []
    dsn = {}
    for env, name in (("test", test_db), ("production", prod_db)):
        create_database(admin, name)
        made.append(name)
        dsn[env] = pg_server.dsn_for(name)
        with psycopg.connect(dsn[env], autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id int PRIMARY KEY)")
            conn.execute("INSERT INTO items SELECT generate_series(1, 5)")
        stamp_as(dsn[env], "app", env, tier="disposable" if env == "test" else "protected")
    result = Site(tmp_path, admin, test_db, prod_db, dsn)
    result.made = made
    yield result
    for name in made:
        drop_database(admin, name)


def extra_database(site: Site, pg_server: Any, label: str, *, rows: bool = True) -> str:
    name = unique(f"g_{label}_test")
    create_database(site.admin, name)
    site.made.append(name)
    dsn: str = pg_server.dsn_for(name)
    if rows:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id int PRIMARY KEY)")
            conn.execute("INSERT INTO items VALUES (1)")
    return dsn


def refusal(
    project: Project, env_name: str, operation: str = "reset", override: str | None = None
) -> GuardRefusal:
    env = project.environment(env_name)
    before = database_state(env.database_url.reveal())  # type: ignore[union-attr]
    with (
        pytest.raises(GuardRefusal) as caught,
        guard.destructive(project, env, operation, override=override),
    ):
        pytest.fail("the body of a refused operation ran")
    assert database_state(env.database_url.reveal()) == before  # type: ignore[union-attr]
    assert caught.value.exit_code == 3
    assert caught.value.hint
    return caught.value


def test_safe_operation_runs_and_journals_who_what_rows(site: Site) -> None:
    project = site.project()
    env = project.environment("test")
    with guard.destructive(project, env, "reset", arguments={"data_only": True}) as guarded:
        guarded.conn.execute("DELETE FROM items")
        guarded.record({"items": 5})
    rows = journal_rows(site.dsn["test"])
    assert rows[-1][:3] == ("reset", "test", "ok")
    assert rows[-1][5] == {"items": 5} and rows[-1][7] == {"data_only": True}
    entry = journal.read_entries(psycopg.connect(site.dsn["test"]))[-1]
    assert entry.os_user and entry.host and entry.pid > 0 and entry.duration_ms is not None


def test_refuses_a_protected_environment(site: Site) -> None:
    error = refusal(site.project(), "production")
    assert error.check == "tier"
    assert "'production' is protected" in error.message and "disposable" in (error.hint or "")


def test_refuses_an_unstamped_non_empty_database(site: Site, pg_server: Any) -> None:
    dsn = extra_database(site, pg_server, "unstamped")
    error = refusal(site.project({"test": {"tier": "disposable", "database_url": dsn}}), "test")
    assert error.check == "stamp"
    assert "carries no dbenv stamp" in error.message and "dbenv stamp test" in (error.hint or "")


def test_unstamped_empty_database_may_be_stamped_but_not_reset(site: Site, pg_server: Any) -> None:
    dsn = extra_database(site, pg_server, "empty", rows=False)
    project = site.project({"test": {"tier": "disposable", "database_url": dsn}})
    assert refusal(project, "test").check == "stamp"
    with guard.destructive(project, project.environment("test"), "stamp"):
        pass


def test_refuses_another_environments_database(site: Site, pg_server: Any) -> None:
    dsn = extra_database(site, pg_server, "dev")
    stamp_as(dsn, "app", "development")
    error = refusal(site.project({"test": {"tier": "disposable", "database_url": dsn}}), "test")
    assert error.check == "stamp" and "another environment: app/development" in error.message


def test_refuses_another_projects_database(site: Site, pg_server: Any) -> None:
    dsn = extra_database(site, pg_server, "otherproj")
    stamp_as(dsn, "billing", "test")
    error = refusal(site.project({"test": {"tier": "disposable", "database_url": dsn}}), "test")
    assert error.check == "stamp" and "another project: billing/test" in error.message


def test_refuses_a_restored_copy_of_production(site: Site, pg_server: Any) -> None:
    """pg_dump carries the stamp table, not the database-level marker."""
    dsn = extra_database(site, pg_server, "restored", rows=False)
    dump = site.root / "prod.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), "-d", site.dsn["production"]], check=True)
    subprocess.run(["pg_restore", "--no-owner", "-d", dsn, str(dump)], check=True)
    project = site.project({"test": {"tier": "disposable", "database_url": dsn}})
    with psycopg.connect(dsn) as conn:
        assert stamp_state(conn, "app", project.environment("test")) == "copy"
    error = refusal(project, "test")
    assert error.check == "stamp" and "is a copy of app/production" in error.message
    assert "--i-mean-it=" in (error.hint or "")


def test_refuses_a_template_clone_of_production(site: Site, pg_server: Any) -> None:
    name = unique("g_clone_test")
    with psycopg.connect(site.admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(site.prod_db)
            )
        )
    site.made.append(name)
    dsn = pg_server.dsn_for(name)
    error = refusal(site.project({"test": {"tier": "disposable", "database_url": dsn}}), "test")
    assert error.check == "stamp" and "copy" in error.message


def test_refuses_a_database_name_not_matching_the_pattern(site: Site, pg_server: Any) -> None:
    name = unique("g_scratch")  # no "test" in it
    create_database(site.admin, name)
    site.made.append(name)
    dsn = pg_server.dsn_for(name)
    stamp_as(dsn, "app", "test")
    error = refusal(site.project({"test": {"tier": "disposable", "database_url": dsn}}), "test")
    assert error.check == "pattern" and "does not match guard pattern 'test'" in error.message


def test_refuses_a_target_shared_with_a_protected_environment(site: Site) -> None:
    """Seed 003: staging on production's database, spelled differently, shares_with set."""
    stamp_as(site.dsn["production"], "app", "staging")  # even with staging's own stamp
    spelled = site.dsn["production"].replace("127.0.0.1", "localhost")
    project = site.project(
        {"staging": {"tier": "disposable", "database_url": spelled, "shares_with": ["production"]}}
    )
    error = refusal(project, "staging")
    assert error.check == "shared" and "protected environment 'production'" in error.message


def test_refuses_when_the_process_declares_another_environment(site: Site) -> None:
    project = site.project(process_env={"APP_ENV": "production"})
    error = refusal(project, "test")
    assert error.check == "declared" and "APP_ENV=production" in error.message


def test_generic_database_url_never_redirects_test(site: Site) -> None:
    project = site.project(process_env={"DATABASE_URL": site.dsn["production"]})
    env = project.environment("test")
    assert env.database_url is not None and site.test_db in env.database_url.reveal()
    assert all(r.passed for r in guard.evaluate(project, env, "reset"))


def test_a_wrong_override_is_refused_and_names_the_database(site: Site) -> None:
    error = refusal(site.project(), "production", override="app_prod")
    assert error.check == "override"
    assert f"--i-mean-it={site.prod_db}" in (error.hint or "")


def test_the_right_override_snapshots_first_and_is_journaled(site: Site) -> None:
    project = site.project(process_env={"DBENV_I_MEAN_IT": site.prod_db})
    env = project.environment("production")
    with guard.destructive(project, env, "reset") as guarded:
        assert guarded.snapshot is not None and Path(guarded.snapshot).is_file()
        guarded.conn.execute("DELETE FROM items")
    listing = subprocess.run(
        ["pg_restore", "--list", guarded.snapshot], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA public items" in listing
    last = journal_rows(site.dsn["production"])[-1]
    assert last[2] == "ok" and last[3] == site.prod_db and last[4] == guarded.snapshot


def test_a_refusal_is_journaled_locally_not_in_the_database(site: Site) -> None:
    project = site.project()
    refusal(project, "production")
    entries = journal.read_local(project.root)
    assert entries[-1]["outcome"] == "refused" and entries[-1]["detail"].startswith("tier:")
    assert journal_rows(site.dsn["production"]) == []


def test_a_failed_operation_is_journaled_and_reraised(site: Site) -> None:
    project = site.project()
    with (
        pytest.raises(RuntimeError),
        guard.destructive(project, project.environment("test"), "seed"),
    ):
        raise RuntimeError("bad seed file")
    last = journal_rows(site.dsn["test"])[-1]
    assert last[:3] == ("seed", "test", "failed") and "bad seed file" in last[6]


def test_refusal_messages_never_show_the_password(site: Site, pg_server: Any) -> None:
    url = site.dsn["production"].replace("postgres@", "postgres:Sup3rSecretPw@")
    project = site.project({"production": {"database_url": url}})
    error = refusal(project, "production")
    assert "Sup3rSecretPw" not in str(error)


def test_two_operations_at_once_the_second_waits(site: Site) -> None:
    project = site.project()
    env = project.environment("test")
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []
    waited: list[str] = []

    def first() -> None:
        with guard.destructive(project, env, "reset"):
            order.append("first in")
            inside.set()
            release.wait(10)
            order.append("first out")

    def second() -> None:
        with guard.destructive(project, env, "seed", progress=waited.append):
            order.append("second in")

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.5)
    assert order == ["first in"]
    release.set()
    one.join(10)
    two.join(10)
    assert order == ["first in", "first out", "second in"]
    assert waited and "waiting for another dbenv operation" in waited[0]
    assert [r[2] for r in journal_rows(site.dsn["test"])[-2:]] == ["ok", "ok"]


def _target_sessions(site: Site, application: str) -> int:
    with psycopg.connect(site.admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [site.test_db, application],
        ).fetchone()
    return int(row[0]) if row else -1


def test_a_waiting_operation_keeps_no_connection_to_the_target(site: Site) -> None:
    """The target connection opened beside the lock is let go when the lock is busy:
    the holder may be about to swap or drop the database."""
    project = site.project()
    env = project.environment("test")
    waiting = threading.Event()
    with guard.destructive(project, env, "reset"):

        def second() -> None:
            with guard.destructive(project, env, "seed", progress=lambda _: waiting.set()):
                pass

        thread = threading.Thread(target=second)
        thread.start()
        assert waiting.wait(10)
        time.sleep(0.2)
        assert _target_sessions(site, "dbenv:app:test:seed") == 0
    thread.join(10)
    assert [r[:3] for r in journal_rows(site.dsn["test"])[-1:]] == [("seed", "test", "ok")]


def test_an_early_connection_ended_before_the_lock_was_held_is_replaced(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A previous holder's swap forces clients off the target; the guard connects again."""
    from dbenv.backends import postgres

    taken = postgres.PendingConnection.take
    ended: list[int] = []

    def take_then_end(self: postgres.PendingConnection) -> Any:
        conn = taken(self)
        if conn is not None:
            with psycopg.connect(site.admin, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", [conn.info.backend_pid])
            ended.append(conn.info.backend_pid)
        return conn

    monkeypatch.setattr(postgres.PendingConnection, "take", take_then_end)
    project = site.project()
    with guard.destructive(project, project.environment("test"), "reset") as guarded:
        assert guarded.conn.info.backend_pid not in ended
        guarded.conn.execute("DELETE FROM items")
    assert ended
    assert journal_rows(site.dsn["test"])[-1][:3] == ("reset", "test", "ok")
    with psycopg.connect(site.dsn["test"]) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_a_lock_timeout_fails_clearly(site: Site) -> None:
    project = site.project()
    env = project.environment("test")
    with guard.destructive(project, env, "reset"):
        result: list[BaseException] = []

        def other() -> None:
            try:
                with guard.destructive(project, env, "reset", lock_timeout=0.2):
                    pass
            except BaseException as exc:
                result.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
    assert isinstance(result[0], OperationError)
    assert "held its lock for more than 0.2 s" in result[0].message


def test_database_recreated_restamps_and_keeps_the_journal(site: Site) -> None:
    project = site.project()
    env = project.environment("test")
    with guard.destructive(project, env, "reset") as guarded:
        pass
    with guard.destructive(project, env, "reset") as guarded:
        guarded.before_drop()
        with psycopg.connect(site.admin, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(site.test_db))
            )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(site.test_db)))
        guarded.database_recreated()
    with psycopg.connect(site.dsn["test"]) as conn:
        assert stamp_state(conn, "app", env) == "ok"
    assert [r[2] for r in journal_rows(site.dsn["test"])] == ["ok", "ok"]


def test_a_killed_operation_releases_its_lock(site: Site) -> None:
    """kill -9 mid-operation: the session ends, the lock goes with it, the next run proceeds."""
    import signal
    import sys

    project = site.project()
    script = (
        "import sys, time\n"
        "from dbenv.config import load_project\n"
        "from dbenv import guard\n"
        f"p = load_project(project={str(site.root)!r}, process_env={{}})\n"
        "with guard.destructive(p, p.environment('test'), 'reset') as g:\n"
        "    g.conn.execute('DELETE FROM items WHERE id = 1')\n"
        "    print('inside', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "inside"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    with guard.destructive(project, project.environment("test"), "reset", lock_timeout=10) as g:
        row = g.conn.execute("SELECT count(*) FROM items").fetchone()
    assert row == (4,)
    assert [r[2] for r in journal_rows(site.dsn["test"])] == ["ok"]


def test_shared_database_scopes_seed_000_and_a_whole_database_target(site: Site) -> None:
    """Prefix test_ beside production's unprefixed tables is fine (seed 000); a
    database-mode target on a database holding a protected prefix is not."""
    prod = site.dsn["production"]
    seed_000 = site.project(
        {
            "test": {
                "tier": "disposable",
                "isolation": "prefix",
                "prefix": "test_",
                "database_url": prod,
            },
        }
    )
    shared = {r.check: r for r in guard.evaluate(seed_000, seed_000.environment("test"), "reset")}
    assert shared["shared"].passed
    whole = site.project(
        {
            "test": {"tier": "disposable", "database_url": prod},
            "production": {"isolation": "prefix", "prefix": "prod_", "database_url": prod},
        }
    )
    result = {r.check: r for r in guard.evaluate(whole, whole.environment("test"), "reset")}
    assert not result["shared"].passed and "'production'" in result["shared"].found
    overlapping = site.project(
        {
            "test": {
                "tier": "disposable",
                "isolation": "prefix",
                "prefix": "test_",
                "database_url": prod,
            },
            "production": {"isolation": "prefix", "prefix": "test", "database_url": prod},
        }
    )
    checks = guard.evaluate(overlapping, overlapping.environment("test"), "reset")
    assert not {r.check: r for r in checks}["shared"].passed
