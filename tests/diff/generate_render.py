"""The SQL of a generated Spec, in dependency order."""

from __future__ import annotations

from generate import KINDS, Column, Domain, Function, Spec, Table, View, kind_type

DOMAIN_CHECKS = {
    "int": "VALUE > -100",
    "text": "length(VALUE) < 300",
    "numeric": "VALUE >= -1",
    "date": "VALUE > '1900-01-01'",
}


def q(key: str) -> str:
    """A schema-qualified key, quoted."""
    return ".".join(f'"{part}"' for part in key.split(".", 1))


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def render(spec: Spec) -> str:
    out: list[str] = [f'CREATE SCHEMA "{s}";' for s in spec.schemas if s != "public"]
    out += [f'CREATE EXTENSION IF NOT EXISTS "{e}";' for e in spec.extensions]
    for key, values in spec.enums.items():
        out.append(f"CREATE TYPE {q(key)} AS ENUM ({', '.join(lit(v) for v in values)});")
    out += [_domain(spec, d) for d in spec.domains.values()]
    for seq in spec.sequences.values():
        out.append(
            f"CREATE SEQUENCE {q(seq.key)} AS {'bigint' if seq.bigint else 'integer'}"
            f" INCREMENT BY {seq.increment} START WITH {seq.start}{' CYCLE' if seq.cycle else ''};"
        )
    out += [_function(fn) for fn in spec.functions.values()]
    for table in _tables_ordered(spec):
        out += _table(spec, table)
    for table in spec.tables.values():
        out += _table_children(table)
    for seq in spec.sequences.values():
        if seq.owned_by:
            out.append(
                f'ALTER SEQUENCE {q(seq.key)} OWNED BY {q(seq.owned_by[0])}."{seq.owned_by[1]}";'
            )
    for view in views_ordered(spec):
        out += _view(view)
    out += _metadata(spec)
    return "\n".join(out) + "\n"


def _domain(spec: Spec, dom: Domain) -> str:
    sql = f"CREATE DOMAIN {q(dom.key)} AS {KINDS[dom.base][0]}"
    sql += f" DEFAULT {dom.default}" if dom.default else ""
    sql += " NOT NULL" if dom.not_null else ""
    sql += f" CONSTRAINT {dom.name}_check CHECK ({DOMAIN_CHECKS[dom.base]})" if dom.check else ""
    return sql + ";"


def _function(fn: Function) -> str:
    if fn.ret is None and not fn.procedure:
        extra = ["", "IF TG_OP = 'UPDATE' THEN NULL; END IF; ", "PERFORM 1; "][fn.body - 1]
        return (
            f"CREATE FUNCTION {q(fn.key)}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {extra}RETURN COALESCE(NEW, OLD); END $$;"
        )
    if fn.procedure:
        return (
            f"CREATE PROCEDURE {q(fn.key)}({fn.arg} integer) LANGUAGE sql "
            f"AS $$ SELECT {fn.arg} + {fn.body} $$;"
        )
    return (
        f"CREATE FUNCTION {q(fn.key)}({fn.arg} integer) RETURNS {fn.ret} LANGUAGE sql "
        f"{fn.volatility} AS $$ SELECT ({fn.arg} + {fn.body})::{fn.ret} $$;"
    )


def _tables_ordered(spec: Spec) -> list[Table]:
    """Parents before the tables that inherit them."""
    done: list[Table] = []
    pending = list(spec.tables.values())
    while pending:
        for table in list(pending):
            if not table.inherits or any(t.key == table.inherits for t in done):
                done.append(table)
                pending.remove(table)
    return done


def column_sql(spec: Spec, col: Column) -> str:
    sql = f'"{col.name}" {kind_type(spec, col.kind)}'
    sql += f" COLLATE {col.collation}" if col.collation else ""
    if col.generated:
        sql += f' GENERATED ALWAYS AS ("{col.generated}" * 2) STORED'
    if col.identity:
        sql += f" GENERATED {col.identity.upper()} AS IDENTITY"
    sql += f" DEFAULT {col.default}" if col.default else ""
    return sql + (" NOT NULL" if col.not_null else "")


