"""Schema sources: parse ``schema_source``, fingerprint it, and build it into a database.

A source is one of
- ``sqlalchemy:module[,module...]:attr`` (SQLModel too; ``attr`` is a MetaData, or
  an object with ``.metadata`` — a declarative Base or ``SQLModel``);
- ``alembic:path/to/alembic.ini`` (``upgrade head``, run programmatically);
- ``sql:path/to/schema.sql``;
- ``cmd:COMMAND LINE`` with ``schema_inputs`` (the app's own tool: drizzle-kit,
  ``manage.py migrate``, ``psql -f``; see ``dbenv.sources.command``);
- ``env:OTHER`` (another environment's structure, read from its catalogs and
  planned by ``dbenv.diff``; ``pg_dump --schema-only`` when it holds objects diff
  cannot create).

The fingerprint is a hash of what the source would build — the generated DDL, the
migration files, the SQL file, the command line and its inputs, the other
environment's planned structure — plus the configured extensions, the build's
steps and any ``schema_inputs``, so a template database is rebuilt exactly when the
schema changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from dbenv.backends import children
from dbenv.config.model import Environment
from dbenv.config.urls import libpq_url
from dbenv.errors import (
    ConfigError,
    DbenvError,
    OperationError,
    missing_dependency,
    optional_dependencies,
)
from dbenv.sources.migrations import SCRIPT_FAULTS, alembic_config

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import MetaData

    from dbenv.config import Project

SourceKind = Literal["sqlalchemy", "alembic", "sql", "cmd", "env"]
FORMS = (
    "Use sqlalchemy:module:attr (e.g. sqlalchemy:app.models:Base.metadata), "
    "alembic:path/to/alembic.ini, sql:path/to/schema.sql, cmd:COMMAND (with schema_inputs) "
    "or env:OTHER_ENVIRONMENT."
)

FINGERPRINT_VERSION = "1"


@dataclass(frozen=True)
class SchemaSource:
    """A parsed ``schema_source`` of one environment."""

    kind: SourceKind
    spec: str
    environment: str
    modules: tuple[str, ...] = ()
    attr: str = ""
    path: Path | None = None
    other: str | None = None
    argv: tuple[str, ...] = ()  # cmd: the command line, split

    @property
    def runs_apart(self) -> bool:
        """Built by a process of its own (Alembic, a command), outside dbenv's transaction."""
        return self.kind in ("alembic", "cmd")


def _bad(env: str, spec: object, problem: str, hint: str = FORMS) -> ConfigError:
    return ConfigError(f"schema_source of environment '{env}' is {spec!r}: {problem}.", hint=hint)


def parse_source(spec: object, *, environment: str, root: Path) -> SchemaSource:
    """Parse a ``schema_source`` value; a malformed one is a ConfigError naming the key."""
    if not isinstance(spec, str) or not spec.strip():
        raise _bad(environment, spec, "expected a string")
    kind, sep, rest = spec.strip().partition(":")
    kind = "sqlalchemy" if kind == "sqlmodel" else kind
    if not sep or not rest.strip():
        raise _bad(
            environment, spec, f"nothing follows '{kind}:'" if sep else "it has no kind prefix"
        )
    if kind == "sqlalchemy":
        modules, sep, attr = rest.rpartition(":")
        names = tuple(m.strip() for m in modules.split(",") if m.strip())
        if not sep or not names or not attr or not all(_dotted(n) for n in (*names, attr)):
            raise _bad(environment, spec, "expected sqlalchemy:module[,module...]:attr")
        return SchemaSource("sqlalchemy", spec, environment, modules=names, attr=attr)
    if kind in ("alembic", "sql"):
        path = (root / rest).resolve()
        if not path.is_file():
            raise _bad(
                environment,
                spec,
                f"{path} does not exist",
                "Fix the path (relative to the project root) or create the file.",
            )
        return SchemaSource("alembic" if kind == "alembic" else "sql", spec, environment, path=path)
    if kind == "cmd":
        from dbenv.sources.command import split_command

        try:
            argv = split_command(rest)
        except ValueError as exc:
            raise _bad(
                environment, spec, f"its command line does not parse ({exc})", "Fix the quoting."
            ) from None
        if not argv or not argv[0].strip():
            raise _bad(environment, spec, "the command is empty")
        return SchemaSource("cmd", spec, environment, argv=argv)
    if kind == "env":
        if rest == environment:
            raise _bad(environment, spec, "an environment cannot be its own source")
        return SchemaSource("env", spec, environment, other=rest)
    raise _bad(environment, spec, f"unknown kind '{kind}'")


