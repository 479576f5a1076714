"""Plan what hangs off tables: constraints, indexes, views, triggers and policies.

These are dropped before the changes they depend on and created after them.
A dependant of something this plan breaks (a view over a retyped column, a
foreign key to a changed primary key, a trigger on a recreated function) is
dropped and created again even when its own definition did not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dbenv.diff.builder import LONG_LOCK, NO_HAZARD, Builder, Phase
from dbenv.diff.model import Constraint, Rule, TableChild, Trigger, View
from dbenv.diff.plan_adopted import drop_sql


def _gone(b: Builder, table: str) -> bool:
    """True when the target's relation is dropped or recreated (its children go with it)."""
    for key in (f"table:{table}", f"view:{table}"):
        in_target = key in b.target.tables or key in b.target.views
        in_source = key in b.source.tables or key in b.source.views
        if in_target and (key in b.recreated or not in_source):
            return True
    return False


def _plan_children(
    b: Builder,
    source: Mapping[str, TableChild],
    target: Mapping[str, TableChild],
    *,
    rebuild: set[str],
    drop: Callable[[TableChild], tuple[Phase, str]],
    create: Callable[[TableChild], tuple[Phase, str, str, bool]],
) -> None:
    for key, old in target.items():
        if _gone(b, old.table):
            if key in rebuild:  # it would block a type or function change made before its
                phase, sql = drop(old)  # table goes: drop it first
                b.add(phase, sql, action="drop", target=key)
            continue
        wanted = source.get(key)
        if wanted is None or wanted.definition != old.definition or key in rebuild:
            phase, sql = drop_sql(b, key, *drop(old))
            b.add(phase, sql, action="drop", target=key)
            b.recreated.add(key)
    for key, new in source.items():
        # An index name is the schema's: the target's may sit on a table that is dropped.
        old_gone = key in target and _gone(b, target[key].table)
        if key not in target or key in b.recreated or _gone(b, new.table) or old_gone:
            phase, sql, hazard, transactional = create(new)
            b.add(
                phase, sql, hazard=hazard, action="create", target=key, transactional=transactional
            )
            b.recreated.add(key)


def _names_converted_type(b: Builder, child: TableChild) -> bool:
    """Whether ``child``'s expression casts to a type this plan recreates (it would break)."""
    return any(f"::{name}" in child.definition for name in b.converted_types)


def _calls_broken(b: Builder, key: str) -> bool:
    """Whether the target's ``key`` calls a function this plan drops (it must go first)."""
    return bool(b.target.function_users.get(key, frozenset()) & b.broken)


def plan_constraints(b: Builder) -> None:
    source, target = b.source.constraints, b.target.constraints
    keyed: set[str | None] = set()
    for key, old in target.items():
        if old.contype in "pux" and (key not in source or source[key].definition != old.definition):
            keyed.add(old.table)
    for key, idx in b.target.indexes.items():
        if "UNIQUE" in idx.definition and (
            key not in b.source.indexes or b.source.indexes[key].definition != idx.definition
        ):
            keyed.add(idx.table)
    rebuild = {
        key for key, con in target.items() if _names_converted_type(b, con) or _calls_broken(b, key)
    }
    for key, con in target.items():
        if con.contype != "f":
            continue
        cols = {f"column:{con.table}.{c}" for c in con.columns}
        cols |= {f"column:{con.ref_table}.{c}" for c in con.ref_columns}
        if _gone(b, con.table):
            # Drop foreign keys of dropped (or recreated) tables first, so tables drop in any
            # order: one to a partitioned table blocks the drop of each partition.
            b.add(Phase.DROP_FOREIGN_KEYS, _drop_constraint(con)[1], action="drop", target=key)
        elif con.ref_table in keyed or cols & b.broken or _gone(b, con.ref_table or ""):
            rebuild.add(key)

    def create(con: TableChild) -> tuple[Phase, str, str, bool]:
        assert isinstance(con, Constraint)
        phase = Phase.FOREIGN_KEYS if con.contype == "f" else Phase.CONSTRAINTS
        hazard = NO_HAZARD if "NOT VALID" in con.definition else LONG_LOCK
        sql = f"ALTER TABLE {con.table} ADD CONSTRAINT {con.name} {con.definition}"
        return phase, sql, hazard, True

    _plan_children(b, source, target, rebuild=rebuild, drop=_drop_constraint, create=create)


def _drop_constraint(con: TableChild) -> tuple[Phase, str]:
    assert isinstance(con, Constraint)
    phase = Phase.DROP_FOREIGN_KEYS if con.contype == "f" else Phase.DROP_CONSTRAINTS
    return phase, f"ALTER TABLE {con.table} DROP CONSTRAINT {con.name}"


