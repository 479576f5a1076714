"""Baselines: accept the doctor's known findings so CI fails only on new ones.

A baseline file is JSON: ``{"version": 1, "findings": [{"fingerprint", "rule",
"path", "line", "message"}, ...]}``. A finding is matched by its fingerprint (rule,
environment, file and masked text — not the line, so edits above it do not make
it new). Only masked text is written: a baseline never holds a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from dbenv.doctor.findings import CheckReport, Finding
from dbenv.errors import UsageError

__all__ = ["apply_baseline", "read_baseline", "write_baseline"]

_VERSION = 1


def read_baseline(path: Path) -> frozenset[str]:
    """The fingerprints a baseline accepts; ``UsageError`` (exit 2) when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"baseline file {path} does not exist.",
            hint="Create it with --write-baseline, or fix the path.",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise UsageError(
            f"baseline file {path} cannot be read ({reason}).",
            hint="Check its permissions, or write it again with --write-baseline.",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"baseline file {path} is not valid JSON (line {error.lineno}: {error.msg}).",
            hint="Write it again with --write-baseline.",
        ) from None
    ours = isinstance(data, dict) and data.get("version") == _VERSION
    entries = data.get("findings") if ours else None
    if not isinstance(entries, list):
        raise UsageError(
            f"baseline file {path} is not a dbenv baseline (version {_VERSION} with a "
            "'findings' list).",
            hint="Write it again with --write-baseline.",
        )
    return frozenset(
        str(e["fingerprint"]) for e in entries if isinstance(e, dict) and "fingerprint" in e
    )


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    """Write every finding's fingerprint (and masked description); the count written."""
    entries = [
        {
            "fingerprint": f.fingerprint,
            "rule": f.rule,
            "severity": f.severity,
            "environment": f.environment,
            "path": f.path,
            "line": f.line,
            "message": f.message,
        }
        for f in findings
    ]
    body = json.dumps({"version": _VERSION, "findings": entries}, indent=2) + "\n"
    try:
        path.write_text(body, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"baseline file {path} cannot be written ({error.strerror or error}).",
            hint="Check that its directory exists and is writable.",
        ) from None
    return len(entries)


def apply_baseline(report: CheckReport, accepted: frozenset[str], *, label: str) -> CheckReport:
    """The report less the findings the baseline accepts, with a note saying how many."""
    kept = tuple(f for f in report.findings if f.fingerprint not in accepted)
    dropped = len(report.findings) - len(kept)
    if not dropped:
        return report
    note = f"{dropped} known finding(s) accepted by the baseline {label}."
    return replace(report, findings=kept, notes=(*report.notes, note))
