"""The doctor for CI and editors: --format json/sarif, baselines, allow comments, exits."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dbenv.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
SEED_003 = FIXTURES / "seed_003_database_architecture.md"
SCHEMA = FIXTURES / "sarif-2.1.0-rtm.5.json"

PROJECT = """
[project]
name = "app"
default = "test"
[environments.test]
tier = "disposable"
database_url = "postgresql://app@localhost/app_test"
[environments.production]
database_url = "postgresql://app:${DB_PASSWORD}@prod-db.acme.io/app"
[environments.production.vars]
DB_PASSWORD = "env:PROD_DB_PASSWORD"
"""


def invoke(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(app, list(args))


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@e", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git project: production's password in a design doc, a dev one in alembic.ini."""
    (tmp_path / "dbenv.toml").write_text(textwrap.dedent(PROJECT))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "design.md").write_text(
        "```bash\nDATABASE_URL=postgresql://app:Pr0d-Pw-77@prod-db.acme.io/app\n```\n"
    )
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nsqlalchemy.url = postgresql://app:devpw-8812@localhost/app\n"
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "init")
    return tmp_path


def test_a_password_for_production_host_says_which_environment(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(repo, "check", "--format", "json", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    found = {f["path"]: f for f in json.loads(result.stdout)["findings"]}
    prod = found["docs/design.md"]
    assert prod["severity"] == "error" and prod["environment"] == "production"
    assert "the host of protected environment 'production'" in prod["message"]
    assert "it is in git's history (commit " in prod["fix"]
    dev = found["alembic.ini"]
    assert dev["severity"] == "warning" and "disposable environment 'test'" in dev["message"]
    assert "Pr0d-Pw-77" not in result.output and "devpw-8812" not in result.output


def test_sarif_output_is_valid_sarif_2_1_0(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    (repo / ".env.production").write_text("X=1\n")  # an environment finding, too
    result = invoke(repo, "check", "--format", "sarif", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    (run,) = log["runs"]
    rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in run["results"]} <= rules
    where = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]
    }
    design = where["docs/design.md"]
    assert design["level"] == "error"
    assert design["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert design["partialFingerprints"]["dbenvFinding/v1"]
    assert "Pr0d-Pw-77" not in result.stdout


def test_sarif_points_environment_findings_at_the_project_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jsonschema

    (tmp_path / "dbenv.toml").write_text(
        textwrap.dedent(PROJECT).replace("prod-db.acme.io/app", "localhost/app_test")
    )
    result = invoke(tmp_path, "check", "--format", "sarif", monkeypatch=monkeypatch)
    log = json.loads(result.stdout)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    shared = [r for r in log["runs"][0]["results"] if r["ruleId"] == "shared-database"]
    location = shared[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "dbenv.toml"
    assert location["region"]["startLine"] == 8  # [environments.production]


@pytest.mark.parametrize("command", ["check", "scan"])
def test_bad_format_name_is_bad_input(
    repo: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    result = invoke(repo, command, "--format", "yaml", monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "dbenv: --format must be one of text, json, sarif, got 'yaml'. "
        "For GitHub code scanning use --format sarif."
    )
    assert result.stdout == ""


def test_baseline_accepts_known_findings_and_fails_on_new_ones(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = repo / ".dbenv-baseline.json"
    wrote = invoke(
        repo, "check", "--baseline", str(base), "--write-baseline", monkeypatch=monkeypatch
    )
    assert wrote.exit_code == 0 and "wrote 3 finding(s)" in wrote.stdout
    assert "Pr0d-Pw-77" not in base.read_text() and "devpw-8812" not in base.read_text()
    # Lines added above a known finding do not make it new.
    design = repo / "docs" / "design.md"
    design.write_text("# Design\n\n" + design.read_text())
    again = invoke(repo, "check", "--baseline", str(base), monkeypatch=monkeypatch)
    assert again.exit_code == 0, again.output
    assert "3 known finding(s) accepted by the baseline" in again.stdout
    (repo / "notes.md").write_text("redis://:Rd-77-new@cache.acme.io:6379/0\n")
    git(repo, "add", "notes.md")
    new = invoke(repo, "check", "--baseline", str(base), monkeypatch=monkeypatch)
    assert new.exit_code == 1 and "notes.md:1" in new.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist. Create it with --write-baseline"),
        ("{not json", "is not valid JSON (line 1:"),
        ('{"findings": 3}', "is not a dbenv baseline"),
        (b"\xff\xfe\x00", "cannot be read"),
    ],
)
def test_unreadable_baseline_is_bad_input(
    repo: Path, monkeypatch: pytest.MonkeyPatch, content: str | bytes | None, needle: str
) -> None:
    base = repo / "base.json"
    if isinstance(content, bytes):
        base.write_bytes(content)
    elif content is not None:
        base.write_text(content)
    result = invoke(repo, "scan", "--baseline", str(base), monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.startswith("dbenv: baseline file ") and needle in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_write_baseline_needs_a_file(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(repo, "scan", "--write-baseline", monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert "--write-baseline needs --baseline FILE" in result.stderr


def test_allow_comment_accepts_a_line(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "docs" / "design.md").write_text(
        "```bash\n# dbenv: allow (rotated 2025-08-14)\n"
        "DATABASE_URL=postgresql://app:Pr0d-Pw-77@prod-db.acme.io/app\n```\n"
    )
    (repo / "alembic.ini").write_text(
        "sqlalchemy.url = postgresql://app:devpw-8812@localhost/app  ; dbenv: allow\n"
    )
    result = invoke(repo, "scan", "--format", "json", monkeypatch=monkeypatch)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"] == []


def test_warnings_fail_only_with_strict(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "docs" / "design.md").write_text("nothing here\n")
    assert invoke(repo, "scan", monkeypatch=monkeypatch).exit_code == 0
    strict = invoke(repo, "scan", "--strict", monkeypatch=monkeypatch)
    assert strict.exit_code == 1 and "1 warning(s)" in strict.stdout
