"""Random objects for the generated schemas: each ``add_*`` adds one valid object to a Spec."""

from __future__ import annotations

import random

from generate import (
    ROLES,
    Check,
    Column,
    Dep,
    Domain,
    ForeignKey,
    Function,
    Index,
    Policy,
    Sequence,
    Spec,
    Table,
    Trigger,
    Unique,
    View,
    kind_default,
    kind_test,
    kinds_available,
    scalar,
)

ENUM_WORDS = ("new", "open", "done", "late", "o'k", "Big", "gone", "idle")


def add_enum(rng: random.Random, spec: Spec) -> None:
    name = f"{rng.choice(spec.schemas)}.{spec.fresh('mood')}"
    spec.enums[name] = rng.sample(ENUM_WORDS, rng.randint(2, 4))


def add_domain(rng: random.Random, spec: Spec) -> None:
    base = rng.choice(("int", "text", "numeric", "date"))
    dom = Domain(rng.choice(spec.schemas), spec.fresh("dom"), base)
    dom.not_null, dom.check = rng.random() < 0.2, rng.random() < 0.7
    if rng.random() < 0.3:
        dom.default = {"int": "5", "text": "'d'", "numeric": "1.5", "date": "current_date"}[base]
    spec.domains[dom.key] = dom


def add_sequence(rng: random.Random, spec: Spec) -> None:
    seq = Sequence(rng.choice(spec.schemas), spec.fresh("seq"), rng.choice((1, 1, 2, 10)))
    seq.start, seq.cycle, seq.bigint = rng.choice((1, 100)), rng.random() < 0.2, rng.random() < 0.7
    spec.sequences[seq.key] = seq


def add_function(rng: random.Random, spec: Spec, *, trigger: bool = False) -> Function:
    fn = Function(rng.choice(spec.schemas), spec.fresh("trg_fn" if trigger else "fn"), 1)
    fn.body = rng.randint(1, 3)
    if trigger:
        fn.ret, fn.volatility = None, "VOLATILE"
    elif rng.random() < 0.15:
        fn.procedure, fn.ret, fn.volatility = True, None, "VOLATILE"
    if rng.random() < 0.2:
        fn.comment = f"does {fn.name}"
    if rng.random() < 0.2:
        fn.grant = rng.choice(ROLES)
    spec.functions[fn.key] = fn
    return fn


def new_column(rng: random.Random, spec: Spec, table: Table) -> Column:
    kind = rng.choice(kinds_available(spec))
    col = Column(spec.fresh("c"), kind, not_null=rng.random() < 0.3)
    roll = rng.random()
    ints = [c for c in table.columns if c.kind == "int" and not c.generated]
    if roll < 0.08 and kind in ("int", "bigint"):
        col.identity, col.not_null = rng.choice(("always", "by default")), True
    elif roll < 0.14 and ints:
        col.kind, col.generated = "int", rng.choice(ints).name
    elif roll < 0.5:
        col.default = kind_default(rng, spec, kind)[0]
    if col.kind in ("text", "varchar") and rng.random() < 0.2:
        col.collation = rng.choice(('"C"', '"POSIX"'))
    if rng.random() < 0.1:
        col.comment = f"col {col.name}"
    return col


def add_table(rng: random.Random, spec: Spec) -> Table:
    table = Table(rng.choice(spec.schemas), spec.fresh("t"), [])
    table.columns.append(Column(spec.fresh("id"), rng.choice(("int", "bigint")), not_null=True))
    for _ in range(rng.randint(1, 5)):
        table.columns.append(new_column(rng, spec, table))
    shape = rng.random()
    if shape < 0.12:
        _partition(rng, spec, table)
    elif shape < 0.2 and spec.tables:
        parents = [t for t in spec.tables.values() if not t.partition_by and not t.inherits]
        table.inherits = rng.choice(parents).key if parents else None
    elif shape < 0.27:
        table.unlogged = True
    table.pk = [table.columns[0].name]
    if table.partition_by:
        table.pk = sorted({table.columns[0].name, table.partition_by[1]})
    table.comment = f"table {table.name}" if rng.random() < 0.3 else None
    if rng.random() < 0.3:
        table.grants.append((rng.choice(("SELECT", "SELECT, INSERT", "ALL")), rng.choice(ROLES)))
    spec.tables[table.key] = table
    for _ in range(rng.randint(0, 3)):
        rng.choice(CHILD_ADDERS)(rng, spec, table)
    return table


