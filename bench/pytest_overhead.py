"""pytest plugin: per-test database cost beside the ways teams do it today, in one run.

The same 500 tests (each inserts a row and reads it back) run three ways, each in
its own ``pytest`` process against one server:

a. dbenv's ``db`` fixture: a transaction rolled back after each test, on a clone
   of a template built from the SQLAlchemy models (no conftest at all);
b. pytest-postgresql (``postgresql_noproc`` + ``postgresql``): a database per
   test, created from a template loaded once with the same schema;
c. a session-wide ``drop_all``/``create_all`` plus a fixture that deletes every
   table's rows after each test (seed 001's method).

Per-test overhead is a test's setup + teardown time (pytest's own report
durations); the run time is the sum of all phases of all tests (interpreter
start-up, the same for all three, is excluded). Session start with a warm
template is measured in this process: a fresh ``TestDatabases`` preparing the
reused database, with the drivers and models already imported (N rounds, median),
and also as the first test's setup in a warm pytest run (imports included).

Server: ``DBENV_BENCH_PG_DSN`` (superuser), else one started for the run (bench/_server.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from _server import bench_server

MODELS = """
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Owner(Base):
    __tablename__ = "owners"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    label: Mapped[str] = mapped_column(String(20))
"""

BODY = """
    cur.execute("INSERT INTO items (name) VALUES (%s)", [f"item-{{i}}"])
    cur.execute("SELECT name FROM items WHERE name = %s", [f"item-{{i}}"])
    assert cur.fetchone() == (f"item-{{i}}",)
"""

TESTS = (
    """
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_row({fixture}, i):
    cur = {fixture}.cursor()
"""
    + BODY
)

BASELINE = """
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_row(i):
    assert i >= 0
"""

RECORDER = """
import json, os

_durations = {}


def pytest_runtest_logreport(report):
    _durations.setdefault(report.nodeid, {})[report.when] = report.duration


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(list(_durations.values()), out)
"""

PG_CONFTEST = """
from pathlib import Path

from pytest_postgresql import factories

postgresql_noproc = factories.postgresql_noproc(
    host={host!r}, port={port}, user={user!r}, password={password!r}, dbname={dbname!r},
    load=[Path("{schema}")],
)
postgresql = factories.postgresql("postgresql_noproc")
"""

RECREATE_CONFTEST = """
import psycopg
import pytest
import sqlalchemy
from models import Base


@pytest.fixture(scope="session")
def connection():
    engine = sqlalchemy.create_engine({sa_url!r})
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    with psycopg.connect({url!r}) as conn:
        yield conn


@pytest.fixture
def conn(connection):
    yield connection
    connection.commit()
    for table in reversed(Base.metadata.sorted_tables):
        connection.execute(f"DELETE FROM {{table.name}}")
    connection.commit()
