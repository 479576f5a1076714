"""Another database's structure as a script that builds it in a fresh database.

``reset`` with an ``env:OTHER`` schema source uses this: OTHER is introspected and
planned against what a fresh database already holds (its ``public`` schema,
``plpgsql``, and the extensions provisioning creates before the script runs).
Like the ``pg_dump --schema-only --no-owner --no-privileges`` it replaces, it
leaves out owners and privileges (their roles may not exist where the copy is
built) and dbenv's own bookkeeping schema.

It cannot create the kinds of objects diff does not compare (operators, casts,
text search configurations, foreign tables, ...): for a database holding any,
``creation_script`` returns None and the caller falls back to pg_dump.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dbenv.diff.model import SchemaModel, filter_model
from dbenv.diff.plan import Phase, build_plan

if TYPE_CHECKING:
    from dbenv.diff.plan import Plan

BUILT_IN_EXTENSIONS = ("plpgsql",)


@dataclass(frozen=True)
class CreationScript:
    """The SQL that builds a structure, and a digest of it independent of catalog order."""

    sql: str
    digest: str
    statements: int


def creation_plan(model: SchemaModel, *, present: tuple[str, ...] = ()) -> Plan:
    """The plan building ``model`` in a fresh database where ``present`` extensions exist."""
    wanted = filter_model(model)
    plan = build_plan(wanted, fresh_database(wanted, present=present))
    kept = tuple(s for s in plan.statements if s.phase != Phase.GRANTS)
    return replace(plan, statements=kept)


def fresh_database(model: SchemaModel, *, present: tuple[str, ...] = ()) -> SchemaModel:
    """What a just-created database already has of ``model``: public, plpgsql, ``present``."""
    names = {*BUILT_IN_EXTENSIONS, *present}
    return SchemaModel(
        schemas={k: v for k, v in model.schemas.items() if k == "schema:public"},
        extensions={k: v for k, v in model.extensions.items() if v.name in names},
        types={},
        domains={},
        sequences={},
        tables={},
        views={},
        functions={},
        constraints={},
        indexes={},
        triggers={},
        policies={},
        server_version=model.server_version,
    )


def creation_script(model: SchemaModel, *, present: tuple[str, ...] = ()) -> CreationScript | None:
    """The script for ``model``; None when it holds objects only pg_dump can recreate."""
    if filter_model(model).not_compared:
        return None
    plan = creation_plan(model, present=present)
    if not all(s.transactional for s in plan.statements):
        return None  # the script runs in one transaction (never so when built from empty)
    lines = ["SET LOCAL check_function_bodies = false;"]
    lines.extend(f"{s.sql};" for s in plan.statements)
    # Catalog rows come back in storage order, which an unrelated ALTER can change: the
    # digest is over the sorted statements, so it changes only when the structure does.
    digest = hashlib.sha256("\n".join(sorted(s.sql for s in plan.statements)).encode())
    return CreationScript("\n".join(lines) + "\n", digest.hexdigest(), len(plan.statements))