def _partition(rng: random.Random, spec: Spec, table: Table) -> None:
    if rng.random() < 0.5:
        key = Column(spec.fresh("k"), "int", not_null=True)
        table.partition_by = ("RANGE", key.name)
        table.partitions = [(spec.fresh("p"), "FROM (0) TO (100)")]
        table.partitions.append((spec.fresh("p"), "FROM (100) TO (200)"))
    else:
        key = Column(spec.fresh("k"), "text", not_null=True)
        table.partition_by = ("LIST", key.name)
        table.partitions = [(spec.fresh("p"), "IN ('a', 'b')"), (spec.fresh("p"), "DEFAULT")]
    table.columns.insert(1, key)


def _plain_cols(table: Table, test: object = None) -> list[Column]:
    return [c for c in table.columns if not c.generated and (test is None or test(c.kind))]  # type: ignore[operator]


def add_check(rng: random.Random, spec: Spec, table: Table) -> None:
    cols = _plain_cols(table)
    col = rng.choice(cols)
    expr, dep = kind_test(spec, col.kind, col.name), Dep({col.name: col.kind})
    fns = [f for f in spec.functions.values() if f.ret == "integer" and not f.procedure]
    if col.kind == "int" and fns and rng.random() < 0.4:
        dep.fn = rng.choice(fns).key
        expr = f'{dep.fn}("{col.name}") > -5'
    table.checks.append(Check(spec.fresh("ck"), expr, dep))


def add_unique(rng: random.Random, spec: Spec, table: Table) -> None:
    cols = _plain_cols(table, scalar)
    if not cols:
        return
    names = [c.name for c in rng.sample(cols, min(len(cols), rng.randint(1, 2)))]
    if table.partition_by and table.partition_by[1] not in names:
        names.append(table.partition_by[1])
    uniq = Unique(spec.fresh("uq"), names, rng.random() < 0.3, rng.random() < 0.3)
    if rng.random() < 0.2 and not table.partition_by:
        table.exclusions.append(uniq)
    else:
        table.uniques.append(uniq)


def add_index(rng: random.Random, spec: Spec, table: Table) -> None:
    cols = _plain_cols(table, scalar)
    if not cols:
        return
    col = rng.choice(cols)
    dep = Dep({col.name: col.kind})
    key = f'"{col.name}"' + rng.choice(("", " DESC", " NULLS FIRST"))
    if col.kind in ("text", "varchar") and rng.random() < 0.4:
        key = f'lower("{col.name}")'
    idx = Index(spec.fresh("ix"), [key], dep, unique=rng.random() < 0.3)
    if table.partition_by and idx.unique:
        idx.keys.append(f'"{table.partition_by[1]}"')
    other = rng.choice(table.columns)
    if rng.random() < 0.3 and not other.generated:
        idx.where, dep.cols[other.name] = kind_test(spec, other.kind, other.name), other.kind
    elif rng.random() < 0.3 and scalar(other.kind) and other is not col:
        idx.include, dep.cols[other.name] = [other.name], other.kind
    idx.nulls_not_distinct = idx.unique and rng.random() < 0.4
    table.indexes.append(idx)


def add_fk(rng: random.Random, spec: Spec, table: Table) -> None:
    targets = [t for t in spec.tables.values() if t.pk and not t.inherits]
    if not targets:
        return
    ref = rng.choice(targets)
    kinds = [ref.col(name).kind for name in ref.pk]  # type: ignore[union-attr]
    cols = [Column(spec.fresh("ref"), kind) for kind in kinds]
    table.columns.extend(cols)
    fk = ForeignKey(spec.fresh("fk"), [c.name for c in cols], ref.key, list(ref.pk))
    fk.on_delete = rng.choice(("NO ACTION", "CASCADE", "SET NULL", "RESTRICT"))
    fk.deferrable, fk.kinds = rng.random() < 0.3, kinds
    table.fks.append(fk)


