"""``dbenv flush`` goes through the guard: each refusal on its own, the lock, the journal.

An environment with a database gets the five checks, the advisory lock and a
``dbenv.journal`` row; a Redis-only one the tier and declared checks and a local
journal row. Keys live under a unique prefix on db 7 (the FLUSHDB test uses db 8),
so a Redis shared between workers is never cleared under another test.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from dbenv.backends import redis as backend
from dbenv.commands.lifecycle import flush
from dbenv.config import Project
from dbenv.config.model import Environment, SecretURL
from dbenv.errors import ConfigError, GuardRefusal
from dbenv.safety import guard, journal
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

DB = 7


@dataclass
class Site:
    """test (stamped, disposable) and production (protected) databases, and a key prefix."""

    root: Path
    redis_url: str
    prefix: str
    dsn: dict[str, str]
    client: redis.Redis

    def project(
        self,
        test: dict[str, object] | None = None,
        process_env: dict[str, str] | None = None,
        production: dict[str, object] | None = None,
    ) -> Project:
        envs: dict[str, dict[str, object]] = {
            "test": {
                "tier": "disposable",
                "database_url": self.dsn["test"],
                "redis_url": self.redis_url,
                "redis_db": DB,
                "redis_prefix": self.prefix + "test:",
                **(test or {}),
            },
            "production": {
                "database_url": self.dsn["production"],
                "redis_url": self.redis_url,
                "redis_db": DB,
                "redis_prefix": self.prefix + "prod:",
                **(production or {}),
            },
        }
        for settings in envs.values():  # None: leave the key out
            for key in [k for k, v in settings.items() if v is None]:
                del settings[key]
        write_project(self.root, "app", envs)
        return load(self.root, process_env)

    def fill(self) -> None:
        for i in range(3):
            self.client.set(f"{self.prefix}test:{i}", "t", px=600_000 if i == 0 else None)
        self.client.set(f"{self.prefix}prod:session", "p")

    def present(self) -> list[bytes]:
        return sorted(self.client.scan_iter(match=self.prefix + "*"))


@pytest.fixture
def site(pg_server: Any, redis_server: Any, tmp_path: Path) -> Iterator[Site]:
    names = {"test": unique("fl_test"), "production": unique("fl_prod"), "bare": unique("fl_test")}
    for name in names.values():
        create_database(pg_server.dsn, name)
    dsn = {key: pg_server.dsn_for(name) for key, name in names.items()}
    stamp_as(dsn["test"], "app", "test")
    stamp_as(dsn["production"], "app", "production", tier="protected")
    with psycopg.connect(dsn["bare"], autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    client = redis.Redis.from_url(redis_server.url, db=DB)
    made = Site(tmp_path, redis_server.url, f"fl{uuid.uuid4().hex[:8]}:", dsn, client)
    made.fill()
    yield made
    for key in made.present():
        client.delete(key)
    client.close()
    for name in names.values():
        drop_database(pg_server.dsn, name)


def refused(site: Site, project: Project, check: str, *, override: str | None = None) -> None:
    """Flush is refused by ``check`` and neither Redis nor the database changed."""
    before_keys = site.present()
    before_db = database_state(site.dsn["test"])
    with pytest.raises(GuardRefusal) as caught:
        flush(project, project.environment("test"), override=override)
    assert caught.value.check == check and caught.value.exit_code == 3
    assert caught.value.hint
    assert site.present() == before_keys and len(before_keys) == 4
    assert database_state(site.dsn["test"]) == before_db
    last = journal.read_local(site.root)[-1]
    assert (last["operation"], last["outcome"]) == ("flush", "refused")


def test_flush_runs_through_the_guard_and_journals_in_the_database(site: Site) -> None:
    project = site.project()
    result = flush(project, project.environment("test"))
    assert result.keys_removed == 3
    assert site.present() == [f"{site.prefix}prod:session".encode()]
    last = journal_rows(site.dsn["test"])[-1]
    assert last[:5] == ("flush", "test", "ok", None, None)
    assert last[5] == {"keys": 3}
    assert last[7] == {"db": DB, "prefix": site.prefix + "test:"}


def test_flush_of_a_protected_environment_is_refused_by_tier(site: Site) -> None:
    project = site.project(test={"tier": "protected"})
    refused(site, project, "tier")


def test_flush_of_an_unstamped_database_is_refused_by_stamp(site: Site) -> None:
    refused(site, site.project(test={"database_url": site.dsn["bare"]}), "stamp")


def test_flush_whose_database_name_misses_the_pattern_is_refused(site: Site) -> None:
    refused(site, site.project(test={"guard_pattern": "^nomatch$"}), "pattern")


def test_flush_of_a_database_shared_with_production_is_refused(site: Site) -> None:
    refused(site, site.project(production={"database_url": site.dsn["test"]}), "shared")


def test_flush_under_another_declared_environment_is_refused(site: Site) -> None:
    refused(site, site.project(process_env={"APP_ENV": "production"}), "declared")


def test_flush_with_an_override_naming_another_database_is_refused(site: Site) -> None:
    refused(site, site.project(test={"tier": "protected"}), "override", override="postgres")


def test_flush_of_a_redis_db_production_uses_is_refused_even_with_the_override(
    site: Site,
) -> None:
    project = site.project(production={"redis_prefix": site.prefix})  # overlaps test's
    database = site.dsn["test"].rsplit("/", 1)[1]
    refused(site, project, "redis-shared", override=database)
    assert journal_rows(site.dsn["test"]) == []


def test_overridden_flush_saves_the_keys_first_and_journals_it(site: Site) -> None:
    project = site.project(test={"guard_pattern": "^nomatch$"})
    database = site.dsn["test"].rsplit("/", 1)[1]
    env = project.environment("test")
    assert flush(project, env, override=database).keys_removed == 3
    last = journal_rows(site.dsn["test"])[-1]
    assert last[:4] == ("flush", "test", "ok", database)
    saved = Path(last[4])
    assert saved.is_file() and saved.parent == site.root / ".dbenv" / "snapshots"
    assert backend.restore_snapshot(env, saved) == 3
    assert len(site.present()) == 4
    assert 0 < site.client.pttl(f"{site.prefix}test:0") <= 600_000


def test_flush_waits_for_another_operation_on_the_database(site: Site) -> None:
    project = site.project()
    env = project.environment("test")
    done: list[float] = []
    with guard.destructive(project, env, "reset"):
        worker = threading.Thread(target=lambda: done.append(flush(project, env).keys_removed))
        worker.start()
        time.sleep(0.4)
        assert done == [] and len(site.present()) == 4  # waiting for the lock
    worker.join(10)
    assert done == [3]


def test_flush_without_a_redis_url_is_bad_input(site: Site) -> None:
    project = site.project(test={"redis_url": None, "redis_db": None, "redis_prefix": None})
    with pytest.raises(ConfigError) as caught:
        flush(project, project.environment("test"))
    assert caught.value.exit_code == 2 and len(site.present()) == 4
    assert journal_rows(site.dsn["test"]) == []


def redis_only(site: Site, **test: object) -> Project:
    root = site.root
    write_project(
        root,
        "app",
        {
            "test": {
                "tier": "disposable",
                "redis_url": site.redis_url,
                "redis_db": DB,
                "redis_prefix": site.prefix + "test:",
                **test,
            },
            "production": {
                "redis_url": site.redis_url,
                "redis_db": DB,
                "redis_prefix": site.prefix + "prod:",
            },
        },
    )
    return load(root)


def test_redis_only_flush_runs_and_journals_locally(site: Site) -> None:
    project = redis_only(site)
    assert flush(project, project.environment("test")).keys_removed == 3
    assert site.present() == [f"{site.prefix}prod:session".encode()]
    last = journal.read_local(site.root)[-1]
    assert (last["outcome"], last["rows"], last["override"]) == ("ok", {"keys": 3}, None)


def test_redis_only_flush_of_a_protected_environment_is_refused(site: Site) -> None:
    refused(site, redis_only(site, tier="protected"), "tier")


def test_redis_only_flush_under_another_declared_environment_is_refused(site: Site) -> None:
    redis_only(site)
    refused(site, load(site.root, {"APP_ENV": "production"}), "declared")


def test_redis_only_override_must_name_the_db_index(site: Site) -> None:
    refused(site, redis_only(site, tier="protected"), "override", override="redis/0")


def test_redis_only_override_names_the_db_index_and_saves_the_keys(site: Site) -> None:
    project = redis_only(site, tier="protected")
    assert flush(project, project.environment("test"), override=f"redis/{DB}").keys_removed == 3
    last = journal.read_local(site.root)[-1]
    assert (last["outcome"], last["override"]) == ("ok", f"redis/{DB}")
    assert Path(last["snapshot"]).is_file()


def test_redis_only_flush_of_a_shared_db_is_refused(site: Site) -> None:
    project = redis_only(site, redis_prefix=site.prefix)  # overlaps production's
    refused(site, project, "redis-shared", override=f"redis/{DB}")


def test_flushdb_counts_the_keys_it_removed(redis_server: Any) -> None:
    client = redis.Redis.from_url(redis_server.url, db=8)
    client.mset({"a": 1, "b": 2})
    url = redis_server.url
    env = Environment(
        name="test",
        project="app",
        root=Path("."),
        tier="disposable",
        redis_url=SecretURL(url, masked=url),
        redis_db=8,
    )
    try:
        assert backend.flush(env, []).keys_removed == 2 and client.dbsize() == 0
    finally:
        client.close()
