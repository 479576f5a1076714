"""The catalog queries introspection runs: one per object family, all user schemas at once.

Names come back already quoted (``quote_ident``); expressions are rendered by the
server (``pg_get_*def``) with an empty ``search_path`` so every name in them is
schema-qualified. Objects that belong to an extension are left out.
"""

from __future__ import annotations

USER_NAMESPACE = (
    "{n}.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND {n}.nspname NOT LIKE 'pg\\_toast%' AND {n}.nspname NOT LIKE 'pg\\_temp\\_%'"
)


def user_ns(alias: str) -> str:
    return USER_NAMESPACE.format(n=alias)


def not_extension_member(catalog: str, oid: str) -> str:
    return (
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = "
        f"'{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"
    )


def acl(column: str, kind: str, owner: str) -> str:
    """JSON list of [grantee, privilege, grantable], defaults made explicit, owner left out."""
    if kind in ("r", "s", "n"):
        # Their default ACL is the owner's alone, which is left out: skip the work on NULL.
        return f"CASE WHEN {column} IS NOT NULL THEN {_acl_list(column, kind, owner)} END"
    return _acl_list(column, kind, owner)


def _acl_list(column: str, kind: str, owner: str) -> str:
    return (
        "(SELECT coalesce(json_agg(json_build_array(CASE WHEN x.grantee = 0 THEN 'PUBLIC' "
        "ELSE quote_ident(pg_get_userbyid(x.grantee)) END, x.privilege_type, x.is_grantable)), "
        f"'[]') FROM aclexplode(coalesce({column}, acldefault('{kind}', {owner}))) x "
        f"WHERE x.grantee <> {owner})"
    )


SCHEMAS = f"""
SELECT quote_ident(n.nspname), quote_ident(pg_get_userbyid(n.nspowner)),
       obj_description(n.oid, 'pg_namespace'), {acl("n.nspacl", "n", "n.nspowner")}
FROM pg_namespace n
WHERE {user_ns("n")} AND {not_extension_member("pg_namespace", "n.oid")}
"""

# With the versions ALTER EXTENSION ... UPDATE can reach from the installed one.
EXTENSIONS = """
SELECT quote_ident(e.extname), e.extversion, quote_ident(n.nspname),
       obj_description(e.oid, 'pg_extension'),
       (SELECT array_agg(u.target) FROM pg_extension_update_paths(e.extname) u
         WHERE u.source = e.extversion AND u.path IS NOT NULL)
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""

# to_jsonb: the locale columns were renamed between PostgreSQL 13 and 17.
COLLATIONS = f"""
SELECT quote_ident(n.nspname), quote_ident(co.collname),
       quote_ident(pg_get_userbyid(co.collowner)), obj_description(co.oid, 'pg_collation'),
       to_jsonb(co)
FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE {user_ns("n")} AND {not_extension_member("pg_collation", "co.oid")}
"""

COLLATION_NAME = "quote_ident(cn.nspname) || '.' || quote_ident(co.collname)"

TYPES = f"""
SELECT t.oid, t.typtype, quote_ident(n.nspname), quote_ident(t.typname),
       quote_ident(pg_get_userbyid(t.typowner)), obj_description(t.oid, 'pg_type'),
       {acl("t.typacl", "T", "t.typowner")},
       (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid),
       format_type(t.typbasetype, t.typtypmod), t.typnotnull, pg_get_expr(t.typdefaultbin, 0),
       CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation
            THEN {COLLATION_NAME} END,
       (SELECT json_agg(json_build_array(quote_ident(a.attname),
                 format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
          FROM pg_attribute a
         WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT json_agg(json_build_array(quote_ident(c.conname), pg_get_constraintdef(c.oid),
                 obj_description(c.oid, 'pg_constraint')) ORDER BY c.conname)
          FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'),
       (SELECT 'subtype = ' || format_type(r.rngsubtype, NULL)
               || CASE WHEN r.rngsubdiff <> 0
                       THEN ', subtype_diff = ' || r.rngsubdiff::regproc::text ELSE '' END
          FROM pg_range r WHERE r.rngtypid = t.oid),
       (SELECT format_type((to_jsonb(r) ->> 'rngmultitypid')::oid, NULL)
          FROM pg_range r WHERE r.rngtypid = t.oid)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_class tc ON tc.oid = t.typrelid
WHERE {user_ns("n")} AND {not_extension_member("pg_type", "t.oid")}
  AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND tc.relkind = 'c'))
"""

SEQUENCES = f"""
SELECT quote_ident(n.nspname), quote_ident(c.relname), quote_ident(pg_get_userbyid(c.relowner)),
       ds.description, {acl("c.relacl", "s", "c.relowner")},
       format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
       s.seqcache, s.seqcycle, d.refobjid, d.refobjsubid, d.deptype, c.relpersistence = 'u'
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass
     AND ds.objsubid = 0
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
WHERE {user_ns("n")} AND {not_extension_member("pg_class", "c.oid")}
"""

RELATIONS = f"""
SELECT c.oid, c.relkind, quote_ident(n.nspname), quote_ident(c.relname),
       quote_ident(pg_get_userbyid(c.relowner)), ds.description,
       {acl("c.relacl", "r", "c.relowner")}, c.relpersistence, c.reloptions,
       c.relrowsecurity, c.relforcerowsecurity,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
       (SELECT array_agg(i.inhparent ORDER BY i.inhseqno) FROM pg_inherits i
         WHERE i.inhrelid = c.oid),
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
       CASE c.relreplident WHEN 'f' THEN 'FULL' WHEN 'n' THEN 'NOTHING'
            WHEN 'i' THEN 'USING INDEX ' || (SELECT quote_ident(ri.relname) FROM pg_index x
                 JOIN pg_class ri ON ri.oid = x.indexrelid
                 WHERE x.indrelid = c.oid AND x.indisreplident)
            ELSE 'DEFAULT' END,
       CASE WHEN tc.reloptions IS NOT NULL
            THEN (SELECT array_agg('toast.' || o) FROM unnest(tc.reloptions) o) END,
       CASE WHEN c.relhasindex THEN (SELECT quote_ident(ci.relname) FROM pg_index x
            JOIN pg_class ci ON ci.oid = x.indexrelid
            WHERE x.indrelid = c.oid AND x.indisclustered) END,
       CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END,
       c.reltype
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass
     AND ds.objsubid = 0
LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid AND c.reltoastrelid <> 0
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {user_ns("n")}
  AND {not_extension_member("pg_class", "c.oid")}
"""

PG14 = 140000

# Catalog columns newer than PostgreSQL 13 are read only where the server has them:
# attcompression (14) through ``columns()``; collation locales (renamed in 15 and 17) and
# rngmultitypid (14) through to_jsonb. indnullsnotdistinct (15), confdelsetcols (15) and
# prosqlbody (14) are never selected: pg_get_indexdef / pg_get_constraintdef /
# pg_get_functiondef render them on the servers that have them.
_COLUMNS = f"""
SELECT a.attrelid, quote_ident(a.attname), a.attnum, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated, a.attidentity,
       CASE WHEN a.attcollation <> t.typcollation THEN {COLLATION_NAME} END,
       ds.description, a.attislocal, {acl("a.attacl", "r", "c.relowner")},
       a.attstattarget, CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END,
       @COMPRESSION@,
       CASE WHEN array_to_string(a.attoptions, ',') LIKE '%n\\_distinct%' THEN a.attoptions END,
       t.typstorage
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_description ds ON ds.objoid = a.attrelid AND ds.classoid = 'pg_class'::regclass
     AND ds.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
  AND {user_ns("n")}
ORDER BY a.attrelid, a.attnum
"""


def columns(server_version: int) -> str:
    """The columns query for a server: PostgreSQL 13 has no ``attcompression`` (NULL there)."""
    compression = "a.attcompression" if server_version >= PG14 else 'NULL::"char"'
    return _COLUMNS.replace("@COMPRESSION@", compression)


CONSTRAINTS = f"""
SELECT con.conrelid, quote_ident(con.conname), con.contype, pg_get_constraintdef(con.oid),
       ds.description, con.conkey, con.confrelid, con.confkey,
       NOT (con.conislocal AND con.conparentid = 0)
FROM pg_constraint con
LEFT JOIN pg_description ds ON ds.objoid = con.oid AND ds.classoid = 'pg_constraint'::regclass
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND {user_ns("n")}
  -- Inherited ones too (flagged): a partition detached or a child disinherited keeps them
  -- as its own. Not the clones a foreign key to a partitioned table makes on its referencing
  -- table: their parent is on the same table, and they vanish with the reference.
  AND (con.conparentid = 0 OR con.conrelid <> (SELECT p.conrelid FROM pg_constraint p
                                               WHERE p.oid = con.conparentid))
"""

INDEXES = f"""
SELECT i.indrelid, quote_ident(n.nspname), quote_ident(ic.relname),
       pg_get_indexdef(i.indexrelid), ds.description, i.indkey::int2[], ic.relispartition,
       CASE WHEN i.indexprs IS NOT NULL  -- only expression columns take SET STATISTICS
            THEN (SELECT array_agg(ARRAY[a.attnum, a.attstattarget] ORDER BY a.attnum)
                    FROM pg_attribute a
                   WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0) END
FROM pg_index i
LEFT JOIN pg_description ds ON ds.objoid = i.indexrelid AND ds.classoid = 'pg_class'::regclass
     AND ds.objsubid = 0
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND {user_ns("n")}  -- partitions' flagged
  AND {not_extension_member("pg_class", "ic.oid")}
  AND i.indexrelid NOT IN (SELECT x.conindid FROM pg_constraint x
                           WHERE x.contype IN ('p', 'u', 'x') AND x.conrelid <> 0)
"""

FUNCTIONS = f"""
SELECT p.oid, quote_ident(n.nspname), quote_ident(p.proname),
       pg_get_function_identity_arguments(p.oid), pg_get_function_arguments(p.oid),
       CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END, p.prokind = 'p',
       pg_get_functiondef(p.oid),
       quote_ident(p.proname) || '(' || oidvectortypes(p.proargtypes) || ')',
       quote_ident(pg_get_userbyid(p.proowner)), obj_description(p.oid, 'pg_proc'),
       {acl("p.proacl", "f", "p.proowner")}, false
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p', 'w') AND {user_ns("n")}
  AND {not_extension_member("pg_proc", "p.oid")}
  AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass
                  AND i.objid = p.oid AND i.deptype = 'i')  -- range constructors