def _dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def load_schema_source(project: Project, env: Environment) -> SchemaSource:
    """The environment's schema source; none configured is a ConfigError."""
    if not env.schema_source:
        raise ConfigError(
            f"environment '{env.name}' has no schema_source, so dbenv does not know what to build.",
            hint=f"Add schema_source under [environments.{env.name}]. {FORMS}",
        )
    source = parse_source(env.schema_source, environment=env.name, root=env.root)
    if env.isolation == "prefix" and source.kind != "sqlalchemy":
        raise _bad(
            env.name,
            source.spec,
            "prefix isolation needs a sqlalchemy source",
            "Point schema_source at your SQLAlchemy metadata; dbenv prefixes it.",
        )
    if env.isolation == "schema" and source.kind == "env":
        raise _bad(
            env.name,
            source.spec,
            "env: sources work in database isolation only",
            "Use a sqlalchemy:, alembic: or sql: source for schema isolation.",
        )
    if source.kind == "cmd" or env.schema_inputs:
        from dbenv.sources.command import check_inputs, check_url_variables

        check_inputs(env, source)  # said now, before anything changes
        if source.kind == "cmd":
            check_url_variables(env, project.process_env)
    return source


def _import_from_root(name: str, root: Path) -> ModuleType:
    """Import ``name`` as the project at ``root`` has it.

    A same-named module that another project (or an earlier test) left in
    ``sys.modules`` would otherwise stand in for this project's own, and its
    tables would be built instead.
    """
    top = name.partition(".")[0]
    root = root.resolve()
    if str(root) in sys.path:
        sys.path.remove(str(root))
    sys.path.insert(0, str(root))
    cached = sys.modules.get(top)
    ours = (root / top).is_dir() or (root / f"{top}.py").is_file()
    if ours and cached is not None and not _lives_under(cached, root):
        for key in [k for k in sys.modules if k == top or k.startswith(top + ".")]:
            del sys.modules[key]
        importlib.invalidate_caches()
    return importlib.import_module(name)


def _lives_under(module: ModuleType, root: Path) -> bool:
    origin = getattr(module, "__file__", None)
    return origin is not None and Path(origin).resolve().is_relative_to(root)


@optional_dependencies()
def load_metadata(source: SchemaSource, root: Path) -> MetaData:
    """Import the source's modules (project root on sys.path) and return its MetaData."""
    from sqlalchemy import MetaData

    loaded = []
    for name in source.modules:
        try:
            loaded.append(_import_from_root(name, root))
        except Exception as exc:  # an import error in user code: say which module
            if isinstance(exc, ModuleNotFoundError) and (missing := missing_dependency(exc)):
                raise missing from None
            raise _bad(
                source.environment,
                source.spec,
                f"importing {name} failed ({type(exc).__name__}: {exc})",
                "Fix the module or the module path (relative to the project root).",
            ) from None
    for module in loaded:
        found: Any = module
        for part in source.attr.split("."):
            found = getattr(found, part, None)
        if isinstance(found, MetaData):
            return found
        if isinstance(getattr(found, "metadata", None), MetaData):
            return found.metadata  # type: ignore[no-any-return]
    raise _bad(
        source.environment,
        source.spec,
        f"no MetaData at {source.attr} in {', '.join(source.modules)}",
        "Name a MetaData, a declarative Base or SQLModel (e.g. Base.metadata).",
    )


