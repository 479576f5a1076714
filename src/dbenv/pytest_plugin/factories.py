"""Fixture factories: each returns a pytest fixture bound to one environment.

The plugin's default fixtures are these factories called with no environment
(the session's, ``--dbenv-env``); a conftest or test module makes more::

    from dbenv.pytest_plugin import factories
    reporting_db = factories.db("reporting")

Per test, a fixture either wraps the test in a transaction rolled back at the end
(the default), or — under ``@pytest.mark.dbenv(transaction=False)`` — lets it
commit and has the plugin empty the tables that got rows afterwards. Anything
that could commit outside the transaction (``sa_engine``, ``dbenv_url``,
``dbenv_env``) is cleaned the same way. A dbenv error in setup fails the test with
its one-sentence message, not a traceback (``--full-trace`` shows it).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from dbenv.config.masking import mask_url
from dbenv.config.model import Environment, SecretURL
from dbenv.errors import DbenvError
from dbenv.pytest_plugin.session import TestDatabases
from dbenv.pytest_plugin.targets import Target

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

__all__ = [
    "CALL_REPORT",
    "DIRTY",
    "async_db",
    "async_sa_session",
    "db",
    "dbenv_env",
    "dbenv_redis",
    "dbenv_replica_url",
    "dbenv_url",
    "sa_engine",
    "sa_session",
]

# targets a test may have committed to (emptied after its teardown), and its call report
DIRTY = pytest.StashKey[list[tuple[TestDatabases, Target]]]()
CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@contextlib.contextmanager
def reported(config: pytest.Config) -> Iterator[None]:
    """A dbenv error becomes a failure showing its message only."""
    message = None
    try:
        yield
    except DbenvError as error:
        if config.getoption("fulltrace", False):
            raise
        message = f"dbenv: {error}"
    except Exception as error:
        if config.getoption("fulltrace", False) or not _from_driver(error):
            raise
        message = f"dbenv: the server refused a step of preparing the test database: {_said(error)}"
    if message is not None:
        # raised while contextlib's __exit__ handles the original error: "from None"
        # keeps pytest from showing it as "During handling of the above exception"
        raise pytest.fail.Exception(message, pytrace=False) from None


def _from_driver(error: BaseException) -> bool:
    return type(error).__module__.split(".")[0] in ("psycopg", "sqlalchemy", "redis", "asyncpg")


def _said(error: BaseException) -> str:
    """The driver's first line, any URL password masked."""
    import re

    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return re.sub(r"://([^:/@\s]+):[^@\s]+@", r"://\1:****@", text)


def _target(request: pytest.FixtureRequest, manager: TestDatabases, env: str | None) -> Target:
    with reported(request.config):
        return manager.target(env)


def _transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("dbenv")
    return True if marker is None else bool(marker.kwargs.get("transaction", True))


def _dirty(request: pytest.FixtureRequest, manager: TestDatabases, target: Target) -> None:
    entries = request.node.stash.setdefault(DIRTY, [])
    if all(t.configured.name != target.configured.name for _, t in entries):
        entries.append((manager, target))


def _keep(request: pytest.FixtureRequest, manager: TestDatabases) -> bool:
    """``--dbenv-keep-failed`` and the test failed: commit, so its rows can be kept."""
    report = request.node.stash.get(CALL_REPORT, None)
    return manager.options.keep_failed and report is not None and report.failed


def _async(function: Callable[..., Any]) -> Any:
    try:
        import pytest_asyncio
    except ImportError:  # an async plugin other than pytest-asyncio
        return pytest.fixture(function)
    return pytest_asyncio.fixture(function)


def dbenv_env(env: str | None = None) -> Any:
    """The prepared ``Environment`` (URL, schema or prefix of this worker's target)."""

    @pytest.fixture
    def fixture(request: pytest.FixtureRequest, dbenv_databases: TestDatabases) -> Environment:
        target = _target(request, dbenv_databases, env)
        _dirty(request, dbenv_databases, target)
        return target.env

    return fixture


def dbenv_url(env: str | None = None) -> Any:
    """The target's database URL, plain (for the code under test to connect with)."""

    @pytest.fixture
    def fixture(request: pytest.FixtureRequest, dbenv_databases: TestDatabases) -> str:
        target = _target(request, dbenv_databases, env)
        _dirty(request, dbenv_databases, target)
        assert target.env.database_url is not None
        return target.env.database_url.reveal()

    return fixture


def dbenv_replica_url(env: str | None = None, number: int = 1) -> Any:
    """Replica ``number``'s URL (from 1) for the target's database, plain; a test
    asking for a replica its environment lacks fails, saying so (never skipped).

    At setup it waits until the replica has replayed all the primary wrote (the
    target database as the session prepared it). A standby replays only what was
    committed: read there what a test committed
    (``@pytest.mark.dbenv(transaction=False)``), after waiting for the replay.
    """

    @pytest.fixture
    def fixture(request: pytest.FixtureRequest, dbenv_databases: TestDatabases) -> str:
        target = _target(request, dbenv_databases, env)
        replicas = target.env.replicas
        if len(replicas) < number:
            pytest.fail(
                f"dbenv: environment '{target.env.name}' has no replica {number}; declare "
                "replicas in dbenv.toml, or set [local] replica = true.",
                pytrace=False,
            )
        from dbenv.backends.postgres import wait_replayed

        replica = replicas[number - 1]
        assert target.env.database_url is not None
        with reported(request.config):
            wait_replayed(target.env.database_url, replica)
        return replica.reveal()

    return fixture


