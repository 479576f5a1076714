"""B as A mutated: random changes to a generated Spec, then a repair that drops whatever the
changes left dangling (so B is valid SQL on its own)."""

from __future__ import annotations

import copy
import random

import generate_build as gb
from generate import EXT_KINDS, EXTENSIONS, RETYPES, ROLES, Spec, Table, kind_default


def _table(rng: random.Random, spec: Spec) -> Table | None:
    return rng.choice(list(spec.tables.values())) if spec.tables else None


def _keys(table: Table) -> set[str]:
    """Columns a mutation leaves alone: the partition key, the identity-bearing first id."""
    return {table.partition_by[1]} if table.partition_by else set()


def m_add_table(rng: random.Random, spec: Spec) -> None:
    gb.add_table(rng, spec)


def m_drop_table(rng: random.Random, spec: Spec) -> None:
    if table := _table(rng, spec):
        del spec.tables[table.key]


def m_add_column(rng: random.Random, spec: Spec) -> None:
    if table := _table(rng, spec):
        col = gb.new_column(rng, spec, table)
        table.columns.insert(rng.randint(1, len(table.columns)), col)


def m_drop_column(rng: random.Random, spec: Spec) -> None:
    table = _table(rng, spec)
    cols = [c for c in table.columns[1:] if c.name not in _keys(table)] if table else []
    if table and cols:
        table.columns.remove(rng.choice(cols))


def m_retype(rng: random.Random, spec: Spec) -> None:
    table = _table(rng, spec)
    cols = (
        [c for c in table.columns if c.kind in RETYPES and c.name not in _keys(table)]
        if table
        else []
    )
    cols = [c for c in cols if not c.generated and not c.identity]
    if not cols:
        return
    col = rng.choice(cols)
    options = [
        k for k in RETYPES[col.kind] if k not in EXT_KINDS or EXT_KINDS[k] in spec.extensions
    ]
    options += [f"domain:{d}" for d, dom in spec.domains.items() if dom.base == col.kind]
    if col.kind == "text":
        options += [f"enum:{e}" for e in spec.enums]
    if options:
        col.kind = rng.choice(options)
        col.default = kind_default(rng, spec, col.kind)[0] if col.default else None
        col.collation = col.collation if col.kind in ("text", "varchar") else None


def m_column_attr(rng: random.Random, spec: Spec) -> None:
    table = _table(rng, spec)
    if not table:
        return
    col = rng.choice(table.columns)
    what = rng.choice(("not_null", "default", "identity", "collation", "comment"))
    if what == "not_null" and not col.identity and col.name not in table.pk:
        col.not_null = not col.not_null
    elif what == "default" and not col.identity and not col.generated:
        col.default = None if col.default else kind_default(rng, spec, col.kind)[0]
    elif what == "identity" and col.kind in ("int", "bigint") and not col.generated:
        col.identity = None if col.identity else rng.choice(("always", "by default"))
        col.default, col.not_null = None, True
    elif what == "collation" and col.kind in ("text", "varchar"):
        col.collation = None if col.collation else '"C"'
    elif what == "comment":
        col.comment = None if col.comment else "changed"


def m_table_attr(rng: random.Random, spec: Spec) -> None:
    table = _table(rng, spec)
    if not table:
        return
    what = rng.choice(("unlogged", "comment", "grant", "rls", "pk"))
    if what == "unlogged" and not table.partition_by and not table.inherits:
        table.unlogged = not table.unlogged
    elif what == "comment":
        table.comment = None if table.comment else "now commented"
    elif what == "grant":
        table.grants = [] if table.grants else [("SELECT, UPDATE", rng.choice(ROLES))]
    elif what == "rls":
        table.rls = (not table.rls[0], False) if rng.random() < 0.5 else (True, not table.rls[1])
    elif what == "pk":
        table.pk = (
            [] if table.pk and not table.partition_by else table.pk or [table.columns[0].name]
        )


def m_child(rng: random.Random, spec: Spec) -> None:
    """Add a constraint, index, trigger or policy, or drop or change one."""
    table = _table(rng, spec)
    if not table:
        return
    if rng.random() < 0.5:
        rng.choice(gb.CHILD_ADDERS)(rng, spec, table)
        return
    kinds = [
        k
        for k in ("checks", "uniques", "exclusions", "fks", "indexes", "triggers", "policies")
        if getattr(table, k)
    ]
    if not kinds:
        return
    items = getattr(table, rng.choice(kinds))
    item = rng.choice(items)
    if rng.random() < 0.6:
        items.remove(item)
        return
    _change_child(rng, item)


