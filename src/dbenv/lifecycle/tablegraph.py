"""An environment's tables as the catalog sees them, and their foreign-key order.

Reset and seed both need the same facts about the tables an environment owns —
which they are (by isolation scope), their columns, primary keys, owned
sequences, rules and foreign keys — and an order in which parents come before
children, with the cycles that no order can satisfy set apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbenv.backends.postgres import SYSTEM_SCHEMAS as SYSTEM_SCHEMAS
from dbenv.backends.postgres import scope_condition as scope_condition
from dbenv.config.model import Environment

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    has_default: bool
    identity: str  # "" | "a" (always) | "d" (by default)
    generated: bool


@dataclass(frozen=True)
class ForeignKey:
    name: str
    child: str  # qualified, quoted table name
    parent: str
    columns: tuple[str, ...]
    parent_columns: tuple[str, ...]
    deferrable: bool


@dataclass(frozen=True)
class TableInfo:
    qualified: str  # "schema"."name", quoted, ready for SQL
    schema: str
    name: str
    columns: tuple[Column, ...] = ()
    primary_key: tuple[str, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()
    sequences: tuple[tuple[str, str], ...] = ()  # (quoted sequence, column)
    delete_rule: bool = False  # a rule rewrites DELETE
    delete_triggers: bool = False  # user triggers fire on DELETE

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class TableGraph:
    """The scope's tables by qualified name, and the foreign keys between them."""

    tables: Mapping[str, TableInfo]
    foreign_keys: tuple[ForeignKey, ...] = ()
    outside_references: tuple[ForeignKey, ...] = ()  # FKs from tables outside the scope
    _order: tuple[str, ...] = field(default=(), repr=False)

    def parents_first(self) -> tuple[str, ...]:
        return self._order

    def cyclic(self) -> frozenset[str]:
        """Tables that sit on a foreign-key cycle between two or more tables."""
        return frozenset(t for comp in _components(self) if len(comp) > 1 for t in comp)

    def referencing(self, tables: Iterable[str]) -> set[str]:
        """``tables`` plus every table that references one of them, transitively."""
        found = set(tables)
        changed = True
        while changed:
            changed = False
            for fk in self.foreign_keys:
                if fk.parent in found and fk.child not in found:
                    found.add(fk.child)
                    changed = True
        return found

    def by_name(self, name: str) -> TableInfo | None:
        """Find a table by ``name`` or ``schema.name`` (unquoted)."""
        for info in self.tables.values():
            if name in (info.name, f"{info.schema}.{info.name}"):
                return info
        return None


def display_name(qualified: str) -> str:
    """``"public"."users"`` -> ``users``; other schemas keep theirs: ``app.users``."""
    schema, name = split_qualified(qualified)
    return name if schema == "public" else f"{schema}.{name}"


