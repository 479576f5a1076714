"""Files as git sees them: ignored and binary files, the git root, and the history."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from dbenv.commands.config import check
from dbenv.commands.scan import scan
from dbenv.config import load_project
from dbenv.errors import UsageError

PROJECT = """
[project]
name = "backend"
default = "test"
env_files = ["../.env"]
[environments.test]
tier = "disposable"
database_url = "postgresql://app@localhost/app_test"
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@e", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_ignored_and_binary_files_are_counted_not_listed(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text(".dbenv/\nnode_modules/\n")
    for i in range(50):
        state = tmp_path / ".dbenv" / "pg" / f"base{i}"
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_bytes(b"\0binary DB_PASSWORD=Sup3rS3cret-1")
    (tmp_path / ".dbenv" / "notes.env").write_text("DB_PASSWORD=Sup3rS3cret-1\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\0\0")
    (tmp_path / "leak.env").write_text("DB_PASSWORD=Sup3rS3cret-1\n")
    report = scan([tmp_path], cwd=tmp_path)
    assert [f.path for f in report.findings] == [str(tmp_path / "leak.env")]
    assert report.files_scanned == 2  # .gitignore, leak.env
    assert report.notes == ("skipped 1 binary, 1 ignored by git.",)


def test_tracked_env_file_above_the_project_is_found(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=changethis\n")
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend" / ".env").write_text("VITE_API=http://localhost\n")
    backend = tmp_path / "backend"
    backend.mkdir()
    (backend / "dbenv.toml").write_text(textwrap.dedent(PROJECT))
    git(tmp_path, "add", "-A")
    report = check(load_project(project=backend, process_env={}))
    tracked = [f for f in report.findings if f.rule == "env-file-tracked"]
    assert [f.path for f in tracked] == ["../.env"]  # a sibling's .env is not this project's
    assert "git rm --cached ../.env" in tracked[0].fix


def test_in_the_history_is_said_only_when_git_log_has_the_file(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.md").write_text("redis://:Rd-9912kk@cache.acme.io:6379/0\n")
    (tmp_path / "b.md").write_text("redis://:Rd-9912kk@cache.acme.io:6379/0\n")
    (tmp_path / "c.md").write_text("redis://:Rd-9912kk@cache.acme.io:6379/0\n")
    git(tmp_path, "add", "a.md")
    git(tmp_path, "commit", "-qm", "a")
    git(tmp_path, "add", "b.md")  # staged, never committed
    report = scan([tmp_path / "a.md", tmp_path / "b.md", tmp_path / "c.md"], cwd=tmp_path)
    fixes = {Path(f.path or "").name: f.fix for f in report.findings}
    assert "it is in git's history (commit " in fixes["a.md"]
    assert "git's history does not have it yet" in fixes["b.md"]
    assert "git's history does not have it yet" in fixes["c.md"]


def test_history_scan_reports_the_commit_that_added_a_deleted_password(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "README.md").write_text("# app\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    (tmp_path / "deploy.sh").write_text(
        "#!/bin/sh\nexport PGPASSWORD='Sh3ll-Pw-0042'\npsql -h prod-db.acme.io\n"
    )
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "two")
    added = git(tmp_path, "rev-parse", "HEAD").strip()
    (tmp_path / "deploy.sh").write_text("#!/bin/sh\npsql -h prod-db.acme.io\n")
    git(tmp_path, "commit", "-qam", "three: remove the password")
    seen: list[tuple[int, int]] = []
    report = scan(cwd=tmp_path, history=True, progress=lambda d, t: seen.append((d, t)))
    (finding,) = report.findings
    assert finding.rule == "credential-in-history"
    assert finding.message.startswith(f"{added[:10]}:deploy.sh:2: a literal value for PGPASSWORD")
    assert f"commit {added[:10]} put it in git's history" in finding.fix
    assert "Sh3ll-Pw-0042" not in finding.message
    assert seen[-1] == (3, 3)
    assert report.notes == ("read 3 of 3 commit(s).",)


def test_history_scan_stops_at_its_budget(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    for i in range(3):
        (tmp_path / f"f{i}.md").write_text(f"line {i}\n")
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "-qm", str(i))
    report = scan(cwd=tmp_path, history=True, budget=1e-9)
    assert report.notes[0] == "read 0 of 3 commit(s)."
    assert "stopped at the 1e-09 s budget" in report.notes[1]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"budget": 0}, "--budget must be a positive number"),
        ({"paths": [Path("x")]}, "--history scans the whole repository"),
    ],
)
def test_history_bad_input(tmp_path: Path, kwargs: dict[str, object], needle: str) -> None:
    git(tmp_path, "init", "-q")
    with pytest.raises(UsageError, match=needle):
        scan(cwd=tmp_path, history=True, **kwargs)  # type: ignore[arg-type]


def test_history_outside_git_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not in a git work tree"):
        scan(cwd=tmp_path, history=True)


def test_history_cli_counts_commits_and_shows_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from dbenv.cli import app

    git(tmp_path, "init", "-q")
    (tmp_path / "notes.md").write_text("redis://:Rd-9912kk@cache.acme.io:6379/0\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    git(tmp_path, "rm", "-q", "notes.md")
    git(tmp_path, "commit", "-qm", "two")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["scan", "--history"])
    assert result.exit_code == 1
    assert "credential-in-history" in result.stdout and "notes.md:1" in result.stdout
    assert result.stdout.rstrip().endswith(
        "scanned 2 commit(s): 1 credential(s) found (1 error(s), 0 warning(s))."
    )
    assert "dbenv: scanned 2/2 commits" in result.stderr
    assert "Rd-9912kk" not in result.output