def physical_metadata(source: SchemaSource, env: Environment) -> MetaData:
    """The metadata as built for ``env``: prefixed in prefix isolation."""
    from dbenv.integrations.sqlalchemy import prefixed_metadata

    metadata = load_metadata(source, env.root)
    if env.isolation == "prefix" and env.prefix:
        return prefixed_metadata(metadata, env.prefix)
    return metadata


def expected_tables(source: SchemaSource, env: Environment) -> tuple[str, ...] | None:
    """Table names the source must produce, when knowable without building it."""
    if source.kind != "sqlalchemy":
        return None
    return tuple(sorted(t.name for t in physical_metadata(source, env).tables.values()))


def fingerprint(project: Project, env: Environment, source: SchemaSource | None = None) -> str:
    """A hash of what the source builds for ``env``, plus the configured extensions."""
    return render(project, env, source or load_schema_source(project, env))[0]


@optional_dependencies()
def render(project: Project, env: Environment, source: SchemaSource) -> tuple[str, str | None]:
    """(fingerprint, the SQL script that builds it); Alembic has no script (it migrates)."""
    digest = hashlib.sha256(f"v{FINGERPRINT_VERSION}|{source.kind}|".encode())
    digest.update(("ext:" + ",".join(sorted(env.extensions)) + "|").encode())
    if env.build_before_sql or env.build_after:  # the build's steps (none: as before)
        for step in (*env.build_before_sql, "|after|", *env.build_after):
            digest.update(step.encode() + b"\0")
    if env.schema_inputs:  # none: as before
        from dbenv.sources.command import hash_inputs

        digest.update(b"inputs|")
        hash_inputs(digest, env.root, env.schema_inputs, environment=env.name)
    script: str | None = None
    if source.kind == "sqlalchemy":
        from dbenv.integrations.sqlalchemy import ddl_statements

        script = ";\n".join(ddl_statements(physical_metadata(source, env)))
    elif source.kind == "sql":
        assert source.path is not None
        script = source.path.read_text(encoding="utf-8")
    elif source.kind == "alembic":
        for path in _alembic_files(source):
            digest.update(str(path.name).encode() + b"\0" + path.read_bytes())
    elif source.kind == "cmd":
        digest.update(b"\0".join(a.encode() for a in source.argv) + b"|")
    else:
        script, hashed = _structure_of_other(project, env, source)
        digest.update(hashed.encode())
        return digest.hexdigest(), script
    if script is not None:
        digest.update(script.encode())
    return digest.hexdigest(), script


def _other_environment(project: Project, source: SchemaSource) -> Environment:
    assert source.other is not None
    other: Environment = project.environment(source.other)
    if other.database_url is None:
        raise _bad(
            source.environment,
            source.spec,
            f"environment '{source.other}' has no database URL",
            f"Configure database_url for '{source.other}'.",
        )
    return other


def _structure_of_other(
    project: Project, env: Environment, source: SchemaSource
) -> tuple[str, str]:
    """(script, what the fingerprint hashes) building the other environment's structure.

    Read from its catalogs and planned by ``dbenv.diff`` (the same code that
    ``dbenv diff`` converges schemas with); only when it holds objects diff cannot
    create (operators, casts, text search, foreign tables, ...) is it dumped with
    ``pg_dump --schema-only`` instead.
    """
    from dbenv.backends import postgres
    from dbenv.diff.introspect import introspect
    from dbenv.integrations.sqlalchemy import application_name
    from dbenv.sources.creation import creation_script

    other = _other_environment(project, source)
    assert other.database_url is not None
    # named for OTHER: a reader of its database, not a client of env's
    name = application_name(other, "structure")
    with postgres.connect(other.database_url, application_name=name) as conn:
        model = introspect(conn)
    made = creation_script(model, present=env.extensions)
    if made is None:
        dumped = _dump_other(project, source)
        return dumped, "pg_dump|" + dumped
    return made.sql, "diff|" + made.digest


def _alembic_files(source: SchemaSource) -> list[Path]:
    from alembic.script import ScriptDirectory

    try:
        script = ScriptDirectory.from_config(alembic_config(source))
    except Exception as exc:
        raise _bad(
            source.environment,
            source.spec,
            f"alembic cannot read it ({exc})",
            "Check script_location in the ini file.",
        ) from None
    roots = {Path(script.dir), *(Path(p) for p in script._version_locations)}
    files = {p for r in roots for p in r.rglob("*.py") if "__pycache__" not in p.parts}
    return sorted(files, key=lambda p: str(p))