"""


def _fn(column: str) -> str:
    return f"CASE WHEN {column} <> 0 THEN {column}::regproc::text END"


_MODIFY = "CASE {c} WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END"

# Aggregates, in the same columns as FUNCTIONS; the definition is assembled from pg_aggregate
# (pg_get_functiondef refuses aggregates).
AGGREGATES = f"""
SELECT p.oid, quote_ident(n.nspname), quote_ident(p.proname),
       pg_get_function_identity_arguments(p.oid), pg_get_function_arguments(p.oid),
       pg_get_function_result(p.oid), false,
       'CREATE AGGREGATE ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('
       || pg_get_function_identity_arguments(p.oid) || ') (' || concat_ws(', ',
          'SFUNC = ' || {_fn("a.aggtransfn")}, 'STYPE = ' || format_type(a.aggtranstype, NULL),
          CASE WHEN a.aggtransspace <> 0 THEN 'SSPACE = ' || a.aggtransspace END,
          'FINALFUNC = ' || {_fn("a.aggfinalfn")},
          CASE WHEN a.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
          'FINALFUNC_MODIFY = ' || {_MODIFY.format(c="a.aggfinalmodify")},
          'COMBINEFUNC = ' || {_fn("a.aggcombinefn")},
          'SERIALFUNC = ' || {_fn("a.aggserialfn")},
          'DESERIALFUNC = ' || {_fn("a.aggdeserialfn")},
          'INITCOND = ' || quote_literal(a.agginitval),
          'MSFUNC = ' || {_fn("a.aggmtransfn")}, 'MINVFUNC = ' || {_fn("a.aggminvtransfn")},
          CASE WHEN a.aggmtransfn <> 0
               THEN 'MSTYPE = ' || format_type(a.aggmtranstype, NULL) END,
          CASE WHEN a.aggmtransspace <> 0 THEN 'MSSPACE = ' || a.aggmtransspace END,
          'MFINALFUNC = ' || {_fn("a.aggmfinalfn")},
          CASE WHEN a.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
          CASE WHEN a.aggmtransfn <> 0
               THEN 'MFINALFUNC_MODIFY = ' || {_MODIFY.format(c="a.aggmfinalmodify")} END,
          'MINITCOND = ' || quote_literal(a.aggminitval),
          (SELECT 'SORTOP = OPERATOR(' || quote_ident(opn.nspname) || '.' || o.oprname || ')'
             FROM pg_operator o JOIN pg_namespace opn ON opn.oid = o.oprnamespace
            WHERE o.oid = a.aggsortop),
          'PARALLEL = ' || CASE p.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED'
                                ELSE 'UNSAFE' END,
          CASE WHEN a.aggkind = 'h' THEN 'HYPOTHETICAL' END) || ')',
       quote_ident(p.proname) || '(' || oidvectortypes(p.proargtypes) || ')',
       quote_ident(pg_get_userbyid(p.proowner)), obj_description(p.oid, 'pg_proc'),
       {acl("p.proacl", "f", "p.proowner")}, true
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE a.aggfnoid >= 16384 AND {user_ns("n")} AND {not_extension_member("pg_proc", "p.oid")}
"""

TRIGGERS = """
SELECT t.tgrelid, quote_ident(t.tgname), pg_get_triggerdef(t.oid),
       obj_description(t.oid, 'pg_trigger'), t.tgfoid, t.tgenabled
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {ns}
""".format(ns=user_ns("n"))

_ACL_JSON = (
    "(SELECT coalesce(json_agg(json_build_array(CASE WHEN x.grantee = 0 THEN 'PUBLIC' "
    "ELSE quote_ident(pg_get_userbyid(x.grantee)) END, x.privilege_type, x.is_grantable)), "
    "'[]') FROM aclexplode({acl}) x)"
)

# ALTER DEFAULT PRIVILEGES entries, with what the entry's absence means: the built-in
# default for a database-wide entry, nothing for one IN SCHEMA.
DEFAULT_PRIVILEGES = f"""
SELECT quote_ident(pg_get_userbyid(d.defaclrole)), quote_ident(n.nspname), d.defaclobjtype,
       {_ACL_JSON.format(acl="d.defaclacl")},
       CASE WHEN d.defaclnamespace = 0 THEN {
    _ACL_JSON.format(
        acl=(
            "acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END, "
            "d.defaclrole)"
        )
    )
} ELSE '[]' END
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
"""

EVENT_TRIGGERS = f"""
SELECT quote_ident(et.evtname), et.evtevent, et.evtfoid,
       (SELECT string_agg(quote_literal(t), ', ' ORDER BY i)
          FROM unnest(et.evttags) WITH ORDINALITY AS u(t, i)),
       et.evtenabled, quote_ident(pg_get_userbyid(et.evtowner)),
       obj_description(et.oid, 'pg_event_trigger')