def db(env: str | None = None) -> Any:
    """A psycopg connection inside a transaction rolled back after the test."""

    @pytest.fixture
    def fixture(
        request: pytest.FixtureRequest, dbenv_databases: TestDatabases
    ) -> Iterator[psycopg.Connection[Any]]:
        target = _target(request, dbenv_databases, env)
        if not _transactional(request):
            with reported(request.config):
                conn = dbenv_databases.connection(target)
            _dirty(request, dbenv_databases, target)
            yield conn
            if not conn.closed and not conn.broken:
                conn.rollback()
            return
        with reported(request.config):
            conn = dbenv_databases.begin_test(target)
        yield conn
        # commit() in the test ended the transaction: its rows are emptied afterwards
        if dbenv_databases.end_test(target, keep=_keep(request, dbenv_databases)):
            _dirty(request, dbenv_databases, target)

    return fixture


def sa_engine(env: str | None = None) -> Any:
    """The target's SQLAlchemy engine; what a test commits through it is emptied after."""

    @pytest.fixture
    def fixture(request: pytest.FixtureRequest, dbenv_databases: TestDatabases) -> Engine:
        target = _target(request, dbenv_databases, env)
        _dirty(request, dbenv_databases, target)
        with reported(request.config):
            return dbenv_databases.engine(target)

    return fixture


def sa_session(env: str | None = None, **session_options: Any) -> Any:
    """A ``Session`` joined to an outer transaction: its ``commit()`` is still rolled back."""

    @pytest.fixture
    def fixture(
        request: pytest.FixtureRequest, dbenv_databases: TestDatabases
    ) -> Iterator[Session]:
        from sqlalchemy.orm import Session

        target = _target(request, dbenv_databases, env)
        with reported(request.config):
            engine = dbenv_databases.engine(target)
        if not _transactional(request):
            _dirty(request, dbenv_databases, target)
            with Session(bind=engine, **session_options) as session:
                yield session
            return
        connection = engine.connect()
        outer = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", **session_options
        )
        try:
            yield session
        finally:
            session.close()
            if _keep(request, dbenv_databases) and outer.is_active:
                outer.commit()
                _dirty(request, dbenv_databases, target)
            elif outer.is_active:
                outer.rollback()
            connection.close()

    return fixture


def async_db(env: str | None = None) -> Any:
    """An asyncio psycopg connection inside a transaction rolled back after the test."""

    async def fixture(
        request: pytest.FixtureRequest, dbenv_databases: TestDatabases
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        from dbenv.backends.postgres import connect_async
        from dbenv.integrations.sqlalchemy import application_name
        from dbenv.target import Target as Resolved

        target = _target(request, dbenv_databases, env)
        schema = target.env.schema if target.env.isolation == "schema" else None
        with reported(request.config):
            conn = await connect_async(
                Resolved.of(target.env).url,
                search_path=schema,
                application_name=application_name(target.env, "pytest"),
            )
        try:
            if not _transactional(request):
                _dirty(request, dbenv_databases, target)
                yield conn
                return
            block = conn.transaction(force_rollback=True)
            transaction = await block.__aenter__()
            try:
                yield conn
            finally:
                if _keep(request, dbenv_databases):
                    transaction.force_rollback = False
                    _dirty(request, dbenv_databases, target)
                with contextlib.suppress(Exception):
                    await block.__aexit__(None, None, None)
        finally:
            await conn.close()

    return _async(fixture)


def async_env(env: Environment, driver: str) -> Environment:
    """``env`` whose URL names the async driver (``asyncpg`` or psycopg's)."""
    from dataclasses import replace

    if env.database_url is None or driver != "asyncpg":
        return env
    _, _, rest = env.database_url.reveal().partition("://")
    url = f"postgresql+asyncpg://{rest}"
    return replace(env, database_url=SecretURL(url, masked=mask_url(url)))


def async_sa_session(
    env: str | None = None, *, driver: str | None = None, **session_options: Any
) -> Any:
    """The async twin of ``sa_session`` (psycopg async, or asyncpg)."""

    async def fixture(
        request: pytest.FixtureRequest, dbenv_databases: TestDatabases
    ) -> AsyncIterator[AsyncSession]:
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.pool import NullPool

        from dbenv.integrations.sqlalchemy import create_async_engine

        target = _target(request, dbenv_databases, env)
        chosen = async_env(target.env, driver or dbenv_databases.options.async_driver)
        engine = create_async_engine(chosen, component="pytest", poolclass=NullPool)
        try:
            if not _transactional(request):
                _dirty(request, dbenv_databases, target)
                async with AsyncSession(bind=engine, **session_options) as session:
                    yield session
                return
            connection = await engine.connect()
            outer = await connection.begin()
            session = AsyncSession(
                bind=connection, join_transaction_mode="create_savepoint", **session_options
            )
            try:
                yield session
            finally:
                await session.close()
                if _keep(request, dbenv_databases) and outer.is_active:
                    await outer.commit()
                    _dirty(request, dbenv_databases, target)
                elif outer.is_active:
                    await outer.rollback()
                await connection.close()
        finally:
            await engine.dispose()

    return _async(fixture)


def dbenv_redis(env: str | None = None) -> Any:
    """A Redis client on the environment's db index, flushed before and after the test.

    A Redis Cluster environment gets a ``RedisCluster`` client; the flushes remove
    its ``redis_prefix`` keys (a worker's own prefix under xdist) on every master.
    """

    @pytest.fixture
    def fixture(request: pytest.FixtureRequest, dbenv_databases: TestDatabases) -> Iterator[Any]:
        from dbenv.backends import redis

        target = _target(request, dbenv_databases, env)
        with reported(request.config):
            protected = dbenv_databases.redis_protected(target)
            redis.flush(target.env, protected)
            client = redis.client_of(target.env)
        try:
            yield client
        finally:
            client.close()
            with reported(request.config):
                redis.flush(target.env, protected)

    return fixture
