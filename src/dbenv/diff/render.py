"""Present a plan: a readable report grouped by object, and a JSON document.

Pure functions returning text or plain data; the CLI decides where they go.
The SQL script itself is ``Plan.sql()``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dbenv.diff.plan import NO_HAZARD, Plan, Statement

_MARKS = {"create": "+", "drop": "-", "alter": "~"}


def _object_of(target: str) -> str:
    """The object a statement belongs to, for grouping: columns and children under tables."""
    kind, _, rest = target.partition(":")
    if kind == "column":
        table, _, _column = rest.rpartition(".")
        return f"table {table}"
    if kind in ("constraint", "trigger", "policy"):
        table, _, _name = rest.partition(":")
        return f"table {table}"
    return f"{kind} {rest}"


def _summary(plan: Plan) -> str:
    counts = plan.hazards()
    risky = ", ".join(f"{n} {h}" for h, n in counts.items() if n and h != NO_HAZARD)
    return f"{len(plan.statements)} statement(s)" + (f"; hazards: {risky}" if risky else "")


def report(plan: Plan, *, source: str, target: str, applied: bool = False) -> str:
    """Human-readable drift report: one block per object, statements marked +/-/~.

    ``applied``: the plan has just been applied (with ``--allow-destructive`` if it
    lost data), so the closing line reports rather than asks.
    """
    if plan.empty:
        lines = [f"No drift: {target} matches {source}."]
        if plan.unplanned:
            lines = [
                f"Drift: {target} differs from {source} only in objects diff does not compare "
                "(no statements)."
            ]
        lines.extend(f"Note: {note}" for note in plan.notes)
        return "\n".join(lines)
    groups: dict[str, list[Statement]] = defaultdict(list)
    for stmt in plan.statements:
        groups[_object_of(stmt.target)].append(stmt)
    lines = [f"Drift: {target} differs from {source} ({_summary(plan)})."]
    for obj in sorted(groups):
        lines.append("")
        lines.append(obj)
        for stmt in groups[obj]:
            first = stmt.sql.splitlines()[0]
            more = " ..." if "\n" in stmt.sql else ""
            flag = "" if stmt.hazard == NO_HAZARD else f"  [{stmt.hazard}]"
            lines.append(f"  {_MARKS.get(stmt.action, '~')} {first}{more}{flag}")
    if plan.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  - {note}" for note in plan.notes)
    if plan.destructive:
        lines.append("")
        lines.append(
            f"{len(plan.destructive)} statement(s) lost data (--allow-destructive)."
            if applied
            else f"{len(plan.destructive)} statement(s) lose data; applying them needs "
            "--allow-destructive."
        )
    return "\n".join(lines)


def as_json(plan: Plan, *, source: str, target: str, applied: int | None = None) -> dict[str, Any]:
    """The plan as plain data for ``--json``."""
    return {
        "source": source,
        "target": target,
        "drift": plan.drift,
        "hazards": plan.hazards(),
        "statements": [
            {
                "sql": s.sql,
                "hazard": s.hazard,
                "action": s.action,
                "object": s.target,
                "transactional": s.transactional,
            }
            for s in plan.statements
        ],
        "notes": list(plan.notes),
        "applied": applied,
    }
