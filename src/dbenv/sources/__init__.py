"""Schema sources and their builds.

SQLAlchemy, Alembic, SQL and ``env:`` sources, their fingerprints, scratch
databases and the sides of a diff.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    """``from dbenv.sources import X``, as before the regroup, finds X in ``schema``."""
    module = importlib.import_module("dbenv.sources.schema")
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module 'dbenv.sources' has no attribute {name!r}") from None
