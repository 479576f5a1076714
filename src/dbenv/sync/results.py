"""What a sync reports: progress events while it runs, and the result at the end."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dbenv.sync.profiles import Policy

__all__ = ["Options", "Progress", "StructureStep", "SyncEvent", "SyncResult", "TableResult"]


@dataclass(frozen=True)
class SyncEvent:
    """Progress: ``phase``: structure, start, copy, done, rebuild, rebuilt, verify, commit,
    or wait (``message`` says which lock the sync waits for, and whose it is)."""

    phase: str
    table: str = ""
    bytes: int = 0
    total_bytes: int = 0
    rows: int = 0
    message: str = ""


Progress = Callable[[SyncEvent], None]


@dataclass(frozen=True)
class TableResult:
    table: str
    policy: Policy
    rows: int = 0
    bytes: int = 0
    checksum: str = ""
    verified: bool = False
    binary: bool = True
    masked: tuple[str, ...] = ()
    condition: str | None = None


@dataclass(frozen=True)
class StructureStep:
    sql: str
    hazard: str
    action: str
    target: str


@dataclass(frozen=True)
class SyncResult:
    source: str
    target: str
    profile: str
    dry_run: bool
    tables: tuple[TableResult, ...]
    structure: tuple[StructureStep, ...] = ()
    sequences: Mapping[str, int] = field(default_factory=dict)
    masking: bool = False
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables)


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    allow_destructive: bool = False
    no_mask: bool = False
    override: str | None = None
    progress: Progress | None = None
