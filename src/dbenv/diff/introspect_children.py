"""Read what hangs off tables (constraints, indexes, triggers, policies) for introspection.

Split from ``introspect`` to keep modules small; it reuses the reader's OID maps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbenv.diff import queries as q
from dbenv.diff.model import Constraint, Index, Policy, Rule, Statistics, Trigger

if TYPE_CHECKING:
    from dbenv.diff.introspect import Reader


def table_children(
    reader: Reader,
) -> tuple[dict[str, Constraint], dict[str, Index], dict[str, Trigger], dict[str, Policy]]:
    names = reader.rel_names
    constraints: dict[str, Constraint] = {}
    for relid, name, contype, definition, comment, keys, refid, refkeys in reader.rows(
        q.CONSTRAINTS
    ):
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
        constraints[con.key] = con
    indexes: dict[str, Index] = {}
    for relid, schema, name, definition, comment, keys, stats in reader.rows(q.INDEXES):
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
        indexes[idx.key] = idx
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
    return constraints, indexes, triggers, policies


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
