"""The guard matrix's databases and operations: each operation's real command body.

``build_state`` makes a database in one stamp state (the fixture and the cells
that replaced or re-stamped it use it alike). An ``Operation`` knows how to dirty
the target before a cell (so a refusal has something to lose), run the real
command (``dbenv.commands``), and check afterwards that it did its work.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis

from dbenv.commands import lifecycle, lifecycle_data
from dbenv.commands import sync as sync_commands
from dbenv.config import Project
from dbenv.config.model import Environment
from dbenv.safety.stamp import stamp_state
from lifecycle_support import create_database, drop_database, drop_marker, stamp_as

# "protected": stamped app/test like "ok", but with tier protected (the stamp's tier
# against the declared tier: a disposable declaration over it is refused by stamp-tier)
STATES = ("ok", "protected", "absent", "empty", "other-environment", "other-project", "copy")
REDIS_DB = 9


def build_state(admin: str, dsn: str, name: str, state: str, *, fresh: bool) -> None:
    """(Re)create database ``name`` holding ``app_rows`` and stamped as ``state`` says."""
    if fresh:
        drop_database(admin, name)
        create_database(admin, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not fresh and _exists(conn, "dbenv.stamp"):  # back to unstamped first
            conn.execute("DELETE FROM dbenv.stamp")
        if state != "empty" and fresh:
            conn.execute("CREATE TABLE app_rows (id int PRIMARY KEY, note text)")
            conn.execute("INSERT INTO app_rows VALUES (1, 'kept'), (2, 'kept')")
    drop_marker(dsn)
    if state == "ok":
        stamp_as(dsn, "app", "test")
    elif state == "protected":
        stamp_as(dsn, "app", "test", tier="protected")
    elif state == "other-environment":
        stamp_as(dsn, "app", "development")
    elif state == "other-project":
        stamp_as(dsn, "elsewhere", "test")
    elif state == "copy":
        stamp_as(dsn, "app", "production", tier="protected")
        drop_marker(dsn)


@dataclass(frozen=True)
class Fixtures:
    """What the operations need: a seed file, a dump, a sync source, a Redis prefix."""

    seed_file: Path
    dump_file: Path
    source_dsn: str
    redis: redis.Redis
    redis_url: str
    prefix: str


def make_dump(dsn: str, path: Path) -> Path:
    """A custom-format dump of an unstamped database holding ``restored_rows``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE restored_rows (id int PRIMARY KEY)")
        conn.execute("INSERT INTO restored_rows VALUES (7)")
    subprocess.run(["pg_dump", "-Fc", "-f", str(path), "-d", dsn], check=True)
    return path


def write_seed(path: Path) -> Path:
    path.write_text(json.dumps({"app_rows": [{"id": 3, "note": "seeded"}]}), encoding="utf-8")
    return path


def _rows(conn: psycopg.Connection[Any], table: str = "app_rows") -> list[tuple[Any, ...]]:
    if not _exists(conn, table):
        return []
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def _keys(fx: Fixtures) -> list[bytes]:
    return sorted(fx.redis.scan_iter(match=fx.prefix + "*"))


@dataclass(frozen=True)
class Operation:
    """Dirty the target, run the real command, check that it did its work."""

    name: str
    prepare: Callable[[psycopg.Connection[Any], Fixtures, str], None]
    run: Callable[[Project, Environment, Fixtures, str | None], object]
    verify: Callable[[psycopg.Connection[Any], Fixtures, Environment], None]
    replaces_database: bool = False  # the cell must rebuild its state afterwards
    restamps: bool = False


def _dirty(conn: psycopg.Connection[Any], fx: Fixtures, state: str) -> None:
    if state != "empty":
        conn.execute("INSERT INTO app_rows VALUES (1, 'kept'), (2, 'kept') ON CONFLICT DO NOTHING")
        conn.execute("DELETE FROM app_rows WHERE id = 3")
    for i in range(3):
        fx.redis.set(f"{fx.prefix}test:{i}", "x")


def _reset_done(conn: psycopg.Connection[Any], fx: Fixtures, env: Environment) -> None:
    assert _rows(conn) == []
    assert _keys(fx) == []  # reset flushes the environment's Redis too


def _seed_done(conn: psycopg.Connection[Any], fx: Fixtures, env: Environment) -> None:
    assert (3, "seeded") in _rows(conn)


def _flush_done(conn: psycopg.Connection[Any], fx: Fixtures, env: Environment) -> None:
    assert _keys(fx) == []
    assert _rows(conn) != [] or not _has_app_rows(conn)  # the database is not touched


def _restore_done(conn: psycopg.Connection[Any], fx: Fixtures, env: Environment) -> None:
    assert _rows(conn, "restored_rows") == [(7,)] and not _has_app_rows(conn)
    assert stamp_state(conn, "app", env) == "ok"  # the copy is re-stamped as its new home


def _sync_done(conn: psycopg.Connection[Any], fx: Fixtures, env: Environment) -> None:
    assert _rows(conn) == [(9, "synced")]


def _stamp_done(conn: psycopg.Connection[Any], fx: Fixtures, env: Environment) -> None:
    assert stamp_state(conn, "app", env) == "ok"


def _has_app_rows(conn: psycopg.Connection[Any]) -> bool:
    return _exists(conn, "app_rows")


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


OPERATIONS: dict[str, Operation] = {
    "reset": Operation(
        "reset",
        _dirty,
        lambda p, e, fx, o: lifecycle_data.reset(p, e, data_only=True, override=o),
        _reset_done,
    ),
    "stamp": Operation(
        "stamp",
        _dirty,
        lambda p, e, fx, o: lifecycle.stamp(p, e, override=o),
        _stamp_done,
        restamps=True,
    ),
    "seed": Operation(
        "seed",
        _dirty,
        lambda p, e, fx, o: lifecycle_data.seed(p, e, [fx.seed_file], override=o),
        _seed_done,
    ),
    "flush": Operation(
        "flush", _dirty, lambda p, e, fx, o: lifecycle.flush(p, e, override=o), _flush_done
    ),
    "restore": Operation(
        "restore",
        _dirty,
        lambda p, e, fx, o: sync_commands.restore(p, fx.dump_file, e, jobs=1, override=o),
        _restore_done,
        replaces_database=True,
    ),
    "sync": Operation(
        "sync",
        _dirty,
        lambda p, e, fx, o: sync_commands.sync(
            p, p.environment("development"), e, tables=["app_rows"], override=o
        ),
        _sync_done,
    ),
}


def redis_keys(fx: Fixtures) -> list[bytes]:
    return _keys(fx)
