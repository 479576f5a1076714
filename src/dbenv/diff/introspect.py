"""Read one database's schema from its catalogs into a ``SchemaModel``.

A dozen queries (``queries.py``) cover every object kind for all user schemas at
once; the rows are joined up here by OID. Nothing is parsed from pg_dump text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dbenv.diff import queries as q
from dbenv.diff.introspect_children import rules, statistics, table_children
from dbenv.diff.model import (
    Collation,
    Column,
    CompositeType,
    DefaultPrivileges,
    Domain,
    DomainConstraint,
    Enum,
    EventTrigger,
    Extension,
    Function,
    Grant,
    Identity,
    RangeType,
    Schema,
    SchemaModel,
    Sequence,
    Table,
    View,
)

if TYPE_CHECKING:
    import psycopg

Row = tuple[Any, ...]


def _grants(raw: Iterable[list[Any]] | None) -> frozenset[Grant]:
    return frozenset((str(g), str(p), bool(o)) for g, p, o in raw or ())


class Reader:
    """Runs the queries and keeps the OID → key maps the later queries need."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.rel_keys: dict[int, str] = {}  # table/view oid -> key
        self.rel_names: dict[int, str] = {}  # oid -> qualified name
        self.rowtypes: dict[int, str] = {}  # row type oid -> relation key
        self.type_keys: dict[int, str] = {}
        self.func_keys: dict[int, str] = {}
        self.attnames: dict[tuple[int, int], str] = {}

    def rows(self, sql: str) -> list[Row]:
        return self.conn.execute(sql.encode()).fetchall()

    def schemas(self) -> dict[str, Schema]:
        out = {}
        for name, owner, comment, acl in self.rows(q.SCHEMAS):
            obj = Schema(schema="", name=name, owner=owner, comment=comment, acl=_grants(acl))
            out[obj.key] = obj
        return out

    def extensions(self) -> dict[str, Extension]:
        out = {}
        for name, version, schema, comment, reachable in self.rows(q.EXTENSIONS):
            obj = Extension(
                schema=schema,
                name=name,
                version=version,
                comment=comment,
                reachable=frozenset(reachable or ()),
            )
            out[obj.key] = obj
        return out

    def collations(self) -> dict[str, Collation]:
        out = {}
        for schema, name, owner, comment, row in self.rows(q.COLLATIONS):
            provider = {"i": "icu", "c": "libc", "b": "builtin"}.get(row["collprovider"], "libc")
            locale = row.get("colllocale") or row.get("colliculocale")
            obj = Collation(
                schema=schema,
                name=name,
                owner=owner,
                comment=comment,
                provider=provider,
                locale=locale,
                lc_collate=row.get("collcollate"),
                lc_ctype=row.get("collctype"),
                deterministic=row["collisdeterministic"],
            )
            out[obj.key] = obj
        return out

    def types(self) -> tuple[dict[str, Enum | CompositeType | RangeType], dict[str, Domain]]:
        types: dict[str, Enum | CompositeType | RangeType] = {}
        domains: dict[str, Domain] = {}
        for row in self.rows(q.TYPES):
            oid, typtype, schema, name, owner, comment, acl = row[:7]
            labels, base, not_null, default, collation, attrs, checks, rng, multi = row[7:]
            common: dict[str, Any] = {
                "schema": schema,
                "name": name,
                "owner": owner,
                "comment": comment,
                "acl": _grants(acl),
            }
            if typtype == "e":
                enum = Enum(labels=tuple(labels or ()), **common)
                types[enum.key] = enum
                self.type_keys[oid] = enum.key
            elif typtype == "r":
                rtype = RangeType(options=rng, multirange=multi, **common)
                types[rtype.key] = rtype
                self.type_keys[oid] = rtype.key
            elif typtype == "c":
                comp = CompositeType(attributes=tuple((a, t) for a, t in attrs or ()), **common)
                types[comp.key] = comp
                self.type_keys[oid] = comp.key
            else:
                cons = tuple(
                    DomainConstraint(name=n, definition=d, comment=c) for n, d, c in checks or ()
                )
                dom = Domain(
                    base_type=base,
                    collation=collation,
                    not_null=not_null,
                    default=default,
                    constraints=cons,
                    **common,
                )
                domains[dom.key] = dom
                self.type_keys[oid] = dom.key
        return types, domains

    def sequences(self) -> tuple[dict[str, Sequence], dict[tuple[int, int], Identity]]:
        """Free-standing sequences, and identity options keyed by (table oid, attnum)."""
        seqs: dict[str, Sequence] = {}
        identities: dict[tuple[int, int], Identity] = {}
        for row in self.rows(q.SEQUENCES):
            schema, name, owner, comment, acl, dtype = row[:6]
            start, inc, lo, hi, cache, cycle, ref, refsub, deptype, unlogged = row[6:]
            if deptype == "i":
                identities[(ref, refsub)] = Identity(
                    sequence=f"{schema}.{name}",
                    always=False,
                    start=start,
                    increment=inc,
                    minvalue=lo,
                    maxvalue=hi,
                    cache=cache,
                    cycle=cycle,
                )
                continue
            owned = None
            if deptype == "a" and ref in self.rel_names:
                owned = f"{self.rel_names[ref]}.{self.attnames.get((ref, refsub), '?')}"
            seq = Sequence(
                schema=schema,
                name=name,
                owner=owner,
                comment=comment,
                acl=_grants(acl),
                data_type=dtype,
                start=start,
                increment=inc,
                minvalue=lo,
                maxvalue=hi,
                cache=cache,
                cycle=cycle,
                owned_by=owned,
                unlogged=unlogged,
            )
            seqs[seq.key] = seq
        return seqs, identities

    def relations(self) -> list[Row]:
        rows = self.rows(q.RELATIONS)
        for row in rows:
            oid, relkind, schema, name = row[:4]
            qualified = f"{schema}.{name}"
            key = f"view:{qualified}" if relkind in ("v", "m") else f"table:{qualified}"
            self.rel_keys[oid] = key
            self.rel_names[oid] = qualified
            self.rowtypes[row[-1]] = key
        return rows

    def columns(self) -> dict[int, list[Row]]:
        by_rel: dict[int, list[Row]] = defaultdict(list)
        for row in self.rows(q.columns(self.conn.info.server_version)):
            by_rel[row[0]].append(row)
            self.attnames[(row[0], row[2])] = row[1]
        return by_rel

    def names_of(self, relid: int, attnums: list[int] | None) -> tuple[str, ...]:
        """Column names of ``attnums`` (0, an expression column, is left out)."""
        return tuple(
            self.attnames[(relid, n)] for n in attnums or () if (relid, n) in self.attnames
        )

    def default_privileges(self) -> dict[str, DefaultPrivileges]:
        out = {}
        for role, schema, objtype, acl, baseline in self.rows(q.DEFAULT_PRIVILEGES):
            obj = DefaultPrivileges(
                schema=schema or "",
                name=role,
                objtype=objtype,
                acl=_grants(acl),
                baseline=_grants(baseline),
            )
            out[obj.key] = obj
        return out

    def event_triggers(self) -> dict[str, EventTrigger]:
        out = {}
        for name, event, funcoid, tags, enabled, owner, comment in self.rows(q.EVENT_TRIGGERS):
            function = self.func_keys.get(funcoid)
            call = function.removeprefix("function:") if function else str(funcoid)
            when = f" WHEN TAG IN ({tags})" if tags else ""
            obj = EventTrigger(
                schema="",
                name=name,
                owner=owner,
                comment=comment,
                definition=f"CREATE EVENT TRIGGER {name} ON {event}{when} EXECUTE FUNCTION {call}",
                function=function,
                enabled=enabled,
            )
            out[obj.key] = obj
        return out

    def function_users(self) -> dict[str, frozenset[str]]:
        users: dict[str, set[str]] = defaultdict(set)
        for funcoid, catalog, relid, attnum, name, domain in self.rows(q.FUNCTION_USERS):
            function, table = self.func_keys.get(funcoid), self.rel_names.get(relid)
            if function is not None and domain in self.type_keys:
                # A domain's check by name, its default as an empty name.
                users[f"{self.type_keys[domain]}:{name or ''}"].add(function)
            if function is None or table is None:
                continue
            if catalog == "pg_attrdef":
                key = f"column:{table}.{self.attnames.get((relid, attnum))}"
            elif catalog == "pg_class":
                key = f"index:{name}"
            else:
                key = f"{catalog.removeprefix('pg_')}:{table}:{name}"
            users[key].add(function)
        return {k: frozenset(v) for k, v in users.items()}

    def dependencies(self) -> dict[int, set[str]]:
        """Keys each view (by relation oid) or function (by proc oid) depends on."""
        deps: dict[int, set[str]] = defaultdict(set)
        for objid, _is_proc, refclass, refobjid, refsub in self.rows(q.DEPENDENCIES):
            if refclass == "pg_class":
                if objid == refobjid or refobjid not in self.rel_keys:
                    continue
                deps[objid].add(self.rel_keys[refobjid])
                if refsub:
                    name = self.attnames.get((refobjid, refsub))
                    deps[objid].add(f"column:{self.rel_names[refobjid]}.{name}")
            elif refclass == "pg_proc" and refobjid in self.func_keys:
                deps[objid].add(self.func_keys[refobjid])
            elif refclass == "pg_type":
                key = self.type_keys.get(refobjid) or self.rowtypes.get(refobjid)
                if key:
                    deps[objid].add(key)
        return deps


