"""The doctor's precision and recall on a labelled corpus of real-world shapes.

``tests/fixtures/doctor_corpus/positives`` holds a credential in each format the
credential rule covers (env files, compose, Kubernetes, TOML, JSON, INI, shell, a
Dockerfile, a workflow, docs code blocks, source code's URLs, seed 003's design doc);
``labels.toml`` names each true positive's line and severity. ``negatives`` holds the
false alarms issue 17 listed (enum constants, Lua keys, docstring examples,
``${{ secrets.X }}``, ``id-token: write``, Makefile ``sed`` lines, ``${VAR?msg}``,
``accessorKey``, ``user:pass`` in docs...) and more of the same kinds. Every line
not labelled is a true negative. The figures are recorded in docs/doctor.md.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from dbenv.doctor.files import credentials_rule
from dbenv.doctor.scan import scan_paths

CORPUS = Path(__file__).parent / "fixtures" / "doctor_corpus"


def _line_of(text: str, needle: str) -> int:
    """The line where ``needle``'s last visible character sits; it must occur once."""
    assert text.count(needle) == 1, f"label {needle!r} must occur exactly once"
    end = text.index(needle) + len(needle.rstrip("\n"))
    return text.count("\n", 0, end) + 1


def labelled() -> dict[tuple[str, int], str]:
    labels = tomllib.loads((CORPUS / "labels.toml").read_text())
    expected: dict[tuple[str, int], str] = {}
    for name, needles in labels.items():
        text = (CORPUS / "positives" / name).read_text()
        for needle, severity in needles.items():
            expected[(f"positives/{name}", _line_of(text, needle))] = severity
    return expected


def found() -> dict[tuple[str, int], str]:
    result = scan_paths([CORPUS / "positives", CORPUS / "negatives"], root=CORPUS)
    findings = credentials_rule(result.leaks)
    return {(str(f.path), f.line or 0): f.severity for f in findings}


def test_corpus_precision_and_recall() -> None:
    expected, got = labelled(), found()
    true_pos = expected.keys() & got.keys()
    false_pos = sorted(got.keys() - expected.keys())
    false_neg = sorted(expected.keys() - got.keys())
    precision = len(true_pos) / len(got) if got else 1.0
    recall = len(true_pos) / len(expected)
    print(
        f"\ndoctor corpus: {len(expected)} labelled credentials, {len(got)} found: "
        f"precision {precision:.1%}, recall {recall:.1%}"
    )
    assert not false_neg, f"missed: {false_neg}"
    assert recall == 1.0
    assert precision >= 0.95, f"false alarms: {false_pos}"


def test_corpus_severities_match_the_labels() -> None:
    expected, got = labelled(), found()
    wrong = {k: (got[k], v) for k, v in expected.items() if k in got and got[k] != v}
    assert wrong == {}


def test_every_negative_file_is_clean() -> None:
    result = scan_paths([CORPUS / "negatives"], root=CORPUS)
    assert [leak.where for leak in result.leaks] == []
    assert result.files_scanned == 19
