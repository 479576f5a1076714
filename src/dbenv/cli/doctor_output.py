"""Rendering the doctor's report (``check``/``scan``): text, JSON, or SARIF 2.1.0.

SARIF is what GitHub code scanning and editors read: one run, dbenv as the tool,
every rule described once, every finding a result with its file and line (an
environment's finding points at its table in the project file) and a stable
fingerprint. Everything printed goes through the CLI's masked output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbenv.cli.app import err, out, print_json
from dbenv.errors import UsageError

if TYPE_CHECKING:
    from dbenv.doctor.findings import CheckReport, Finding

__all__ = ["FORMATS", "chosen_format", "render_report", "sarif_log"]

FORMATS = ("text", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def chosen_format(name: str | None, *, json: bool) -> str:
    """``--format NAME`` (or the older ``--json``); a bad name is bad input (exit 2)."""
    if name is None:
        return "json" if json else "text"
    if name not in FORMATS:
        raise UsageError(
            f"--format must be one of {', '.join(FORMATS)}, got '{name}'.",
            hint="For GitHub code scanning use --format sarif.",
        )
    return name


def finding_line(finding: Finding) -> str:
    scope = f"[{finding.environment}] " if finding.environment else ""
    head = f"{finding.severity:7} {finding.rule:22} {scope}{finding.message}"
    return f"{head}\n        fix: {finding.fix}"


def _result(finding: Finding, project_file: str | None) -> dict[str, Any]:
    path = finding.path or project_file or "dbenv.toml"
    region = {"startLine": finding.line} if finding.line else {"startLine": 1}
    return {
        "ruleId": finding.rule,
        "level": finding.severity,
        "message": {"text": f"{finding.message} Fix: {finding.fix}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path.replace("\\", "/"), "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"dbenvFinding/v1": finding.fingerprint},
        **({"properties": {"environment": finding.environment}} if finding.environment else {}),
    }


def sarif_log(report: CheckReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (one run)."""
    import dbenv
    from dbenv.doctor.findings import RULES

    rules = [
        {
            "id": rule,
            "name": "".join(word.title() for word in rule.split("-")),
            "shortDescription": {"text": text},
        }
        for rule, text in RULES.items()
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dbenv",
                        "version": dbenv.__version__,
                        "rules": rules,
                    }
                },
                "results": [_result(f, report.project_file) for f in report.findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render_report(report: CheckReport, fmt: str, *, summary: str) -> None:
    """Print the report in ``fmt``; notes and the summary line only in text."""
    if fmt == "json":
        print_json(report.as_dict())
        return
    if fmt == "sarif":
        print_json(sarif_log(report))
        return
    for finding in report.findings:
        out(finding_line(finding))
    for note in report.notes:
        out(f"note    {note}")
    out(summary)


def progress_printer() -> Any:
    """A progress callback for ``scan --history``: one stderr line every 500 commits."""

    def show(done: int, total: int) -> None:
        if done % 500 == 0 or done == total:
            err(f"dbenv: scanned {done}/{total} commits")

    return show
