"""Building a schema the way the app builds it: its variables, its steps, and checks after.

Apps' Alembic ``env.py`` often ignores ``sqlalchemy.url`` and the connection dbenv
passes and reads the app's own settings. So while dbenv builds a template or a
schema, the migrations run in a process of their own (``dbenv.sources.migrate_child``)
with the environment's variables set — those ``dbenv run`` gives — and every
database variable it exports naming the database being built.

Around the schema source, an environment's ``[environments.NAME.build]`` table
adds steps: ``before_sql`` (statements run in the database being built first:
``CREATE SCHEMA box_packing`` a migration expects) and ``after`` (commands run
with the same variables afterwards: seeders). Their rows count as the source's
(kept as reference rows).

Afterwards the build is checked: it must hold tables, an Alembic build must be at
head, and the environment's live database must not have changed (the migrations
went there instead); otherwise the build fails, one sentence naming the likely
cause, and is never kept as a template.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment, SecretURL
from dbenv.errors import OperationError

if TYPE_CHECKING:
    import psycopg

    from dbenv.sources.schema import SchemaSource

# SQLSTATE classes of a fault in the script itself (bad input, exit 2), not the server's:
# data exceptions, constraints, invalid transaction/schema state, syntax and access rules,
# unsupported features, PL/pgSQL RAISE
SCRIPT_FAULTS = frozenset({"0A", "22", "23", "25", "2B", "3F", "42", "P0"})


def build_variables(env: Environment, url: str) -> dict[str, str]:
    """What ``dbenv run`` gives ``env``'s children, its database being ``url`` instead."""
    from dbenv.config.exports import exported
    from dbenv.config.masking import mask_url

    built = SecretURL(url, masked=mask_url(url))
    return exported(replace(env, database_url=built, pooler_url=None))


def _child_environment(env: Environment, url: str) -> dict[str, str]:
    return {**os.environ, **build_variables(env, url)}


