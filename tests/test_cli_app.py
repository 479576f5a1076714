"""The CLI frame: error mapping, exit codes, --debug, and the masked output streams."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import dbenv.commands.config as commands
from dbenv.cli import app
from dbenv.cli.app import handle_errors, out, print_json, reveal
from dbenv.config.model import Secret
from dbenv.errors import GuardRefusal

PROJECT = '[project]\nname = "p"\ndefault = "dev"\n[environments.dev]\n'


def _project(tmp_path: Path) -> Path:
    (tmp_path / "dbenv.toml").write_text(PROJECT)
    return tmp_path


def _explode(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom at postgresql://admin:hunter2pw@db.internal/app")


def test_unexpected_exception_is_exit_1_one_line_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "envs", _explode)
    result = CliRunner().invoke(app, ["--project", str(_project(tmp_path)), "envs"])
    assert result.exit_code == 1
    assert result.stderr.startswith("dbenv: internal error: RuntimeError: boom")
    assert "(run with --debug for the traceback)" in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2pw" not in result.output


def test_unexpected_exception_with_debug_shows_traceback_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "envs", _explode)
    result = CliRunner().invoke(app, ["--debug", "--project", str(_project(tmp_path)), "envs"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "hunter2pw" not in result.output


def test_guard_refusal_maps_to_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise GuardRefusal("refusing to reset 'prod': it is protected.", check="tier")

    monkeypatch.setattr(commands, "envs", refuse)
    result = CliRunner().invoke(app, ["--project", str(_project(tmp_path)), "envs"])
    assert result.exit_code == 3
    assert result.stderr.strip() == "dbenv: refusing to reset 'prod': it is protected."


def test_revealed_secrets_are_scrubbed_from_every_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain = reveal(Secret("s3cr3t-value-xyz"))
    assert plain == "s3cr3t-value-xyz"
    out(f"value={plain}")
    print_json({"value": plain, "url": "redis://:pw-in-url@cache:6379/0"})
    captured = capsys.readouterr().out
    assert "s3cr3t-value-xyz" not in captured and "pw-in-url" not in captured
    assert captured.count("****") == 3


def test_handle_errors_keeps_typer_exits() -> None:
    @handle_errors
    def leave() -> None:
        raise typer.Exit(5)

    with pytest.raises(typer.Exit) as info:
        leave()
    assert info.value.exit_code == 5


def test_no_arguments_shows_help() -> None:
    result = CliRunner().invoke(app, [])
    assert "Usage" in result.output
    assert "config" in result.output
