"""Reset and seed, beside the methods they replace, on one server in one run.

A generated 200-table schema (foreign keys, indexes, enums) as SQLAlchemy models
and as one Alembic migration. Rounds are interleaved; medians are reported.

1. Only data dirty (rows in 3 tables): dbenv's data-only reset (library call,
   guard included; and its core: plan + one check query + DELETEs) vs SQLAlchemy
   ``drop_all`` + ``create_all`` (seed 001's method) vs Alembic ``downgrade base``
   + ``upgrade head``.
2. Schema source changed (one table added per round): dbenv reset (fingerprint,
   template build, clone, verify) vs ``drop_all`` + ``create_all``.
3. Seeding 100k rows across 10 tables (already parsed) vs a raw ``COPY`` of the
   same rows; throughput ratio.

Server: ``DBENV_BENCH_PG_DSN`` (superuser), else one started for the run (bench/_server.py).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from _server import bench_server

MODELS = """
import sqlalchemy as sa

metadata = sa.MetaData()
kinds = [sa.Enum(*[f"v{j}" for j in range(4)], name=f"kind_{i}") for i in range(5)]
tables = []
for i in range(200):
    columns = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, index=True),
        sa.Column("kind", kinds[i % 5]),
        sa.Column("amount", sa.Numeric(12, 2)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    ]
    if i:
        columns.append(sa.Column("parent_id", sa.ForeignKey(f"t{(i - 1) // 2:03d}.id"), index=True))
    tables.append(sa.Table(f"t{i:03d}", metadata, *columns))
"""

ALEMBIC_ENV = """
from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
"""

MIGRATION = """
from alembic import op
import {module} as models

revision = "0001"
down_revision = None


def upgrade():
    models.metadata.create_all(op.get_bind())


def downgrade():
    models.metadata.drop_all(op.get_bind())
