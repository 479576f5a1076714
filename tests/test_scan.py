"""The credential scan: leaks found with file and line and masked; placeholders not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dbenv.doctor.scan import is_placeholder, scan_paths, scan_text, tracked_files

FIXTURES = Path(__file__).parent / "fixtures"
SEED_003 = FIXTURES / "seed_003_database_architecture.md"
SEED_003_PASSWORD = "HeliotropeDev2025"


def test_seed_003_is_flagged_with_file_line_and_masked_secret() -> None:
    result = scan_paths([SEED_003], root=FIXTURES)
    lines = sorted({leak.line for leak in result.leaks})
    assert lines == [46, 53, 60, 68, 76, 83]
    assert {leak.kind for leak in result.leaks} == {"url-password"}
    assert {str(leak.path) for leak in result.leaks} == {SEED_003.name}
    for leak in result.leaks:
        assert SEED_003_PASSWORD not in leak.excerpt
        assert "****" in leak.excerpt
        assert leak.where.startswith(f"{SEED_003.name}:")


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        (".env", "DB_PASSWORD=Sup3rS3cret\n", "DB_PASSWORD"),
        ("run.sh", "export API_TOKEN='tok-98a7sd6f'\n", "API_TOKEN"),
        ("config.yaml", "db:\n  password: hunter2hunter\n", "password"),
        ("conf.json", '{"client_secret": "s8cr3t-v4lue"}\n', "client_secret"),
        ("README.md", "```sh\nexport REDIS_PASSWORD=abc123def\n```\n", "REDIS_PASSWORD"),
        ("notes.md", "redis://:r3dispass@cache.internal:6379/0\n", "redis"),
        ("worker.py", 'BROKER = "amqp://guest:rabbit99@mq.acme.io//"\n', "amqp"),
        ("Dockerfile", "ENV PGPASSWORD=k8s-9f8e7d\n", "PGPASSWORD"),
    ],
)
def test_leaks_in_every_file_kind_are_found(name: str, text: str, key: str) -> None:
    leaks = scan_text(text, Path(name))
    assert [leak.key for leak in leaks] == [key]
    secret = {"DB_PASSWORD": "Sup3rS3cret", "redis": "r3dispass", "amqp": "rabbit99"}.get(key)
    if secret:
        assert secret not in leaks[0].excerpt


@pytest.mark.parametrize(
    "text",
    [
        "DB_PASSWORD=changeme",
        "DB_PASSWORD=change_me",
        "DB_PASSWORD=${DB_PASSWORD}",
        "DB_PASSWORD=$DB_PASSWORD",
        "DB_PASSWORD=****",
        "DB_PASSWORD=<password>",
        "DB_PASSWORD=xxx",
        "DB_PASSWORD=password",
        "DB_PASSWORD=secret",
        "DB_PASSWORD=",
        'DB_PASSWORD=""',
        "DB_PASSWORD=...",
        "password = env:DB_PASSWORD",
        'password = "cmd:op read op://vault/db/password"',
        "DATABASE_URL=postgresql://app:${DB_PASS}@db:5432/app",
        "DATABASE_URL=postgresql://app:****@db:5432/app",
        "DATABASE_URL=postgresql://app@db:5432/app",
        "DATABASE_URL=postgresql://db:5432/app",
    ],
)
def test_placeholders_are_not_leaks(text: str) -> None:
    assert scan_text(text + "\n", Path(".env.example")) == []


@pytest.mark.parametrize(
    "text",
    [
        'password = os.environ["DB_PASSWORD"]',
        "token = get_token()",
        "api_key: str",
        "primary_key=True",
        "monkey = 'banana-bread'",
        "cache_key = 'user:42'",
        'SECRET_KEY = "django-insecure-abc123"',  # source code: only its URLs are judged
        "const dbPassword = 'p4ssw0rd!';",
        'INVALID_TOKEN = "invalid_token"',
    ],
)
def test_code_expressions_and_non_secret_keys_are_not_leaks(text: str) -> None:
    assert scan_text(text + "\n", Path("app.py")) == []


@pytest.mark.parametrize(
    "text",
    [
        "- {id: 1, key: plaid, display_name: Plaid}",
        "sort_key: created_at",
        "public_key: ssh-ed25519-AAAAC3Nza",
    ],
)
def test_identifier_keys_in_data_files_are_not_leaks(text: str) -> None:
    assert scan_text(text + "\n", Path("seeds/providers.yaml")) == []


def test_localhost_url_password_is_marked_local() -> None:
    (leak,) = scan_text("postgresql://dev:devpass@localhost:5432/app\n", Path("a.md"))
    assert leak.local
    (remote,) = scan_text("postgresql://dev:devpass@db.acme.io/app\n", Path("a.md"))
    assert not remote.local
    assert scan_text("postgresql://dev:devpass@db.example.com/app\n", Path("a.md")) == []


@pytest.mark.parametrize("value", ["changeme", "${X}", "<pw>", "****", "", "$X", "file:/run/s"])
def test_is_placeholder(value: str) -> None:
    assert is_placeholder(value)


def test_real_values_are_not_placeholders() -> None:
    assert not is_placeholder("HeliotropeDev2025")


def test_binary_and_directories(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "leak.env").write_text("X_SECRET=abcdef123\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1X_SECRET=abcdef123")
    result = scan_paths([tmp_path], root=tmp_path)
    assert [str(leak.path) for leak in result.leaks] == ["sub/leak.env"]
    assert result.skipped == {"binary": 1}
    assert result.summary() == "skipped 1 binary."


def test_tracked_files_outside_git_is_none(tmp_path: Path) -> None:
    assert tracked_files(tmp_path) is None


def test_tracked_files_lists_only_tracked(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.txt"], check=True)
    assert tracked_files(tmp_path) == [tmp_path / "a.txt"]


# --- `dbenv scan`: the rule on its own, no project file needed ----------------------


def _scan_cli(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from typer.testing import CliRunner

    from dbenv.cli import app

    monkeypatch.chdir(cwd)
    return CliRunner().invoke(app, ["scan", *args])


def test_scan_command_flags_seed_003_without_a_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _scan_cli(tmp_path, str(SEED_003), monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert f"{SEED_003}:46: a postgresql URL with an inline password" in result.stdout
    assert SEED_003_PASSWORD not in result.output
    assert result.stdout.rstrip().endswith(
        "scanned 1 files: 6 credential(s) found (6 error(s), 0 warning(s))."
    )


def test_scan_command_defaults_to_git_tracked_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "notes.md").write_text("DB_PASSWORD=changeme\n")
    (tmp_path / "untracked.env").write_text("DB_PASSWORD=Sup3rSecret\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "notes.md"], check=True)
    result = _scan_cli(tmp_path, "--json", monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files_scanned"] == 1 and report["findings"] == []


@pytest.mark.parametrize("where", ["missing", "outside-git"])
def test_scan_command_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    args = [str(tmp_path / "absent")] if where == "missing" else []
    result = _scan_cli(tmp_path, *args, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    needle = "does not exist" if where == "missing" else "is not in a git work tree"
    assert result.stderr.startswith("dbenv: ") and needle in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "severity", "why"),
    [
        (".env", "error", "in an env file"),
        (".env.production", "error", "in an env file for 'production'"),
        (".env.production.example", "warning", "in an example env file"),
        ("compose.yaml", "warning", "in a config file"),
        ("deploy.sh", "warning", "in a shell file"),
    ],
)
def test_a_literal_secret_is_an_error_only_in_a_real_env_file(
    name: str, severity: str, why: str
) -> None:
    from dbenv.doctor.files import credentials_rule

    (finding,) = credentials_rule(scan_text("DB_PASSWORD=R34l-Pw-991\n", Path(name)))
    assert finding.severity == severity
    assert f"a literal value for DB_PASSWORD {why}:" in finding.message
