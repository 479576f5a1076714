"""Turn two schema models into the ordered, hazard-labelled statements that converge them.

``build_plan(source, target)`` returns the statements that make *target* look like
*source*. Statements are emitted into phases (drops of dependants first, creates
in dependency order, dependants recreated last); each carries one hazard label.

The vocabulary the per-kind planners (``plan_*``) share — ``Builder``, ``Phase``,
``Statement``, ``Plan`` and the hazard labels — is in ``dbenv.diff.builder``, which
imports none of them; this module only runs them in order.
"""

from __future__ import annotations

from dbenv.diff.builder import (
    DATA_LOSS,
    HAZARDS,
    LONG_LOCK,
    NO_HAZARD,
    TABLE_REWRITE,
    Builder,
    Phase,
    Plan,
    Statement,
)
from dbenv.diff.model import SchemaModel

__all__ = [
    "DATA_LOSS",
    "HAZARDS",
    "LONG_LOCK",
    "NO_HAZARD",
    "TABLE_REWRITE",
    "Builder",
    "Phase",
    "Plan",
    "Statement",
    "build_plan",
]


def build_plan(
    source: SchemaModel,
    target: SchemaModel,
    *,
    owners: bool = False,
    concurrently: bool = False,
) -> Plan:
    """Statements that make ``target`` match ``source`` (``source`` is the desired state)."""
    from dbenv.diff import (
        plan_adopted,
        plan_database,
        plan_functions,
        plan_meta,
        plan_objects,
        plan_recreate,
        plan_relations,
        plan_tables,
        plan_type_drops,
    )

    builder = Builder(source, target, owners=owners, concurrently=concurrently)
    plan_objects.plan_schemas(builder)
    plan_objects.plan_extensions(builder)
    plan_objects.plan_collations(builder)
    orphans = plan_recreate.mark_recreated_tables(builder)
    builder.dropped_early = orphans | {k for k in builder.recreated if k.startswith("table:")}
    plan_objects.plan_types(builder)
    plan_objects.plan_domains(builder)
    plan_type_drops.drop_types(builder)
    plan_objects.plan_sequences(builder)
    plan_functions.plan_functions(builder)
    plan_functions.drop_defaults_over_broken_functions(builder)
    plan_functions.rebuild_domain_checks_over_broken_functions(builder)
    plan_tables.plan_tables(builder)
    plan_adopted.adopt_inherited(builder)
    plan_functions.rebuild_functions_over_broken(builder)
    plan_relations.plan_views(builder)
    plan_relations.plan_constraints(builder)
    plan_relations.plan_indexes(builder)
    plan_relations.plan_statistics(builder)
    plan_relations.plan_triggers(builder)
    plan_relations.plan_rules(builder)
    plan_database.plan_event_triggers(builder)
    plan_database.note_not_compared(builder)
    plan_relations.plan_policies(builder)
    plan_meta.plan_metadata(builder)
    plan_meta.plan_default_privileges(builder)
    return builder.plan()
