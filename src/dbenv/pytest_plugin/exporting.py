"""Before the app's conftest is imported: the test environment's variables, or a refusal.

An app that builds its engine from its settings at import time (a conftest, a
settings module) reads whatever the process holds when pytest imports it. So,
in ``pytest_load_initial_conftests`` — after the plugins, before any conftest —
the plugin:

1. refuses to start the session (a pytest usage error, one sentence) when the
   process already names a protected environment's database or Redis: a
   variable exported in the shell (``DATABASE_URL=<production's> pytest``), or
   a value in a module of the project imported before the plugin could act
   (``-p app.settings``, another plugin importing the app);
2. sets the variables ``dbenv run test`` gives the child (the environment's
   variables, its selectors, its database and Redis URLs) — under xdist, the
   worker's own database and Redis db — unless the project opts out
   (``dbenv_export = false`` / ``--dbenv-no-export``);
3. restores the process environment when pytest unconfigures.

The session's ``Project`` keeps reading the environment as it was before (what
the shell declared), so the guard's "declared" check still sees a shell's
``APP_ENV=production``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from dbenv.config.model import Environment
from dbenv.errors import DbenvError, ProjectNotFound
from dbenv.pytest_plugin.targets import WorkerInfo

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.pytest_plugin.options import PluginOptions

# the process environment before the plugin changed it (the session's Project reads it)
ORIGINAL = pytest.StashKey[dict[str, str]]()
# set when an xdist worker was given its own database, which the plugin makes later
EXPORTED_WORKER = pytest.StashKey[bool]()
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
CONTROLLER = "DBENV_PYTEST_SESSION_PID"  # set for the xdist workers a session starts
_URL_TYPES = ("URL", "Url", "MultiHostUrl", "AnyUrl", "PostgresDsn", "RedisDsn")


@dataclass(frozen=True)
class Place:
    """A protected environment's database or Redis db, as URLs in the process may name it."""

    environment: str
    kind: str  # "database" or "Redis"
    host: str
    port: int
    name: str  # database name or Redis db index

    def matches(self, url: str) -> bool:
        from dbenv.safety.checks import url_target

        redis = url.split("://", 1)[0].lower().startswith("redis")
        if redis != (self.kind == "Redis"):
            return False
        found = url_target(url)
        if found is None:
            return False
        name = (found.database or "0") if redis else found.database
        return (found.host, found.port, name) == (self.host, self.port, self.name)


def exported_variables(env: Environment) -> dict[str, str]:
    """What ``dbenv run`` gives a child for ``env`` (the one function computing it)."""
    from dbenv.config.exports import exported

    return exported(env)


def export_enabled(config: pytest.Config) -> bool:
    """``--dbenv-no-export`` / ``dbenv_export`` (default on); a bad ini value is a usage error."""
    flag = getattr(config.known_args_namespace, "dbenv_export", None)
    if flag is not None:
        return bool(flag)
    raw = str(config.getini("dbenv_export")).strip()
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise pytest.UsageError(
        f"dbenv_export is '{raw}' in {_ini_place(config, 'dbenv_export')}; "
        "write dbenv_export = true or dbenv_export = false."
    )


def _ini_place(config: pytest.Config, key: str) -> str:
    """``file:line`` of ``key`` in the pytest configuration file (the file alone if not found)."""
    path = config.inipath
    if path is None:
        return "the pytest configuration"
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith(key):
                return f"{path.name}:{number}"
    except OSError:
        pass
    return path.name


def prepare_process(config: pytest.Config, options: PluginOptions) -> None:
    """Refuse, or set the test environment's variables (see the module's docstring)."""
    from dbenv.config import load_project

    original = dict(os.environ)
    config.stash[ORIGINAL] = original
    enabled = export_enabled(config)
    try:
        project = load_project(project=options.project, cwd=config.rootpath, process_env=original)
    except ProjectNotFound:
        return  # not a dbenv project: nothing to export or to compare with
    name = options.environment
    from dbenv.safety.checks import protected_environments

    try:
        env = project.environment(name) if name in project.environment_names else None
        places = protected_places(project, env)
        protected = protected_environments(project, env)
    except DbenvError as error:
        raise pytest.UsageError(f"dbenv: {_sentence(error)}") from None
    refuse_if_named(places, original, early_modules(project.root), name, protected)
    # an undeclared or protected environment gets nothing: its fixtures fail with the
    # guard's sentence when a test asks for them
    if not enabled or env is None or not env.disposable:
        return
    worker = _worker()
    try:
        variables = worker_exports(project, env, worker)
    except DbenvError as error:
        raise pytest.UsageError(f"dbenv: {_sentence(error)}") from None
    if worker.id is None:
        variables[CONTROLLER] = str(os.getpid())
    else:
        config.stash[EXPORTED_WORKER] = True
    os.environ.update(variables)
    config.add_cleanup(lambda: _restore(original, variables))


def _sentence(error: DbenvError) -> str:
    hint = getattr(error, "hint", None)
    return f"{error} {hint}" if hint else str(error)


def _restore(original: Mapping[str, str], variables: Mapping[str, str]) -> None:
    for key in variables:
        if key in original:
            os.environ[key] = original[key]
        else:
            os.environ.pop(key, None)