def _change_child(rng: random.Random, item: object) -> None:
    """Change one child in place (same name), the way a migration alters it."""
    if hasattr(item, "on_delete"):
        item.on_delete = rng.choice(("CASCADE", "SET NULL", "NO ACTION", "SET DEFAULT"))  # type: ignore[attr-defined]
        item.deferrable = not item.deferrable  # type: ignore[attr-defined]
    elif hasattr(item, "nulls_not_distinct") and hasattr(item, "deferrable"):
        item.deferrable = not item.deferrable  # type: ignore[attr-defined]
    elif hasattr(item, "keys"):
        item.unique = not item.unique  # type: ignore[attr-defined]
    elif hasattr(item, "timing"):
        item.timing = "AFTER" if item.timing == "BEFORE" else "BEFORE"  # type: ignore[attr-defined]
    elif hasattr(item, "role"):
        item.role = ROLES[0] if item.role == ROLES[1] else ROLES[1]  # type: ignore[attr-defined]
    elif hasattr(item, "expr"):
        item.expr = f"({item.expr}) OR false"  # type: ignore[attr-defined]


def m_enum(rng: random.Random, spec: Spec) -> None:
    if not spec.enums:
        gb.add_enum(rng, spec)
        return
    values = spec.enums[rng.choice(list(spec.enums))]
    what = rng.choice(("add", "add", "remove", "rename", "reorder"))
    if what == "add":
        fresh = [w for w in gb.ENUM_WORDS if w not in values] or ["extra"]
        values.insert(rng.randint(0, len(values)), rng.choice(fresh))
    elif what == "remove" and len(values) > 1:
        values.remove(rng.choice(values))
    elif what == "rename":
        i = rng.randrange(len(values))
        values[i] = values[i] + "_x"
    else:
        rng.shuffle(values)


def m_domain(rng: random.Random, spec: Spec) -> None:
    if not spec.domains or rng.random() < 0.2:
        gb.add_domain(rng, spec)
        return
    dom = spec.domains[rng.choice(list(spec.domains))]
    what = rng.choice(("not_null", "default", "check", "comment", "drop"))
    if what == "not_null":
        dom.not_null = not dom.not_null
    elif what == "default":
        dom.default = (
            None
            if dom.default
            else {"int": "3", "text": "'e'", "numeric": "2", "date": "'2021-01-01'"}[dom.base]
        )
    elif what == "check":
        dom.check = not dom.check
    elif what == "comment":
        dom.comment = None if dom.comment else "a domain"
    else:
        del spec.domains[dom.key]


def m_sequence(rng: random.Random, spec: Spec) -> None:
    if not spec.sequences or rng.random() < 0.2:
        gb.add_sequence(rng, spec)
        return
    seq = spec.sequences[rng.choice(list(spec.sequences))]
    what = rng.choice(("increment", "start", "cycle", "type", "owned", "drop"))
    if what == "increment":
        seq.increment = rng.choice((1, 3, -1))
    elif what == "start":
        seq.start = rng.choice((1, 5, 1000))
    elif what == "cycle":
        seq.cycle = not seq.cycle
    elif what == "type":
        seq.bigint = not seq.bigint
    elif what == "owned":
        tables = [t for t in spec.tables.values() if t.schema == seq.schema]
        seq.owned_by = (
            None if seq.owned_by or not tables else (tables[0].key, tables[0].columns[0].name)
        )
    else:
        del spec.sequences[seq.key]
    if seq.increment < 0:
        seq.start = -1  # a descending sequence starts at or below its -1 maximum


def m_function(rng: random.Random, spec: Spec) -> None:
    if not spec.functions or rng.random() < 0.2:
        gb.add_function(rng, spec, trigger=rng.random() < 0.3)
        return
    fn = spec.functions[rng.choice(list(spec.functions))]
    what = rng.choice(("body", "body", "ret", "arg", "volatility", "comment", "grant", "drop"))
    if what == "body":
        fn.body = fn.body % 3 + 1
    elif what == "ret" and fn.ret in ("integer", "bigint"):
        fn.ret = "bigint" if fn.ret == "integer" else "integer"
    elif what == "arg" and (fn.ret or fn.procedure):
        fn.arg = "y" if fn.arg == "x" else "x"
    elif what == "volatility" and fn.ret:
        fn.volatility = "STABLE" if fn.volatility == "IMMUTABLE" else "IMMUTABLE"
    elif what == "comment":
        fn.comment = None if fn.comment else "commented"
    elif what == "grant":
        fn.grant = None if fn.grant else ROLES[1]
    elif what == "drop":
        del spec.functions[fn.key]


def m_view(rng: random.Random, spec: Spec) -> None:
    if not spec.views or rng.random() < 0.3:
        gb.add_view(rng, spec, materialized=rng.random() < 0.3)
        return
    view = spec.views[rng.choice(list(spec.views))]
    what = rng.choice(("cols", "where", "materialized", "comment", "grant", "drop"))
    if what == "cols" and len(view.cols) > 1:
        view.cols.pop()
    elif what == "cols":
        kinds = gb.view_kinds(spec, view.source)
        extra = [c for c in kinds if c not in view.cols]
        view.cols += extra[:1]
    elif what == "where":
        view.where = None
    elif what == "materialized":
        view.materialized, view.index_col = not view.materialized, None
    elif what == "comment":
        view.comment = None if view.comment else "view note"
    elif what == "grant":
        view.grant = None if view.grant else ROLES[0]
    else:
        del spec.views[view.key]