def _cols(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _table(spec: Spec, table: Table) -> list[str]:
    lines = [column_sql(spec, c) for c in table.columns]
    if table.pk:
        lines.append(f"CONSTRAINT {table.name}_pkey PRIMARY KEY ({_cols(table.pk)})")
    for uq in table.uniques:
        nnd = " NULLS NOT DISTINCT" if uq.nulls_not_distinct else ""
        lines.append(f"CONSTRAINT {uq.name} UNIQUE{nnd} ({_cols(uq.cols)}){_defer(uq.deferrable)}")
    for ex in table.exclusions:
        keys = ", ".join(f'"{c}" WITH =' for c in ex.cols)
        lines.append(f"CONSTRAINT {ex.name} EXCLUDE USING btree ({keys}){_defer(ex.deferrable)}")
    lines += [f"CONSTRAINT {ck.name} CHECK ({ck.expr})" for ck in table.checks]
    sql = f"CREATE {'UNLOGGED ' if table.unlogged else ''}TABLE {q(table.key)} (\n  "
    sql += ",\n  ".join(lines) + "\n)"
    sql += f" INHERITS ({q(table.inherits)})" if table.inherits else ""
    if table.partition_by:
        sql += f' PARTITION BY {table.partition_by[0]} ("{table.partition_by[1]}")'
    out = [sql + ";"]
    for name, bound in table.partitions:
        bound = "DEFAULT" if bound == "DEFAULT" else f"FOR VALUES {bound}"
        out.append(
            f"CREATE TABLE {q(table.schema + '.' + name)} PARTITION OF {q(table.key)} {bound};"
        )
    return out


def _defer(deferrable: bool) -> str:
    return " DEFERRABLE INITIALLY DEFERRED" if deferrable else ""


def _table_children(table: Table) -> list[str]:
    out, name = [], q(table.key)
    for fk in table.fks:
        out.append(
            f"ALTER TABLE {name} ADD CONSTRAINT {fk.name} FOREIGN KEY ({_cols(fk.cols)}) "
            f"REFERENCES {q(fk.ref)} ({_cols(fk.ref_cols)}) ON DELETE {fk.on_delete}"
            f"{_defer(fk.deferrable)};"
        )
    for ix in table.indexes:
        unique = "UNIQUE " if ix.unique else ""
        sql = f"CREATE {unique}INDEX {ix.name} ON {name} ({', '.join(ix.keys)})"
        sql += f" INCLUDE ({_cols(ix.include)})" if ix.include else ""
        sql += " NULLS NOT DISTINCT" if ix.nulls_not_distinct else ""
        out.append(sql + (f" WHERE {ix.where}" if ix.where else "") + ";")
    for tg in table.triggers:
        when = f" WHEN ({tg.when})" if tg.when else ""
        out.append(
            f"CREATE TRIGGER {tg.name} {tg.timing} {tg.events} ON {name} FOR EACH ROW{when} "
            f"EXECUTE FUNCTION {q(tg.fn)}();"
        )
    if table.rls[0]:
        out.append(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;")
    if table.rls[1]:
        out.append(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY;")
    for pol in table.policies:
        out.append(
            f"CREATE POLICY {pol.name} ON {name} FOR {pol.command} TO {pol.role} "
            f"USING ({pol.expr});"
        )
    return out


def views_ordered(spec: Spec) -> list[View]:
    done: list[View] = []
    pending = list(spec.views.values())
    while pending:
        for view in list(pending):
            if view.source in spec.tables or any(v.key == view.source for v in done):
                done.append(view)
                pending.remove(view)
    return done


def _view(view: View) -> list[str]:
    word = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    sql = f"CREATE {word} {q(view.key)} AS SELECT {_cols(view.cols)} FROM {q(view.source)}"
    out = [sql + (f" WHERE {view.where}" if view.where else "") + ";"]
    if view.index_col:
        out.append(f'CREATE INDEX {view.name}_ix ON {q(view.key)} ("{view.index_col}");')
    return out


def _metadata(spec: Spec) -> list[str]:
    out = [f'GRANT USAGE ON SCHEMA "{spec.schemas[0]}" TO {role};' for role in spec.schema_grants]
    for table in spec.tables.values():
        if table.comment:
            out.append(f"COMMENT ON TABLE {q(table.key)} IS {lit(table.comment)};")
        for col in table.columns:
            if col.comment:
                out.append(f'COMMENT ON COLUMN {q(table.key)}."{col.name}" IS {lit(col.comment)};')
        out += [f"GRANT {privs} ON {q(table.key)} TO {role};" for privs, role in table.grants]
    for view in spec.views.values():
        word = "MATERIALIZED VIEW" if view.materialized else "VIEW"
        if view.comment:
            out.append(f"COMMENT ON {word} {q(view.key)} IS {lit(view.comment)};")
        if view.grant:
            out.append(f"GRANT SELECT ON {q(view.key)} TO {view.grant};")
    for fn in spec.functions.values():
        word, args = ("PROCEDURE" if fn.procedure else "FUNCTION"), _args(fn)
        if fn.comment:
            out.append(f"COMMENT ON {word} {q(fn.key)}({args}) IS {lit(fn.comment)};")
        if fn.grant:
            out.append(f"GRANT EXECUTE ON {word} {q(fn.key)}({args}) TO {fn.grant};")
    for dom in spec.domains.values():
        if dom.comment:
            out.append(f"COMMENT ON DOMAIN {q(dom.key)} IS {lit(dom.comment)};")
    return out


def _args(fn: Function) -> str:
    return "" if fn.ret is None and not fn.procedure else "integer"
