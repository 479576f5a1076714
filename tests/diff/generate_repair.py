"""Keep a mutated Spec valid: drop dependants of what a mutation removed or retyped."""

from __future__ import annotations

import random
import re

from generate import EXT_KINDS, Column, Dep, Spec, Table, kind_default, scalar
from generate_build import view_kinds


def _kind_ok(spec: Spec, kind: str) -> bool:
    if kind.startswith(("enum:", "enumarr:")):
        return kind.split(":", 1)[1] in spec.enums
    if kind.startswith("domain:"):
        return kind[7:] in spec.domains
    return kind not in EXT_KINDS or EXT_KINDS[kind] in spec.extensions


def _dep_ok(spec: Spec, table_kinds: dict[str, str], dep: Dep) -> bool:
    if dep.fn and not _int_function(spec, dep.fn):
        return False
    return all(table_kinds.get(col) == kind for col, kind in dep.cols.items())


_ENUM_VALUE = re.compile(r"'((?:[^']|'')*)'::([\w.]+)")


def _values_ok(spec: Spec, text: str | None) -> bool:
    """Every ``'value'::enum`` the expression names is still a value of that enum."""
    for value, enum in _ENUM_VALUE.findall(text or ""):
        if enum in spec.enums and value.replace("''", "'") not in spec.enums[enum]:
            return False
    return True


def _int_function(spec: Spec, key: str) -> bool:
    fn = spec.functions.get(key)
    return fn is not None and fn.ret == "integer" and not fn.procedure


def _default_ok(spec: Spec, col: Column) -> bool:
    text = col.default or ""
    if "nextval(" in text:
        return text.split("'")[1] in spec.sequences
    if "(1)" in text:  # a helper function's call
        return _int_function(spec, text.removesuffix("(1)").replace('"', ""))
    if col.kind.startswith("enum:"):
        return text.strip("'").replace("''", "'") in spec.enums[col.kind[5:]]
    return True


def _repair_columns(rng: random.Random, spec: Spec, table: Table) -> None:
    table.columns = [c for c in table.columns if _kind_ok(spec, c.kind)]
    kinds = {c.name: c.kind for c in table.columns}
    table.columns = [c for c in table.columns if not c.generated or kinds.get(c.generated) == "int"]
    for col in table.columns:
        if col.default and not _default_ok(spec, col):
            col.default = kind_default(rng, spec, col.kind)[0]
            col.default = col.default if col.default and _default_ok(spec, col) else None
        if col.identity and (col.kind not in ("int", "bigint") or col.generated):
            col.identity = None
        if col.identity or col.generated:
            col.default = None
        col.not_null = col.not_null or bool(col.identity) or col.name in table.pk


def _repair_keys(spec: Spec, table: Table) -> None:
    kinds = {c.name: c.kind for c in table.columns}

    def fits(cols: list[str]) -> bool:
        return all(scalar(kinds.get(c, "")) or kinds.get(c, "").startswith("enum:") for c in cols)

    if not fits(table.pk):
        table.pk = []
    # CREATE TABLE skips a unique constraint that repeats the primary key.
    table.uniques = [u for u in table.uniques if fits(u.cols) and u.cols != table.pk]
    table.exclusions = [u for u in table.exclusions if fits(u.cols) and not table.partition_by]
    for col in table.columns:
        col.not_null = col.not_null or col.name in table.pk


def _repair_children(spec: Spec, table: Table) -> None:
    kinds = {c.name: c.kind for c in table.columns}
    table.checks = [
        c for c in table.checks if _dep_ok(spec, kinds, c.dep) and _values_ok(spec, c.expr)
    ]
    table.indexes = [
        i for i in table.indexes if _dep_ok(spec, kinds, i.dep) and _values_ok(spec, i.where)
    ]
    for idx in table.indexes:  # a mutation may make one unique: it must hold the key
        if table.partition_by and f'"{table.partition_by[1]}"' not in idx.keys:
            idx.unique = False
    table.policies = [
        p for p in table.policies if _dep_ok(spec, kinds, p.dep) and _values_ok(spec, p.expr)
    ]
    table.triggers = [
        t for t in table.triggers if t.fn in spec.functions and _dep_ok(spec, kinds, t.dep)
    ]
    table.fks = [
        fk for fk in table.fks if _fk_ok(spec, table, fk.ref, fk.ref_cols, fk.kinds, fk.cols)
    ]
    if table.inherits and table.inherits not in spec.tables:
        table.inherits = None


def _fk_ok(
    spec: Spec, table: Table, ref: str, ref_cols: list[str], kinds: list[str], cols: list[str]
) -> bool:
    target = spec.tables.get(ref)
    if target is None or target.pk != ref_cols or (target.unlogged and not table.unlogged):
        return False
    ref_kinds = [target.col(c).kind for c in ref_cols]  # type: ignore[union-attr]
    own = [table.col(c) for c in cols]
    return ref_kinds == kinds and all(
        c is not None and c.kind == k for c, k in zip(own, kinds, strict=True)
    )


def _repair_views(spec: Spec) -> None:
    changed = True
    while changed:
        changed = False
        for key, view in list(spec.views.items()):
            kinds = view_kinds(spec, view.source) if view.source != key else {}
            if view.source not in spec.tables and view.source not in spec.views:
                kinds = {}
            fits = all(kinds.get(c) == k for c, k in view.dep.cols.items())
            fits = fits and _values_ok(spec, view.where)
            if not view.cols or not fits or not all(c in kinds for c in view.cols):
                del spec.views[key]
                changed = True
            elif view.index_col and not (
                # the column may have left the view's list (a mutation drops its last one)
                view.materialized and view.index_col in view.cols and scalar(kinds[view.index_col])
            ):
                view.index_col = None


def repair(rng: random.Random, spec: Spec) -> Spec:
    for _ in range(3):  # a dropped key can drop a foreign key, which drops nothing further
        for table in spec.tables.values():
            _repair_columns(rng, spec, table)
            _repair_keys(spec, table)
            _repair_children(spec, table)
    _repair_views(spec)
    for seq in spec.sequences.values():
        owner = spec.tables.get(seq.owned_by[0]) if seq.owned_by else None
        if seq.owned_by and (owner is None or owner.col(seq.owned_by[1]) is None):
            seq.owned_by = None
    return spec
