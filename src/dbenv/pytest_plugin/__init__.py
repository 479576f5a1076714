"""dbenv's pytest plugin: a real, isolated, fast test database for every test.

Registered through the ``pytest11`` entry point (``-p no:dbenv`` removes it,
``--dbenv-disable`` / ``dbenv_disable = true`` makes its fixtures skip). Until a
test asks for one of its fixtures it does nothing: no server, no driver import.

Fixtures (each also a factory in ``dbenv.pytest_plugin.factories``):
``dbenv_env``, ``dbenv_url``, ``dbenv_replica_url``, ``db``, ``sa_engine``, ``sa_session``,
``async_db``, ``async_sa_session``, ``dbenv_redis``; ``dbenv_databases`` is the session object
behind them. Marker: ``@pytest.mark.dbenv(transaction=False)`` for real commits.
See docs/pytest.md.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from dbenv.pytest_plugin import factories
from dbenv.pytest_plugin.exporting import EXPORTED_WORKER
from dbenv.pytest_plugin.exporting import ORIGINAL as ORIGINAL_ENVIRON
from dbenv.pytest_plugin.options import PluginOptions, add_options, read_options
from dbenv.pytest_plugin.session import TestDatabases
from dbenv.pytest_plugin.targets import WorkerInfo

__all__ = ["PluginOptions", "TestDatabases", "factories"]

OPTIONS = pytest.StashKey[PluginOptions]()

dbenv_env = factories.dbenv_env()
dbenv_url = factories.dbenv_url()
dbenv_replica_url = factories.dbenv_replica_url()
db = factories.db()
sa_engine = factories.sa_engine()
sa_session = factories.sa_session()
async_db = factories.async_db()
async_sa_session = factories.async_sa_session()
dbenv_redis = factories.dbenv_redis()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before any conftest: refuse, or give the process the test environment's variables."""
    options = read_options(early_config, early=True)
    if not options.disabled:
        from dbenv.pytest_plugin.exporting import prepare_process

        prepare_process(early_config, options)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dbenv(transaction=True): transaction=False lets the test commit for real; "
        "afterwards dbenv empties the tables that got rows",
    )
    options = read_options(config)
    if config.pluginmanager.hasplugin("django"):  # pytest-django: docs/django.md
        from dbenv.pytest_plugin import django

        if config.getoption("create_db", False):  # its "rebuild the test database"
            options = replace(options, recreate=True)
        django.register(config, enabled=not options.disabled, project=options.project)
    config.stash[OPTIONS] = options
    config.pluginmanager.register(KeptDatabases(), "dbenv-kept-databases")


def _worker(config: pytest.Config) -> WorkerInfo:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None:
        return WorkerInfo()
    return WorkerInfo(str(workerinput["workerid"]), int(workerinput.get("workercount", 1)))


@pytest.fixture(scope="session")
def dbenv_databases(request: pytest.FixtureRequest) -> Iterator[TestDatabases]:
    """This process's test databases, prepared on first use of a dbenv fixture."""
    options = request.config.stash[OPTIONS]
    if options.disabled:
        pytest.skip("the dbenv plugin is turned off (--dbenv-disable / dbenv_disable)")
    manager = TestDatabases(
        options,
        request.config.rootpath,
        _worker(request.config),
        process_env=request.config.stash.get(ORIGINAL_ENVIRON, None),
    )
    yield manager
    with factories.reported(request.config):
        manager.finish()


@pytest.fixture(scope="session", autouse=True)
def _dbenv_worker_database(request: pytest.FixtureRequest) -> None:
    """An xdist worker's exported database exists before the app's own fixtures run.

    The worker was told its database's name before any conftest was imported, but
    the plugin makes that database only when a dbenv fixture first asks; an app whose
    own session fixture connects to it first (to create its databases, or to migrate)
    found none. Plugins' autouse fixtures run before a conftest's of the same scope.
    A failure is the dbenv fixtures' to report (they raise it again) and a warning here.
    """
    if not request.config.stash.get(EXPORTED_WORKER, False):
        return
    from dbenv.errors import DbenvError

    manager: TestDatabases = request.getfixturevalue("dbenv_databases")
    try:
        manager.target()
    except DbenvError as error:
        request.config.issue_config_time_warning(
            pytest.PytestWarning(f"dbenv: this worker's database is not ready: {error}"),
            stacklevel=2,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist with ``--dbenv-recreate`` the controller drops the templates once."""
    config = session.config
    options = config.stash[OPTIONS]
    if not options.recreate or options.disabled or hasattr(config, "workerinput"):
        return
    if not config.pluginmanager.hasplugin("dsession"):
        return  # a single process drops them itself when a fixture first asks
    from dbenv.errors import DbenvError

    try:
        _drop_templates(config, options)
    except DbenvError as error:
        config.issue_config_time_warning(pytest.PytestWarning(f"dbenv: {error}"), stacklevel=2)


def _drop_templates(config: pytest.Config, options: PluginOptions) -> None:
    from dbenv.config import load_project
    from dbenv.lifecycle.template import connect_maintenance, template_name
    from dbenv.pytest_plugin.databases import drop_templates
    from dbenv.sources.schema import fingerprint, load_schema_source
    from dbenv.target import Target

    project = load_project(project=options.project, cwd=config.rootpath)
    env = project.environment(options.environment)
    if env.isolation != "database":
        return
    name = template_name(project.name, fingerprint(project, env, load_schema_source(project, env)))
    with connect_maintenance(Target.of(env), project, "template") as maint:
        drop_templates(maint, name)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[factories.CALL_REPORT] = report
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the test's fixtures are gone: keep a failed test's rows, empty what it committed."""
    try:
        return (yield)
    finally:
        _clean_after(item)


def _clean_after(item: pytest.Item) -> None:
    entries = item.stash.get(factories.DIRTY, [])
    if not entries:
        return
    report = item.stash.get(factories.CALL_REPORT, None)
    failed = report is not None and report.failed
    with factories.reported(item.config):
        for manager, target in entries:
            if failed and manager.options.keep_failed:
                copy = manager.keep(target, item.nodeid)
                if copy:
                    item.user_properties.append(("dbenv_kept", copy))
            manager.empty(target)
    item.stash[factories.DIRTY] = []


class KeptDatabases:
    """Collects the databases kept for failed tests (from every xdist worker) and lists them."""

    def __init__(self) -> None:
        self.kept: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.kept += [
                f"{report.nodeid}: {v}" for k, v in report.user_properties if k == "dbenv_kept"
            ]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.kept:
            terminalreporter.section("dbenv: databases kept for failed tests")
            for line in self.kept:
                terminalreporter.write_line(line)
            terminalreporter.write_line("(drop them with dropdb when done)")
