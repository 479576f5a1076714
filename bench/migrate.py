"""Migrations whose env.py reads the app's settings: in-process vs a child process.

dbenv runs ``alembic upgrade head`` for a template build in a child process
(``dbenv.sources.migrate_child``) with the environment's variables. The peer is the same
upgrade in-process with ``os.environ`` patched and restored. Both build the same
project (an env.py that reads ``DATABASE_URL`` through a settings module, as apps
do, and five revisions) into a fresh database, interleaved, N rounds each.

The in-process run is only correct the first time: the settings module stays
imported, so a second build in the same process migrates the database the first
one named (shown as "stale settings" below) unless the app's modules are purged.

Server: ``DBENV_BENCH_PG_DSN`` (superuser), else one started for the run (bench/_server.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import psycopg
from _server import bench_server

SETTINGS = """
import os

DATABASE_URL = os.environ["DATABASE_URL"]
"""
ENV_PY = """
from alembic import context
from sqlalchemy import create_engine

import appsettings

engine = create_engine(appsettings.DATABASE_URL)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
engine.dispose()
"""
REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "{n:04d}"
down_revision = {down}


def upgrade():
    op.create_table("t{n}", sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text))
"""


def write_project(root: Path) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (root / "migrations" / "env.py").write_text(textwrap.dedent(ENV_PY))
    (root / "appsettings.py").write_text(textwrap.dedent(SETTINGS))
    for n in range(1, 6):
        down = f'"{n - 1:04d}"' if n > 1 else "None"
        (versions / f"{n:04d}.py").write_text(textwrap.dedent(REVISION.format(n=n, down=down)))
    return root / "alembic.ini"


def with_database(dsn: str, name: str) -> str:
    from dbenv.backends import postgres

    return postgres.with_database(dsn, name)


def in_process(ini: Path, url: str) -> None:
    from dbenv.integrations.sqlalchemy import sqlalchemy_url
    from dbenv.sources.migrate_child import upgrade_head

    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = sqlalchemy_url(url)
    try:
        upgrade_head(ini, sqlalchemy_url(url))
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved


def child(ini: Path, url: str) -> None:
    from dbenv.integrations.sqlalchemy import sqlalchemy_url

    env = {
        **os.environ,
        "DATABASE_URL": sqlalchemy_url(url),
        "DBENV_MIGRATE_URL": sqlalchemy_url(url),
        "DBENV_MIGRATE_ROOT": str(ini.parent),
    }
    subprocess.run(
        [sys.executable, "-m", "dbenv.sources.migrate_child", str(ini)],
        cwd=ini.parent,
        env=env,
        check=True,
        capture_output=True,
    )


def tables(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with bench_server() as dsn:
        run(dsn, args.rounds)


def run(dsn: str, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="dbenv-bench-migrate-"))
    ini = write_project(root)
    sys.path.insert(0, str(root))
    times: dict[str, list[float]] = {"in-process": [], "child process": []}
    stale = 0
    made: list[str] = []
    admin = psycopg.connect(dsn, autocommit=True)
    try:
        for _ in range(rounds):
            for name, run in (("in-process", in_process), ("child process", child)):
                database = f"dbenv_bench_migrate_{uuid.uuid4().hex[:10]}"
                admin.execute(f'CREATE DATABASE "{database}"')
                made.append(database)
                url = with_database(dsn, database)
                started = time.perf_counter()
                run(ini, url)
                times[name].append(time.perf_counter() - started)
                if tables(url) == 0:
                    stale += name == "in-process"
    finally:
        for database in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
    print(f"rounds: {rounds}, median and best (5 revisions, env.py reads settings)")
    for name, values in times.items():
        best = min(values) * 1000
        print(f"  {name:<16} {statistics.median(values) * 1000:8.1f} ms {best:8.1f} ms")
    print(f"  in-process builds that migrated another database (stale settings): {stale}")
    ratio = statistics.median(times["child process"]) / statistics.median(times["in-process"])
    print(f"  child / in-process: {ratio:.1f}x")


if __name__ == "__main__":
    main()