# The options ALTER COLUMN ... SET accepts; a server may keep private ones beside them.
_ATTRIBUTE_OPTIONS = ("n_distinct=", "n_distinct_inherited=")


def _column(row: Row, identities: dict[tuple[int, int], Identity]) -> Column:
    relid, name, num, dtype, not_null, expr, generated, identity, collation, comment = row[:10]
    ident = identities.get((relid, num)) if identity else None
    if ident is not None:
        ident = Identity(
            sequence=ident.sequence,
            always=identity == "a",
            start=ident.start,
            increment=ident.increment,
            minvalue=ident.minvalue,
            maxvalue=ident.maxvalue,
            cache=ident.cache,
            cycle=ident.cycle,
        )
    return Column(
        name=name,
        position=num,
        data_type=dtype,
        collation=collation,
        not_null=not_null,
        default=None if generated else expr,
        identity=ident,
        generated=expr if generated else None,
        comment=comment,
        local=row[10],
        acl=_grants(row[11]),
        statistics=-1 if row[12] is None else int(row[12]),
        storage=row[13] or None,
        compression=row[14] or None,
        options=tuple(o for o in row[15] or () if o.startswith(_ATTRIBUTE_OPTIONS)),
        type_storage=row[16],
    )


def _tables_and_views(
    reader: Reader,
    rows: list[Row],
    columns: dict[int, list[Row]],
    identities: dict[tuple[int, int], Identity],
    deps: dict[int, set[str]],
) -> tuple[dict[str, Table], dict[str, View]]:
    tables: dict[str, Table] = {}
    views: dict[str, View] = {}
    for row in rows:
        oid, relkind, schema, name, owner, comment, acl, persistence, options = row[:9]
        rls, forced, partkey, bound, parents, viewdef, replica, toast, clustered = row[9:18]
        of_type = row[18]
        common: dict[str, Any] = {
            "schema": schema,
            "name": name,
            "owner": owner,
            "comment": comment,
            "acl": _grants(acl),
        }
        cols = [_column(c, identities) for c in columns.get(oid, [])]
        if relkind in ("v", "m"):
            view = View(
                definition=viewdef.strip(),
                materialized=relkind == "m",
                options=tuple(options or ()),
                columns=tuple(c.name for c in cols),
                column_comments=tuple((c.name, c.comment) for c in cols if c.comment),
                column_statistics=tuple((c.name, c.statistics) for c in cols if c.statistics >= 0),
                column_defaults=tuple((c.name, c.default) for c in cols if c.default is not None),
                depends_on=frozenset(deps.get(oid, ())),
                **common,
            )
            views[view.key] = view
            continue
        parent_names = tuple(reader.rel_names[p] for p in parents or () if p in reader.rel_names)
        table = Table(
            columns=tuple(cols),
            partitioned_by=partkey,
            partition_of=parent_names[0] if bound else None,
            partition_bound=bound,
            inherits=() if bound else parent_names,
            unlogged=persistence == "u",
            options=tuple(options or ()) + tuple(toast or ()),
            rls_enabled=rls,
            rls_forced=forced,
            replica_identity=replica,
            clustered_on=clustered,
            of_type=of_type,
            **common,
        )
        tables[table.key] = table
    return tables, views


