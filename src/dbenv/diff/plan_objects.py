"""Plan the free-standing objects: schemas, extensions, collations, types, domains, sequences.

Enum values are added in place when the target's labels keep their order inside
the source's; otherwise the type is recreated (rename, create, convert the
columns through text, drop the old one), which is also how a domain's base type
changes. Functions are planned in ``dbenv.diff.plan_functions``.
"""

from __future__ import annotations

import re

from dbenv.diff.builder import DATA_LOSS, LONG_LOCK, NO_HAZARD, TABLE_REWRITE, Builder, Phase
from dbenv.diff.model import Collation, CompositeType, Domain, Enum, RangeType, Sequence


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def requote(name: str, suffix: str) -> str:
    """``name`` (maybe quoted) with ``suffix`` appended, quoted."""
    raw = name[1:-1].replace('""', '"') if name.startswith('"') else name
    return '"' + (raw + suffix).replace('"', '""') + '"'


def plan_schemas(b: Builder) -> None:
    for key, schema in b.source.schemas.items():
        if key not in b.target.schemas:
            b.add(Phase.SCHEMAS, f"CREATE SCHEMA {schema.name}", action="create", target=key)
    for key, schema in b.target.schemas.items():
        if key not in b.source.schemas:
            b.add(Phase.DROP_SCHEMAS, f"DROP SCHEMA {schema.name}", action="drop", target=key)


def plan_extensions(b: Builder) -> None:
    for key, ext in b.source.extensions.items():
        old = b.target.extensions.get(key)
        if old is None:
            sql = (
                f"CREATE EXTENSION IF NOT EXISTS {ext.name} WITH SCHEMA {ext.schema} "
                f"VERSION {literal(ext.version)}"
            )
            b.add(Phase.EXTENSIONS, sql, action="create", target=key)
            continue
        if old.schema != ext.schema:
            sql = f"ALTER EXTENSION {ext.name} SET SCHEMA {ext.schema}"
            b.add(Phase.EXTENSIONS, sql, target=key)
        if (
            old.version != ext.version
            and old.reachable is not None
            and (ext.version not in old.reachable)
        ):
            # Dropping it would take every column of its types along: say so instead.
            note = (
                f"extension {ext.name} is at version {old.version} in the target and "
                f"{ext.version} in the source, and there is no update path between them; "
                "drop and create it by hand"
            )
            b.notes.append(note)
            b.unplanned.append(note)
        elif old.version != ext.version:
            sql = f"ALTER EXTENSION {ext.name} UPDATE TO {literal(ext.version)}"
            b.add(Phase.EXTENSIONS, sql, target=key)
    for key, ext in b.target.extensions.items():
        if key not in b.source.extensions:
            sql = f"DROP EXTENSION {ext.name}"
            b.add(Phase.DROP_EXTENSIONS, sql, hazard=DATA_LOSS, action="drop", target=key)


def _collation_sql(coll: Collation) -> str:
    options = [f"provider = {coll.provider}"]
    if coll.provider == "libc":
        options += [
            f"lc_collate = {literal(coll.lc_collate or '')}",
            f"lc_ctype = {literal(coll.lc_ctype or '')}",
        ]
    else:
        options.append(f"locale = {literal(coll.locale or '')}")
    if not coll.deterministic:
        options.append("deterministic = false")
    return f"CREATE COLLATION {coll.qualified} ({', '.join(options)})"


def plan_collations(b: Builder) -> None:
    """Collations are created and dropped; one changed in place is dropped and created."""
    for key, new in b.source.collations.items():
        old = b.target.collations.get(key)
        if old is not None and _collation_sql(old) == _collation_sql(new):
            continue
        if old is not None:
            b.add(Phase.DROP_REBUILT, f"DROP COLLATION {old.qualified}", action="drop", target=key)
            b.recreated.add(key)
        b.add(Phase.EXTENSIONS, _collation_sql(new), action="create", target=key)
    for key, old in b.target.collations.items():
        if key not in b.source.collations:
            b.add(Phase.DROP_TYPES, f"DROP COLLATION {old.qualified}", action="drop", target=key)


