"""``.env`` files: values with line numbers, malformed lines, missing files."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbenv.config.dotenv_files import read_env_file
from dbenv.errors import EnvFileError
from fixtures.config.projects import project_at

HEAD = '[project]\nname = "app"\n[environments.test]\n'


def test_values_carry_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# comment\n\nexport A=1\nB=\"two words\"\nC='$literal'\nEMPTY=\nBARE\n")
    values = read_env_file(path, label=".env")
    assert values is not None
    assert {k: v.text for k, v in values.items()} == {
        "A": "1",
        "B": "two words",
        "C": "$literal",
        "EMPTY": "",
    }
    assert values["B"].origin.line == 4
    assert values["B"].origin.source == ".env"


def test_missing_file_is_none(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / ".env.nope") is None


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    files = {".env.test": 'A=1\nB="unclosed\nC=3\n'}
    project = project_at(tmp_path, HEAD, files=files)
    with pytest.raises(EnvFileError) as info:
        project.environment("test")
    assert info.value.line == 2
    assert ".env.test:2" in str(info.value)
    assert info.value.exit_code == 2


def test_malformed_line_with_garbage(tmp_path: Path) -> None:
    project = project_at(tmp_path, HEAD, files={".env": "GOOD=1\nthis is not a binding\n"})
    with pytest.raises(EnvFileError, match=r"\.env:2"):
        project.environment("test")


def test_mistyped_scoped_override_in_env_file_names_it(tmp_path: Path) -> None:
    project = project_at(tmp_path, HEAD, files={".env": "X=1\nDBENV_TEST_TIER=throwaway\n"})
    with pytest.raises(EnvFileError, match="tier") as info:
        project.environment("test")
    assert info.value.line == 2
