"""``${VAR}`` interpolation across layers: defaults, escapes, cycles, missing variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbenv.errors import InterpolationError, MissingVariables
from fixtures.config.projects import project_at

HEAD = '[project]\nname = "app"\n'


def test_lower_layer_references_higher_layer(tmp_path: Path) -> None:
    toml = HEAD + '[vars]\nURL = "postgresql://app@${DB_HOST}/app"\n[environments.test]\n'
    project = project_at(tmp_path, toml, files={".env.test": "DB_HOST=test-db\n"})
    url = project.environment("test").variables["URL"]
    assert url.value == "postgresql://app@test-db/app"
    assert url.origin.line == 4
    assert url.parts[0][0] == "DB_HOST"
    assert (url.parts[0][1].source, url.parts[0][1].line) == (".env.test", 1)


def test_default_used_when_unset_or_empty(tmp_path: Path) -> None:
    toml = HEAD + '[vars]\nA = "${UNSET:-fallback}"\nB = "${EMPTY:-x}"\nC = "${SET:-no}"\n'
    toml += "[environments.test]\n"
    project = project_at(tmp_path, toml, process={"EMPTY": "", "SET": "yes"})
    variables = project.environment("test").variables
    assert (variables["A"].value, variables["B"].value, variables["C"].value) == (
        "fallback",
        "x",
        "yes",
    )


def test_default_may_itself_interpolate(tmp_path: Path) -> None:
    toml = HEAD + '[vars]\nHOST = "h"\nA = "${UNSET:-${HOST}:5432}"\n[environments.test]\n'
    assert project_at(tmp_path, toml).environment("test").variables["A"].value == "h:5432"


def test_dollar_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    toml = HEAD + '[vars]\nA = "cost $$5 and $${NOT}"\n[environments.test]\n'
    assert project_at(tmp_path, toml).environment("test").variables["A"].value == (
        "cost $5 and ${NOT}"
    )


def test_chained_references_resolve(tmp_path: Path) -> None:
    toml = HEAD + '[vars]\nA = "${B}-a"\nB = "${C}-b"\nC = "c"\n[environments.test]\n'
    assert project_at(tmp_path, toml).environment("test").variables["A"].value == "c-b-a"


def test_cycle_is_detected_with_the_chain(tmp_path: Path) -> None:
    toml = HEAD + "[environments.test]\n"
    files = {".env": "A=${B}\nB=${C}\nC=${A}\n"}
    project = project_at(tmp_path, toml, files=files)
    with pytest.raises(InterpolationError, match="cycle") as info:
        project.environment("test")
    assert "A -> B -> C -> A" in str(info.value)
    assert info.value.path is not None and info.value.line is not None


def test_missing_variable_names_file_line_and_variable(tmp_path: Path) -> None:
    toml = HEAD + "[environments.test]\n"
    project = project_at(tmp_path, toml, files={".env.test": "X=1\nURL=pg://${DB_HOST}/x\n"})
    with pytest.raises(InterpolationError) as info:
        project.environment("test")
    message = str(info.value)
    assert ".env.test:2" in message
    assert "${DB_HOST}" in message
    assert info.value.exit_code == 2


def test_missing_variable_in_a_setting_names_the_project_line(tmp_path: Path) -> None:
    toml = HEAD + '[environments.test]\ndatabase_url = "postgresql://${USER_X}@h/db"\n'
    with pytest.raises(InterpolationError, match=r"dbenv.toml:4.*\$\{USER_X\}"):
        project_at(tmp_path, toml).environment("test")


def test_malformed_reference_is_an_error(tmp_path: Path) -> None:
    toml = HEAD + '[vars]\nA = "${not valid}"\nB = "x"\n[environments.test]\n'
    with pytest.raises(InterpolationError, match="not a valid reference"):
        project_at(tmp_path, toml).environment("test")
    toml = HEAD + '[vars]\nA = "${OPEN"\n[environments.test]\n'
    with pytest.raises(InterpolationError, match="unclosed"):
        project_at(tmp_path, toml).environment("test")


def test_missing_required_variable_leaves_setting_unresolved_and_is_listed(
    tmp_path: Path,
) -> None:
    import dbenv

    toml = (
        HEAD + "[environments.staging]\n"
        'database_url = "postgresql://app:${STAGING_PW}@db/app"\n'
        'required = ["STAGING_PW", "SECRET_KEY"]\n'
    )
    project = project_at(tmp_path, toml)
    env = project.environment("staging")
    assert env.database_url is None
    assert env.settings["database_url"].note == "${STAGING_PW} is not set"
    assert dbenv.missing_variables(env) == ["STAGING_PW", "SECRET_KEY"]
    with pytest.raises(MissingVariables) as info:
        dbenv.load("staging", project=tmp_path, process_env={})
    assert info.value.missing == ["STAGING_PW", "SECRET_KEY"]
    assert "STAGING_PW, SECRET_KEY" in str(info.value)


def test_single_quoted_env_value_is_literal(tmp_path: Path) -> None:
    files = {".env": "A='p$$w${rd}'\nB=\"x${A}\"\n"}
    variables = project_at(tmp_path, HEAD + "[environments.test]\n", files=files)
    values = variables.environment("test").variables
    assert values["A"].value == "p$$w${rd}"
    assert values["B"].value == "xp$$w${rd}"
