"""Count the URL parses one ``reset`` makes (issue 20: "parses the URL once").

Starts a throwaway PostgreSQL with dbenv's local stack (as tests/conftest.py
does, or uses ``DBENV_BENCH_PG_DSN``), writes a project whose disposable ``test``
environment has a SQL schema source (and a protected ``production`` on the same
server, which the guard compares it with), resets it once (building the template),
then counts, during a second ``dbenv.lifecycle.reset.reset(project, env)``:

- ``urllib.parse.urlsplit`` / ``urlparse``;
- psycopg's ``conninfo_to_dict`` / ``make_conninfo``;
- ``Project.environment`` (reading an environment; the first read resolves it).

A parse is counted once, where it is entered (``urlparse`` calling ``urlsplit`` is
one parse). ``by dbenv`` counts the parses dbenv's own code asks for; the rest
are psycopg's own (each ``connect`` parses its conninfo). Usage::

    .venv/bin/python bench/parse_count.py [--sites]
"""

from __future__ import annotations

import collections
import functools
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

COUNTED = {
    "urllib.parse": ("urlsplit", "urlparse"),
    "psycopg.conninfo": ("conninfo_to_dict", "make_conninfo"),
}


class Counter:
    def __init__(self) -> None:
        self.total = 0
        self.by_dbenv = 0
        self.sites: collections.Counter[str] = collections.Counter()
        self.local = threading.local()  # nesting depth, per thread (connects overlap)
        self.on = False

    def wrap(self, original: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(original)
        def counted(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self.local, "depth", 0)
            if self.on and depth == 0:
                caller = sys._getframe(1)
                module = caller.f_globals.get("__name__", "")
                self.total += 1
                if module.startswith("dbenv"):
                    self.by_dbenv += 1
                    self.sites[f"{name} from {module}.{caller.f_code.co_name}"] += 1
            self.local.depth = depth + 1
            try:
                return original(*args, **kwargs)
            finally:
                self.local.depth = depth

        return counted


@contextmanager
def counting(counter: Counter) -> Iterator[None]:
    """Replace the functions everywhere they are bound (module globals included)."""
    import importlib
    import pkgutil

    import dbenv

    for info in pkgutil.walk_packages(dbenv.__path__, "dbenv."):
        if "pytest_plugin" not in info.name:
            importlib.import_module(info.name)
    patched: list[tuple[object, str, object]] = []
    for module_name, names in COUNTED.items():
        module = importlib.import_module(module_name)
        for name in names:
            original = getattr(module, name)
            wrapper = counter.wrap(original, name)
            for mod in list(sys.modules.values()):
                for attr, value in list(getattr(mod, "__dict__", {}).items()):
                    if value is original:
                        patched.append((mod, attr, value))
                        setattr(mod, attr, wrapper)
    try:
        yield
    finally:
        for mod, attr, value in patched:
            setattr(mod, attr, value)


def server() -> tuple[str, Callable[[], None]]:
    """(superuser DSN template with {db}, stop)."""
    dsn = os.environ.get("DBENV_BENCH_PG_DSN")
    if dsn:
        base = dsn.rsplit("/", 1)[0]
        return base + "/{db}", lambda: None
    from dbenv.stack.local import LocalStack

    root = Path(tempfile.mkdtemp(prefix="dbenv-parse-count-"))
    root.chmod(0o755)
    stack = LocalStack(root / "stack", redis=False, host_auth="trust")
    status = stack.start()
    assert status.state is not None and status.state.postgres is not None
    port = status.state.postgres.port

    def stop() -> None:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/{{db}}", stop


def main() -> None:
    import psycopg

    from dbenv.config import load_project
    from dbenv.config.project import Project
    from dbenv.lifecycle.reset import reset
    from dbenv.safety.stamp import write_stamp

    dsn, stop = server()
    database = f"parse_count_{uuid.uuid4().hex[:8]}_test"
    name = f"parsecount{uuid.uuid4().hex[:6]}"
    root = Path(tempfile.mkdtemp(prefix="dbenv-parse-project-"))
    try:
        with psycopg.connect(dsn.format(db="postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{database}_prod"')  # type: ignore[arg-type]
        (root / "schema.sql").write_text(
            "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);\n"
            "CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users);\n"
        )
        (root / "dbenv.toml").write_text(
            f'[project]\nname = "{name}"\n\n[environments.test]\ntier = "disposable"\n'
            f'database_url = "{dsn.format(db=database)}"\nschema_source = "sql:schema.sql"\n'
            f'\n[environments.production]\ntier = "protected"\n'
            f'database_url = "{dsn.format(db=database + "_prod")}"\n'
        )
        project = load_project(project=root, process_env={})
        env = project.environment("test")
        with psycopg.connect(dsn.format(db=database), autocommit=True) as conn:
            write_stamp(conn, name, env)
        reset(project, env)  # builds the template: the counted reset clones it
        counter = Counter()
        reads = collections.Counter[str]()
        original_environment = Project.environment

        def environment(self: Project, name: str | None = None) -> Any:
            if counter.on:
                reads[name or "(active)"] += 1
            return original_environment(self, name)

        Project.environment = environment  # type: ignore[method-assign]
        from dbenv.backends import postgres

        connects = collections.Counter[str]()
        original_connect = postgres.connect

        def connect(*args: Any, **kwargs: Any) -> Any:
            if counter.on:
                connects["connections"] += 1
            return original_connect(*args, **kwargs)

        postgres.connect = connect  # type: ignore[assignment]
        with counting(counter):
            counter.on = True
            result = reset(project, env)
            counter.on = False
        postgres.connect = original_connect  # type: ignore[assignment]
        Project.environment = original_environment  # type: ignore[method-assign]
        assert result.method == "template", result
        print(
            f"URL parses per reset: {counter.total} ({counter.by_dbenv} by dbenv,"
            f" {counter.total - counter.by_dbenv} inside psycopg's connect)"
        )
        print(f"environment reads: {sum(reads.values())} {dict(reads)}")
        print(f"connections opened: {connects['connections']} (dbenv.backends.postgres.connect)")
        if "--sites" in sys.argv:
            for site, n in counter.sites.most_common():
                print(f"  {n:3d}  {site}")
    finally:
        with psycopg.connect(dsn.format(db="postgres"), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname IN (%s, %s) OR datname LIKE %s",
                (database, f"{database}_prod", f"%{name}%"),
            ).fetchall()
            for (db,) in rows:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')  # type: ignore[arg-type]
        shutil.rmtree(root, ignore_errors=True)
        stop()


if __name__ == "__main__":
    main()
