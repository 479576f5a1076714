"""Plan functions, and what depends on a function the plan breaks.

A function whose arguments, result or kind change is dropped and created again;
one whose signature or body names a table or view (and an aggregate) is created
late, after them. Column defaults, domain checks and SQL-standard bodies that
depend on a function the plan drops go first and come back afterwards. Split
from ``dbenv.diff.plan_objects``.
"""

from __future__ import annotations

from dbenv.diff.builder import LONG_LOCK, Builder, Phase
from dbenv.diff.model import Domain, Function


def _late(fn: Function) -> bool:
    """A function whose signature or body names a table or view is created after them;
    an aggregate after the functions it is made of."""
    return fn.is_aggregate or any(d.startswith(("table:", "view:")) for d in fn.depends_on)


def _drop_phase(fn: Function) -> Phase:
    """Aggregates go before the functions they are made of (after the views using them)."""
    return Phase.DROP_INDEXES if fn.is_aggregate else Phase.DROP_REBUILT


def plan_functions(b: Builder) -> None:
    for key, new in b.source.functions.items():
        old = b.target.functions.get(key)
        phase = Phase.LATE_FUNCTIONS if _late(new) else Phase.FUNCTIONS
        if key in b.recreated:
            old = None  # dropped with a type it uses
        elif old is not None and old.definition == new.definition:
            continue
        if old is not None and (
            (old.arguments, old.result, old.is_procedure)
            != (new.arguments, new.result, new.is_procedure)
            or new.is_aggregate
            or old.is_aggregate
        ):
            sql = f"DROP {old.sql_target}"
            b.add(_drop_phase(old), sql, action="drop", target=key)
            b.broken.add(key)
            b.recreated.add(key)
            old = None
        b.add(phase, new.definition, action="create" if old is None else "alter", target=key)
    for key, old in b.target.functions.items():
        if key not in b.source.functions and key not in b.recreated:
            b.broken.add(key)
            phase = Phase.DROP_INDEXES if old.is_aggregate else Phase.DROP_OBJECTS
            b.add(phase, f"DROP {old.sql_target}", action="drop", target=key)


def rebuild_functions_over_broken(b: Builder) -> None:
    """SQL-standard bodies pin the columns they read: go before those change, come back after."""
    for key, fn in b.target.functions.items():
        if key in b.recreated or not fn.depends_on & b.broken:
            continue
        b.statements = [s for s in b.statements if s.target != key]  # replaced by these
        b.add(_drop_phase(fn), f"DROP {fn.sql_target}", action="drop", target=key)
        b.broken.add(key)
        b.recreated.add(key)
        new = b.source.functions.get(key)
        if new is not None:
            b.add(Phase.LATE_FUNCTIONS, new.definition, action="create", target=key)


def drop_defaults_over_broken_functions(b: Builder) -> None:
    """Column defaults calling a function this plan drops go first; the source's are set later."""
    for key, functions in b.target.function_users.items():
        if not key.startswith("column:") or not functions & b.broken:
            continue
        table, _, column = key.removeprefix("column:").rpartition(".")
        old = b.target.tables.get(f"table:{table}")
        col = old.column(column) if old is not None else None
        if old is None or col is None or col.default is None:
            continue
        sql = f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT"
        b.add(Phase.DROP_CONSTRAINTS, sql, target=key)
        b.fresh_defaults.add(key)


def rebuild_domain_checks_over_broken_functions(b: Builder) -> None:
    """A domain check or default calling a function this plan drops goes first and comes
    back after it."""
    for key, functions in b.target.function_users.items():
        if not key.startswith("domain:") or not functions & b.broken:
            continue
        domain_key, _, cname = key.rpartition(":")
        old = b.target.domains.get(domain_key)
        if old is None or domain_key in b.recreated:
            continue
        if not cname:
            _redo_domain_default(b, old, b.source.domains.get(domain_key))
            continue
        drop = f"ALTER DOMAIN {old.qualified} DROP CONSTRAINT {cname}"
        add = f"ALTER DOMAIN {old.qualified} ADD CONSTRAINT {cname} "
        b.statements = [s for s in b.statements if s.sql != drop and not s.sql.startswith(add)]
        b.add(Phase.DROP_CONSTRAINTS, drop, target=domain_key)
        new = b.source.domains.get(domain_key)
        for con in new.constraints if new is not None else ():
            if con.name == cname:
                b.add(Phase.LATE_DOMAINS, add + con.definition, hazard=LONG_LOCK, target=domain_key)


def _redo_domain_default(b: Builder, old: Domain, new: Domain | None) -> None:
    prefix = f"ALTER DOMAIN {old.qualified} "
    b.statements = [
        s
        for s in b.statements
        if not s.sql.startswith((prefix + "SET DEFAULT", prefix + "DROP DEFAULT"))
    ]
    b.add(Phase.DROP_CONSTRAINTS, prefix + "DROP DEFAULT", target=old.key)
    if new is not None and new.default is not None:
        b.add(Phase.LATE_DOMAINS, f"{prefix}SET DEFAULT {new.default}", target=old.key)
