"""Read what hangs off tables (constraints, indexes, triggers, policies) for introspection.

Split from ``introspect`` to keep modules small; it reuses the reader's OID maps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbenv.diff import queries as q
from dbenv.diff.model import Constraint, Index, Policy, Rule, Statistics, Trigger

if TYPE_CHECKING:
    from dbenv.diff.introspect import Reader


Children = tuple[
    dict[str, Constraint],
    dict[str, Index],
    dict[str, Trigger],
    dict[str, Policy],
    dict[str, Constraint | Index],
]


def table_children(reader: Reader) -> Children:
    """Constraints, indexes, triggers, policies, and the constraints and indexes partitions
    and children inherit (kept apart: only a detach or NO INHERIT makes them their own)."""
    names = reader.rel_names
    inherited: dict[str, Constraint | Index] = {}
    constraints = _constraints(reader, inherited)
    indexes = _indexes(reader, inherited)
    triggers: dict[str, Trigger] = {}
    for relid, name, definition, comment, funcoid, enabled in reader.rows(q.TRIGGERS):
        if relid not in names:
            continue
        table = names[relid]
        trg = Trigger(
            schema=table.split(".")[0],
            name=name,
            table=table,
            definition=definition,
            comment=comment,
            function=reader.func_keys.get(funcoid),
            enabled=enabled,
        )
        triggers[trg.key] = trg
    policies: dict[str, Policy] = {}
    for row in reader.rows(q.POLICIES):
        relid, name, permissive, cmd, roles, using, check, comment, refs = row
        if relid not in names:
            continue
        table = names[relid]
        columns = frozenset(
            f"column:{names[rel]}.{reader.attnames[(rel, num)]}"
            for rel, num in refs or ()
            if (rel, num) in reader.attnames
        )
        pol = Policy(
            schema=table.split(".")[0],
            name=name,
            table=table,
            definition=_policy_sql(name, table, permissive, cmd, roles, using, check),
            comment=comment,
            depends_on=columns,
        )
        policies[pol.key] = pol
    return constraints, indexes, triggers, policies, inherited


_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}


def _policy_sql(
    name: str,
    table: str,
    permissive: bool,
    cmd: str,
    roles: list[str] | None,
    using: str | None,
    check: str | None,
) -> str:
    sql = f"CREATE POLICY {name} ON {table} AS {'PERMISSIVE' if permissive else 'RESTRICTIVE'}"
    sql += f" FOR {_POLICY_COMMANDS.get(cmd, 'ALL')} TO {', '.join(roles or ['PUBLIC'])}"
    if using:
        sql += f" USING ({using})"
    if check:
        sql += f" WITH CHECK ({check})"
    return sql


def statistics(reader: Reader) -> dict[str, Statistics]:
    out: dict[str, Statistics] = {}
    for relid, schema, name, definition, comment in reader.rows(q.STATISTICS):
        if relid not in reader.rel_names:
            continue
        obj = Statistics(
            schema=schema,
            name=name,
            table=reader.rel_names[relid],
            definition=definition,
            comment=comment,
        )
        out[obj.key] = obj
    return out


def rules(reader: Reader) -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for relid, name, definition, comment, enabled in reader.rows(q.RULES):
        if relid not in reader.rel_names:
            continue
        table = reader.rel_names[relid]
        obj = Rule(
            schema=table.split(".")[0],
            name=name,
            table=table,
            definition=definition.strip().rstrip(";"),
            comment=comment,
            enabled=enabled,
        )
        out[obj.key] = obj
    return out


def _constraints(reader: Reader, inherited: dict[str, Constraint | Index]) -> dict[str, Constraint]:
    names = reader.rel_names
    constraints: dict[str, Constraint] = {}
    for row in reader.rows(q.CONSTRAINTS):
        relid, name, contype, definition, comment, keys, refid, refkeys, from_parent = row
        cols, refcols = reader.names_of(relid, keys), reader.names_of(refid, refkeys)
        if relid not in names:
            continue
        table = names[relid]
        con = Constraint(
            schema=table.split(".")[0],
            name=name,
            table=table,
            definition=definition,
            comment=comment,
            contype=contype,
            columns=tuple(cols or ()),
            ref_table=names.get(refid) if refid else None,
            ref_columns=tuple(refcols or ()),
        )
        if from_parent:
            inherited[con.key] = con
        else:
            constraints[con.key] = con
    return constraints


def _indexes(reader: Reader, inherited: dict[str, Constraint | Index]) -> dict[str, Index]:
    names = reader.rel_names
    indexes: dict[str, Index] = {}
    for relid, schema, name, definition, comment, keys, from_parent, stats in reader.rows(
        q.INDEXES
    ):
        cols = reader.names_of(relid, keys)
        if relid not in names:
            continue
        idx = Index(
            schema=schema,
            name=name,
            table=names[relid],
            definition=definition.replace(" ON ONLY ", " ON ", 1),
            comment=comment,
            columns=tuple(c for c in cols or () if c),
            statistics=tuple((n, t) for n, t in stats or ()),
        )
        if from_parent:
            inherited[idx.key] = idx
        else:
            indexes[idx.key] = idx
    return indexes
