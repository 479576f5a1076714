"""The doctor on the real apps in ../shared/apps: a handful of findings, each a true one.

Each app is copied, committed to a fresh git repository and given a minimal
dbenv.toml, as a new user would; docs/real-apps.md ("Doctor on the apps") records
the counts before and after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dbenv.commands.config import check
from dbenv.commands.scan import scan
from dbenv.config import load_project

ROOT = Path(__file__).resolve().parent.parent
APPS = next(
    (p / "shared" / "apps" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()),
    ROOT.parent / "shared" / "apps",
)
# app -> the findings a reviewer agrees with: (path:line, severity)
EXPECTED = {
    "django-styleguide-example": set(),
    "fastapi-boilerplate": {("docs/user-guide/testing.md:66", "warning")},
    "minimal-fastapi-postgres-template": {
        (".env.example:1", "warning"),
        (".env.example:7", "warning"),
    },
    "nextjs-saas-starter": set(),
}


def _adopt(app: str, tmp_path: Path) -> Path:
    if not APPS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{APPS} is missing: CI lays shared/ beside the clone.")
        pytest.skip(f"{APPS} is not here")
    root = tmp_path / app
    shutil.copytree(APPS / app, root)
    name = app.replace("-", "_")
    (root / "dbenv.toml").write_text(
        f'[project]\nname = "{name}"\ndefault = "development"\n'
        f'[environments.development]\ntier = "disposable"\n'
        f'database_url = "postgresql://postgres@localhost:5432/{name}_dev"\n'
        f'[environments.test]\ntier = "disposable"\n'
        f'database_url = "postgresql://postgres@localhost:5432/{name}_test"\n'
    )
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "import"]):
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.email=t@e", "-c", "user.name=t", *args],
            check=True,
            capture_output=True,
        )
    return root


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_check_and_scan_on_the_app_report_only_true_findings(app: str, tmp_path: Path) -> None:
    root = _adopt(app, tmp_path)
    checked = check(load_project(project=root, process_env={}))
    scanned = scan(cwd=root)
    walked = scan([root], cwd=root)
    for report in (checked, scanned):
        got = {(f"{f.path}:{f.line}", f.severity) for f in report.findings}
        assert got == EXPECTED[app]
        assert report.files_scanned > 10
    assert len(walked.findings) == len(EXPECTED[app])