def plan_indexes(b: Builder) -> None:
    def drop(idx: TableChild) -> tuple[Phase, str]:
        return Phase.DROP_INDEXES, f"DROP INDEX {idx.schema}.{idx.name}"

    def create(idx: TableChild) -> tuple[Phase, str, str, bool]:
        on_view = f"view:{idx.table}" in b.source.views
        phase = Phase.VIEW_INDEXES if on_view else Phase.INDEXES
        existing = f"table:{idx.table}" in b.target.tables and not _gone(b, idx.table)
        partitioned = b.source.tables.get(f"table:{idx.table}")
        if b.concurrently and existing and not (partitioned and partitioned.partitioned_by):
            sql = idx.definition.replace(" INDEX ", " INDEX CONCURRENTLY ", 1)
            return phase, sql, NO_HAZARD, False
        return phase, idx.definition, LONG_LOCK if existing else NO_HAZARD, True

    rebuild = {
        key
        for key, idx in b.target.indexes.items()
        if _names_converted_type(b, idx) or _calls_broken(b, key)
    }
    _plan_children(b, b.source.indexes, b.target.indexes, rebuild=rebuild, drop=drop, create=create)
    for key, new in b.source.indexes.items():
        old = None if key in b.recreated else b.target.indexes.get(key)
        before = dict(old.statistics) if old is not None else {}
        after = dict(new.statistics)
        for number in sorted(after.keys() | before.keys()):
            if after.get(number, -1) != before.get(number, -1):
                sql = (
                    f"ALTER INDEX {new.schema}.{new.name} ALTER COLUMN {number} "
                    f"SET STATISTICS {after.get(number, -1)}"
                )
                b.add(Phase.VIEW_INDEXES, sql, target=key)


def _view_shape(view: View) -> tuple[object, ...]:
    return (view.definition, view.materialized, view.options, view.columns)


