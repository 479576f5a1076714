"""Reset of a ``cmd:`` schema source whose fingerprint is unchanged, beside a ``sql:`` one.

The same 100-table schema is one SQL file; environment ``cmdtest`` builds it with
``cmd:sh -c 'psql -f schema.sql "$DATABASE_URL" && echo run >> runs.log'`` (its
inputs: the file), environment ``sqltest`` with ``sql:schema.sql``. Each gets its
template built once; then rounds alternate the two resets (library calls, guard
included), both a template clone. The figure is the ratio of the medians: a
``cmd:`` reset with nothing changed must cost what a template clone costs, the
command never run again (``runs.log`` is checked to hold one line). The one-off
template builds are reported too (one sample each: the command's cost), and the
one step where the two resets differ, the fingerprint (the ``cmd:`` one globs and
hashes its inputs; the ``sql:`` one hashes the file), timed alone: on a loaded
machine the clones' disk time swamps it.

Server: ``DBENV_BENCH_PG_DSN`` (superuser), else one started for the run (bench/_server.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from _server import bench_server

TABLES = 100


def schema_sql() -> str:
    lines = ["CREATE TYPE kind AS ENUM ('a', 'b', 'c');"]
    for i in range(TABLES):
        parent = f", parent_id int REFERENCES t{(i - 1) // 2:03d}(id)" if i else ""
        lines.append(
            f"CREATE TABLE t{i:03d} (id serial PRIMARY KEY, name varchar(80) NOT NULL, "
            f"kind kind, amount numeric(12, 2), created_at timestamptz DEFAULT now(){parent});"
        )
        lines.append(f"CREATE INDEX ix_t{i:03d}_name ON t{i:03d} (name);")
    return "\n".join(lines) + "\n"


class Bench:
    def __init__(self, dsn: str, psql: str) -> None:
        from urllib.parse import urlsplit, urlunsplit

        self.admin = dsn
        self.root = Path(tempfile.mkdtemp(prefix="dbenv-bench-cmd-"))
        tag = uuid.uuid4().hex[:8]
        self.dbs = {name: f"dbenv_bench_{name}_{tag}" for name in ("cmdtest", "sqltest")}
        parts = urlsplit(dsn)
        urls = {k: urlunsplit(parts._replace(path="/" + v)) for k, v in self.dbs.items()}
        (self.root / "schema.sql").write_text(schema_sql())
        command = (
            f'cmd:sh -c \'{psql} -X -q -v ON_ERROR_STOP=1 -f schema.sql \\"$DATABASE_URL\\"'
            " && echo run >> runs.log'"
        )  # written into a TOML basic string: its double quotes escaped
        (self.root / "dbenv.toml").write_text(
            textwrap.dedent(f"""
            [project]
            name = "bench_cmd_{tag}"
            [environments.cmdtest]
            tier = "disposable"
            guard_pattern = "test"
            database_url = "{urls["cmdtest"]}"
            schema_source = "{command}"
            schema_inputs = ["schema.sql"]
            [environments.sqltest]
            tier = "disposable"
            guard_pattern = "test"
            database_url = "{urls["sqltest"]}"
            schema_source = "sql:schema.sql"
            """)
        )
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in self.dbs.values():
                conn.execute(f'CREATE DATABASE "{name}"'.encode())
                conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off'.encode())
        from dbenv.config import load_project
        from dbenv.safety.stamp import write_stamp

        self.project = load_project(project=self.root, process_env={})
        self.envs = {name: self.project.environment(name) for name in self.dbs}
        for name, env in self.envs.items():
            with psycopg.connect(urls[name], autocommit=True) as conn:
                write_stamp(conn, self.project.name, env)

    def reset(self, name: str) -> Any:
        from dbenv.lifecycle.reset import reset

        return reset(self.project, self.envs[name])

    def runs(self) -> int:
        log = self.root / "runs.log"
        return len(log.read_text().splitlines()) if log.exists() else 0

    def close(self) -> None:
        from dbenv.lifecycle.template import template_name

        stem = template_name(self.project.name, "")
        with psycopg.connect(self.admin, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE left(datname, %s) = %s OR datname = ANY(%s)",
                [len(stem), stem, list(self.dbs.values())],
            ).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        shutil.rmtree(self.root, ignore_errors=True)


def fingerprints(bench: Bench, times: dict[str, list[float]]) -> None:
    from dbenv.sources.schema import fingerprint

    for _ in range(200):
        for name, key in (("cmdtest", "fp:cmd"), ("sqltest", "fp:sql")):
            start = time.perf_counter()
            fingerprint(bench.project, bench.envs[name])
            times[key].append(time.perf_counter() - start)


def find_psql() -> str:
    from dbenv.stack.host import find_pg_binaries

    bindir = os.environ.get("DBENV_PG_BINDIR")
    return find_pg_binaries(bindir=Path(bindir) if bindir else None).tool("psql")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with bench_server() as dsn:
        run(dsn, args.rounds)


def run(dsn: str, rounds: int) -> None:
    bench = Bench(dsn, find_psql())
    times: dict[str, list[float]] = {k: [] for k in ("cmdtest", "sqltest", "fp:cmd", "fp:sql")}
    try:
        builds = {}
        for name in ("cmdtest", "sqltest"):
            start = time.perf_counter()
            assert bench.reset(name).template_built
            builds[name] = time.perf_counter() - start
        for n in range(rounds):
            # alternate who goes first: each leaves work (the replaced database's drop,
            # dirty buffers) the next one pays for
            for name in ("cmdtest", "sqltest") if n % 2 == 0 else ("sqltest", "cmdtest"):
                start = time.perf_counter()
                result = bench.reset(name)
                times[name].append(time.perf_counter() - start)
                assert not result.template_built and result.method == "template"
        assert bench.runs() == 1, f"the command ran {bench.runs()} times"
        fingerprints(bench, times)
    finally:
        bench.close()
    report(times, builds, rounds)


def report(times: dict[str, list[float]], builds: dict[str, float], rounds: int) -> None:
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    best = {k: min(v) * 1000 for k, v in times.items()}
    print(f"{TABLES} tables, rounds: {rounds}, median (best)")
    rows = (
        ("reset, cmd: source, fingerprint unchanged", "cmdtest"),
        ("reset, sql: source, fingerprint unchanged", "sqltest"),
        ("  of which the fingerprint, cmd: (200 calls)", "fp:cmd"),
        ("  of which the fingerprint, sql: (200 calls)", "fp:sql"),
    )
    for label, key in rows:
        print(f"  {label:<46} {med[key]:9.2f} ms ({best[key]:.2f})")
    for name, label in (("cmdtest", "cmd: (psql in a process)"), ("sqltest", "sql:")):
        print(f"  template build, {label:<30} {builds[name] * 1000:9.2f} ms (once)")
    print(
        f"  cmd: reset / sql: reset (both a clone): {med['cmdtest'] / med['sqltest']:.2f}x "
        f"median, {best['cmdtest'] / best['sqltest']:.2f}x best; the command ran once"
    )
    extra = med["fp:cmd"] - med["fp:sql"]
    print(f"  what cmd: adds to a reset (its fingerprint): {extra:+.2f} ms")


if __name__ == "__main__":
    main()