FROM pg_event_trigger et
WHERE {not_extension_member("pg_event_trigger", "et.oid")}
"""

RULES = f"""
SELECT r.ev_class, quote_ident(r.rulename), pg_get_ruledef(r.oid),
       obj_description(r.oid, 'pg_rewrite'), r.ev_enabled
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND {user_ns("n")}
"""

STATISTICS = f"""
SELECT s.stxrelid, quote_ident(n.nspname), quote_ident(s.stxname),
       pg_get_statisticsobjdef(s.oid), obj_description(s.oid, 'pg_statistic_ext')
FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE {user_ns("n")}
"""

POLICIES = """
SELECT p.polrelid, quote_ident(p.polname), p.polpermissive, p.polcmd,
       (SELECT array_agg(CASE WHEN r = 0 THEN 'PUBLIC'
                              ELSE quote_ident(pg_get_userbyid(r)) END ORDER BY 1)
          FROM unnest(p.polroles) r),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
       obj_description(p.oid, 'pg_policy'),
       (SELECT array_agg(ARRAY[d.refobjid::int8, d.refobjsubid::int8]) FROM pg_depend d
         WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid
           AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0)
FROM pg_policy p
"""

# What views, materialized views and functions depend on (for rebuilding dependants).
DEPENDENCIES = """
SELECT coalesce(r.ev_class, d.objid), d.classid = 'pg_proc'::regclass,
       d.refclassid::regclass::text, d.refobjid, d.refobjsubid
