"""The immutable schema model that introspection builds and the planner compares.

Every object carries a ``key`` (kind plus qualified, quoted name) that is equal
for "the same object" on both sides, and the text needed to create it. Names are
already quoted (``quote_ident``) and schema-qualified, so the planner can paste
them into SQL as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

Grant = tuple[str, str, bool]
"""(grantee or PUBLIC, privilege, with grant option)."""


@dataclass(frozen=True, kw_only=True)
class DbObject:
    """Fields every object kind shares: where it lives, who owns it, its comment and ACL."""

    schema: str
    name: str
    owner: str | None = None
    comment: str | None = None
    acl: frozenset[Grant] = frozenset()

    kind = "object"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.qualified}"

    @property
    def sql_kind(self) -> str:
        """The word COMMENT ON / ALTER ... OWNER use for this object."""
        return self.kind.upper()

    @property
    def sql_target(self) -> str:
        """``KIND name`` as COMMENT ON and ALTER ... OWNER TO spell it."""
        return f"{self.sql_kind} {self.qualified}"


@dataclass(frozen=True, kw_only=True)
class Schema(DbObject):
    kind = "schema"


@dataclass(frozen=True, kw_only=True)
class Extension(DbObject):
    version: str
    reachable: frozenset[str] | None = field(default=None, compare=False)
    """Versions ALTER EXTENSION ... UPDATE reaches from ``version`` (None: not known)."""
    kind = "extension"

    @property
    def key(self) -> str:
        return f"extension:{self.name}"

    @property
    def sql_target(self) -> str:
        return f"EXTENSION {self.name}"


@dataclass(frozen=True, kw_only=True)
class Collation(DbObject):
    provider: str  # icu | libc | builtin
    locale: str | None  # icu (and builtin) locale
    lc_collate: str | None
    lc_ctype: str | None
    deterministic: bool
    kind = "collation"


@dataclass(frozen=True, kw_only=True)
class Enum(DbObject):
    labels: tuple[str, ...]
    kind = "type"


@dataclass(frozen=True, kw_only=True)
class CompositeType(DbObject):
    attributes: tuple[tuple[str, str], ...]  # (quoted name, type incl. collation)
    kind = "type"


@dataclass(frozen=True, kw_only=True)
class RangeType(DbObject):
    options: str  # "subtype = ..., subtype_diff = ..."
    multirange: str | None = None  # its multirange type (PostgreSQL 14+), qualified
    kind = "type"


@dataclass(frozen=True, kw_only=True)
class DomainConstraint:
    name: str
    definition: str
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class Domain(DbObject):
    base_type: str
    collation: str | None
    not_null: bool
    default: str | None
    constraints: tuple[DomainConstraint, ...]
    kind = "domain"


@dataclass(frozen=True, kw_only=True)
class Sequence(DbObject):
    data_type: str
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool
    owned_by: str | None  # qualified table.column
    unlogged: bool = False
    kind = "sequence"


@dataclass(frozen=True, kw_only=True)
class Identity:
    sequence: str  # qualified name of the identity's sequence
    always: bool
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool


@dataclass(frozen=True, kw_only=True)
class Column:
    name: str
    position: int
    data_type: str
    collation: str | None
    not_null: bool
    default: str | None
    identity: Identity | None
    generated: str | None  # the expression of a GENERATED ... STORED column
    comment: str | None
    local: bool = True  # False: inherited from a parent, not declared here
    acl: frozenset[Grant] = frozenset()  # column-level privileges
    statistics: int = -1  # SET STATISTICS target; -1 is the default
    storage: str | None = None  # SET STORAGE when not the type's own (p, e, m, x)
    compression: str | None = None  # SET COMPRESSION (p: pglz, l: lz4) when set
    options: tuple[str, ...] = ()  # attribute options such as n_distinct=100
    type_storage: str = field(default="x", compare=False)  # what SET STORAGE goes back to


@dataclass(frozen=True, kw_only=True)
class Table(DbObject):
    columns: tuple[Column, ...]
    partitioned_by: str | None  # pg_get_partkeydef
    partition_of: str | None  # parent of a partition
    partition_bound: str | None
    inherits: tuple[str, ...]
    unlogged: bool
    options: tuple[str, ...]
    rls_enabled: bool
    rls_forced: bool
    replica_identity: str = "DEFAULT"  # FULL | NOTHING | USING INDEX name
    clustered_on: str | None = None  # the index CLUSTER uses (ALTER TABLE ... CLUSTER ON)
    of_type: str | None = None  # a typed table's composite type (CREATE TABLE ... OF type)
    kind = "table"

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None


@dataclass(frozen=True, kw_only=True)
class View(DbObject):
    definition: str
    materialized: bool
    options: tuple[str, ...]
    columns: tuple[str, ...]
    column_comments: tuple[tuple[str, str], ...]
    column_statistics: tuple[tuple[str, int], ...] = ()  # a materialized view's SET STATISTICS
    column_defaults: tuple[tuple[str, str], ...] = ()  # a view's ALTER COLUMN ... SET DEFAULT
    depends_on: frozenset[str] = field(default=frozenset())  # keys, incl. column:s.t.c

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "materialized view" if self.materialized else "view"

    @property
    def key(self) -> str:
        return f"view:{self.qualified}"


@dataclass(frozen=True, kw_only=True)
class Function(DbObject):
    identity_args: str  # with names, for DROP / COMMENT / GRANT
    arguments: str  # with defaults, to tell CREATE OR REPLACE from drop + create
    result: str | None
    is_procedure: bool
    definition: str
    signature: str  # name(argument types): the stable key
    depends_on: frozenset[str] = field(default=frozenset())
    is_aggregate: bool = False  # definition is then a CREATE AGGREGATE (never OR REPLACE)

    @property
    def kind(self) -> str:  # type: ignore[override]
        if self.is_aggregate:
            return "aggregate"
        return "procedure" if self.is_procedure else "function"

    @property
    def key(self) -> str:
        return f"function:{self.schema}.{self.signature}"

    @property
    def sql_target(self) -> str:
        return f"{self.sql_kind} {self.qualified}({self.identity_args})"


@dataclass(frozen=True, kw_only=True)
class TableChild(DbObject):
    """An object that lives on a table: constraint, index, trigger, policy."""

    table: str  # qualified table
    definition: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.table}:{self.name}"

    @property
    def sql_target(self) -> str:
        return f"{self.sql_kind} {self.name} ON {self.table}"


@dataclass(frozen=True, kw_only=True)
class Constraint(TableChild):
    contype: str  # p u f c x
    columns: tuple[str, ...] = ()
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    kind = "constraint"


@dataclass(frozen=True, kw_only=True)
class Index(TableChild):
    columns: tuple[str, ...] = ()
    statistics: tuple[tuple[int, int], ...] = ()  # (column number, SET STATISTICS target)
    kind = "index"

    @property
    def key(self) -> str:
        return f"index:{self.schema}.{self.name}"

    @property
    def sql_target(self) -> str:
        return f"INDEX {self.schema}.{self.name}"


@dataclass(frozen=True, kw_only=True)
class Statistics(TableChild):
    kind = "statistics"

    @property
    def key(self) -> str:
        return f"statistics:{self.schema}.{self.name}"

    @property
    def sql_target(self) -> str:
        return f"STATISTICS {self.schema}.{self.name}"


@dataclass(frozen=True, kw_only=True)
class Trigger(TableChild):
    function: str | None = None  # key of the trigger function
    enabled: str = "O"  # O origin (default), D disabled, R replica, A always
    kind = "trigger"


@dataclass(frozen=True, kw_only=True)
class Rule(TableChild):
    enabled: str = "O"
    kind = "rule"


@dataclass(frozen=True, kw_only=True)
class Policy(TableChild):
    depends_on: frozenset[str] = frozenset()  # column:... keys its expressions read
    kind = "policy"


@dataclass(frozen=True, kw_only=True)
class DefaultPrivileges(DbObject):
    """One ALTER DEFAULT PRIVILEGES entry: ``name`` is the role, ``schema`` "" database-wide."""

    objtype: str  # r tables, S sequences, f functions, T types, n schemas
    baseline: frozenset[Grant] = field(default=frozenset(), compare=False)
    """The privileges the entry's absence stands for."""
    kind = "default privileges"

    @property
    def key(self) -> str:
        return f"default privileges:{self.name}:{self.schema}:{self.objtype}"


