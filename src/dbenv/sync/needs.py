"""What the selected tables need on the source: the types, functions and schemas under them.

Sync's structure step must create only what the profile's tables use, never the
rest of the source (a function in a schema the profile never names would be
created without its schema, and a target function nobody synced replaced). This
walks ``pg_depend`` from the selected tables (and what hangs off them: column
defaults, constraints, indexes, triggers, policies, rules, partitions) to the
types, domains, enums, collations, sequences, functions and extensions they
reference, recursively (a domain's base type and checks, a composite type's
attributes, an array's element, a function's argument types), without wandering
into tables the profile did not select. It returns the diff model's keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

__all__ = ["Needs", "needed_objects"]

# Relations are followed only when selected (or a partition, index or composite type of
# the selection): a foreign key's parent, or a table a trigger function reads, is not ours.
_STEP = """
WITH frontier(c, o) AS (SELECT * FROM unnest(%(classes)s::oid[], %(objects)s::oid[])),
open AS (
  SELECT f.c, f.o FROM frontier f
  LEFT JOIN pg_class k ON f.c = 'pg_class'::regclass AND k.oid = f.o
  LEFT JOIN pg_index x ON x.indexrelid = k.oid
  WHERE k.oid IS NULL OR k.oid = ANY(%(tables)s) OR k.relkind IN ('S', 'c')
     OR k.relispartition OR x.indrelid = ANY(%(tables)s))
SELECT d.refclassid, d.refobjid FROM pg_depend d JOIN open ON d.classid = open.c
  AND d.objid = open.o
WHERE d.deptype IN ('n', 'a', 'i', 'e') AND d.refobjid >= 16384
UNION
SELECT d.classid, d.objid FROM pg_depend d JOIN open ON d.refclassid = open.c
  AND d.refobjid = open.o
WHERE d.deptype IN ('a', 'i') AND d.objid >= 16384
"""

_TABLES = """
SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN unnest(%(schemas)s::text[], %(names)s::text[]) s(nsp, rel)
  ON s.nsp = n.nspname AND s.rel = c.relname
"""

# Keys as dbenv.diff.introspect spells them (names quoted, search_path empty).
_KEYS = """
WITH r(c, o) AS (SELECT * FROM unnest(%(classes)s::oid[], %(objects)s::oid[]))
SELECT CASE WHEN t.typtype = 'd' THEN 'domain:' ELSE 'type:' END
       || quote_ident(n.nspname) || '.' || quote_ident(t.typname), quote_ident(n.nspname)
FROM r JOIN pg_type t ON r.c = 'pg_type'::regclass AND t.oid = r.o
JOIN pg_namespace n ON n.oid = t.typnamespace
UNION ALL
SELECT 'function:' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('
       || oidvectortypes(p.proargtypes) || ')', quote_ident(n.nspname)
FROM r JOIN pg_proc p ON r.c = 'pg_proc'::regclass AND p.oid = r.o
JOIN pg_namespace n ON n.oid = p.pronamespace
UNION ALL
SELECT 'extension:' || quote_ident(e.extname), quote_ident(n.nspname)
FROM r JOIN pg_extension e ON r.c = 'pg_extension'::regclass AND e.oid = r.o
JOIN pg_namespace n ON n.oid = e.extnamespace
UNION ALL
SELECT 'sequence:' || quote_ident(n.nspname) || '.' || quote_ident(s.relname),
       quote_ident(n.nspname)
FROM r JOIN pg_class s ON r.c = 'pg_class'::regclass AND s.oid = r.o AND s.relkind = 'S'
JOIN pg_namespace n ON n.oid = s.relnamespace
UNION ALL
SELECT 'collation:' || quote_ident(n.nspname) || '.' || quote_ident(co.collname),
       quote_ident(n.nspname)
FROM r JOIN pg_collation co ON r.c = 'pg_collation'::regclass AND co.oid = r.o
JOIN pg_namespace n ON n.oid = co.collnamespace
"""


@dataclass(frozen=True)
class Needs:
    """Diff-model keys the selected tables use, each with the (quoted) schema it lives in."""

    objects: dict[str, str] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.objects

    def schemas(self, present: Iterable[str]) -> set[str]:
        """Schemas of the needed objects among ``present`` keys (objects diff knows)."""
        return {self.objects[k] for k in present if k in self.objects}


def needed_objects(conn: psycopg.Connection[Any], tables: Iterable[tuple[str, str]]) -> Needs:
    """What the (unquoted ``(schema, name)``) ``tables`` depend on, as diff-model keys."""
    keys = list(tables)
    rows = conn.execute(
        _TABLES, {"schemas": [k[0] for k in keys], "names": [k[1] for k in keys]}
    ).fetchall()
    oids = [int(r[0]) for r in rows]
    pg_class = _regclass(conn, "pg_class")
    reached = {(pg_class, oid) for oid in oids}
    frontier = set(reached)
    while frontier:
        params = {
            "classes": [c for c, _ in frontier],
            "objects": [o for _, o in frontier],
            "tables": oids,
        }
        found = {(int(c), int(o)) for c, o in conn.execute(_STEP, params)}
        frontier = found - reached
        reached |= frontier
    return Needs(_keys(conn, reached))


def _regclass(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute("SELECT %s::regclass::oid", (name,)).fetchone()
    return int(row[0]) if row else 0


def _keys(conn: psycopg.Connection[Any], reached: set[tuple[int, int]]) -> dict[str, str]:
    previous = conn.execute("SELECT current_setting('search_path')").fetchone()
    conn.execute("SELECT set_config('search_path', '', false)")  # oidvectortypes qualifies
    try:
        rows = conn.execute(
            _KEYS, {"classes": [c for c, _ in reached], "objects": [o for _, o in reached]}
        ).fetchall()
    finally:
        conn.execute(
            "SELECT set_config('search_path', %s, false)",
            (previous[0] if previous else "public",),
        )
    return {str(key): str(schema) for key, schema in rows}
