"""Schema compare: introspect two databases, plan the SQL that converges them, apply it.

``introspect`` reads a catalog into a ``SchemaModel``; ``build_plan`` turns two
models into ordered, hazard-labelled statements; ``apply_plan`` runs them.
"""

from __future__ import annotations

from dbenv.diff.model import SchemaModel
from dbenv.diff.plan import DATA_LOSS, LONG_LOCK, NO_HAZARD, TABLE_REWRITE, Plan, Statement

__all__ = [
    "DATA_LOSS",
    "LONG_LOCK",
    "NO_HAZARD",
    "TABLE_REWRITE",
    "Plan",
    "SchemaModel",
    "Statement",
]