@dataclass(frozen=True, kw_only=True)
class EventTrigger(DbObject):
    """A database-wide event trigger (``schema`` is empty)."""

    definition: str
    function: str | None  # key of its function
    enabled: str = "O"
    kind = "event trigger"


@dataclass(frozen=True)
class SchemaModel:
    """One database's schema, as read from its catalogs; maps are keyed by ``key``."""

    schemas: dict[str, Schema]
    extensions: dict[str, Extension]
    types: dict[str, Enum | CompositeType | RangeType]
    domains: dict[str, Domain]
    sequences: dict[str, Sequence]
    tables: dict[str, Table]
    views: dict[str, View]
    functions: dict[str, Function]
    constraints: dict[str, Constraint]
    indexes: dict[str, Index]
    triggers: dict[str, Trigger]
    policies: dict[str, Policy]
    server_version: int = 0
    collations: dict[str, Collation] = field(default_factory=dict)
    statistics: dict[str, Statistics] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    default_privileges: dict[str, DefaultPrivileges] = field(default_factory=dict)
    event_triggers: dict[str, EventTrigger] = field(default_factory=dict)
    not_compared: frozenset[str] = frozenset()
    """Descriptions of objects of kinds diff does not compare (operators, casts, ...)."""
    not_compared_schemas: dict[str, str] = field(default_factory=dict)
    """Description -> schema name (unquoted) of those that live in a schema."""
    function_users: dict[str, frozenset[str]] = field(default_factory=dict)
    """Keys of column defaults, constraints, indexes and policies -> function keys they call."""
    casts: frozenset[tuple[str, str]] = frozenset()
    """(source type, target type) of the server's casts, for ALTER COLUMN ... TYPE."""
    inherited: dict[str, Constraint | Index] = field(default_factory=dict)
    """Constraints and indexes partitions and inheritance children have from their parents
    (not compared: the parent's are; a detach or NO INHERIT makes them the table's own)."""

    def object_count(self) -> int:
        return sum(
            len(group)
            for group in (
                self.schemas,
                self.extensions,
                self.types,
                self.domains,
                self.sequences,
                self.tables,
                self.views,
                self.functions,
                self.constraints,
                self.indexes,
                self.triggers,
                self.policies,
                self.collations,
                self.statistics,
                self.rules,
                self.default_privileges,
                self.event_triggers,
            )
        )