def alembic_upgrade(source: SchemaSource, env: Environment, url: str) -> None:
    """``alembic upgrade head`` of ``source`` into ``url``, in a child process (see above)."""
    from dbenv.integrations.sqlalchemy import application_name, sqlalchemy_url
    from dbenv.sources import migrate_child

    assert source.path is not None
    child = _child_environment(env, url)
    child[migrate_child.URL] = sqlalchemy_url(url)
    child[migrate_child.ROOT] = str(env.root)
    child[migrate_child.APPLICATION] = application_name(env, "reset")
    if env.isolation == "schema" and env.schema:
        child[migrate_child.OPTIONS] = f"-c search_path={env.schema}"
    command = [sys.executable, "-m", "dbenv.sources.migrate_child", str(source.path)]
    try:
        done = subprocess.run(
            command,
            cwd=source.path.parent,
            env=child,
            capture_output=True,
            text=True,
            timeout=env.schema_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OperationError(
            f"alembic upgrade head for {source.spec} did not finish in {env.schema_timeout:g} s.",
            hint="Run it by hand to see where it waits (a lock held by another client?), "
            "or raise schema_timeout (seconds) in the project file.",
        ) from None
    if done.returncode != 0:
        said = _failure_line(done.stderr, migrate_child.FAILED)
        raise OperationError(
            f"alembic upgrade head failed for {source.spec}: {_scrubbed(said, url)}",
            hint="Run the migration by hand to see the full error (alembic upgrade head).",
        )


def _failure_line(stderr: str, marker: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(marker):
            return line.removeprefix(marker)
    return lines[-1] if lines else "it exited without saying why"


def _scrubbed(text: str, url: str) -> str:
    from dbenv.config.masking import password_forms, scrub

    return scrub(text, password_forms(url))


def run_before(conn: psycopg.Connection[Any], env: Environment) -> None:
    """``build.before_sql``: statements run in the database being built, first."""
    from psycopg import Error

    from dbenv.errors import ConfigError

    for statement in env.build_before_sql:
        try:
            conn.execute(statement.encode())
        except Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            # the statement's own fault is the configuration's (exit 2), else the server's
            fault = str(exc.sqlstate or "")[:2] in SCRIPT_FAULTS
            raise (ConfigError if fault else OperationError)(
                f"build.before_sql of '{env.name}' failed on {statement!r}: {first}",
                hint=f"Fix [environments.{env.name}.build] before_sql in dbenv.toml.",
            ) from None


def run_after(env: Environment, url: str) -> None:
    """``build.after``: commands run with the build's variables (seeders), in the project root."""
    child = _child_environment(env, url)
    for command in env.build_after:
        argv = shlex.split(command)
        try:
            done = subprocess.run(
                argv,
                cwd=env.root,
                env=child,
                capture_output=True,
                text=True,
                timeout=env.schema_timeout,
                check=False,
            )
        except (FileNotFoundError, PermissionError):
            raise OperationError(
                f"build.after command {command!r} of '{env.name}' could not be started.",
                hint="Check its spelling and that it is on PATH.",
            ) from None
        except subprocess.TimeoutExpired:
            raise OperationError(
                f"build.after command {command!r} of '{env.name}' did not finish in "
                f"{env.schema_timeout:g} s.",
                hint="Run it by hand under dbenv run to see where it waits.",
            ) from None
        if done.returncode != 0:
            said = _failure_line(done.stderr, "\0")
            raise OperationError(
                f"build.after command {command!r} of '{env.name}' exited with "
                f"{done.returncode}: {_scrubbed(said, url)}",
                hint=f"Run it by hand: dbenv run {env.name} -- {command}",
            )


def scratch_environment(env: Environment | None, root: Path) -> Environment:
    """Whose variables a scratch build (``dbenv diff``) gets: the scratch server's
    disposable environment, or none but ``DATABASE_URL`` (no selector set)."""
    if env is not None:  # the scratch database is a database of its own: no schema there
        return replace(env, isolation="database", schema=None, prefix=None)
    from dbenv.config.exports import DEFAULT_EXPORTS

    return Environment(
        name="diff", project="diff", root=root, selectors=(), export_forms=DEFAULT_EXPORTS
    )


def check_scratch(url: str, env: Environment, source: SchemaSource) -> None:
    """``check_built`` for a scratch database (no live database to compare)."""
    from dbenv.backends import postgres

    with postgres.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'dbenv')"
        ).fetchall()
        check_built(conn, env, source, tuple(r[0] for r in rows))


# -- checks after the build -------------------------------------------------------------

_SIGNATURE = """
SELECT count(*), coalesce(max(c.oid::bigint), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relpersistence = 'p' AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'i')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'dbenv')
"""


@dataclass(frozen=True)
class LiveWatch:
    """The environment's live database before a build (None when there is none yet)."""

    database: str
    before: tuple[Any, ...] | None
    url: str = field(default="", repr=False, compare=False)  # plain: only for connecting

    @classmethod
    def start(cls, url: str, database: str) -> LiveWatch:
        """Watch the live database at ``url`` (named ``database``)."""
        return cls(database, _signature(url), url)

    def changed(self, env: Environment) -> bool:
        return self.before is not None and _signature(self.url) != self.before