def _enum_sql(enum: Enum) -> str:
    labels = ", ".join(literal(label) for label in enum.labels)
    return f"CREATE TYPE {enum.qualified} AS ENUM ({labels})"


def _composite_sql(comp: CompositeType) -> str:
    attrs = ", ".join(f"{name} {dtype}" for name, dtype in comp.attributes)
    return f"CREATE TYPE {comp.qualified} AS ({attrs})"


def _type_sql(new: Enum | CompositeType | RangeType) -> str:
    if isinstance(new, Enum):
        return _enum_sql(new)
    if isinstance(new, RangeType):
        return f"CREATE TYPE {new.qualified} AS RANGE ({new.options})"
    return _composite_sql(new)


def plan_types(b: Builder) -> None:
    for key, new in b.source.types.items():
        old = b.target.types.get(key)
        create = _type_sql(new)
        if old is None:
            if isinstance(new, CompositeType) and domains_used(b, new):
                continue  # created with the domains, after them (plan_domains)
            # A range's subtype may be another new type: create ranges after them.
            phase = Phase.DOMAINS if isinstance(new, RangeType) else Phase.TYPES
            b.add(phase, create, action="create", target=key)
        elif isinstance(new, RangeType) and isinstance(old, RangeType):
            if new.options != old.options:
                _recreate_through_text(b, new, old)
        elif isinstance(new, Enum) and isinstance(old, Enum):
            _plan_enum(b, new, old)
        elif isinstance(new, CompositeType) and isinstance(old, CompositeType):
            _plan_composite(b, new, old)
        else:
            recreate_type(b, key, "TYPE", create, hazard=DATA_LOSS)
    for key in b.target.types.keys() - b.source.types.keys():
        b.broken.add(key)  # dropped by drop_types, in dependency order


def _plan_enum(b: Builder, new: Enum, old: Enum) -> None:
    if new.labels == old.labels:
        return
    kept = [label for label in new.labels if label in old.labels]
    if kept == list(old.labels):
        for i, label in enumerate(new.labels):
            if label in old.labels:
                continue
            where = f"AFTER {literal(new.labels[i - 1])}" if i else f"BEFORE {literal(kept[0])}"
            sql = f"ALTER TYPE {new.qualified} ADD VALUE {literal(label)} {where}"
            b.add(Phase.TYPES, sql, target=new.key, transactional=False)
        return
    lost = set(old.labels) - set(new.labels)
    hazard = DATA_LOSS if lost else TABLE_REWRITE
    recreate_type(b, new.key, "TYPE", _enum_sql(new), hazard=hazard)


def _plan_composite(b: Builder, new: CompositeType, old: CompositeType) -> None:
    # ALTER ATTRIBUTE ... TYPE is refused while a column uses the type: drop and add instead.
    before = dict(old.attributes)
    kept = composite_kept(new, old)
    typed = any(t.of_type == new.qualified for t in b.target.tables.values())
    cascade = " CASCADE" if typed else ""  # typed tables follow their type
    for name in before:
        if name not in kept:
            sql = f"ALTER TYPE {new.qualified} DROP ATTRIBUTE {name}{cascade}"
            b.add(Phase.TYPES, sql, hazard=DATA_LOSS, target=new.key)
    for name, dtype in new.attributes:
        if name not in kept:
            sql = f"ALTER TYPE {new.qualified} ADD ATTRIBUTE {name} {dtype}{cascade}"
            b.add(Phase.TYPES, sql, target=new.key)
    result = kept + [n for n, _ in new.attributes if n not in kept]
    if result != [n for n, _ in new.attributes]:
        b.notes.append(f"attribute order of type {new.qualified} differs; no ALTER can change it")


def composite_kept(new: CompositeType, old: CompositeType) -> list[str]:
    """Attributes of ``old`` that stay as they are; the others are dropped and added."""
    after = dict(new.attributes)
    return [n for n, t in old.attributes if after.get(n) == t]


