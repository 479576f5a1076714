"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit on staged files.

Offline: the hooks are copied into a ``repo: local`` configuration with
``language: system``, so pre-commit runs this checkout's ``dbenv`` instead of
building a virtualenv from the network; everything else (entry, file types,
filenames passed, ``pass_filenames``, ``always_run``) is the published definition.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

HOOKS = Path(__file__).parent.parent / ".pre-commit-hooks.yaml"


def _local_config() -> str:
    hooks = yaml.safe_load(HOOKS.read_text())
    for hook in hooks:
        hook["language"] = "system"
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]})


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    return subprocess.run(
        [*args], cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / ".pre-commit-config.yaml").write_text(_local_config())
    (root / "dbenv.toml").write_text(
        textwrap.dedent(
            """
            [project]
            name = "app"
            default = "test"
            [environments.test]
            tier = "disposable"
            database_url = "postgresql://app@localhost/app_test"
            """
        )
    )
    assert _run(root, "git", "init", "-q").returncode == 0
    assert _run(root, "git", "add", "-A").returncode == 0
    assert _run(root, "git", "commit", "-qm", "init").returncode == 0
    return root


def test_pre_commit_blocks_a_staged_production_password(repo: Path) -> None:
    (repo / "design.md").write_text(
        "```bash\nDATABASE_URL=postgresql://app:Pr0d-Pw-77@prod-db.acme.io/app\n```\n"
    )
    (repo / "unstaged.md").write_text("redis://:Rd-9912kk@cache.acme.io:6379/0\n")
    _run(repo, "git", "add", "design.md")
    done = _run(repo, sys.executable, "-m", "pre_commit", "run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "dbenv scan (credentials in staged files)" in done.stdout
    assert "design.md:2: a postgresql URL with an inline password" in done.stdout
    assert "unstaged.md" not in done.stdout  # only what is being committed
    assert "Pr0d-Pw-77" not in done.stdout + done.stderr


def test_pre_commit_passes_a_clean_commit(repo: Path) -> None:
    (repo / "README.md").write_text("Set DATABASE_URL=postgresql://app:${DB_PASSWORD}@db/app\n")
    _run(repo, "git", "add", "README.md")
    done = _run(repo, sys.executable, "-m", "pre_commit", "run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dbenv check (the doctor)" in done.stdout and "Passed" in done.stdout
