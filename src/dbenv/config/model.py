"""The frozen objects configuration resolves into: origins, settings, environments.

Everything here is immutable and passed explicitly; nothing reads files or the
process environment. Secrets (``dbenv.config.secret``) are re-exported here,
where callers have always found them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dbenv.config.masking import mask_value
from dbenv.config.secret import MASK as MASK
from dbenv.config.secret import Secret as Secret
from dbenv.config.secret import SecretURL as SecretURL
from dbenv.config.secret import plain_text as plain_text
from dbenv.config.secret import watch_reveals as watch_reveals

Tier = Literal["protected", "disposable"]
PoolMode = Literal["session", "transaction", "statement"]
Isolation = Literal["database", "schema", "prefix"]
OriginKind = Literal["default", "project", "dotenv", "process", "argument", "reference", "local"]

# seconds a command a schema build runs (a cmd: source, alembic upgrade head, build.after)
# may take before it is killed: a migration waiting on a lock forever is stopped
DEFAULT_SCHEMA_TIMEOUT = 600.0
# seconds of replay lag over which a read from a replica is stale (`replica_max_lag`)
DEFAULT_REPLICA_MAX_LAG = 5.0


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
        if isinstance(self.value, Secret):
            return self.value.masked
        if self.value is None:
            return ""
        if isinstance(self.value, tuple | list):
            return ", ".join(mask_value(self.key, str(v), secret=self.secret) for v in self.value)
        return mask_value(self.key, str(self.value), secret=self.secret)


@dataclass(frozen=True)
class RedisRole:
    """One of an app's Redis roles (cache, queue, rate limiter): a node + db, or a cluster.

    An environment that does not declare a role the project's exports name gives
    that role its main Redis (``redis_url`` / ``redis_db``), as a single-Redis
    local stack serves every role.
    """

    name: str
    url: SecretURL | None = None  # a cluster's first seed URL when ``cluster``
    db: int | None = None
    prefix: str | None = None
    cluster: tuple[SecretURL, ...] = ()


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
    # how the pooler pools, when declared (`pool_mode`); `status` reads it from
    # PgBouncer's admin console when it answers
    pool_mode: PoolMode | None = None
    # read-only standbys' URLs, in file order (docs/topology.md); never a target
    replicas: tuple[SecretURL, ...] = ()
    # seconds of replay lag over which a read from a replica (`--replica`) is
    # called stale (`replica_max_lag`)
    replica_max_lag: float = DEFAULT_REPLICA_MAX_LAG
    redis_url: SecretURL | None = None
    redis_db: int | None = None
    redis_prefix: str | None = None
    # a Redis Cluster's seed URLs (`redis_cluster`), instead of redis_url
    redis_cluster: tuple[SecretURL, ...] = ()
    # the app's other Redis roles (`[environments.X.redis.cache]`), by role name
    redis_roles: Mapping[str, RedisRole] = field(default_factory=dict)
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
    replica: bool = False  # a streaming hot standby of the local primary
    replica_port: int = 0
    pooler: bool = False  # a PgBouncer in transaction mode in front of the primary
    pooler_port: int = 0
    disposable: bool = True  # allows fsync=off & co. on a cluster dbenv created
    pg_bindir: Path | None = None
