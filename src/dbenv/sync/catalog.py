"""What sync needs to know about a database's tables, read from its catalogs.

Tables with their copyable columns (generated columns are recomputed, not
copied), single-column unique keys (masking keeps them unique), foreign keys
(subsets and the load order), owned sequences, and whether binary COPY is safe
(a user-defined composite, array or range type carries type OIDs that differ
between databases, so such a table goes as text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# schemas sync never touches: the system's and dbenv's own (stamp, journal)
SKIP_SCHEMAS = ("pg_catalog", "information_schema", "dbenv", "pg_toast")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    not_null: bool
    unique: bool
    binary_safe: bool
    hashable: bool = False  # its type has an extended hash function (no text needed)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: tuple[str, str]
    columns: tuple[str, ...]
    parent: tuple[str, str]
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    partitioned: bool
    columns: tuple[Column, ...]
    size: int  # bytes on disk, an estimate of what the copy moves
    sequences: tuple[str, ...] = ()  # quoted qualified names of owned sequences
    foreign_keys: tuple[ForeignKey, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    @property
    def binary(self) -> bool:
        return all(c.binary_safe for c in self.columns)

    @property
    def hashable(self) -> bool:
        return all(c.hashable for c in self.columns)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.relkind = 'p', pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> ALL(%(skip)s) AND n.nspname NOT LIKE 'pg\\_%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 2, 3
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique
          AND i.indnatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL),
  (SELECT CASE WHEN b.oid < 16384 OR b.typtype = 'e' THEN true ELSE false END
   FROM pg_type t0 JOIN pg_type b ON b.oid = CASE WHEN t0.typtype = 'd'
        THEN t0.typbasetype ELSE t0.oid END
   WHERE t0.oid = a.atttypid),
  (SELECT b.typcategory <> 'A' AND EXISTS (
     SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
     JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amprocnum = 2
     WHERE am.amname = 'hash' AND oc.opcdefault
       AND oc.opcintype = CASE WHEN b.typtype = 'e' THEN 'anyenum'::regtype ELSE b.oid END)
   FROM pg_type t0 JOIN pg_type b ON b.oid = CASE WHEN t0.typtype = 'd'
        THEN t0.typbasetype ELSE t0.oid END
   WHERE t0.oid = a.atttypid)
FROM pg_attribute a
WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attgenerated = ''
ORDER BY a.attrelid, a.attnum
"""

_FOREIGN_KEYS = """
SELECT k.conname, k.conrelid, k.confrelid, pn.nspname, p.relname,
  ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
  ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
        JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
FROM pg_constraint k JOIN pg_class p ON p.oid = k.confrelid
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE k.contype = 'f' AND k.conrelid = ANY(%(oids)s) AND k.conparentid = 0
"""

_SEQUENCES = """
SELECT d.refobjid, quote_ident(n.nspname) || '.' || quote_ident(s.relname)
FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE d.refobjid = ANY(%(oids)s) AND d.deptype IN ('a', 'i')
"""


def read_tables(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], TableInfo]:
    """Every user table (partitions folded into their parent), keyed by (schema, name)."""
    rows = conn.execute(_TABLES, {"skip": list(SKIP_SCHEMAS)}).fetchall()
    oids = [r[0] for r in rows]
    columns: dict[int, list[Column]] = {}
    for rel, name, dtype, not_null, unique, safe, hashable in conn.execute(
        _COLUMNS, {"oids": oids}
    ):
        columns.setdefault(rel, []).append(
            Column(name, dtype, not_null, unique, bool(safe), bool(hashable))
        )
    names = {r[0]: (str(r[1]), str(r[2])) for r in rows}
    fks: dict[int, list[ForeignKey]] = {}
    for con, rel, _prel, pschema, pname, cols, pcols in conn.execute(_FOREIGN_KEYS, {"oids": oids}):
        fks.setdefault(rel, []).append(
            ForeignKey(con, names[rel], tuple(cols), (pschema, pname), tuple(pcols))
        )
    seqs: dict[int, list[str]] = {}
    for rel, seq in conn.execute(_SEQUENCES, {"oids": oids}):
        seqs.setdefault(rel, []).append(str(seq))
    tables = {}
    for oid, schema, name, partitioned, size in rows:
        tables[(schema, name)] = TableInfo(
            schema=schema,
            name=name,
            partitioned=bool(partitioned),
            columns=tuple(columns.get(oid, [])),
            size=int(size or 0),
            sequences=tuple(sorted(seqs.get(oid, []))),
            foreign_keys=tuple(fks.get(oid, [])),
        )
    return tables
