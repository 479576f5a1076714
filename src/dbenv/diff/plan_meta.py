"""Plan what every object carries besides its shape: row security, comments, grants, owners.

An object this plan creates (or drops and creates again) starts with no comment,
the default ACL for its kind and the applying role as owner, so for those the
source's values are compared against that starting point, not the target's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from dbenv.diff.builder import Builder, Phase
from dbenv.diff.model import (
    DbObject,
    DefaultPrivileges,
    Domain,
    Function,
    Grant,
    Sequence,
    Table,
    View,
)
from dbenv.diff.plan_objects import literal

_PUBLIC_DEFAULTS = {
    "function": frozenset({("PUBLIC", "EXECUTE", False)}),
    "procedure": frozenset({("PUBLIC", "EXECUTE", False)}),
    "aggregate": frozenset({("PUBLIC", "EXECUTE", False)}),
    "type": frozenset({("PUBLIC", "USAGE", False)}),
    "domain": frozenset({("PUBLIC", "USAGE", False)}),
}


def _objects(model_groups: Iterable[Mapping[str, DbObject]]) -> Iterator[DbObject]:
    for group in model_groups:
        yield from group.values()


def _groups(b: Builder, *, source: bool) -> list[Mapping[str, DbObject]]:
    m = b.source if source else b.target
    return [
        m.schemas,
        m.extensions,
        m.types,
        m.domains,
        m.sequences,
        m.tables,
        m.views,
        m.functions,
        m.constraints,
        m.indexes,
        m.triggers,
        m.policies,
        m.collations,
        m.statistics,
        m.rules,
        m.event_triggers,
    ]


def plan_metadata(b: Builder) -> None:
    fresh = b.recreated | {s.target for s in b.statements if s.action == "create"}
    targets: dict[str, DbObject] = {}
    for group in _groups(b, source=False):
        targets.update(group)
    for obj in _objects(_groups(b, source=True)):
        old = None if obj.key in fresh else targets.get(obj.key)
        _plan_comment(b, obj.sql_target, obj.key, obj.comment, old.comment if old else None)
        _plan_sub_comments(b, obj, old, fresh)
        if isinstance(obj, Table):
            _plan_row_security(b, obj, old if isinstance(old, Table) else None)
        if obj.key.startswith(
            ("schema:", "type:", "domain:", "sequence:", "table:", "view:", "function:")
        ):
            default = _PUBLIC_DEFAULTS.get(obj.kind, frozenset())
            _plan_grants(b, obj, old.acl if old else default)
        owned = obj.key.startswith(("schema:", "type:", "domain:", "sequence:", "table:"))
        owned = owned or obj.key.startswith(("view:", "function:", "collation:", "event trigger:"))
        if isinstance(obj, Sequence) and obj.owned_by:
            owned = False  # a sequence owned by a column follows its table's owner
        if b.owners and owned and obj.owner and (old is None or old.owner != obj.owner):
            sql = f"ALTER {obj.sql_target} OWNER TO {obj.owner}"
            b.add(Phase.OWNERS, sql, target=obj.key)


def _plan_comment(b: Builder, target: str, key: str, new: str | None, old: str | None) -> None:
    if new != old:
        text = "NULL" if new is None else literal(new)
        b.add(Phase.COMMENTS, f"COMMENT ON {target} IS {text}", target=key)


def _plan_sub_comments(b: Builder, obj: DbObject, old: DbObject | None, fresh: set[str]) -> None:
    if isinstance(obj, Table):
        before = {c.name: c.comment for c in old.columns} if isinstance(old, Table) else {}
        granted = {c.name: c.acl for c in old.columns} if isinstance(old, Table) else {}
        for col in obj.columns:
            key = f"column:{obj.qualified}.{col.name}"
            prior = None if key in fresh else before.get(col.name)
            _plan_comment(b, f"COLUMN {obj.qualified}.{col.name}", key, col.comment, prior)
            had = frozenset() if key in fresh else granted.get(col.name, frozenset())
            _plan_column_grants(b, obj.qualified, col.name, col.acl, had)
    elif isinstance(obj, View):
        before = dict(old.column_comments) if isinstance(old, View) else {}
        after = dict(obj.column_comments)
        for name in obj.columns:
            target = f"COLUMN {obj.qualified}.{name}"
            _plan_comment(b, target, obj.key, after.get(name), before.get(name))
    elif isinstance(obj, Domain):
        known = {c.name: c for c in old.constraints} if isinstance(old, Domain) else {}
        for con in obj.constraints:
            match = known.get(con.name)
            was = match.comment if match and match.definition == con.definition else None
            target = f"CONSTRAINT {con.name} ON DOMAIN {obj.qualified}"
            _plan_comment(b, target, obj.key, con.comment, was)


def _plan_column_grants(
    b: Builder, table: str, column: str, new: frozenset[Grant], old: frozenset[Grant]
) -> None:
    key = f"column:{table}.{column}"
    for grantee, privilege, _ in sorted(old - new):
        sql = f"REVOKE {privilege} ({column}) ON TABLE {table} FROM {grantee}"
        b.add(Phase.GRANTS, sql, target=key)
    for grantee, privilege, grantable in sorted(new - old):
        option = " WITH GRANT OPTION" if grantable else ""
        sql = f"GRANT {privilege} ({column}) ON TABLE {table} TO {grantee}{option}"
        b.add(Phase.GRANTS, sql, target=key)


def _plan_row_security(b: Builder, new: Table, old: Table | None) -> None:
    replica = old.replica_identity if old else "DEFAULT"
    if replica.startswith("USING INDEX ") and _index_recreated(b, new, replica[12:]):
        replica = "DEFAULT"  # the recreated index no longer carries the mark
    if new.replica_identity != replica:
        sql = f"ALTER TABLE {new.qualified} REPLICA IDENTITY {new.replica_identity}"
        b.add(Phase.ROW_SECURITY, sql, target=new.key)
    _plan_cluster(b, new, old)
    was_enabled, was_forced = (old.rls_enabled, old.rls_forced) if old else (False, False)
    if new.rls_enabled != was_enabled:
        word = "ENABLE" if new.rls_enabled else "DISABLE"
        b.add(
            Phase.ROW_SECURITY,
            f"ALTER TABLE {new.qualified} {word} ROW LEVEL SECURITY",
            target=new.key,
        )
    if new.rls_forced != was_forced:
        word = "FORCE" if new.rls_forced else "NO FORCE"
        b.add(
            Phase.ROW_SECURITY,
            f"ALTER TABLE {new.qualified} {word} ROW LEVEL SECURITY",
            target=new.key,
        )


def _index_recreated(b: Builder, table: Table, index: str) -> bool:
    """Whether the plan drops and creates ``index`` (or the constraint owning it)."""
    keys = (f"index:{table.schema}.{index}", f"constraint:{table.qualified}:{index}")
    return any(key in b.recreated for key in keys)


def _plan_cluster(b: Builder, new: Table, old: Table | None) -> None:
    """The CLUSTER mark lives on an index: one the plan recreated has lost it."""
    was = old.clustered_on if old else None
    if was is not None and _index_recreated(b, new, was):
        was = None
    if new.clustered_on == was:
        return
    if new.clustered_on is None:
        sql = f"ALTER TABLE {new.qualified} SET WITHOUT CLUSTER"
    else:
        sql = f"ALTER TABLE {new.qualified} CLUSTER ON {new.clustered_on}"
    b.add(Phase.ROW_SECURITY, sql, target=new.key)


def _grant_target(obj: DbObject) -> str:
    if isinstance(obj, Table | View):
        return f"TABLE {obj.qualified}"
    if isinstance(obj, Function):
        # GRANT has no AGGREGATE: an aggregate is granted as a function.
        return (
            f"FUNCTION {obj.qualified}({obj.identity_args})"
            if obj.is_aggregate
            else (obj.sql_target)
        )
    return f"{obj.sql_kind} {obj.qualified}"


def _plan_grants(b: Builder, obj: DbObject, old: frozenset[Grant]) -> None:
    target = _grant_target(obj)
    for grantee, privilege, _ in sorted(old - obj.acl):
        sql = f"REVOKE {privilege} ON {target} FROM {grantee}"
        b.add(Phase.GRANTS, sql, target=obj.key)
    for grantee, privilege, grantable in sorted(obj.acl - old):
        option = " WITH GRANT OPTION" if grantable else ""
        sql = f"GRANT {privilege} ON {target} TO {grantee}{option}"
        b.add(Phase.GRANTS, sql, target=obj.key)


_DEFAULT_OBJECTS = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}


def plan_default_privileges(b: Builder) -> None:
    """ALTER DEFAULT PRIVILEGES: the target's go back to the defaults before anything is
    created (the plan's new objects would pick them up), the source's are set at the end."""
    source, target = b.source.default_privileges, b.target.default_privileges
    differ = any(
        (source[k].acl if k in source else t.baseline) != t.acl for k, t in target.items()
    ) or any(k not in target and s.acl != s.baseline for k, s in source.items())
    creates = any(s.action == "create" for s in b.statements)
    if not differ and not (creates and any(t.acl != t.baseline for t in target.values())):
        return
    for obj in target.values():
        _alter_default(b, Phase.DROP_TRIGGERS, obj, obj.acl, obj.baseline)
    for obj in source.values():
        _alter_default(b, Phase.GRANTS, obj, obj.baseline, obj.acl)


def _alter_default(
    b: Builder, phase: Phase, obj: DefaultPrivileges, old: frozenset[Grant], new: frozenset[Grant]
) -> None:
    prefix = f"ALTER DEFAULT PRIVILEGES FOR ROLE {obj.name}"
    if obj.schema:
        prefix += f" IN SCHEMA {obj.schema}"
    objects = _DEFAULT_OBJECTS.get(obj.objtype, "TABLES")
    for grantee, privilege, _ in sorted(old - new):
        b.add(phase, f"{prefix} REVOKE {privilege} ON {objects} FROM {grantee}", target=obj.key)
    for grantee, privilege, grantable in sorted(new - old):
        option = " WITH GRANT OPTION" if grantable else ""
        sql = f"{prefix} GRANT {privilege} ON {objects} TO {grantee}{option}"
        b.add(phase, sql, target=obj.key)