def recreate_type(b: Builder, key: str, word: str, create: str, *, hazard: str) -> None:
    """Rename the target's type away, create the source's, convert columns, drop the old."""
    obj = b.source.types.get(key) or b.source.domains.get(key)
    assert obj is not None
    old_name = f"{obj.schema}.{requote(obj.name, '__dbenv_old')}"
    phase = Phase.DOMAINS if word == "DOMAIN" else Phase.TYPES
    b.add(
        phase,
        f"ALTER {word} {obj.qualified} RENAME TO {requote(obj.name, '__dbenv_old')}",
        target=key,
    )
    b.add(phase, create, action="create", target=key)
    b.broken.add(key)
    b.recreated.add(key)
    _drop_functions_using(b, key)
    b.converted_types.add(obj.qualified)
    keyed = _recreate_tables_keyed_on(b, obj.qualified)
    for table in b.target.tables.values():
        if table.partition_of or table.key in keyed or table.key in b.dropped_early:
            continue
        for col in table.columns:
            array = col.data_type == obj.qualified + "[]"
            if not col.local or (col.data_type != obj.qualified and not array):
                continue
            col_key = f"column:{table.qualified}.{col.name}"
            if col.default is not None:
                sql = f"ALTER TABLE {table.qualified} ALTER COLUMN {col.name} DROP DEFAULT"
                b.add(phase, sql, target=col_key)
                b.fresh_defaults.add(col_key)
            via = "text[]" if array else "text"
            sql = (
                f"ALTER TABLE {table.qualified} ALTER COLUMN {col.name} TYPE {col.data_type} "
                f"USING {col.name}::{via}::{col.data_type}"
            )
            b.add(phase, sql, hazard=hazard, target=col_key)
            b.broken.add(col_key)
    b.add(phase, f"DROP {word} {old_name}", action="drop", target=key)


def _recreate_tables_keyed_on(b: Builder, qualified: str) -> set[str]:
    """Partitioned tables whose partition key uses a column of the type ``qualified``.

    PostgreSQL refuses to retype a partition key column, so the table (and its
    partitions) is dropped and created again instead: data loss, noted in the plan.
    """
    keyed = set()
    for key, table in b.target.tables.items():
        if not table.partitioned_by or key not in b.source.tables:
            continue
        for col in table.columns:
            if col.data_type not in (qualified, qualified + "[]"):
                continue
            if re.search(rf"(?<![\w\"]){re.escape(col.name)}(?![\w\"])", table.partitioned_by):
                keyed.add(key)
                b.recreated.add(key)
                b.notes.append(
                    f"table {table.qualified} is dropped and created again (its rows are lost): "
                    f"its partition key uses {qualified}, which is recreated"
                )
                break
    return keyed


def _columns_of_type(b: Builder, qualified: str) -> list[tuple[str, str, str | None, str]]:
    """(table, column, default, type) of the target's declared columns of ``qualified``."""
    found = []
    for table in b.target.tables.values():
        if table.partition_of or table.key in b.dropped_early:
            continue
        for col in table.columns:
            if col.local and col.data_type in (qualified, qualified + "[]"):
                found.append((table.qualified, col.name, col.default, col.data_type))
    return found


