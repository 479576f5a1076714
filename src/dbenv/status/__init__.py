"""Where every environment points and what is there, read-only."""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    """``from dbenv.status import X``, as before the regroup, finds X in ``report``."""
    module = importlib.import_module("dbenv.status.report")
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module 'dbenv.status' has no attribute {name!r}") from None
