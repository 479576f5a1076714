"""The PostgreSQL server a benchmark runs against (a helper, not a benchmark: bench/run
skips files starting with ``_``).

``DBENV_BENCH_PG_DSN`` (a superuser DSN) points a benchmark at an existing server.
Without it, the benchmark starts its own for the run with dbenv's local stack, as the
test suite does (tests/conftest.py): the machine's binaries, a throwaway cluster in a
temporary directory (run as the unprivileged ``postgres`` user when we are root), TCP
on loopback trusted, stopped and removed at the end. So a fresh clone needs no server
of its own, and nothing on 127.0.0.1:5432 is ever touched unless the variable says so.

The cluster keeps PostgreSQL's default durability (``fsync`` on) unless asked: the
published figures were taken on a regular server, and a database per test
(pytest-postgresql) or a ``CREATE DATABASE`` per reset costs what it costs on one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DSN_VARIABLE = "DBENV_BENCH_PG_DSN"


@contextmanager
def bench_server(*, durable: bool = True) -> Iterator[str]:
    """Yield a superuser DSN to the ``postgres`` database of the server to use.

    ``durable=False`` starts the cluster as ``dbenv up`` does for disposable data (fsync
    off): the sync benchmark measures copy throughput, not the disk's flushes."""
    dsn = os.environ.get(DSN_VARIABLE)
    if dsn:
        yield dsn
        return
    from dbenv.commands.stack import initdb_cache
    from dbenv.errors import BinariesNotFound
    from dbenv.stack.local import LocalStack

    root = Path(tempfile.mkdtemp(prefix="dbenv-bench-pg-"))
    root.chmod(0o755)  # the server's unprivileged user must reach it when we are root
    bindir = os.environ.get("DBENV_PG_BINDIR")
    stack = LocalStack(
        root / "stack",
        redis=False,
        disposable=not durable,
        host_auth="trust",
        initdb_cache=initdb_cache(os.environ),
        pg_bindir=Path(bindir) if bindir else None,
    )
    try:
        status = stack.start()
    except BinariesNotFound as error:
        shutil.rmtree(root, ignore_errors=True)
        sys.exit(
            f"no PostgreSQL binaries to start a benchmark server ({error}); install them "
            f"(apt-get install postgresql) or set {DSN_VARIABLE} to a superuser DSN."
        )
    try:
        assert status.state is not None and status.state.postgres is not None
        port = status.state.postgres.port
        fsync = "on" if durable else "off"
        print(f"(benchmark server: dbenv local stack on 127.0.0.1:{port}, fsync {fsync})")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