def m_schema(rng: random.Random, spec: Spec) -> None:
    """Drop the second schema with everything in it, or toggle a grant or an extension."""
    what = rng.choice(("drop", "grant", "extension"))
    if what == "drop" and len(spec.schemas) > 1:
        gone = spec.schemas.pop()
        for bag in (
            spec.enums,
            spec.domains,
            spec.sequences,
            spec.functions,
            spec.tables,
            spec.views,
        ):
            for key in [k for k in bag if k.startswith(gone + ".")]:
                del bag[key]
    elif what == "grant":
        spec.schema_grants = [] if spec.schema_grants else [ROLES[0]]
    elif what == "extension" and spec.prefix == "":
        ext = rng.choice(EXTENSIONS)
        spec.extensions = (
            [e for e in spec.extensions if e != ext]
            if ext in spec.extensions
            else [*spec.extensions, ext]
        )


def m_retype_key(rng: random.Random, spec: Spec) -> None:
    """Widen a primary key column and the foreign key columns that reference it."""
    tables = [t for t in spec.tables.values() if len(t.pk) == 1 and t.col(t.pk[0])]
    tables = [t for t in tables if t.col(t.pk[0]).kind == "int"]  # type: ignore[union-attr]
    if not tables:
        return
    table = rng.choice(tables)
    table.col(table.pk[0]).kind = "bigint"  # type: ignore[union-attr]
    for other in spec.tables.values():
        for fk in other.fks:
            col = other.col(fk.cols[0])
            if fk.ref == table.key and col is not None:  # an earlier mutation may drop it
                fk.kinds = ["bigint"]
                col.kind = "bigint"


def m_partition(rng: random.Random, spec: Spec) -> None:
    """Add or drop a partition, or turn one into a table of its own."""
    tables = [t for t in spec.tables.values() if t.partitions]
    if not tables:
        return
    table = rng.choice(tables)
    name = table.partitions[-1][0]
    what = rng.choice(("drop", "detach", "add"))
    if what == "add" and table.partition_by and table.partition_by[0] == "RANGE":
        table.partitions.append(
            (spec.fresh("p"), f"FROM ({spec.counter + 1000}) TO ({spec.counter + 1001})")
        )
        return
    table.partitions.pop()
    if what == "detach":
        cols = [copy.deepcopy(c) for c in table.columns if not c.generated]
        spec.tables[f"{table.schema}.{name}"] = Table(table.schema, name, cols)


def m_inherit(rng: random.Random, spec: Spec) -> None:
    """A plain table gains or loses its parent."""
    table = _table(rng, spec)
    if table is None or table.partition_by:
        return
    if table.inherits:
        table.inherits = None
        return
    parents = [
        t for t in spec.tables.values() if not t.partition_by and not t.inherits and t is not table
    ]
    parents = [p for p in parents if not any(t.inherits == table.key for t in spec.tables.values())]
    if parents and not any(t.inherits == table.key for t in spec.tables.values()):
        table.inherits = rng.choice(parents).key


MUTATIONS = (
    m_add_table, m_drop_table, m_add_column, m_add_column, m_drop_column, m_retype, m_retype,
    m_column_attr, m_column_attr, m_table_attr, m_child, m_child, m_child, m_enum, m_domain,
    m_sequence, m_function, m_function, m_view, m_view, m_schema, m_retype_key, m_partition,
    m_inherit, m_enum,
)  # fmt: skip


def mutate(rng: random.Random, spec: Spec) -> Spec:
    out = copy.deepcopy(spec)
    for _ in range(rng.randint(1, 9)):
        rng.choice(MUTATIONS)(rng, out)
    return out


def pair(seed: int, prefix: str = "") -> tuple[str, str]:
    """(A, B) SQL for a seed: B is A mutated, or now and then a schema of its own."""
    from generate_render import render
    from generate_repair import repair

    rng = random.Random(seed)
    schemas = [prefix, f"{prefix}_b"] if prefix else ["public", "app"]
    a = Spec(prefix, schemas)
    if not prefix:
        a.extensions = [e for e in EXTENSIONS if rng.random() < 0.4]
    a = repair(rng, gb.build(rng, a))
    for _ in range(5):
        if rng.random() < 0.1:
            b = repair(rng, gb.build(rng, Spec(prefix, list(schemas), list(a.extensions))))
        else:
            b = repair(rng, mutate(rng, a))
        if render(b) != render(a):
            break
    return render(a), render(b)