def _dump_other(project: Project, source: SchemaSource) -> str:
    """``pg_dump --schema-only`` of the other environment, psql meta-commands removed."""
    assert source.other is not None
    other = _other_environment(project, source)
    assert other.database_url is not None
    url, password = _split_password(libpq_url(other.database_url.reveal()))
    command = [
        "pg_dump",
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--exclude-schema=dbenv",
        "--dbname",
        url,
    ]
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    try:
        done = children.run(command, capture_output=True, text=True, env=env, timeout=300)
    except FileNotFoundError:
        raise OperationError(
            "pg_dump was not found, needed for an env: schema source.",
            hint="Install the PostgreSQL client tools.",
        ) from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise OperationError(
            f"pg_dump of environment '{source.other}' failed: {reason}",
            hint=f"Check that '{source.other}' is reachable (dbenv status).",
        )
    lines = [ln for ln in done.stdout.splitlines() if not ln.startswith(("\\", "--"))]
    return "\n".join(lines)


def with_database(url: str, database: str) -> str:
    """The same URL pointing at another database."""
    parts = urlsplit(libpq_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _with_query(url: str, key: str, value: str) -> str:
    from urllib.parse import quote

    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, f"{key}={quote(value, safe='')}") if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _split_password(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    from urllib.parse import unquote

    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].split(":", 1)[0]
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(
        parts.password
    )


@optional_dependencies()
def build(
    project: Project,
    env: Environment,
    source: SchemaSource,
    conn: psycopg.Connection[Any],
    *,
    url: str,
    script: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Build the source's schema through ``conn`` (a transaction the caller commits).

    ``script``: what ``render`` returned, to skip rendering twice. The script goes
    to the server in one round trip. Alembic and a command run in their own
    connections on ``url`` after ``conn`` commits, since they manage their own
    transactions.
    """
    from dbenv.sources.migrations import alembic_upgrade, run_before

    say = progress or (lambda _msg: None)
    for extension in env.extensions:
        conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{extension}"')
    run_before(conn, env)
    if not source.runs_apart:
        script = script if script is not None else render(project, env, source)[1]
        say(f"building the schema from {source.spec}")
        if script and script.strip():
            conn.execute(script)
        return
    if not conn.autocommit:
        conn.commit()  # the child connects on its own and must see the extensions
    if source.kind == "cmd":
        from dbenv.sources.command import run_command

        say(f"running {source.spec.strip().removeprefix('cmd:').strip()}")
        run_command(source, env, url, cwd=env.root)
        return
    say("alembic upgrade head")
    alembic_upgrade(source, env, url)


# ... except an object outside the environment's scope depending on one it rebuilds
# (production's view on a test_ table, seed 000), or a privilege the role lacks: the
# database's state, not the source's
_SERVER_STATES = frozenset({"2BP01", "42501"})


def build_failure(source: SchemaSource, exc: Exception, *, doing: str, hint: str) -> DbenvError:
    """The error for a failed build: the source's fault (exit 2, ``file:line`` for a
    ``sql:`` file) or the server's (exit 1, with ``hint``)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    state = str(getattr(exc, "sqlstate", None) or "")
    if state[:2] not in SCRIPT_FAULTS or state in _SERVER_STATES:
        return OperationError(f"{doing} failed: {first}", hint=hint)
    line = None
    diag = getattr(exc, "diag", None)
    position = getattr(diag, "statement_position", None)
    if source.kind == "sql" and source.path is not None and position and position.isdigit():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            content = source.path.read_text(encoding="utf-8")
            line = content.count("\n", 0, int(position) - 1) + 1
    return ConfigError(
        f"{doing} failed: {first}",
        hint="Fix the schema source; nothing in the environment was changed.",
        path=source.path if source.kind == "sql" else None,
        line=line,
    )
