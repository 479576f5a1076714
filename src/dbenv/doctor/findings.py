"""What the doctor reports: a ``Finding``, the ``CheckReport`` of a run, the ``RULES``.

The vocabulary every rule module shares (``dbenv.doctor.check`` for environments,
``dbenv.doctor.files`` for files, ``dbenv.doctor.stamps`` for stamps), apart from
all of them so none imports another for it. A finding's ``fingerprint`` (rule,
environment, file, masked text; not the line) is what baselines and SARIF match on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


# Every rule: id -> what it finds (SARIF's rule descriptions, the docs' table).
RULES: dict[str, str] = {
    "missing-variables": "An environment lacks required variables.",
    "unresolvable": "An environment does not resolve (bad URL, undefined ${VAR}).",
    "shared-database": "Two environments resolve to one database and one is protected.",
    "no-tls": "A protected environment's database or Redis traffic may be unencrypted.",
    "redis-index-not-exported": "An environment's Redis db index reaches the app only as "
    "host and port, which carry none: the app would use db 0.",
    "components-disagree": "An environment's components select different environments "
    "or databases.",
    "env-file-tracked": "An env file is tracked by git.",
    "env-file-not-ignored": "An env file is not ignored by git.",
    "credential-in-file": "A password in a connection URL, or a literal secret assigned to "
    "a secret-like key, written into a file.",
    "credential-in-history": "A credential that a commit in git's history added.",
    "stamp-tier": "An environment's declared tier disagrees with its database's stamp "
    "(declared disposable over a protected stamp: the guard refuses it).",
    # the topology's rules (dbenv.doctor.topology, dbenv.doctor.topology_probe)
    "migrations-over-pooler": "An environment's schema source would be built through a "
    "transaction-mode pooler (no direct database_url).",
    "redis-shared": "A disposable environment's Redis is a protected environment's node "
    "and db index, or part of its Redis Cluster.",
    "replica-not-in-recovery": "A declared replica is not in recovery: it is a primary.",
    "replica-of-other-primary": "A replica streams from another environment's primary "
    "(its system identifier is that primary's).",
    "pooler-leads-elsewhere": "A pooler reaches another server or database than the "
    "environment's direct database_url.",
}


@dataclass(frozen=True)
class Finding:
    """One problem: rule id, severity, environment (if any), what was found, the fix."""

    rule: str
    severity: Severity
    environment: str | None
    message: str
    fix: str
    path: str | None = None
    line: int | None = None
    anchor: str | None = None  # what identifies it apart from its line (masked)

    @property
    def fingerprint(self) -> str:
        """A stable id for baselines and SARIF: rule, environment, file and the masked
        text, not the line number, so an edit above it does not make it new."""
        import hashlib

        parts = (self.rule, self.environment or "", self.path or "", self.anchor or self.message)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]

    def as_dict(self) -> dict[str, object]:
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "severity": self.severity,
            "environment": self.environment,
            "message": self.message,
            "fix": self.fix,
            "path": self.path,
            "line": self.line,
        }


@dataclass(frozen=True)
class CheckReport:
    """Every finding, plus notes on rules that were skipped and why."""

    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    files_scanned: int = 0
    project_file: str | None = None
    commits_scanned: int | None = None  # scan --history

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": not self.errors,
            "environments": list(self.environments),
            "files_scanned": self.files_scanned,
            **(
                {"commits_scanned": self.commits_scanned}
                if self.commits_scanned is not None
                else {}
            ),
            "findings": [f.as_dict() for f in self.findings],
            "notes": list(self.notes),
        }
