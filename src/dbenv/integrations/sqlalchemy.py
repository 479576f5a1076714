"""SQLAlchemy integration: prefixed metadata, environment-aware engines, DDL text.

- ``prefixed_metadata`` copies a ``MetaData`` with every table, foreign key,
  index, named constraint, sequence and enum type renamed for prefix isolation
  (seed 000's ``test_Agents``), so two environments can share one schema.
- ``create_engine`` / ``create_async_engine`` connect to an environment with
  ``application_name = dbenv:<project>:<env>[:<component>]`` (what ``dbenv
  status`` groups clients by) and, in schema mode, the environment's search_path.
- ``ddl_statements`` renders what ``create_all`` would execute, as text: the
  schema fingerprint and the template build both use it.

SQLAlchemy is imported inside the functions: importing dbenv never loads it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dbenv.config.model import Environment
from dbenv.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "application_name",
    "create_async_engine",
    "create_engine",
    "ddl_statements",
    "prefixed_metadata",
    "require_engines",
    "sqlalchemy_url",
]

_ASYNC_DRIVERS = ("asyncpg", "psycopg_async")


def application_name(env: Environment, component: str | None = None) -> str:
    """``dbenv:<project>:<env>[:<component>]``, cut to PostgreSQL's 63 bytes."""
    name = f"dbenv:{env.project}:{env.name}" + (f":{component}" if component else "")
    return name[:63]


def require_engines() -> None:
    """Refuse, in one sentence, a SQLAlchemy too old to connect through psycopg 3."""
    import sqlalchemy

    major = int(sqlalchemy.__version__.split(".")[0])
    if major < 2:
        raise ConfigError(
            f"SQLAlchemy {sqlalchemy.__version__} is installed, but dbenv connects SQLAlchemy "
            "through psycopg 3, which needs SQLAlchemy 2.0 or later.",
            hint="Upgrade SQLAlchemy to 2.x (pip install 'dbenv[sqlalchemy]'), or run the "
            "dbenv CLI from its own environment (pipx install 'dbenv[sqlalchemy]'); a "
            "sqlalchemy: schema source works with 1.4 too, as dbenv only renders its DDL.",
        )


def sqlalchemy_url(url: str, *, asynchronous: bool = False) -> str:
    """The URL with a driver SQLAlchemy has here: psycopg (sync), asyncpg kept if async."""
    require_engines()
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith(("postgres", "postgresql")):
        raise ConfigError(
            "the database URL is not a PostgreSQL URL.",
            hint="Use postgresql://user:password@host:port/database.",
        )
    driver = scheme.partition("+")[2]
    if asynchronous:
        driver = driver if driver in _ASYNC_DRIVERS else "psycopg_async"
        driver = "psycopg" if driver == "psycopg_async" else driver
    else:
        driver = "psycopg"
    return f"postgresql+{driver}://{rest}"


def _env_url(env: Environment) -> str:
    if env.database_url is None:
        raise ConfigError(
            f"environment '{env.name}' has no database URL.",
            hint=f"Set database_url under [environments.{env.name}] (or `dbenv up` for "
            'server = "local").',
        )
    return env.database_url.reveal()