def split_qualified(text: str) -> tuple[str, str]:
    """``"schema"."name"`` (quotes optional) -> (schema, name)."""
    parts: list[str] = []
    current, quoted, i = "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and text[i + 1 : i + 2] == '"':
                current += '"'
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return (parts[0], parts[-1]) if len(parts) > 1 else ("public", parts[0])


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_TABLES = """
SELECT c.oid, n.nspname, c.relname,
       EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.ev_type = '4'),
       EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal
               AND (t.tgtype & 8) <> 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {scope}
ORDER BY n.nspname, c.relname
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.atthasdef, a.attidentity, a.attgenerated <> ''
FROM pg_attribute a
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_KEYS = """
SELECT x.conrelid, x.contype, x.conname, x.confrelid, x.condeferrable,
       ARRAY(SELECT a.attname FROM unnest(x.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = x.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(x.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = x.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint x
WHERE x.contype IN ('p', 'u', 'f') AND (x.conrelid = ANY(%s) OR x.confrelid = ANY(%s))
ORDER BY x.conrelid, x.conname
"""

_SEQUENCES = """
SELECT d.refobjid, format('%%I.%%I', sn.nspname, s.relname), a.attname
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i') AND d.refobjid = ANY(%s)
"""


def load_graph(conn: psycopg.Connection[Any], env: Environment) -> TableGraph:
    """Read the environment's tables, keys and sequences from the catalog."""
    scope, params = scope_condition(env)
    return _load(conn, scope, params)


# foreign keys from or to the given tables, with the other side's name
_FOREIGN_KEYS = """
SELECT x.conrelid, x.conname, x.confrelid, x.condeferrable,
       ARRAY(SELECT a.attname FROM unnest(x.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = x.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(x.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = x.confrelid AND a.attnum = k.n ORDER BY k.i),
       x.conrelid::regclass::text
FROM pg_constraint x
WHERE x.contype = 'f' AND (x.conrelid = ANY(%s::regclass[]) OR x.confrelid = ANY(%s::regclass[]))
ORDER BY x.conrelid, x.conname
"""


def load_delete_graph(conn: psycopg.Connection[Any], tables: Iterable[str]) -> TableGraph:
    """What emptying ``tables`` needs, in one round trip: their DELETE rules and
    triggers and the foreign keys touching them — no columns, keys or sequences."""
    names = list(tables)
    with conn.pipeline():
        found = conn.execute(_TABLES.format(scope="c.oid = ANY(%s::regclass[])"), [names])
        keys = conn.execute(_FOREIGN_KEYS, [names, names])
    rows = found.fetchall()
    quoted = {r[0]: f"{quote(r[1])}.{quote(r[2])}" for r in rows}
    fks: list[ForeignKey] = []
    outside: list[ForeignKey] = []
    for rel, conname, frel, deferrable, cols, fcols, child in keys.fetchall():
        if frel in quoted:
            fk = ForeignKey(
                conname, quoted.get(rel, child), quoted[frel], tuple(cols), tuple(fcols), deferrable
            )
            (fks if rel in quoted else outside).append(fk)
    infos = {
        quoted[r[0]]: TableInfo(quoted[r[0]], r[1], r[2], delete_rule=r[3], delete_triggers=r[4])
        for r in rows
    }
    return _ordered(TableGraph(infos, tuple(fks), tuple(outside)))


def _load(conn: psycopg.Connection[Any], scope: str, params: list[Any]) -> TableGraph:
    rows = conn.execute(_TABLES.format(scope=scope), params).fetchall()
    oids = [r[0] for r in rows]
    names = {r[0]: f"{quote(r[1])}.{quote(r[2])}" for r in rows}
    columns: dict[int, list[Column]] = {oid: [] for oid in oids}
    for oid, *col in conn.execute(_COLUMNS, [oids]).fetchall():
        columns[oid].append(Column(col[0], col[1], col[2], col[3], col[4], col[5]))
    pks: dict[int, tuple[str, ...]] = {}
    uniques: dict[int, list[tuple[str, ...]]] = {oid: [] for oid in oids}
    fks: list[ForeignKey] = []
    outside: list[ForeignKey] = []
    for rel, kind, conname, frel, deferrable, cols, fcols in conn.execute(
        _KEYS, [oids, oids]
    ).fetchall():
        if kind == "p" and rel in names:
            pks[rel] = tuple(cols)
        elif kind == "u" and rel in names:
            uniques[rel].append(tuple(cols))
        elif kind == "f" and frel in names:
            child = names.get(rel) or _relname(conn, rel)
            fk = ForeignKey(conname, child, names[frel], tuple(cols), tuple(fcols), deferrable)
            (fks if rel in names else outside).append(fk)
    seqs: dict[int, list[tuple[str, str]]] = {oid: [] for oid in oids}
    for rel, seq, col in conn.execute(_SEQUENCES, [oids]).fetchall():
        seqs[rel].append((seq, col))
    tables = {
        names[r[0]]: TableInfo(
            names[r[0]],
            r[1],
            r[2],
            tuple(columns[r[0]]),
            pks.get(r[0], ()),
            tuple(uniques[r[0]]),
            tuple(seqs[r[0]]),
            r[3],
            r[4],
        )
        for r in rows
    }
    return _ordered(TableGraph(tables, tuple(fks), tuple(outside)))


def _relname(conn: psycopg.Connection[Any], oid: int) -> str:
    row = conn.execute("SELECT %s::regclass::text", [oid]).fetchone()
    return str(row[0]) if row else str(oid)


def _ordered(graph: TableGraph) -> TableGraph:
    order: list[str] = []
    for comp in reversed(_components(graph)):  # Tarjan yields children first
        order.extend(sorted(comp))
    return TableGraph(graph.tables, graph.foreign_keys, graph.outside_references, tuple(order))


def _components(graph: TableGraph) -> list[list[str]]:
    """Strongly connected components, children first (iterative Tarjan).

    Edges go parent -> child and Tarjan emits a component only after every
    component reachable from it, so reversing the list gives parents first.
    """
    edges: dict[str, list[str]] = {t: [] for t in graph.tables}
    for fk in graph.foreign_keys:
        if fk.child != fk.parent:
            edges[fk.parent].append(fk.child)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    for root in sorted(graph.tables):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = edges[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                result.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result
