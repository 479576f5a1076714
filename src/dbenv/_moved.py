"""Old module names, kept importable after the regroup into domain packages.

Until 0.2 the operations sat side by side at the top of the package
(``dbenv.guard``, ``dbenv.reset``, ``dbenv.sqlalchemy``, ...). They now live in
domain packages (``dbenv.safety.guard``, ``dbenv.lifecycle.reset``,
``dbenv.integrations.sqlalchemy``, ...); docs/architecture.md draws the tree. An
import of an old name gets the very module object of its new home, so code written
against the old names (and monkeypatches of them) keeps working. ``dbenv.status`` and
``dbenv.sources`` became packages of the same name: they hand out the old modules' names
themselves (their ``__getattr__``).
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

MOVED: dict[str, str] = {
    "dbenv.backends.local": "dbenv.stack.local",
    "dbenv.backends.local_host": "dbenv.stack.host",
    "dbenv.backends.local_pg": "dbenv.stack.pg_cluster",
    "dbenv.backends.local_redis": "dbenv.stack.redis_server",
    "dbenv.backends.local_state": "dbenv.stack.state",
    "dbenv.baseline": "dbenv.doctor.baseline",
    "dbenv.check": "dbenv.doctor.check",
    "dbenv.check_files": "dbenv.doctor.files",
    "dbenv.check_stamps": "dbenv.doctor.stamps",
    "dbenv.children": "dbenv.backends.children",
    "dbenv.compose": "dbenv.stack.compose",
    "dbenv.datareset": "dbenv.lifecycle.datareset",
    "dbenv.diff.creation": "dbenv.sources.creation",
    "dbenv.diff.scratch": "dbenv.sources.scratch",
    "dbenv.diff.sources": "dbenv.sources.sides",
    "dbenv.flush": "dbenv.lifecycle.flush",
    "dbenv.guard": "dbenv.safety.guard",
    "dbenv.guard_checks": "dbenv.safety.checks",
    "dbenv.guard_override": "dbenv.safety.override",
    "dbenv.identity": "dbenv.safety.identity",
    "dbenv.journal": "dbenv.safety.journal",
    "dbenv.lockwait": "dbenv.safety.lockwait",
    "dbenv.migrate_child": "dbenv.sources.migrate_child",
    "dbenv.migrations": "dbenv.sources.migrations",
    "dbenv.provision": "dbenv.lifecycle.provision",
    "dbenv.provision_shared": "dbenv.lifecycle.provision_shared",
    "dbenv.reset": "dbenv.lifecycle.reset",
    "dbenv.scan": "dbenv.doctor.scan",
    "dbenv.scan_history": "dbenv.doctor.scan_history",
    "dbenv.scan_rules": "dbenv.doctor.scan_rules",
    "dbenv.seed": "dbenv.lifecycle.seed",
    "dbenv.seed_files": "dbenv.lifecycle.seed_files",
    "dbenv.snapshot": "dbenv.safety.snapshot",
    "dbenv.sqlalchemy": "dbenv.integrations.sqlalchemy",
    "dbenv.stamp": "dbenv.safety.stamp",
    "dbenv.status_drift": "dbenv.status.drift",
    "dbenv.swap": "dbenv.lifecycle.swap",
    "dbenv.tablegraph": "dbenv.lifecycle.tablegraph",
    "dbenv.template": "dbenv.lifecycle.template",
    "dbenv.tenancy": "dbenv.safety.tenancy",
    "dbenv.verify": "dbenv.doctor.verify",
}


class _Alias:
    """A loader (duck-typed: importlib.abc would pull importlib.resources into start-up)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The module ran when its new home was imported."""


class _MovedFinder:
    """A meta-path finder for the old names (duck-typed, as the loader)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return ModuleSpec(fullname, cast("Loader", _Alias(new)))


def install() -> None:
    """Make the old names importable (idempotent)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
