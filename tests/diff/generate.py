"""Seeded random schema pairs for the diff fuzz test: a small schema model, its SQL, and B
as A mutated (see ``generate_mutate``).

The model keeps what each dependant uses (columns and their kinds, enum values,
functions), so a mutation is followed by a repair that drops whatever no longer fits:
both sides are always valid SQL, and every object kind meets the others.

``pair(seed, prefix)`` is deterministic for a seed: the same pair on every machine.
With a ``prefix`` every object lives in schemas named after it, so pairs of several
seeds can share a database (extensions then stay out: they are database-wide).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# kind -> SQL type, defaults (``{fn}``/``{seq}`` filled later), a boolean test of ``{c}``.
KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "int": ("integer", ("0", "42", "{fn}(1)", "nextval('{seq}')"), "{c} > 0"),
    "bigint": ("bigint", ("7", "nextval('{seq}')"), "{c} <> 13"),
    "smallint": ("smallint", ("1",), "{c} < 1000"),
    "numeric": ("numeric(10,2)", ("0.5", "1"), "{c} >= 0"),
    "text": ("text", ("''", "'x'", "lower('AB')"), "length({c}) < 200"),
    "varchar": ("varchar(40)", ("'v'",), "{c} <> 'bad'"),
    "bool": ("boolean", ("true", "false"), "{c} is not null"),
    "ts": ("timestamp with time zone", ("now()", "'2020-01-01'"), "{c} > '2000-01-01'"),
    "date": ("date", ("current_date",), "{c} > '2000-01-01'"),
    "jsonb": ("jsonb", ("'{{}}'::jsonb", "'[]'"), "{c} ? 'k'"),
    "uuid": ("uuid", ("gen_random_uuid()",), "{c} is not null"),
    "intarr": ("integer[]", ("'{{}}'", "ARRAY[1, 2]"), "cardinality({c}) < 9"),
    "textarr": ("text[]", ("'{{}}'",), "{c} <> '{{}}'"),
    "citext": ("citext", ("'Hi'",), "{c} <> 'no'"),
    "hstore": ("hstore", ("''",), "{c} ? 'k'"),
}
# Retypes a real project makes, all castable on an empty table.
RETYPES = {
    "int": ("bigint", "numeric", "text", "smallint"),
    "bigint": ("int", "numeric", "text"),
    "smallint": ("int", "bigint"),
    "numeric": ("int", "text"),
    "text": ("varchar", "int", "citext", "jsonb"),
    "varchar": ("text",),
    "date": ("ts", "text"),
    "ts": ("date",),
    "citext": ("text",),
    "intarr": ("textarr",),
    "textarr": ("text",),
}
EXT_KINDS = {"citext": "citext", "hstore": "hstore"}
EXTENSIONS = ("citext", "hstore", "pgcrypto", "btree_gist")
ROLES = ("@ROLE1@", "@ROLE2@")


@dataclass
class Column:
    name: str
    kind: str  # a KINDS key, "enum:<key>", "enumarr:<key>" or "domain:<key>"
    not_null: bool = False
    default: str | None = None
    identity: str | None = None  # "always" | "by default"
    generated: str | None = None  # name of the int column doubled
    collation: str | None = None
    comment: str | None = None


@dataclass
class Dep:
    """What an expression-bearing dependant uses: {column: kind}, a function, an enum value."""

    cols: dict[str, str] = field(default_factory=dict)
    fn: str | None = None


@dataclass
class Check:
    name: str
    expr: str
    dep: Dep


@dataclass
class Unique:
    name: str
    cols: list[str]
    nulls_not_distinct: bool = False
    deferrable: bool = False


@dataclass
class ForeignKey:
    name: str
    cols: list[str]
    ref: str  # table key
    ref_cols: list[str]
    on_delete: str = "NO ACTION"
    deferrable: bool = False
    kinds: list[str] = field(default_factory=list)


@dataclass
class Index:
    name: str
    keys: list[str]  # rendered key expressions
    dep: Dep
    unique: bool = False
    where: str | None = None
    include: list[str] = field(default_factory=list)
    nulls_not_distinct: bool = False


@dataclass
class Policy:
    name: str
    command: str
    role: str
    expr: str
    dep: Dep


@dataclass
class Trigger:
    name: str
    fn: str
    timing: str
    events: str
    when: str | None = None
    dep: Dep = field(default_factory=Dep)


@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column]
    pk: list[str] = field(default_factory=list)
    uniques: list[Unique] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    exclusions: list[Unique] = field(default_factory=list)
    fks: list[ForeignKey] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    unlogged: bool = False
    partition_by: tuple[str, str] | None = None  # (RANGE|LIST, column)
    partitions: list[tuple[str, str]] = field(default_factory=list)  # (name, bound)
    inherits: str | None = None
    rls: tuple[bool, bool] = (False, False)
    policies: list[Policy] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    comment: str | None = None
    grants: list[tuple[str, str]] = field(default_factory=list)  # (privileges, role)

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"

    def col(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass
class View:
    schema: str
    name: str
    source: str  # table or view key
    cols: list[str]
    dep: Dep
    where: str | None = None
    materialized: bool = False
    comment: str | None = None
    grant: str | None = None
    index_col: str | None = None  # materialized views only

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Function:
    """``key(x <arg>) returns <ret>``: an SQL helper, or a trigger function (ret None)."""

    schema: str
    name: str
    body: int
    ret: str | None = "integer"
    arg: str = "x"
    volatility: str = "IMMUTABLE"
    procedure: bool = False
    comment: str | None = None
    grant: str | None = None

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Domain:
    schema: str
    name: str
    base: str  # a scalar kind
    not_null: bool = False
    default: str | None = None
    check: bool = True
    comment: str | None = None

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Sequence:
    schema: str
    name: str
    increment: int = 1
    start: int = 1
    cycle: bool = False
    bigint: bool = True
    owned_by: tuple[str, str] | None = None

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Spec:
    """One side of a pair."""

    prefix: str
    schemas: list[str]
    extensions: list[str] = field(default_factory=list)
    enums: dict[str, list[str]] = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    sequences: dict[str, Sequence] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    schema_grants: list[str] = field(default_factory=list)
    counter: int = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"


def kind_type(spec: Spec, kind: str) -> str:
    if kind.startswith("enum:"):
        return kind[5:]
    if kind.startswith("enumarr:"):
        return kind[8:] + "[]"
    if kind.startswith("domain:"):
        return kind[7:]
    return KINDS[kind][0]


def kind_test(spec: Spec, kind: str, col: str) -> str:
    """A boolean expression over the column that holds for the kind."""
    quoted = f'"{col}"'
    if kind.startswith("enum:") and spec.enums.get(kind[5:]):
        value = spec.enums[kind[5:]][0].replace("'", "''")
        return f"{quoted} <> '{value}'::{kind[5:]}"  # the value's rename or removal breaks it
    if kind.startswith(("enum:", "enumarr:")):
        return f"{quoted} is not null"
    if kind.startswith("domain:"):
        base = spec.domains[kind[7:]].base
        return KINDS[base][2].format(c=f"({quoted})::{KINDS[base][0]}")
    return KINDS[kind][2].format(c=quoted)


def kind_default(rng: random.Random, spec: Spec, kind: str) -> tuple[str | None, str | None]:
    """(default expression, function it calls) for a kind, or (None, None)."""
    if kind.startswith("enum:"):
        return "'" + rng.choice(spec.enums[kind[5:]]).replace("'", "''") + "'", None
    if kind.startswith(("enumarr:", "domain:")):
        return None, None
    choices = list(KINDS[kind][1])
    fns = [f for f in spec.functions.values() if f.ret == "integer" and not f.procedure]
    if not fns:
        choices = [c for c in choices if "{fn}" not in c]
    if not spec.sequences:
        choices = [c for c in choices if "{seq}" not in c]
    if not choices:
        return None, None
    text = rng.choice(choices)
    fn = rng.choice(fns).key if "{fn}" in text else None
    seq = rng.choice(list(spec.sequences)) if "{seq}" in text else ""
    return text.format(fn=fn, seq=seq), fn


def kinds_available(spec: Spec) -> list[str]:
    kinds = [k for k in KINDS if k not in EXT_KINDS or EXT_KINDS[k] in spec.extensions]
    kinds += [f"enum:{e}" for e in spec.enums] + [f"enumarr:{e}" for e in list(spec.enums)[:1]]
    kinds += [f"domain:{d}" for d in spec.domains]
    return kinds


def scalar(kind: str) -> bool:
    """Kinds a btree unique key, a foreign key and an equality exclusion work on."""
    return kind in ("int", "bigint", "smallint", "text", "varchar", "uuid", "date", "citext")
