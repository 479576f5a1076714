"""The plan's vocabulary: hazard labels, phases, statements, the plan, and its builder.

Every per-kind planner (``dbenv.diff.plan_*``) adds statements to a ``Builder``
in a ``Phase`` with a hazard label; ``dbenv.diff.plan.build_plan`` runs them in
order. This module imports none of them, so they can all import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from dbenv.diff.model import SchemaModel

DATA_LOSS = "data loss"
TABLE_REWRITE = "table rewrite"
LONG_LOCK = "long lock"
NO_HAZARD = "none"
HAZARDS = (DATA_LOSS, TABLE_REWRITE, LONG_LOCK, NO_HAZARD)


class Phase(IntEnum):
    """Execution order; statements keep their emission order within a phase."""

    DROP_TRIGGERS = 0
    DROP_POLICIES = 1
    DROP_VIEWS = 2
    DROP_FOREIGN_KEYS = 3
    DROP_CONSTRAINTS = 4
    DROP_INDEXES = 5
    DROP_REBUILT = 6
    SCHEMAS = 7
    EXTENSIONS = 8
    TYPES = 9
    DOMAINS = 10
    FUNCTIONS = 11
    LATE_DOMAINS = 12  # domains whose checks call a function
    SEQUENCES = 13
    DETACH = 14  # NO INHERIT, DETACH for good: before parents' changes recurse, new tables
    DROP_ADOPTED = 15  # what a detached table keeps of its parent's, before new children
    TABLES = 16
    COLUMNS = 17
    DROP_TABLES = 18
    DROP_OBJECTS = 19
    DROP_TYPES = 20
    DROP_EXTENSIONS = 21
    DROP_SCHEMAS = 22
    CONSTRAINTS = 23
    INDEXES = 24
    FOREIGN_KEYS = 25  # after unique indexes, which a foreign key may reference
    SEQUENCE_OWNERS = 26
    LATE_FUNCTIONS = 27
    VIEWS = 28
    VIEW_INDEXES = 29
    TRIGGERS = 30
    ROW_SECURITY = 31
    POLICIES = 32
    COMMENTS = 33
    GRANTS = 34
    OWNERS = 35


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a plan, with what it touches and what it risks."""

    sql: str
    hazard: str
    action: str  # create | drop | alter
    target: str  # "table public.orders"
    phase: int
    transactional: bool = True


@dataclass(frozen=True)
class Plan:
    """The ordered statements that bring the target schema to the source's."""

    statements: tuple[Statement, ...]
    notes: tuple[str, ...] = ()
    unplanned: tuple[str, ...] = ()
    """Differences no statement covers (kinds diff does not compare); also in ``notes``."""

    @property
    def empty(self) -> bool:
        return not self.statements

    @property
    def drift(self) -> bool:
        """The schemas differ: there are statements, or differences the plan cannot cover."""
        return bool(self.statements or self.unplanned)

    @property
    def destructive(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.hazard == DATA_LOSS)

    def hazards(self) -> dict[str, int]:
        counts = dict.fromkeys(HAZARDS, 0)
        for stmt in self.statements:
            counts[stmt.hazard] += 1
        return counts

    def sql(self) -> str:
        """The plan as one SQL script, each statement preceded by its hazard."""
        lines = ["SET check_function_bodies = false;"]
        for stmt in self.statements:
            lines.append(f"-- {stmt.action} {stmt.target} [hazard: {stmt.hazard}]")
            lines.append(f"{stmt.sql};")
        return "\n".join(lines) + "\n"


@dataclass
class Builder:
    """Collects statements while the per-kind planners walk both models."""

    source: SchemaModel
    target: SchemaModel
    owners: bool = False
    concurrently: bool = False
    statements: list[Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unplanned: list[str] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    """Keys of target objects this plan drops or changes in place (dependants rebuild)."""
    recreated: set[str] = field(default_factory=set)
    """Keys of objects dropped and created again: their children and metadata are redone."""
    converted_types: set[str] = field(default_factory=set)
    """Qualified names of types recreated under the same name (expressions naming them break)."""
    fresh_defaults: set[str] = field(default_factory=set)
    """column:table.col keys whose default was dropped and must be set from the source."""
    dropped_early: set[str] = field(default_factory=set)
    """Keys of target tables dropped before types change (recreated ones, their orphans)."""
    adopted: set[str] = field(default_factory=set)
    """Keys of inherited constraints and indexes a detach or NO INHERIT makes the table's own
    (now in ``target``; dropped, if the source lacks them, right after the detach)."""

    def add(
        self,
        phase: Phase,
        sql: str,
        *,
        hazard: str = NO_HAZARD,
        action: str = "alter",
        target: str,
        transactional: bool = True,
    ) -> None:
        self.statements.append(Statement(sql, hazard, action, target, int(phase), transactional))

    def plan(self) -> Plan:
        ordered = sorted(self.statements, key=lambda s: s.phase)
        return Plan(tuple(ordered), tuple(self.notes), tuple(self.unplanned))