def add_trigger(rng: random.Random, spec: Spec, table: Table) -> None:
    fns = [f for f in spec.functions.values() if f.ret is None and not f.procedure]
    fn = rng.choice(fns) if fns and rng.random() < 0.6 else add_function(rng, spec, trigger=True)
    trig = Trigger(spec.fresh("tg"), fn.key, rng.choice(("BEFORE", "AFTER")), "INSERT")
    trig.events = rng.choice(("INSERT", "INSERT OR UPDATE", "UPDATE", "DELETE"))
    col = rng.choice(_plain_cols(table))
    if trig.events == "UPDATE" and rng.random() < 0.4:
        trig.when, trig.dep = (
            f'NEW."{col.name}" IS DISTINCT FROM OLD."{col.name}"',
            Dep({col.name: col.kind}),
        )
    table.triggers.append(trig)


def add_policy(rng: random.Random, spec: Spec, table: Table) -> None:
    col = rng.choice(_plain_cols(table))
    table.rls = (True, rng.random() < 0.3)
    expr = kind_test(spec, col.kind, col.name) if rng.random() < 0.7 else "true"
    cmd = rng.choice(("ALL", "SELECT", "UPDATE", "DELETE"))
    dep = Dep({col.name: col.kind} if expr != "true" else {})
    table.policies.append(Policy(spec.fresh("pol"), cmd, rng.choice(ROLES), expr, dep))


def add_view(rng: random.Random, spec: Spec, *, materialized: bool = False) -> None:
    sources: list[Table | View] = [*spec.tables.values(), *spec.views.values()]
    if not sources:
        return
    src = rng.choice(sources)
    kinds = view_kinds(spec, src.key)
    names = [c for c in kinds if c in (src.cols if isinstance(src, View) else kinds)]
    if not names:  # a view whose source lost the columns it names (repaired later)
        return
    cols = rng.sample(names, rng.randint(1, len(names)))
    view = View(
        rng.choice(spec.schemas), spec.fresh("mv" if materialized else "v"), src.key, cols, Dep()
    )
    if rng.random() < 0.4:
        where = rng.choice(names)
        view.where, view.dep.cols[where] = kind_test(spec, kinds[where], where), kinds[where]
    view.materialized = materialized
    view.comment = f"view {view.name}" if rng.random() < 0.3 else None
    view.grant = rng.choice(ROLES) if rng.random() < 0.3 else None
    scalars = [c for c in cols if scalar(kinds[c])]
    if materialized and scalars and rng.random() < 0.6:
        view.index_col = rng.choice(scalars)
    spec.views[view.key] = view


def view_kinds(spec: Spec, key: str) -> dict[str, str]:
    """{column: kind} of a table or view."""
    if key in spec.tables:
        return {c.name: c.kind for c in spec.tables[key].columns}
    if key not in spec.views:
        return {}
    kinds = view_kinds(spec, spec.views[key].source)
    return {c: kinds[c] for c in spec.views[key].cols if c in kinds}


CHILD_ADDERS = (add_check, add_unique, add_index, add_fk, add_trigger, add_policy, add_index)


def build(rng: random.Random, spec: Spec) -> Spec:
    """A whole random schema."""
    for _ in range(rng.randint(0, 2)):
        add_enum(rng, spec)
    for _ in range(rng.randint(0, 2)):
        add_domain(rng, spec)
    for _ in range(rng.randint(0, 2)):
        add_sequence(rng, spec)
    for _ in range(rng.randint(0, 2)):
        add_function(rng, spec)
    for _ in range(rng.randint(1, 5)):
        add_table(rng, spec)
    for _ in range(rng.randint(0, 3)):
        add_view(rng, spec, materialized=rng.random() < 0.3)
    if rng.random() < 0.3:
        spec.schema_grants.append(rng.choice(ROLES))
    return spec
