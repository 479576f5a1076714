"""The frozen objects configuration resolves into: origins, secrets, environments.

Everything here is immutable and passed explicitly; nothing reads files or the
process environment. A ``Secret`` masks itself everywhere (``str``, ``repr``,
f-strings, logging) and gives its plain text only through ``reveal()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Tier = Literal["protected", "disposable"]
Isolation = Literal["database", "schema", "prefix"]
OriginKind = Literal["default", "project", "dotenv", "process", "argument", "reference", "local"]

MASK = "****"
# seconds a command a schema build runs (a cmd: source, alembic upgrade head, build.after)
# may take before it is killed: a migration waiting on a lock forever is stopped
DEFAULT_SCHEMA_TIMEOUT = 600.0


@dataclass(frozen=True)
class Origin:
    """Where a value came from: a layer, and the file and line or the variable."""

    kind: OriginKind
    source: str = ""
    line: int | None = None
    reference: str | None = None  # "env", "file" or "cmd" when a secret reference

    def __str__(self) -> str:
        if self.kind == "default":
            text = "built-in default"
        elif self.kind == "process":
            text = f"process environment ${self.source}"
        elif self.kind == "argument":
            text = f"argument {self.source}" if self.source else "argument"
        else:
            text = f"{self.source}:{self.line}" if self.line else self.source
        if self.reference:
            text += f" ({self.reference}: reference)"
        return text


_REVEAL_WATCHERS: list[Callable[[str], None]] = []


def watch_reveals(watcher: Callable[[str], None]) -> None:
    """Call ``watcher`` with every plain value a ``Secret`` resolves to (once per secret).

    The CLI uses it to scrub the passwords of every URL used in a run from all it
    prints, whoever revealed them (a driver's error may quote one).
    """
    if watcher not in _REVEAL_WATCHERS:
        _REVEAL_WATCHERS.append(watcher)


class Secret:
    """A string that never shows itself unless asked with ``reveal()``.

    ``masked`` is computed without resolving anything, so printing a secret never
    runs a ``cmd:`` reference or reads a secret file.
    """

    __slots__ = ("_cache", "_masked", "_plain", "_resolve")

    def __init__(self, resolve: Callable[[], str] | str, *, masked: str = MASK) -> None:
        self._plain = resolve if isinstance(resolve, str) else None  # known without resolving
        if isinstance(resolve, str):
            plain = resolve
            self._resolve: Callable[[], str] = lambda: plain
        else:
            self._resolve = resolve
        self._masked = masked
        self._cache: str | None = None

    @property
    def masked(self) -> str:
        return self._masked

    def reveal(self) -> str:
        if self._cache is None:
            self._cache = self._resolve()
            for watcher in _REVEAL_WATCHERS:
                watcher(self._cache)
        return self._cache

    def __str__(self) -> str:
        return self._masked

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self._masked, spec)

    def __eq__(self, other: object) -> bool:
        # Comparing never resolves a reference (that could run a `cmd:` or read a
        # file): two secrets are equal when they are one, or both are plain values.
        if isinstance(other, Secret):
            if self is other:
                return True
            if self._plain is None or other._plain is None:
                return False
            return self._plain == other._plain and self._masked == other._masked
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._masked)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled; pass reveal() explicitly")


class SecretURL(Secret):
    """A database or Redis URL whose password (and secret parts) are masked."""

    __slots__ = ()


def plain_text(value: object) -> str:
    """A value as plain text, revealing a ``Secret`` (only for use, never for output)."""
    return value.reveal() if isinstance(value, Secret) else str(value)


@dataclass(frozen=True, repr=False)
class Setting:
    """One resolved configuration value and where it came from (repr is masked)."""

    key: str
    value: object
    origin: Origin
    secret: bool = False
    # origins of the ${VAR}s interpolated into it, in order of appearance
    parts: tuple[tuple[str, Origin], ...] = ()
    # why the value is None when it could not be resolved (e.g. "${DB_PASS} is not set")
    note: str | None = None

    def __post_init__(self) -> None:
        # a value that came from a secret reference is secret whatever its key
        if self.origin.reference and not self.secret:
            object.__setattr__(self, "secret", True)

    def __repr__(self) -> str:
        return f"Setting({self.key!r}, {self.display()!r}, origin={str(self.origin)!r})"

    def display(self) -> str:
        """The value as it may be shown: masked when secret, URL passwords hidden."""
        from dbenv.config.masking import mask_value

        if isinstance(self.value, Secret):
            return self.value.masked
        if self.value is None:
            return ""
        if isinstance(self.value, tuple | list):
            return ", ".join(mask_value(self.key, str(v), secret=self.secret) for v in self.value)
        return mask_value(self.key, str(self.value), secret=self.secret)


@dataclass(frozen=True)
class Environment:
    """One resolved environment of a project."""

    name: str
    project: str
    root: Path
    tier: Tier = "protected"
    isolation: Isolation = "database"
    schema: str | None = None
    prefix: str | None = None
    database_url: SecretURL | None = None
    admin_url: SecretURL | None = None
    # the URL applications use (through PgBouncer or the like); dbenv itself always
    # uses database_url, the direct one (docs/guard.md, "Poolers")
    pooler_url: SecretURL | None = None
    redis_url: SecretURL | None = None
    redis_db: int | None = None
    redis_prefix: str | None = None
    server: str | None = None  # "local": URL points at the running `dbenv up` stack
    guard_pattern: str | None = None  # None: the default; "": explicitly no pattern
    shares_with: tuple[str, ...] = ()
    # prefix/schema environments allowed inside this (protected) environment's
    # database; written into its stamp (docs/guard.md, "Tenants")
    tenants: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    env_files: tuple[Path, ...] = ()
    components: Mapping[str, Path] = field(default_factory=dict)
    extensions: tuple[str, ...] = ()
    # the role may create databases: test runners that make their own (pytest-django's
    # test_<name>, one database per xdist worker) need CREATEDB
    createdb: bool = False
    schema_source: str | None = None
    # a cmd: source's inputs (globs relative to root): what its fingerprint hashes
    schema_inputs: tuple[str, ...] = ()
    schema_timeout: float = DEFAULT_SCHEMA_TIMEOUT
    reference: str | None = None  # the environment whose schema `status` reports drift from
    seed_files: tuple[Path, ...] = ()
    keep_tables: tuple[str, ...] = ()  # a data-only reset leaves these alone
    reference_rows: bool = True  # keep the rows the schema source inserts (data-only reset)
    # [environments.X.build]: SQL run in the database being built before the schema
    # source, and commands (seeders) run with its variables afterwards (migrations.py)
    build_before_sql: tuple[str, ...] = ()
    build_after: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ("APP_ENV", "ENVIRONMENT")
    # the values the app's selector variables take in this environment, when not its
    # name (`selector_values = { ENVIRONMENT = "testing" }`); the first one is exported
    selector_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # the scheme database_url was written with (`postgresql+asyncpg`): database_url
    # itself is the plain postgresql:// form dbenv connects with, exports keep this one
    url_scheme: str = "postgresql"
    # exported variable -> form (`[export]` and `[environments.X.export]`, see exports.py)
    export_forms: Mapping[str, str] = field(default_factory=dict)
    # every setting above, by key, with its origin (for `config show --origin`)
    settings: Mapping[str, Setting] = field(default_factory=dict)
    # the layered variables this environment sees (what `dbenv run` exports)
    variables: Mapping[str, Setting] = field(default_factory=dict)
    # which of env_files existed and were read; which the project file names
    # explicitly but do not exist (the implicit .env / .env.<name> may be absent)
    files_read: tuple[Path, ...] = ()
    files_missing: tuple[Path, ...] = ()

    @property
    def disposable(self) -> bool:
        return self.tier == "disposable"

    def exports(self) -> dict[str, str]:
        """What ``dbenv run`` gives a child process (``dbenv.config.exports.exported``).

        The variables, the selectors and the database and Redis targets, revealed:
        resolves secret references (runs ``cmd:`` ones), so call it only to start a
        process.
        """
        from dbenv.config.exports import exported

        return exported(self)

    def selector_value(self, selector: str) -> str:
        """What ``selector`` is set to for the app: its declared value, else the name."""
        values = self.selector_values.get(selector)
        return values[0] if values else self.name

    def table(self, name: str) -> str:
        """The physical name of a logical table (prefix isolation adds the prefix)."""
        if self.isolation == "prefix" and self.prefix:
            return f"{self.prefix}{name}"
        return name


@dataclass(frozen=True)
class LocalSettings:
    """The ``[local]`` table: the embedded stack that ``dbenv up`` starts."""

    data_dir: Path  # absolute; default <root>/.dbenv
    port: int = 0  # 0: pick a free port
    redis: bool = True
    redis_port: int = 0
    redis_persist: bool = False  # RDB snapshots + append-only file under data_dir/redis
    disposable: bool = True  # allows fsync=off & co. on a cluster dbenv created
    pg_bindir: Path | None = None