def _recreate_through_text(b: Builder, new: RangeType, old: RangeType) -> None:
    """Columns go to text, the type is dropped and created again, columns come back.

    Renaming (as for enums) does not work for ranges: their constructor functions and
    multirange keep the old names.
    """
    key, phase = new.key, Phase.TYPES
    _drop_functions_using(b, key)
    b.broken.add(key)
    b.recreated.add(key)
    b.converted_types.add(new.qualified)
    columns = _columns_of_type(b, old.qualified)
    for table, column, default, dtype in columns:
        via = "text[]" if dtype.endswith("[]") else "text"
        col_key = f"column:{table}.{column}"
        b.broken.add(col_key)
        if default is not None:
            b.add(phase, f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT", target=col_key)
            b.fresh_defaults.add(col_key)
        sql = f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {via} USING {column}::{via}"
        b.add(phase, sql, hazard=TABLE_REWRITE, target=col_key)
    b.add(phase, f"DROP TYPE {old.qualified}", action="drop", target=key)
    b.add(phase, _type_sql(new), action="create", target=key)
    for table, column, _, dtype in columns:
        sql = f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {dtype} USING {column}::{dtype}"
        b.add(phase, sql, hazard=TABLE_REWRITE, target=f"column:{table}.{column}")


def _drop_functions_using(b: Builder, type_key: str) -> None:
    """Functions whose signature or body names a recreated type go before it and come back."""
    for key, fn in b.target.functions.items():
        if type_key in fn.depends_on and key not in b.recreated:
            b.add(Phase.DROP_REBUILT, f"DROP {fn.sql_target}", action="drop", target=key)
            b.broken.add(key)
            b.recreated.add(key)


def _domain_sql(dom: Domain) -> str:
    sql = f"CREATE DOMAIN {dom.qualified} AS {dom.base_type}"
    if dom.collation:
        sql += f" COLLATE {dom.collation}"
    if dom.default is not None:
        sql += f" DEFAULT {dom.default}"
    if dom.not_null:
        sql += " NOT NULL"
    for con in dom.constraints:
        if not _not_valid(con.definition):
            sql += f" CONSTRAINT {con.name} {con.definition}"
    return sql


def _not_valid(definition: str) -> bool:
    return definition.endswith(" NOT VALID")


def _add_not_valid_checks(b: Builder, dom: Domain, phase: Phase) -> None:
    """CREATE DOMAIN takes no NOT VALID constraint: they are added right after it."""
    for con in dom.constraints:
        if _not_valid(con.definition):
            sql = f"ALTER DOMAIN {dom.qualified} ADD CONSTRAINT {con.name} {con.definition}"
            b.add(phase, sql, target=dom.key)


def _domain_phase(b: Builder, dom: Domain) -> Phase:
    """After functions when a check or the default calls one of the source's functions."""
    called = {f"{fn.schema}.{fn.name}(" for fn in b.source.functions.values()}
    checks = " ".join(c.definition for c in dom.constraints) + (dom.default or "")
    return Phase.LATE_DOMAINS if any(name in checks for name in called) else Phase.DOMAINS


def plan_domains(b: Builder) -> None:
    for key, new in b.source.domains.items():
        old = b.target.domains.get(key)
        if old is None:
            b.add(_domain_phase(b, new), _domain_sql(new), action="create", target=key)
            _add_not_valid_checks(b, new, _domain_phase(b, new))
        elif (old.base_type, old.collation) != (new.base_type, new.collation):
            recreate_type(b, key, "DOMAIN", _domain_sql(new), hazard=TABLE_REWRITE)
            _add_not_valid_checks(b, new, Phase.DOMAINS)
        else:
            _alter_domain(b, new, old)
    for key in b.target.domains.keys() - b.source.domains.keys():
        b.broken.add(key)  # dropped by drop_types, in dependency order
    for key, comp in b.source.types.items():
        if key not in b.target.types and isinstance(comp, CompositeType):
            used = domains_used(b, comp)
            if used:
                phase = max(_domain_phase(b, d) for d in used)
                b.add(phase, _composite_sql(comp), action="create", target=key)


def domains_used(b: Builder, comp: CompositeType) -> list[Domain]:
    """The source's domains that ``comp``'s attributes are of (arrays included)."""
    out = []
    for _, dtype in comp.attributes:
        dom = b.source.domains.get(f"domain:{dtype.split(' COLLATE ')[0].removesuffix('[]')}")
        if dom is not None:
            out.append(dom)
    return out


def _alter_domain(b: Builder, new: Domain, old: Domain) -> None:
    name = new.qualified
    if old.default != new.default:
        change = "DROP DEFAULT" if new.default is None else f"SET DEFAULT {new.default}"
        b.add(Phase.DOMAINS, f"ALTER DOMAIN {name} {change}", target=new.key)
    if old.not_null != new.not_null:
        change = "SET NOT NULL" if new.not_null else "DROP NOT NULL"
        hazard = LONG_LOCK if new.not_null else "none"
        b.add(Phase.DOMAINS, f"ALTER DOMAIN {name} {change}", hazard=hazard, target=new.key)
    before = {c.name: c.definition for c in old.constraints}
    after = {c.name: c.definition for c in new.constraints}
    for cname, definition in before.items():
        if after.get(cname) != definition:
            b.add(Phase.DOMAINS, f"ALTER DOMAIN {name} DROP CONSTRAINT {cname}", target=new.key)
    # PostgreSQL cannot check a new domain constraint against array columns of the domain:
    # when the target has such columns, add it after the columns have changed.
    phase = Phase.CONSTRAINTS if _in_target_arrays(b, new.qualified) else Phase.DOMAINS
    for cname, definition in after.items():
        if before.get(cname) != definition:
            hazard = "none" if "NOT VALID" in definition else LONG_LOCK
            sql = f"ALTER DOMAIN {name} ADD CONSTRAINT {cname} {definition}"
            b.add(phase, sql, hazard=hazard, target=new.key)


def _in_target_arrays(b: Builder, domain: str) -> bool:
    """Whether a target table has an array column of ``domain`` or of a domain over it."""
    names, grown = {domain}, True
    while grown:
        grown = False
        for dom in b.target.domains.values():
            if dom.base_type in names and dom.qualified not in names:
                names.add(dom.qualified)
                grown = True
    arrays = {f"{n}[]" for n in names}
    return any(c.data_type in arrays for t in b.target.tables.values() for c in t.columns)


def _sequence_options(seq: Sequence) -> str:
    cycle = "CYCLE" if seq.cycle else "NO CYCLE"
    return (
        f"AS {seq.data_type} INCREMENT BY {seq.increment} MINVALUE {seq.minvalue} "
        f"MAXVALUE {seq.maxvalue} START WITH {seq.start} CACHE {seq.cache} {cycle}"
    )


def plan_sequences(b: Builder) -> None:
    for key, new in b.source.sequences.items():
        old = b.target.sequences.get(key)
        if old is None:
            unlogged = "UNLOGGED " if new.unlogged else ""
            sql = f"CREATE {unlogged}SEQUENCE {new.qualified} {_sequence_options(new)}"
            b.add(Phase.SEQUENCES, sql, action="create", target=key)
        else:
            if _sequence_options(old) != _sequence_options(new):
                _alter_sequence(b, new, old)
            if old.unlogged != new.unlogged:
                sql = (
                    f"ALTER SEQUENCE {new.qualified} SET {'UNLOGGED' if new.unlogged else 'LOGGED'}"
                )
                b.add(Phase.SEQUENCES, sql, target=key)
            if old.owned_by and old.owned_by != new.owned_by:
                # Detach first so dropping the old owning column cannot drop the sequence.
                sql = f"ALTER SEQUENCE {new.qualified} OWNED BY NONE"
                b.add(Phase.DROP_REBUILT, sql, target=key)
        if new.owned_by and (old is None or old.owned_by != new.owned_by):
            sql = f"ALTER SEQUENCE {new.qualified} OWNED BY {new.owned_by}"
            b.add(Phase.SEQUENCE_OWNERS, sql, target=key)
    identities = {
        col.identity.sequence
        for table in b.source.tables.values()
        for col in table.columns
        if col.identity is not None
    }
    for key, old in b.target.sequences.items():
        if key not in b.source.sequences and old.qualified not in identities:
            sql = f"DROP SEQUENCE IF EXISTS {old.qualified}"
            b.add(Phase.DROP_OBJECTS, sql, hazard=DATA_LOSS, action="drop", target=key)


def _alter_sequence(b: Builder, new: Sequence, old: Sequence) -> None:
    sql = f"ALTER SEQUENCE {new.qualified} {_sequence_options(new)}"
    hazard = NO_HAZARD
    if new.minvalue > old.minvalue or new.maxvalue < old.maxvalue:
        # The current value may fall outside narrowed bounds; restarting can repeat values.
        sql += " RESTART"
        hazard = DATA_LOSS
    b.add(Phase.SEQUENCES, sql, hazard=hazard, target=new.key)
