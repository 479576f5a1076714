"""Redis servers told apart by identity (``INFO server``'s run_id + db index).

Production's Redis reached as ``127.1``, ``localhost`` or a hostname of this
machine is still production's Redis: ``dbenv flush`` and ``reset --data-only`` of
an environment pointing there with production's db index are refused
(``redis-shared``, no override), for an environment with a database and for a
Redis-only disposable one. A second, real Redis with the same db index is another
server: flushing there is allowed and production's keys survive either way.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from dbenv.commands.lifecycle import flush
from dbenv.config import Project
from dbenv.errors import GuardRefusal
from dbenv.lifecycle.reset import reset
from dbenv.stack.host import free_port
from dbenv.stack.redis_server import RedisProcess, find_redis_server
from lifecycle_support import (
    create_database,
    database_state,
    drop_database,
    load,
    stamp_as,
    unique,
    write_project,
)
from servers import RedisServer

DB = 12  # only this module uses it; keys live under a unique prefix per test


def _this_machine() -> list[str]:
    """Spellings of the loopback Redis: 127.1, localhost, and this machine's hostname
    when it resolves to 127.0.0.1 (Debian's /etc/hosts may say 127.0.1.1)."""
    spellings = ["127.1", "localhost"]
    try:
        if socket.gethostbyname(socket.gethostname()) == "127.0.0.1":
            spellings.append(socket.gethostname())
    except OSError:
        pass
    return spellings


SPELLINGS = _this_machine()


@pytest.fixture(scope="module")
def second_redis() -> Iterator[RedisServer]:
    binary = find_redis_server()
    assert binary is not None, "redis-server is installed wherever the suite runs (.ci/run)"
    root = Path(tempfile.mkdtemp(prefix="dbenv-test-redis2-"))
    root.chmod(0o755)
    server = RedisProcess(root, binary=binary)
    port = free_port()
    server.start(port)
    try:
        yield RedisServer("127.0.0.1", port)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def keys(redis_server: Any) -> Iterator[tuple[redis.Redis, str]]:
    """Production's keys on the suite's Redis, db ``DB``, under a unique prefix."""
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, db=DB)
    prefix = f"rid{uuid.uuid4().hex[:8]}:"
    client.mset({f"{prefix}a": "1", f"{prefix}b": "2"})
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def project(root: Path, prefix: str, test: dict[str, object], redis_port: int) -> Project:
    envs: dict[str, dict[str, object]] = {
        "cache": {"tier": "disposable", "redis_prefix": prefix, **test},
        "production": {
            "database_url": "postgresql://app@127.0.0.1:1/prod",  # never reached here
            "redis_url": f"redis://127.0.0.1:{redis_port}/{DB}",
            "redis_prefix": prefix,
        },
    }
    write_project(root, "app", envs)
    return load(root)


def kept(client: redis.Redis, prefix: str) -> int:
    return len(list(client.scan_iter(match=f"{prefix}*")))


@pytest.mark.parametrize("host", SPELLINGS)
def test_redis_only_flush_of_an_alias_is_refused_override_or_not(
    redis_server: Any, keys: tuple[redis.Redis, str], tmp_path: Path, host: str
) -> None:
    client, prefix = keys
    url = f"redis://{host}:{redis_server.port}/{DB}"
    site = project(tmp_path, prefix, {"redis_url": url}, redis_server.port)
    for override in (None, f"redis/{DB}"):
        with pytest.raises(GuardRefusal) as caught:
            flush(site, site.environment("cache"), override=override)
        assert caught.value.check == "redis-shared" and caught.value.exit_code == 3
        assert "'production'" in caught.value.message
    assert kept(client, prefix) == 2


def test_flush_and_reset_of_an_environment_with_a_database_are_refused(
    pg_server: Any, redis_server: Any, keys: tuple[redis.Redis, str], tmp_path: Path
) -> None:
    client, prefix = keys
    name = unique("rid_test")
    create_database(pg_server.dsn, name)
    try:
        dsn = pg_server.dsn_for(name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id int)")
            conn.execute("INSERT INTO items VALUES (1)")
        stamp_as(dsn, "app", "cache")
        url = f"redis://127.1:{redis_server.port}/0"  # production's index comes from redis_db
        test = {"database_url": dsn, "redis_url": url, "redis_db": DB}
        site = project(tmp_path, prefix, test, redis_server.port)
        before = database_state(dsn)
        with pytest.raises(GuardRefusal) as flushed:
            flush(site, site.environment("cache"))
        with pytest.raises(GuardRefusal) as reset_:
            reset(site, site.environment("cache"), data_only=True)
        assert flushed.value.check == reset_.value.check == "redis-shared"
        assert "by identity" in reset_.value.message
        assert database_state(dsn) == before and kept(client, prefix) == 2
    finally:
        drop_database(pg_server.dsn, name)


def test_another_redis_with_the_same_index_is_not_confused(
    redis_server: Any, second_redis: RedisServer, keys: tuple[redis.Redis, str], tmp_path: Path
) -> None:
    client, prefix = keys
    other = redis.Redis(host="127.0.0.1", port=second_redis.port, db=DB)
    other.mset({f"{prefix}x": "1", f"{prefix}y": "2", f"{prefix}z": "3"})
    url = f"redis://127.1:{second_redis.port}/{DB}"
    site = project(tmp_path, prefix, {"redis_url": url}, redis_server.port)
    result = flush(site, site.environment("cache"))
    assert result.keys_removed == 3 and kept(other, prefix) == 0
    assert kept(client, prefix) == 2  # production's keys, on the other server
    other.close()


def test_an_unreachable_protected_redis_is_a_note(
    redis_server: Any, keys: tuple[redis.Redis, str], tmp_path: Path
) -> None:
    client, prefix = keys
    url = f"redis://127.0.0.1:{redis_server.port}/{DB}"
    site = project(tmp_path, prefix, {"redis_url": url}, free_port())
    said: list[str] = []
    result = flush(site, site.environment("cache"), progress=said.append)
    assert result.keys_removed == 2 and kept(client, prefix) == 0
    assert [s for s in said if s.startswith("note: ")] == [
        "note: protected environment 'production''s Redis was not compared by identity:"
        " it could not be reached"
    ]