def _worker() -> WorkerInfo:
    """This process's xdist worker, before pytest knows it (``config.workerinput`` comes later).

    xdist sets ``PYTEST_XDIST_WORKER`` in a worker before its pytest starts; a pytest
    started *by* a test of a worker inherits it, so it counts only when this
    process's parent is the session (the controller) that marked itself.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or os.environ.get(CONTROLLER) != str(os.getppid()):
        return WorkerInfo()
    return WorkerInfo(worker, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))


def worker_exports(project: Project, env: Environment, worker: WorkerInfo) -> dict[str, str]:
    """The variables for ``env`` as ``worker`` uses it (its own database and Redis db)."""
    from dbenv.pytest_plugin import workers_redis
    from dbenv.pytest_plugin.targets import derive

    if env.server == "local" and env.database_url is None:
        from dbenv.commands.stack import stack_for, up

        if not stack_for(project).status().running:
            up(project)  # the tests need it anyway; its URL is known only once it runs
        env = replace(project, _cache={}).environment(env.name)
    neighbours = workers_redis.neighbours(project, env.name) if env.redis_url else ()
    return exported_variables(derive(env, worker, neighbours))


def protected_places(project: Project, env: Environment | None) -> list[Place]:
    """The databases and Redis dbs of the project's protected environments (other than ``env``)."""
    from dbenv.backends.redis import place_of as redis_place
    from dbenv.safety.checks import place_of, protected_environments, url_target

    places = []
    for other in protected_environments(project, env):
        database = place_of(other)
        if database is not None:
            places.append(Place(other.name, "database", *database))
        pooled = None if other.pooler_url is None else url_target(other.pooler_url.masked)
        if pooled is not None:  # what its applications are given
            places.append(Place(other.name, "database", pooled.host, pooled.port, pooled.database))
        redis = redis_place(other)
        if redis is not None:
            places.append(Place(other.name, "Redis", redis[0], redis[1], str(redis[2])))
    return places


def refuse_if_named(
    places: list[Place],
    environ: Mapping[str, str],
    modules: list[ModuleType],
    target: str,
    protected: Sequence[Environment] = (),
) -> None:
    """Raise a usage error naming the first variable or module value that names a place."""
    fix = (
        f"so the tests could reach it instead of '{target}'. Unset it and run pytest again"
        f" (dbenv run {target} -- pytest gives the process only {target}'s targets)."
    )
    for key, value in sorted(environ.items()):
        for place in places:
            if "://" in value and place.matches(value):
                raise pytest.UsageError(
                    f"dbenv: refused to start the tests: ${key} names protected environment "
                    f"'{place.environment}''s {place.kind}, {fix}"
                )
    for key, owner in split_forms_named(protected, environ):
        raise pytest.UsageError(
            f"dbenv: refused to start the tests: ${key} and the variables beside it name "
            f"protected environment '{owner}''s database or Redis, {fix}"
        )
    for module in modules:
        for where, value in _module_urls(module):
            for place in places:
                if place.matches(value):
                    raise pytest.UsageError(
                        f"dbenv: refused to start the tests: {module.__name__}.{where} names "
                        f"protected environment '{place.environment}''s {place.kind}: the module"
                        " was imported before the dbenv plugin set the test environment's "
                        "variables. Import it from a conftest or a test instead (not through "
                        "-p or another plugin), or set its variables in the shell."
                    )


_SPLIT = (("database", ("host", "port")), ("redis_db", ("redis_host", "redis_port")))


def split_forms_named(
    protected: Sequence[Environment], environ: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    """(variable, environment) where the shell holds a protected environment's split target.

    The project exports ``POSTGRES_DB`` / ``POSTGRES_SERVER`` / ... (forms ``database``,
    ``host``, ``port``; ``redis_db``, ``redis_host``, ``redis_port``): the shell names a
    protected environment when its database (or db index) variable holds that
    environment's value and so does each of its host and port variables that is set
    (the database variable with no host beside it names the app's default server).
    """
    from dbenv.config.exports import masked_target_values

    for env in protected:
        values = masked_target_values(env)
        by_form = {form: name for name, form in env.export_forms.items() if name in values}
        for form, beside in _SPLIT:
            key = by_form.get(form)
            if key is None or environ.get(key) != values[key]:
                continue
            others = [by_form[f] for f in beside if f in by_form]
            if form == "redis_db" and not all(name in environ for name in others):
                continue  # an index alone names no server
            if all(environ.get(name, values[name]) == values[name] for name in others):
                yield key, env.name


def early_modules(root: Path) -> list[ModuleType]:
    """Modules of the project (under ``root``, outside virtualenvs) imported already."""
    found = []
    own = Path(__file__).resolve().parent.parent  # dbenv itself, as when its repository is root
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)} | {own}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if not path.is_relative_to(root) or "site-packages" in path.parts:
            continue
        if any(path.is_relative_to(prefix) for prefix in prefixes):
            continue
        found.append(module)
    return found


def _module_urls(module: ModuleType) -> list[tuple[str, str]]:
    """(attribute path, URL text) of a module's values, two levels deep (settings objects).

    Best effort: an object that fails when looked at is skipped, never pytest's start.
    """
    found: list[tuple[str, str]] = []
    for name, value in list(vars(module).items()):
        if not name.startswith("__"):
            try:
                found += _urls(name, value, depth=2)
            except Exception:
                continue
    return found


def _urls(where: str, value: Any, depth: int) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "://" in value:
            yield where, value
        return
    kind = type(value)
    if kind.__module__.startswith("sqlalchemy") and hasattr(value, "url"):  # an engine
        yield f"{where}.url", _render(value.url)
        return
    if kind.__name__ in _URL_TYPES:  # sqlalchemy's URL, pydantic's Url / PostgresDsn
        yield where, _render(value)
        return
    if depth <= 0 or isinstance(value, (type, ModuleType)) or callable(value):
        return
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        try:
            items = list(vars(value).items())
        except TypeError:
            return
    for key, inner in items:
        if isinstance(key, str) and not key.startswith("_"):
            yield from _urls(f"{where}.{key}", inner, depth - 1)


def _render(url: Any) -> str:
    render = getattr(url, "render_as_string", None)
    return str(render(hide_password=True)) if callable(render) else str(url)