BOOKKEEPING_SCHEMA = "dbenv"  # dbenv's own tables (stamp, journal), never compared


def filter_model(
    model: SchemaModel, *, schemas: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> SchemaModel:
    """Only objects in ``schemas`` (all when empty) and not in ``exclude``.

    dbenv's own bookkeeping schema (stamp, journal) is never part of a diff.
    """
    exclude = (*exclude, BOOKKEEPING_SCHEMA)

    def keep(schema: str) -> bool:
        raw = schema.strip('"')
        if raw in exclude:
            return False
        return not schemas or raw in schemas or raw == "pg_catalog"

    def pick(group: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in group.items() if keep(v.schema or v.name)}

    def keep_described(description: str) -> bool:
        schema = model.not_compared_schemas.get(description)
        # database-wide (a cast, a language): part of a whole-database diff only
        return not schemas if schema is None else keep(schema)

    # replace(), not a new SchemaModel: a field added to the model later is carried
    # over (casts and inherited were lost here, so `dbenv diff` never used them)
    return replace(
        model,
        schemas=pick(model.schemas),
        extensions=pick(model.extensions),
        types=pick(model.types),
        domains=pick(model.domains),
        sequences=pick(model.sequences),
        tables=pick(model.tables),
        views=pick(model.views),
        functions=pick(model.functions),
        constraints=pick(model.constraints),
        indexes=pick(model.indexes),
        triggers=pick(model.triggers),
        policies=pick(model.policies),
        collations=pick(model.collations),
        statistics=pick(model.statistics),
        rules=pick(model.rules),
        default_privileges=pick(model.default_privileges),
        event_triggers=pick(model.event_triggers),
        inherited=pick(model.inherited),
        not_compared=frozenset(d for d in model.not_compared if keep_described(d)),
    )