"""

SEED_TABLES = "\n".join(
    f"CREATE TABLE s{i} (id int PRIMARY KEY, name text NOT NULL, value int, "
    "note text, created date);"
    for i in range(10)
)


NAMES = (
    "dbenv data-only reset (guard included)",
    "dbenv data-only core (plan reused)",
    "dbenv data-only core (plan built)",
    "SQLAlchemy drop_all + create_all",
    "Alembic downgrade base + upgrade head",
    "dbenv reset after a schema change",
    "SQLAlchemy drop_all + create_all ",
    "dbenv seed 100k rows",
    "raw COPY 100k rows",
)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


class Bench:
    def __init__(self, dsn: str) -> None:
        from urllib.parse import urlsplit, urlunsplit

        self.admin = dsn
        self.root = Path(tempfile.mkdtemp(prefix="dbenv-bench-reset-"))
        tag = uuid.uuid4().hex[:8]
        self.module = f"bench_models_{tag}"
        self.db = f"dbenv_bench_test_{tag}"
        self.seed_db = f"dbenv_bench_seed_test_{tag}"
        parts = urlsplit(dsn)
        self.url = urlunsplit(parts._replace(path="/" + self.db))
        self.seed_url = urlunsplit(parts._replace(path="/" + self.seed_db))
        (self.root / f"{self.module}.py").write_text(textwrap.dedent(MODELS))
        versions = self.root / "migrations" / "versions"
        versions.mkdir(parents=True)
        (self.root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
        (self.root / "migrations" / "env.py").write_text(textwrap.dedent(ALEMBIC_ENV))
        (versions / "0001.py").write_text(textwrap.dedent(MIGRATION).format(module=self.module))
        (self.root / "seed.sql").write_text(SEED_TABLES)
        (self.root / "dbenv.toml").write_text(
            textwrap.dedent(f"""
            [project]
            name = "bench_{tag}"
            [environments.test]
            tier = "disposable"
            database_url = "{self.url}"
            schema_source = "sqlalchemy:{self.module}:metadata"
            [environments.seedtest]
            tier = "disposable"
            guard_pattern = "test"
            database_url = "{self.seed_url}"
            schema_source = "sql:seed.sql"
            """)
        )
        sys.path.insert(0, str(self.root))
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in (self.db, self.seed_db):
                conn.execute(f'CREATE DATABASE "{name}"')
                # what dbenv provision sets on a disposable database
                conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        from dbenv.config import load_project
        from dbenv.safety.stamp import write_stamp

        self.project = load_project(project=self.root, process_env={})
        self.env = self.project.environment("test")
        self.seed_env = self.project.environment("seedtest")
        for url, env in ((self.url, self.env), (self.seed_url, self.seed_env)):
            with psycopg.connect(url, autocommit=True) as conn:
                write_stamp(conn, self.project.name, env)

    def engine(self) -> Any:
        import sqlalchemy
        from sqlalchemy.pool import NullPool

        return sqlalchemy.create_engine(
            self.url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool
        )

    def metadata(self) -> Any:
        import importlib

        return importlib.import_module(self.module).metadata

    def dirty(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("INSERT INTO t000 (name) SELECT 'n' || g FROM generate_series(1, 5) g")
            conn.execute(
                "INSERT INTO t001 (name, parent_id) SELECT 'n', 1 FROM generate_series(1, 5)"
            )
            conn.execute("INSERT INTO t150 (name) SELECT 'n' FROM generate_series(1, 5)")

    def drop_create(self) -> None:
        engine = self.engine()
        self.metadata().drop_all(engine)
        self.metadata().create_all(engine)
        engine.dispose()

    def alembic(self, *steps: tuple[str, str]) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config(str(self.root / "alembic.ini"))
        engine = self.engine()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            for verb, revision in steps:
                getattr(command, verb)(config, revision)
        engine.dispose()

    def alembic_cycle(self) -> None:
        self.alembic(("downgrade", "base"), ("upgrade", "head"))

    def close(self) -> None:
        from dbenv.lifecycle.template import template_name

        stem = template_name(self.project.name, "")
        with psycopg.connect(self.admin, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE left(datname, %s) = %s OR datname = ANY(%s)",
                [len(stem), stem, [self.db, self.seed_db]],
            ).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)


def data_reset_round(bench: Bench, times: dict[str, list[float]]) -> None:
    from dbenv.lifecycle import datareset
    from dbenv.lifecycle.reset import reset

    bench.dirty()
    times["dbenv data-only reset (guard included)"].append(
        timed(lambda: reset(bench.project, bench.env, data_only=True))
    )
    with psycopg.connect(bench.url, autocommit=True) as conn:

        def core(plan: Any) -> None:
            with conn.transaction():
                datareset.run(conn, plan)

        bench.dirty()
        times["dbenv data-only core (plan built)"].append(
            timed(lambda: core(datareset.plan(conn, bench.env)))
        )
        plan = datareset.plan(conn, bench.env)
        core(plan)  # prepares the probe on this connection
        bench.dirty()
        core(plan)  # a test suite dirties the same tables again and again
        bench.dirty()
        times["dbenv data-only core (plan reused)"].append(timed(lambda: core(plan)))
    bench.dirty()
    times["SQLAlchemy drop_all + create_all"].append(timed(bench.drop_create))
    bench.alembic(("stamp", "head"))  # the schema is at head: downgrade really drops it
    bench.dirty()
    times["Alembic downgrade base + upgrade head"].append(timed(bench.alembic_cycle))
    reset_clean(bench)


def reset_clean(bench: Bench) -> None:
    from dbenv.lifecycle.reset import reset

    reset(bench.project, bench.env)


def schema_change_round(bench: Bench, times: dict[str, list[float]], n: int) -> None:
    import sqlalchemy as sa

    from dbenv.lifecycle.reset import reset

    sa.Table(f"extra_{n}", bench.metadata(), sa.Column("id", sa.Integer, primary_key=True))
    result: list[Any] = []

    def ours() -> None:
        times["dbenv reset after a schema change"].append(
            timed(lambda: result.append(reset(bench.project, bench.env)))
        )

    def peer() -> None:
        times["SQLAlchemy drop_all + create_all "].append(timed(bench.drop_create))

    # alternate who goes first: each leaves dirty buffers the next one's
    # checkpoints pay for
    for step in (ours, peer) if n % 2 == 0 else (peer, ours):
        step()
    assert result[0].template_built


def seed_data(rows_per_table: int) -> list[Any]:
    from dbenv.lifecycle.seed import TableRows

    data = []
    for i in range(10):
        rows = [
            {
                "id": r,
                "name": f"name {r}",
                "value": r * 7,
                "note": None if r % 3 else "x",
                "created": "2026-11-22",
            }
            for r in range(1, rows_per_table + 1)
        ]
        data.append(TableRows(f"s{i}.json", f"s{i}", rows))
    return data


def seed_round(bench: Bench, data: list[Any], times: dict[str, list[float]]) -> None:
    from dbenv.lifecycle.seed import seed_rows

    columns = ("id", "name", "value", "note", "created")
    with psycopg.connect(bench.seed_url, autocommit=True) as conn:

        def empty() -> None:
            conn.execute("TRUNCATE " + ", ".join(f"s{i}" for i in range(10)))

        def ours() -> None:
            with conn.transaction():
                seed_rows(conn, bench.seed_env, data)

        def raw() -> None:
            with conn.transaction(), conn.cursor() as cur:
                for item in data:
                    with cur.copy(f"COPY {item.table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in item.rows:
                            copy.write_row([row[c] for c in columns])

        empty()
        times["dbenv seed 100k rows"].append(timed(ours))
        empty()
        times["raw COPY 100k rows"].append(timed(raw))
        empty()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000, help="rows per seeded table")
    args = parser.parse_args()
    with bench_server() as dsn:
        run(dsn, args.rounds, args.rows)


def run(dsn: str, rounds: int, rows: int) -> None:
    from dbenv.lifecycle.reset import reset

    bench = Bench(dsn)
    times: dict[str, list[float]] = {name: [] for name in NAMES}
    try:
        reset(bench.project, bench.env)
        reset(bench.project, bench.seed_env)
        data = seed_data(rows)
        for n in range(rounds):
            data_reset_round(bench, times)
            schema_change_round(bench, times, n)
            seed_round(bench, data, times)
    finally:
        bench.close()
    report(times, rounds)


def report(times: dict[str, list[float]], rounds: int) -> None:
    m = {k: median_ms(v) for k, v in times.items()}
    print(f"rounds: {rounds}, median and best")
    for name, value in m.items():
        print(f"  {name:<42} {value:10.1f} ms {min(times[name]) * 1000:10.1f} ms")
    base = m["SQLAlchemy drop_all + create_all"]
    ours = m["dbenv data-only reset (guard included)"]
    print("data dirty in 3 of 200 tables:")
    print(
        f"  drop_all+create_all / dbenv data-only (guard incl.): "
        f"{base / m['dbenv data-only reset (guard included)']:.0f}x"
    )
    print(
        f"  drop_all+create_all / dbenv data-only core (plan built): "
        f"{base / m['dbenv data-only core (plan built)']:.0f}x"
    )
    print(
        f"  drop_all+create_all / dbenv data-only core (plan reused): "
        f"{base / m['dbenv data-only core (plan reused)']:.0f}x"
    )
    alembic = m["Alembic downgrade base + upgrade head"]
    print(f"  alembic cycle / dbenv data-only (guard incl.): {alembic / ours:.0f}x")
    print("schema source changed:")
    print(
        f"  dbenv reset / drop_all+create_all: "
        f"{m['dbenv reset after a schema change'] / m['SQLAlchemy drop_all + create_all ']:.2f}x"
    )
    print("seeding 100k rows across 10 tables:")
    print(
        f"  dbenv seed throughput / raw COPY throughput: "
        f"{m['raw COPY 100k rows'] / m['dbenv seed 100k rows']:.2f}"
    )


if __name__ == "__main__":
    main()