def _function_rows(reader: Reader) -> list[Row]:
    rows = reader.rows(q.FUNCTIONS) + reader.rows(q.AGGREGATES)
    for row in rows:
        reader.func_keys[row[0]] = f"function:{row[1]}.{row[8]}"
    return rows


def _build_functions(rows: list[Row], deps: dict[int, set[str]]) -> dict[str, Function]:
    out: dict[str, Function] = {}
    for row in rows:
        oid, schema, name, ident, args, result, is_proc, definition, signature = row[:9]
        owner, comment, acl, aggregate = row[9:]
        fn = Function(
            schema=schema,
            name=name,
            owner=owner,
            comment=comment,
            acl=_grants(acl),
            identity_args=ident,
            arguments=args,
            result=result,
            is_procedure=is_proc,
            definition=definition.strip(),
            signature=signature,
            depends_on=frozenset(deps.get(oid, ())),
            is_aggregate=aggregate,
        )
        out[fn.key] = fn
    return out


def introspect(conn: psycopg.Connection[Any]) -> SchemaModel:
    """Read every user schema of the database ``conn`` is connected to."""
    previous = conn.execute("SELECT current_setting('search_path')").fetchone()
    conn.execute("SELECT set_config('search_path', '', false)")
    try:
        return _read(Reader(conn))
    finally:
        conn.execute(
            "SELECT set_config('search_path', %s, false)",
            (previous[0] if previous else "public",),
        )
        if not conn.autocommit:
            conn.rollback()