def _ordered(views: Mapping[str, View], keys: set[str]) -> list[str]:
    """``keys`` with every view after the views it depends on."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        for dep in sorted(views[key].depends_on):
            if dep in keys:
                visit(dep)
        done.append(key)

    for key in sorted(keys):
        visit(key)
    return done


def view_sql(view: View) -> str:
    options = f" WITH ({', '.join(view.options)})" if view.options else ""
    body = view.definition.rstrip().rstrip(";")
    if view.materialized:
        return f"CREATE MATERIALIZED VIEW {view.qualified}{options} AS\n{body}\nWITH DATA"
    return f"CREATE VIEW {view.qualified}{options} AS\n{body}"


def plan_views(b: Builder) -> None:
    source, target = b.source.views, b.target.views
    rebuild = {
        k for k, v in target.items() if k not in source or _view_shape(source[k]) != _view_shape(v)
    }
    grown = True
    while grown:
        grown = False
        for key, view in target.items():
            if key not in rebuild and view.depends_on & (b.broken | rebuild):
                rebuild.add(key)
                grown = True
    for key in reversed(_ordered(target, rebuild)):
        view = target[key]
        b.add(Phase.DROP_VIEWS, f"DROP {view.sql_target}", action="drop", target=key)
    b.broken.update(rebuild)
    creates = {k for k in source if k not in target or k in rebuild}
    for key in _ordered(source, creates):
        view = source[key]
        hazard = LONG_LOCK if view.materialized else NO_HAZARD
        b.add(Phase.VIEWS, view_sql(view), hazard=hazard, action="create", target=key)
        if key in target:
            b.recreated.add(key)
    for key, view in source.items():
        _plan_view_columns(b, view, None if key in creates else target[key])


def _plan_view_columns(b: Builder, view: View, old: View | None) -> None:
    """A view's column defaults and a materialized view's statistics targets."""
    before = dict(old.column_statistics) if old is not None else {}
    after = dict(view.column_statistics)
    for column in sorted(after.keys() | before.keys()):
        if after.get(column, -1) != before.get(column, -1):
            sql = (
                f"ALTER MATERIALIZED VIEW {view.qualified} ALTER COLUMN {column} "
                f"SET STATISTICS {after.get(column, -1)}"
            )
            b.add(Phase.VIEW_INDEXES, sql, target=view.key)
    had = dict(old.column_defaults) if old is not None else {}
    wanted = dict(view.column_defaults)
    for column in sorted(wanted.keys() | had.keys()):
        if wanted.get(column) != had.get(column):
            change = f"SET DEFAULT {wanted[column]}" if column in wanted else "DROP DEFAULT"
            sql = f"ALTER VIEW {view.qualified} ALTER COLUMN {column} {change}"
            b.add(Phase.VIEW_INDEXES, sql, target=view.key)


def plan_triggers(b: Builder) -> None:
    rebuild = {
        key
        for key, trg in b.target.triggers.items()
        if (trg.function and trg.function in b.broken)
        or (_mentions_columns(trg.definition) and _has_broken_column(b, trg.table))
        or _calls_broken(b, key)
    }

    def drop(trg: TableChild) -> tuple[Phase, str]:
        return Phase.DROP_TRIGGERS, f"DROP TRIGGER {trg.name} ON {trg.table}"

    def create(trg: TableChild) -> tuple[Phase, str, str, bool]:
        return Phase.TRIGGERS, trg.definition, NO_HAZARD, True

    _plan_children(
        b, b.source.triggers, b.target.triggers, rebuild=rebuild, drop=drop, create=create
    )
    _plan_enabled(b, b.source.triggers, b.target.triggers, "TRIGGER")


_ENABLE = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


def _plan_enabled(
    b: Builder,
    source: Mapping[str, Trigger | Rule],
    target: Mapping[str, Trigger | Rule],
    word: str,
) -> None:
    """ALTER TABLE ... DISABLE/ENABLE [REPLICA|ALWAYS] TRIGGER/RULE; a new one starts enabled."""
    for key, new in source.items():
        old = None if key in b.recreated else target.get(key)
        if new.enabled != (old.enabled if old is not None else "O"):
            sql = f"ALTER TABLE {new.table} {_ENABLE.get(new.enabled, 'ENABLE')} {word} {new.name}"
            b.add(Phase.ROW_SECURITY, sql, target=key)


def plan_rules(b: Builder) -> None:
    """Rules (other than a view's own) are dropped and created again when they change."""
    rebuild = {key for key, rule in b.target.rules.items() if _has_broken_column(b, rule.table)}
    for key, rule in b.target.rules.items():
        if _gone(b, rule.table) and key not in b.source.rules:
            # First: a rule may name another table that is dropped before its own.
            sql = f"DROP RULE {rule.name} ON {rule.table}"
            b.add(Phase.DROP_TRIGGERS, sql, action="drop", target=key)

    def drop(rule: TableChild) -> tuple[Phase, str]:
        return Phase.DROP_TRIGGERS, f"DROP RULE {rule.name} ON {rule.table}"

    def create(rule: TableChild) -> tuple[Phase, str, str, bool]:
        return Phase.TRIGGERS, rule.definition, NO_HAZARD, True

    _plan_children(b, b.source.rules, b.target.rules, rebuild=rebuild, drop=drop, create=create)
    _plan_enabled(b, b.source.rules, b.target.rules, "RULE")


def _mentions_columns(trigger_sql: str) -> bool:
    """A WHEN clause or an UPDATE OF list ties a trigger to its columns' types."""
    return " WHEN (" in trigger_sql or " UPDATE OF " in trigger_sql


def _has_broken_column(b: Builder, table: str) -> bool:
    prefix = f"column:{table}."
    return any(k.startswith(prefix) for k in b.broken)


def plan_policies(b: Builder) -> None:
    rebuild = {
        key
        for key, pol in b.target.policies.items()
        if _has_broken_column(b, pol.table) or pol.depends_on & b.broken or _calls_broken(b, key)
    }

    def drop(pol: TableChild) -> tuple[Phase, str]:
        return Phase.DROP_POLICIES, f"DROP POLICY {pol.name} ON {pol.table}"

    for key, pol in b.target.policies.items():
        if _gone(b, pol.table) and key not in b.source.policies:
            # First: its expressions may read another table that is dropped before its own.
            b.add(*drop(pol), action="drop", target=key)
            rebuild.discard(key)

    def create(pol: TableChild) -> tuple[Phase, str, str, bool]:
        return Phase.POLICIES, pol.definition, NO_HAZARD, True

    _plan_children(
        b, b.source.policies, b.target.policies, rebuild=rebuild, drop=drop, create=create
    )


def plan_statistics(b: Builder) -> None:
    def drop(obj: TableChild) -> tuple[Phase, str]:
        return Phase.DROP_INDEXES, f"DROP {obj.sql_target}"

    def create(obj: TableChild) -> tuple[Phase, str, str, bool]:
        return Phase.VIEW_INDEXES, obj.definition, NO_HAZARD, True

    rebuild = {k for k, s in b.target.statistics.items() if _has_broken_column(b, s.table)}
    _plan_children(
        b, b.source.statistics, b.target.statistics, rebuild=rebuild, drop=drop, create=create
    )