def create_engine(env: Environment, *, component: str | None = None, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine on the environment (psycopg driver)."""
    import sqlalchemy

    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("application_name", application_name(env, component))
    if env.isolation == "schema" and env.schema:
        connect_args.setdefault("options", f"-c search_path={env.schema}")
    url = sqlalchemy_url(_env_url(env))
    return sqlalchemy.create_engine(url, connect_args=connect_args, **kwargs)


def create_async_engine(
    env: Environment, *, component: str | None = None, **kwargs: Any
) -> AsyncEngine:
    """The async twin: psycopg async, or asyncpg when the URL names it."""
    from sqlalchemy.ext.asyncio import create_async_engine as sa_create_async_engine

    url = _env_url(env)
    if "+" not in url.partition("://")[0]:  # the driver database_url was written with
        url = f"{env.url_scheme}://{url.partition('://')[2]}"
    url = sqlalchemy_url(url, asynchronous=True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    name = application_name(env, component)
    if url.startswith("postgresql+asyncpg"):
        settings = dict(connect_args.pop("server_settings", {}))
        settings.setdefault("application_name", name)
        if env.isolation == "schema" and env.schema:
            settings.setdefault("search_path", env.schema)
        connect_args["server_settings"] = settings
    else:
        connect_args.setdefault("application_name", name)
        if env.isolation == "schema" and env.schema:
            connect_args.setdefault("options", f"-c search_path={env.schema}")
    return sa_create_async_engine(url, connect_args=connect_args, **kwargs)


def prefixed_metadata(metadata: MetaData, prefix: str) -> MetaData:
    """A copy of ``metadata`` whose tables and schema objects all carry ``prefix``."""
    from sqlalchemy import MetaData, Sequence

    copy = MetaData(schema=metadata.schema, naming_convention=metadata.naming_convention)
    originals = {t.name for t in metadata.tables.values()}
    sequences: dict[str, Sequence] = {}
    for table in metadata.tables.values():
        new = table.to_metadata(copy, name=prefix + table.name)
        for fk in new.foreign_keys:
            _retarget(fk, _prefixed_colspec(fk._get_colspec(), prefix, originals))
        items: list[Any] = [*new.constraints, *new.indexes]
        for item in items:
            if isinstance(item.name, str) and not item.name.startswith(prefix):
                # a convention may already have rebuilt it from the new table name
                item.name = _renamed(item.name.replace(new.name, table.name), prefix)
        for column in new.columns:
            _prefix_column_objects(column, prefix, copy, sequences)
    return copy


def _retarget(fk: Any, spec: str) -> None:
    """Point a not-yet-resolved ForeignKey at another table (no public API for it)."""
    if hasattr(fk, "_given_tokens"):  # SQLAlchemy 2.1
        fk._table_column, fk._given_tokens = fk._parse_colspec_argument(spec)
    else:  # SQLAlchemy 2.0 (and 1.4): the parsed tokens are memoized from the old spec
        fk._colspec = spec
        fk.__dict__.pop("_column_tokens", None)


def _renamed(name: str, prefix: str) -> Any:
    from sqlalchemy.sql.elements import conv

    return conv(prefix + name)


def _prefixed_colspec(spec: str, prefix: str, originals: set[str]) -> str:
    parts = spec.split(".")
    if len(parts) >= 2 and parts[-2] in originals:
        parts[-2] = prefix + parts[-2]
    return ".".join(parts)


def _prefix_column_objects(
    column: Any,
    prefix: str,
    metadata: MetaData,
    sequences: dict[str, Any],
) -> None:
    from sqlalchemy import Enum, Sequence

    default = column.default
    if isinstance(default, Sequence) and not default.name.startswith(prefix):
        if default.name not in sequences:
            sequences[default.name] = Sequence(
                prefix + default.name,
                start=default.start,
                increment=default.increment,
                schema=default.schema,
                metadata=metadata,
            )
        column.default = sequences[default.name]
        column.default._set_parent(column)
    # to_metadata gave each column its own copy of the type, whose DDL events
    # read .name when they fire: renaming the copy is enough
    kind = column.type
    if (
        isinstance(kind, Enum)
        and kind.native_enum
        and kind.name
        and not kind.name.startswith(prefix)
    ):
        kind.name = prefix + kind.name


def ddl_statements(metadata: MetaData) -> list[str]:
    """The SQL ``metadata.create_all`` runs on PostgreSQL, in order, as text."""
    from sqlalchemy import create_mock_engine
    from sqlalchemy.exc import NoSuchModuleError

    statements: list[str] = []

    def collect(sql: Any, *args: Any, **kwargs: Any) -> None:
        text = str(sql.compile(dialect=engine.dialect)).strip()
        statements.append(re.sub(r"[ \t]+\n", "\n", text))

    try:
        engine = create_mock_engine("postgresql+psycopg://", collect)
    except NoSuchModuleError:  # SQLAlchemy 1.4 has no psycopg 3 dialect; the DDL is the same
        engine = create_mock_engine("postgresql://", collect)
    metadata.create_all(engine, checkfirst=False)
    return _canonical(statements)


_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX ")


def _canonical(statements: list[str]) -> list[str]:
    """``statements`` with each table's run of ``CREATE INDEX`` sorted.

    ``create_all`` walks ``table.indexes``, a set of objects hashed by identity: the
    order changes from one process to the next, and with it the template
    fingerprint (a reset then rebuilt the template for nothing, and xdist workers
    disagreed). Indexes of one table depend on nothing but the table, so sorting
    them is safe.
    """
    result: list[str] = []
    run: list[str] = []
    for statement in statements:
        if _INDEX.match(statement):
            run.append(statement)
            continue
        result += sorted(run)
        run = []
        result.append(statement)
    return result + sorted(run)
