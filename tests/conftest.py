"""Shared fixtures: the real PostgreSQL and Redis servers the suite runs against.

CONTRACT (other test modules rely on exactly this):
- ``pg_server`` (session): ``.dsn`` superuser DSN to the ``postgres`` database,
  ``.host``, ``.port``, ``.dsn_for(dbname, user=None, password=None)``.
- ``redis_server`` (session): ``.url`` (no db index), ``.host``, ``.port``.
- ``scratch_db`` (function): a fresh, uniquely named empty database; yields its
  superuser DSN and drops it afterwards.
- ``pgbouncer`` (session): a real PgBouncer in transaction mode in front of
  ``pg_server``: ``.dsn_for(dbname)``, ``.alias(name, dbname)`` (pgbouncer_support).
- ``replica_pair`` (session): a primary of its own and a streaming standby of it,
  ``.primary`` / ``.standby`` (PgServer), ``.wait_replayed()`` (replica_support).
- ``redis_cluster`` (session): a real three-master Redis Cluster on loopback,
  ``.seeds`` (one URL per node), ``.ports`` (redis_cluster_support).

The suite starts its own servers from the machine's binaries with dbenv's local
stack (``dbenv.stack.local``), once per session (per xdist worker), in a
temporary directory removed at the end. The cluster is a throwaway on loopback,
so TCP connections are trusted like the unix socket. ``DBENV_TEST_PG_DSN`` /
``DBENV_TEST_REDIS_URL`` point the suite at existing servers instead. Binaries
missing: the tests that need a server are skipped, or fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from dbenv.commands.stack import initdb_cache
from dbenv.errors import BinariesNotFound
from dbenv.stack.host import free_port
from dbenv.stack.local import LocalStack
from dbenv.stack.redis_server import RedisProcess, find_redis_server
from pgbouncer_support import PgBouncer, start_pgbouncer
from redis_cluster_support import RedisCluster, start_redis_cluster
from replica_support import ReplicaPair, start_replica_pair
from servers import PgServer, RedisServer, missing

__all__ = ["PgServer", "RedisServer"]  # the fixtures' types (defined in servers.py)


def _scratch_dir(prefix: str) -> Path:
    # Under /tmp and searchable: when the suite runs as root, the server runs as an
    # unprivileged user that must reach it (pytest's tmp_path is private to root).
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    dsn = os.environ.get("DBENV_TEST_PG_DSN")
    if dsn:
        parts = urlsplit(dsn)
        yield PgServer(
            parts.hostname or "127.0.0.1",
            parts.port or 5432,
            parts.username or "postgres",
            parts.password,
        )
        return
    root = _scratch_dir("dbenv-test-pg-")
    cache = initdb_cache(os.environ)
    bindir = os.environ.get("DBENV_PG_BINDIR")
    stack = LocalStack(
        root / "stack",
        redis=False,
        host_auth="trust",
        initdb_cache=cache,
        pg_bindir=Path(bindir) if bindir else None,
    )
    try:
        status = stack.start()
    except BinariesNotFound as error:
        shutil.rmtree(root, ignore_errors=True)
        missing(f"no PostgreSQL binaries to start a test server: {error}")
    assert status.state is not None and status.state.postgres is not None
    try:
        yield PgServer("127.0.0.1", status.state.postgres.port)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    url = os.environ.get("DBENV_TEST_REDIS_URL")
    if url:
        parts = urlsplit(url)
        yield RedisServer(parts.hostname or "127.0.0.1", parts.port or 6379)
        return
    binary = find_redis_server()
    if binary is None:
        missing("no redis-server binary to start a test server (apt-get install redis-server)")
        return
    root = _scratch_dir("dbenv-test-redis-")
    server = RedisProcess(root, binary=binary)
    port = free_port()
    server.start(port)
    try:
        yield RedisServer("127.0.0.1", port)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def scratch_db(pg_server: PgServer) -> Iterator[str]:
    name = f"dbenv_scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server.dsn_for(name)
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pgbouncer(pg_server: PgServer) -> Iterator[PgBouncer]:
    """A real PgBouncer in transaction mode in front of ``pg_server`` (pgbouncer_support)."""
    root = _scratch_dir("dbenv-test-pgbouncer-")
    bouncer = start_pgbouncer(pg_server, root)
    try:
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def replica_pair() -> Iterator[ReplicaPair]:
    """A primary and its streaming standby, started once per session (replica_support)."""
    root = _scratch_dir("dbenv-test-replica-")
    # a fresh initdb, not the cache: its system identifier must differ from pg_server's
    # (a cached copy keeps it), so "a replica of another environment's primary" shows
    pair = start_replica_pair(root)
    try:
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """Three cluster-enabled masters joined into one cluster (redis_cluster_support)."""
    root = _scratch_dir("dbenv-test-redis-cluster-")
    try:
        cluster = start_redis_cluster(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