def _read(reader: Reader) -> SchemaModel:
    schemas = reader.schemas()
    extensions = reader.extensions()
    types, domains = reader.types()
    relations = reader.relations()
    columns = reader.columns()
    sequences, identities = reader.sequences()
    fn_rows = _function_rows(reader)
    deps = reader.dependencies()
    tables, views = _tables_and_views(reader, relations, columns, identities, deps)
    constraints, indexes, triggers, policies, inherited = table_children(reader)
    not_compared = reader.rows(q.NOT_COMPARED)
    return SchemaModel(
        schemas=schemas,
        extensions=extensions,
        types=types,
        domains=domains,
        sequences=sequences,
        tables=tables,
        views=views,
        functions=_build_functions(fn_rows, deps),
        constraints=constraints,
        indexes=indexes,
        triggers=triggers,
        policies=policies,
        server_version=reader.conn.info.server_version,
        collations=reader.collations(),
        statistics=statistics(reader),
        rules=rules(reader),
        default_privileges=reader.default_privileges(),
        event_triggers=reader.event_triggers(),
        not_compared=frozenset(row[0] for row in not_compared),
        not_compared_schemas={row[0]: row[1] for row in not_compared if row[1] is not None},
        function_users=reader.function_users(),
        casts=frozenset((row[0], row[1]) for row in reader.rows(q.CASTS)),
        inherited=inherited,
    )