def _signature(url: str) -> tuple[Any, ...] | None:
    """Relations and Alembic's version of the database ``url`` names (None if unreachable)."""
    from psycopg import Error

    from dbenv.backends import postgres
    from dbenv.errors import DbenvError

    try:
        with postgres.connect(url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(_SIGNATURE).fetchone()
            versions = _alembic_versions(conn)
    except (Error, DbenvError):
        return None
    return (*(row or ()), versions)


def _alembic_versions(conn: psycopg.Connection[Any], schema: str | None = None) -> tuple[str, ...]:
    """The rows of ``alembic_version`` (in ``schema``, or wherever it is); () without one."""
    rows = conn.execute(
        "SELECT format('%%I.%%I', table_schema, table_name) FROM information_schema.tables "
        "WHERE table_name = 'alembic_version' AND (%s::text IS NULL OR table_schema = %s)",
        [schema, schema],
    ).fetchall()
    found: list[str] = []
    for (table,) in rows:
        found += [str(r[0]) for r in conn.execute(f"SELECT version_num FROM {table}").fetchall()]
    return tuple(sorted(found))


def check_built(
    conn: psycopg.Connection[Any],
    env: Environment,
    source: SchemaSource,
    tables: tuple[str, ...],
    watch: LiveWatch | None = None,
) -> None:
    """Raise ``OperationError`` unless the build landed here (see the module's docstring)."""
    if watch is not None and watch.changed(env):
        raise OperationError(
            f"building {source.spec} for '{env.name}' changed its live database "
            f"'{watch.database}' instead of the database being built: "
            f"{_likely_cause(source, env)}",
            hint=_fix(source, env),
        )
    # Alembic's bookkeeping table alone (no revisions, or they went elsewhere) is nothing
    if not [t for t in tables if t.rpartition(".")[2].strip('"') != "alembic_version"]:
        raise OperationError(
            f"building {source.spec} for '{env.name}' produced no tables: "
            f"{_likely_cause(source, env)}",
            hint=_fix(source, env),
        )
    if source.kind == "alembic":
        _check_head(conn, env, source)


def _check_head(conn: psycopg.Connection[Any], env: Environment, source: SchemaSource) -> None:
    heads = alembic_heads(source)
    schema = env.schema if env.isolation == "schema" else None
    found = _alembic_versions(conn, schema)
    if set(found) != set(heads):
        have = ", ".join(found) or "no alembic_version"
        raise OperationError(
            f"building {source.spec} for '{env.name}' left {have} in the database being "
            f"built, not head ({', '.join(heads) or 'none'}): {_likely_cause(source, env)}",
            hint=_fix(source, env),
        )


def _likely_cause(source: SchemaSource, env: Environment) -> str:
    if source.kind == "alembic":
        return (
            "its env.py most likely connects by a setting of the app that dbenv did not "
            "point at it (or there are no revisions)."
        )
    if source.kind == "sqlalchemy":
        return "the metadata holds no tables (are the model modules imported by those named?)."
    if source.kind == "sql":
        return "the SQL file creates no tables."
    if source.kind == "cmd":
        return (
            "the command most likely connects by a variable of the app that dbenv did not "
            "point at it (dbenv sets DATABASE_URL and the [export] names)."
        )
    return f"environment '{source.other}' has no tables."


def _fix(source: SchemaSource, env: Environment) -> str:
    if source.kind == "alembic":
        return (
            "Have env.py use config.attributes['connection'] or sqlalchemy.url, or export the "
            f'variable its settings read: [environments.{env.name}.export] NAME = "url" '
            "(docs/lifecycle.md). Nothing was kept as a template."
        )
    if source.kind == "cmd":
        return (
            'Export the variable the tool reads, e.g. [export] POSTGRES_URL = "url" '
            "(docs/lifecycle.md). Nothing was kept as a template."
        )
    if source.kind == "sqlalchemy":
        return "Name the modules that define the models in schema_source (a list is accepted)."
    return "Fix schema_source. Nothing was kept as a template."


def alembic_config(source: SchemaSource, url: str | None = None) -> Any:
    from alembic.config import Config

    assert source.path is not None
    config = Config(str(source.path))
    # `alembic upgrade head` is run from the ini's directory (the migrations' child
    # process is too): a relative script_location means from there, wherever dbenv runs
    location = config.get_main_option("script_location")
    if location and not Path(location).is_absolute() and "%(here)s" not in location:
        config.set_main_option("script_location", str(source.path.parent / location))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def alembic_heads(source: SchemaSource) -> tuple[str, ...]:
    """The head revisions of an Alembic source (what a build must end at)."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config(source)).get_heads())