"""


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def _run(directory: Path, *args: str) -> tuple[list[dict[str, float]], float]:
    out = directory / "durations.json"
    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "ENVIRONMENT")}
    env.update(BENCH_OUT=str(out), PYTHONPATH=str(directory), PYTHONDONTWRITEBYTECODE="1")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "recorder", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"pytest failed in {directory}:\n{result.stdout[-3000:]}\n{result.stderr}")
    return json.loads(out.read_text()), wall


def _summary(durations: list[dict[str, float]]) -> dict[str, float]:
    overhead = [d.get("setup", 0) + d.get("teardown", 0) for d in durations[1:]]
    return {
        "median_overhead_ms": statistics.median(overhead) * 1000,
        "median_call_ms": statistics.median(d.get("call", 0) for d in durations[1:]) * 1000,
        "total_s": sum(sum(d.values()) for d in durations),
        "first_setup_ms": durations[0].get("setup", 0) * 1000,
    }


def _session_start(directory: Path, rounds: int) -> float:
    """Median time to prepare the reused test database in a fresh session (imports done)."""
    sys.path.insert(0, str(directory))
    import models  # noqa: F401  (the fingerprint imports them; a test run has them loaded)

    from dbenv.pytest_plugin.options import PluginOptions
    from dbenv.pytest_plugin.session import TestDatabases

    times = []
    for _ in range(rounds):
        manager = TestDatabases(PluginOptions(), directory)
        started = time.perf_counter()
        target = manager.target()
        times.append(time.perf_counter() - started)
        assert target.reused
        manager.finish()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10, help="session-start rounds")
    args = parser.parse_args()
    with bench_server() as dsn:
        run(dsn, args.tests, args.rounds)


def run(dsn: str, tests: int, rounds: int) -> None:
    parts = urlsplit(dsn)
    tag = "bench_pt_" + uuid.uuid4().hex[:8]
    root = Path(tempfile.mkdtemp(prefix="dbenv-bench-pytest-"))
    url_for = lambda db: dsn.rsplit("/", 1)[0] + "/" + db  # noqa: E731
    try:
        from sqlalchemy.schema import CreateTable

        sys.path.insert(0, str(root))
        (root / "bench_models.py").write_text(MODELS)
        import bench_models  # type: ignore[import-not-found]

        schema = ";\n".join(
            str(CreateTable(t).compile(dialect=_pg_dialect()))
            for t in bench_models.Base.metadata.sorted_tables
        )
        common = {
            "recorder.py": RECORDER,
            "pytest.ini": "[pytest]\nasyncio_default_fixture_loop_scope = function\n",
        }
        dbenv_dir = _write(
            root / "a_dbenv",
            {
                **common,
                "models.py": MODELS,
                "dbenv.toml": f"""
                    [project]
                    name = "{tag}"
                    [environments.test]
                    tier = "disposable"
                    database_url = "{url_for(tag + "_test")}"
                    schema_source = "sqlalchemy:models:Base.metadata"
                """,
                "test_rows.py": TESTS.format(n=tests, fixture="db"),
            },
        )
        pg_dir = _write(
            root / "b_pytest_postgresql",
            {
                **common,
                "schema.sql": schema + ";\n",
                "conftest.py": PG_CONFTEST.format(
                    host=parts.hostname or "127.0.0.1",
                    port=parts.port or 5432,
                    user=parts.username or "postgres",
                    password=parts.password or "",
                    dbname=tag + "_ppg",
                    schema=str(root / "b_pytest_postgresql" / "schema.sql"),
                ),
                "test_rows.py": TESTS.format(n=tests, fixture="postgresql"),
            },
        )
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{tag}_recreate"')
        recreate_url = url_for(tag + "_recreate")
        recreate_dir = _write(
            root / "c_recreate",
            {
                **common,
                "models.py": MODELS,
                "conftest.py": RECREATE_CONFTEST.format(
                    url=recreate_url,
                    sa_url=recreate_url.replace("postgresql://", "postgresql+psycopg://", 1),
                ),
                "test_rows.py": TESTS.format(n=tests, fixture="conn"),
            },
        )
        baseline_dir = _write(
            root / "z_baseline",
            {**common, "test_rows.py": BASELINE.format(n=tests)},
        )
        print(f"{tests} tests each way; server {parts.hostname}:{parts.port or 5432}")
        cold, _ = _run(dbenv_dir, "-p", "dbenv")
        results = {}
        walls = {}
        results["a"], walls["a"] = _run(dbenv_dir, "-p", "dbenv")
        results["c"], walls["c"] = _run(recreate_dir, "-p", "no:dbenv")
        results["z"], walls["z"] = _run(baseline_dir, "-p", "no:dbenv")
        results["b"], walls["b"] = _run(pg_dir, "-p", "no:dbenv")
        start = _session_start(dbenv_dir, rounds)
        _report(results, walls, cold, start)
    finally:
        _cleanup(dsn, tag)
        shutil.rmtree(root, ignore_errors=True)


def _pg_dialect() -> object:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()


def _report(
    results: dict[str, list[dict[str, float]]],
    walls: dict[str, float],
    cold: list[dict[str, float]],
    start_ms: float,
) -> None:
    names = {
        "a": "dbenv rollback fixture (db)",
        "b": "pytest-postgresql database per test",
        "c": "drop_all/create_all + delete-everything",
        "z": "no fixture (pytest's own setup/teardown)",
    }
    s = {k: _summary(v) for k, v in results.items()}
    base = s["z"]["median_overhead_ms"]
    print(
        f"| run | setup+teardown (median) | net of pytest's own | test body (median) | "
        f"{len(results['a'])} tests (sum) | wall |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for key in ("z", "a", "c", "b"):
        print(
            f"| {names[key]} | {s[key]['median_overhead_ms']:.2f} ms | "
            f"{s[key]['median_overhead_ms'] - base:.2f} ms | {s[key]['median_call_ms']:.2f} ms | "
            f"{s[key]['total_s']:.2f} s | {walls[key]:.1f} s |"
        )
    print(f"ratio run (b)/(a): {s['b']['total_s'] / s['a']['total_s']:.1f}x")
    print(f"ratio run (c)/(a): {s['c']['total_s'] / s['a']['total_s']:.1f}x")
    net_a = max(s["a"]["median_overhead_ms"] - base, 1e-3)
    net_b = s["b"]["median_overhead_ms"] - base
    print(f"ratio net per-test overhead (b)/(a): {net_b / net_a:.0f}x")
    print(f"session start, warm template, imports done (median): {start_ms:.0f} ms")
    print(f"first test setup, warm run (imports included): {s['a']['first_setup_ms']:.0f} ms")
    print(f"first test setup, cold run (template built): {_summary(cold)['first_setup_ms']:.0f} ms")


def _cleanup(dsn: str, tag: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE strpos(datname, %s) > 0", [tag]
        ).fetchall()
        for (name,) in rows:  # pytest-postgresql marks its template IS_TEMPLATE
            conn.execute(f'ALTER DATABASE "{name}" IS_TEMPLATE false')
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