FROM pg_depend d
LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
WHERE d.deptype = 'n'
  AND (d.classid = 'pg_rewrite'::regclass OR d.classid = 'pg_proc'::regclass)
  AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass)
  AND d.refobjid >= 16384
"""

# Column defaults, constraints, indexes, policies and triggers that call a user function: a
# function dropped and created again must take them with it.
FUNCTION_USERS = """
SELECT d.refobjid, d.classid::regclass::text,
       coalesce(ad.adrelid, con.conrelid, x.indrelid, pol.polrelid, tg.tgrelid), ad.adnum,
       coalesce(quote_ident(con.conname), quote_ident(pol.polname), quote_ident(tg.tgname),
                quote_ident(icn.nspname) || '.' || quote_ident(ic.relname)),
       coalesce(con.contypid, dt.oid)
FROM pg_depend d
LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
LEFT JOIN pg_constraint con ON d.classid = 'pg_constraint'::regclass AND con.oid = d.objid
LEFT JOIN pg_index x ON d.classid = 'pg_class'::regclass AND x.indexrelid = d.objid
LEFT JOIN pg_class ic ON ic.oid = x.indexrelid
LEFT JOIN pg_namespace icn ON icn.oid = ic.relnamespace
LEFT JOIN pg_policy pol ON d.classid = 'pg_policy'::regclass AND pol.oid = d.objid
LEFT JOIN pg_trigger tg ON d.classid = 'pg_trigger'::regclass AND tg.oid = d.objid
LEFT JOIN pg_type dt ON d.classid = 'pg_type'::regclass AND dt.oid = d.objid  -- a default
WHERE d.refclassid = 'pg_proc'::regclass AND d.deptype = 'n' AND d.refobjid >= 16384
  AND d.classid IN ('pg_attrdef'::regclass, 'pg_constraint'::regclass, 'pg_class'::regclass,
                    'pg_policy'::regclass, 'pg_trigger'::regclass, 'pg_type'::regclass)
"""


def _described(catalog: str, alias: str, where: str, schema: str = "NULL::text") -> str:
    # oid >= 16384 (FirstNormalObjectId): built-in objects are skipped before anything else.
    return (
        f"SELECT pg_describe_object('{catalog}'::regclass, {alias}.oid, 0), {schema} "
        f"FROM {catalog} {alias} WHERE {alias}.oid >= 16384 AND {where} "
        f"AND {not_extension_member(catalog, alias + '.oid')}"
    )


def _in_user_ns(catalog: str, alias: str, column: str) -> str:
    """Objects in a user schema, with that schema's (unquoted) name for --schema filters."""
    return _described(
        catalog,
        alias,
        f"EXISTS (SELECT 1 FROM pg_namespace n WHERE n.oid = {alias}.{column} AND {user_ns('n')})",
        f"(SELECT n.nspname::text FROM pg_namespace n WHERE n.oid = {alias}.{column})",
    )


# Objects diff does not compare, named so the plan can say they differ (one query): each
# row is (description, schema or NULL for database-wide objects such as casts).
NOT_COMPARED = "\nUNION ALL\n".join(
    [
        _in_user_ns("pg_operator", "o", "oprnamespace"),
        _in_user_ns("pg_opclass", "o", "opcnamespace"),
        _in_user_ns("pg_opfamily", "o", "opfnamespace"),
        _in_user_ns("pg_ts_config", "o", "cfgnamespace"),
        _in_user_ns("pg_ts_dict", "o", "dictnamespace"),
        _in_user_ns("pg_ts_parser", "o", "prsnamespace"),
        _in_user_ns("pg_ts_template", "o", "tmplnamespace"),
        _in_user_ns("pg_conversion", "o", "connamespace"),
        _described("pg_cast", "o", "true"),
        _described("pg_transform", "o", "true"),
        _described("pg_foreign_data_wrapper", "o", "true"),
        _described("pg_foreign_server", "o", "true"),
        _described("pg_publication", "o", "true"),
        _described("pg_language", "o", "true"),
        _described("pg_am", "o", "true"),
        _in_user_ns("pg_class", "o", "relnamespace") + " AND o.relkind = 'f'",
    ]
)

# The server's casts (types unqualified only when in pg_catalog: the search path is empty).
CASTS = "SELECT format_type(castsource, NULL), format_type(casttarget, NULL) FROM pg_cast"
