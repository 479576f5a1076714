"""The Redis backend: ping, flush of an environment's db or prefix, refusal on shared dbs.

Uses db indexes 10-12 only (the suite's Redis may be shared).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from dbenv.backends import redis as backend
from dbenv.cli import app
from dbenv.config.model import Environment, SecretURL
from dbenv.errors import ConfigError, ConnectionFailed, GuardRefusal
from dbenv.safety import journal
from lifecycle_support import write_project


def env(
    name: str, url: str, db: int | None, *, tier: str = "disposable", prefix: str | None = None
) -> Environment:
    return Environment(
        name=name,
        project="app",
        root=Path("."),
        tier=tier,  # type: ignore[arg-type]
        redis_url=SecretURL(url, masked=url),
        redis_db=db,
        redis_prefix=prefix,
    )


@pytest.fixture
def client(redis_server: Any) -> Iterator[dict[int, redis.Redis]]:
    clients = {i: redis.Redis.from_url(redis_server.url, db=i) for i in (10, 11, 12)}
    for c in clients.values():
        c.flushdb()
    yield clients
    for c in clients.values():
        c.flushdb()
        c.close()


def test_ping_measures_latency(redis_server: Any) -> None:
    assert 0 < backend.ping(redis_server.url, 10) < 5


def test_unreachable_redis_fails_clearly_and_masked() -> None:
    with pytest.raises(ConnectionFailed) as caught:
        backend.ping("redis://:Hidden99@127.0.0.1:1/0", timeout=0.5)
    assert "Hidden99" not in str(caught.value) and "127.0.0.1:1" in caught.value.message


def test_flush_clears_only_the_environments_db(
    redis_server: Any, client: dict[int, redis.Redis]
) -> None:
    client[10].set("dev-key", "1")
    client[11].set("test-key", "1")
    result = backend.flush(env("test", redis_server.url, 11), [])
    assert (result.db, result.prefix) == (11, None)
    assert client[11].dbsize() == 0 and client[10].get("dev-key") == b"1"


def test_flush_with_a_prefix_deletes_only_its_keys(
    redis_server: Any, client: dict[int, redis.Redis]
) -> None:
    for i in range(2500):
        client[12].set(f"te*st:{i}", "x")
    client[12].set("tempo:1", "keep")
    client[12].set("prod:1", "keep")
    target = env("test", redis_server.url, 12, prefix="te*st:")
    assert backend.flush(target, []).keys_removed == 2500
    assert sorted(client[12].keys()) == [b"prod:1", b"tempo:1"]


def test_flush_is_refused_when_a_protected_environment_shares_the_db(
    redis_server: Any, client: dict[int, redis.Redis]
) -> None:
    url = redis_server.url
    client[11].set("prod-session", "1")
    spelled = url.replace("127.0.0.1", "localhost")
    production = env("production", spelled + "/11", None, tier="protected")
    with pytest.raises(GuardRefusal) as caught:
        backend.flush(env("test", url, 11), [production])
    assert caught.value.check == "redis-shared" and "'production'" in caught.value.message
    assert client[11].get("prod-session") == b"1"


def test_distinct_prefixes_on_one_db_may_flush_overlapping_may_not(
    redis_server: Any, client: dict[int, redis.Redis]
) -> None:
    url = redis_server.url
    client[12].set("prod:1", "1")
    client[12].set("test:1", "1")
    production = env("production", url, 12, tier="protected", prefix="prod:")
    assert backend.flush(env("test", url, 12, prefix="test:"), [production]).keys_removed == 1
    assert client[12].get("prod:1") == b"1"
    with pytest.raises(GuardRefusal):
        backend.flush(env("test", url, 12, prefix="pro"), [production])
    with pytest.raises(GuardRefusal):
        backend.flush(env("test", url, 12), [production])


def test_an_environment_without_redis_is_bad_input() -> None:
    bare = Environment(name="test", project="app", root=Path("."), tier="disposable")
    with pytest.raises(ConfigError) as caught:
        backend.flush(bare, [])
    assert caught.value.exit_code == 2


def test_cli_flush_ok_refused_and_bad_input(
    redis_server: Any, client: dict[int, redis.Redis], tmp_path: Path
) -> None:
    url = redis_server.url
    write_project(
        tmp_path,
        "app",
        {
            "test": {"tier": "disposable", "redis_url": url, "redis_db": 11},
            "staging": {"tier": "disposable", "redis_url": url, "redis_db": 10},
            "production": {"redis_url": url, "redis_db": 10},
        },
    )
    client[11].set("k", "1")
    client[10].set("prod", "1")
    run = CliRunner().invoke
    ok = run(app, ["--project", str(tmp_path), "flush", "test"])
    assert ok.exit_code == 0, ok.output
    assert "flushed test: Redis db 11" in ok.output and client[11].dbsize() == 0
    shared = run(app, ["--project", str(tmp_path), "flush", "staging"])
    assert shared.exit_code == 3 and "redis-shared" in shared.output
    protected = run(app, ["--project", str(tmp_path), "flush", "production"])
    assert protected.exit_code == 3 and "check 'tier'" in protected.output
    assert "Traceback" not in protected.output and client[10].get("prod") == b"1"
    outcomes = [(e["environment"], e["outcome"]) for e in journal.read_local(tmp_path)]
    assert outcomes == [("test", "ok"), ("staging", "refused"), ("production", "refused")]
    unknown = run(app, ["--project", str(tmp_path), "flush", "nope"])
    assert unknown.exit_code == 2 and "unknown environment" in unknown.output
