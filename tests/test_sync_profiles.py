"""The [sync] table: every validation error names the file, line and key; patterns and rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbenv.config import load_project
from dbenv.errors import ProjectFileError, UsageError
from dbenv.sync.choose import choose_profile, restrict
from dbenv.sync.masking import MaskedColumn, looks_personal, select_expression
from dbenv.sync.profiles import load_settings, parse_pattern, parse_rule

HEAD = """[project]
name = "contentgen"

[environments.production]
database_url = "postgresql://u:pw@localhost/contentgen_db"

[environments.test]
tier = "disposable"
database_url = "postgresql://u:pw@localhost/contentgen_test_db"
"""


def settings(tmp_path: Path, sync: str, **env: str):  # type: ignore[no-untyped-def]
    (tmp_path / "dbenv.toml").write_text(HEAD + sync, encoding="utf-8")
    return load_settings(load_project(project=tmp_path, process_env=env))


@pytest.mark.parametrize(
    ("sync", "key", "words"),
    [
        ("[sync]\ncolour = 1\n", "sync.colour", "unknown key 'colour'"),
        ('[sync]\nsalt = "plain-text"\n', "sync.salt", "written into the file"),
        (
            '[sync.profiles.p]\nsource = "prod"\n',
            "sync.profiles.p.source",
            "not a declared environment",
        ),
        ('[sync.profiles.p]\nmirror = "public.x"\n', "sync.profiles.p.mirror", "must be a list"),
        (
            '[sync.profiles.p]\nmirror = ["a.b.c"]\n',
            "sync.profiles.p.mirror",
            "not a 'schema.table' pattern",
        ),
        (
            '[sync.profiles.p]\nmirrors = ["a.b"]\n',
            "sync.profiles.p.mirrors",
            "unknown key 'mirrors'",
        ),
        (
            '[sync.profiles.p.mask]\n"public.c.email" = "scramble"\n',
            "sync.profiles.p.mask.public.c.email",
            "not a masking rule",
        ),
        (
            '[sync.profiles.p.mask]\n"c" = "email"\n',
            "sync.profiles.p.mask.c",
            "not a 'schema.table.column'",
        ),
        (
            '[sync.profiles.p.where]\n"public.*" = "true"\n',
            "sync.profiles.p.where.public.*",
            "not one 'schema.table'",
        ),
        (
            '[sync.profiles.p.where]\n"public.t" = "true; DROP TABLE x"\n',
            "sync.profiles.p.where.public.t",
            "one SQL boolean",
        ),
    ],
)
def test_bad_sync_tables_name_file_line_and_key(
    tmp_path: Path, sync: str, key: str, words: str
) -> None:
    with pytest.raises(ProjectFileError) as caught:
        settings(tmp_path, sync)
    error = caught.value
    assert error.exit_code == 2
    assert f"(key '{key}')" in error.message and words in error.message
    assert error.path == tmp_path / "dbenv.toml" and error.line is not None and error.line > 10
    assert error.hint


def test_salt_is_a_reference_resolved_lazily(tmp_path: Path) -> None:
    loaded = settings(tmp_path, '[sync]\nsalt = "env:MY_SALT"\n', MY_SALT="pepper")
    assert loaded.salt is not None
    assert "pepper" not in str(loaded.salt) and "pepper" not in repr(loaded.salt)
    assert loaded.salt.reveal() == "pepper"


def test_policies_ignore_beats_mirror_beats_structure(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        '[sync.profiles.p]\nsource = "production"\ntarget = "test"\n'
        'mirror = ["public.prompts", "project_*.*"]\nstructure = ["public.*"]\n'
        'ignore = ["project_old.*"]\n',
    )
    profile = loaded.profiles["p"]
    assert profile.policy("public", "prompts") == "mirror"
    assert profile.policy("public", "clients") == "structure"
    assert profile.policy("project_acme", "documents") == "mirror"
    assert profile.policy("project_old", "documents") == "ignore"
    assert profile.policy("other", "t") is None


def test_tables_and_structure_only_narrow_a_profile(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        '[sync.profiles.p]\nsource = "production"\ntarget = "test"\n'
        'mirror = ["public.prompts", "public.object_models"]\n',
    )
    profile = choose_profile(loaded, "production", "test", name=None)
    narrowed = restrict(profile, tables=("public.prompts",), structure_only=())
    assert narrowed.policy(["public", "prompts"][0], "prompts") == "mirror"
    assert narrowed.policy("public", "object_models") is None
    demoted = restrict(profile, tables=(), structure_only=("public.prompts",))
    assert demoted.policy("public", "prompts") == "structure"
    assert demoted.policy("public", "object_models") == "mirror"


def test_choosing_a_profile(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path, '[sync.profiles.p]\nsource = "production"\ntarget = "test"\nmirror = ["x"]\n'
    )
    assert choose_profile(loaded, "production", "test", name=None).name == "p"
    with pytest.raises(UsageError, match="is for source 'production'"):
        choose_profile(loaded, "test", "production", name="p")
    with pytest.raises(UsageError, match="no sync profile goes from 'test'"):
        choose_profile(loaded, "test", "production", name=None)
    adhoc = choose_profile(loaded, "test", "production", name=None, tables=("public.t",))
    assert adhoc.policy("public", "t") == "mirror"
    with pytest.raises(UsageError, match=r"not a 'schema\.table' pattern"):
        choose_profile(loaded, "test", "production", name=None, tables=("a.b.c",))


def test_patterns_and_rules_parse() -> None:
    pattern = parse_pattern("prompts", 2)
    assert pattern is not None and pattern.parts == ("public", "prompts")
    assert parse_pattern("a..b", 3) is None
    assert parse_rule("fixed:n/a") is not None and str(parse_rule("fixed:n/a")) == "fixed:n/a"
    assert parse_rule("sql:") is None and parse_rule("email:x") is None and parse_rule(3) is None


@pytest.mark.parametrize(
    "name",
    [
        "email",
        "owner_email",
        "first_name",
        "name",
        "phone",
        "street_address",
        "ip",
        "client_ip",
        "date_of_birth",
    ],
)
def test_personal_looking_columns(name: str) -> None:
    assert looks_personal(name)


@pytest.mark.parametrize(
    "name",
    ["id", "client_id", "template", "tokens", "created_at", "model_name", "definition", "tags"],
)
def test_ordinary_columns(name: str) -> None:
    assert not looks_personal(name)


def test_rules_that_cannot_apply_are_refused() -> None:
    rule = parse_rule("null")
    with pytest.raises(UsageError, match="NOT NULL"):
        select_expression(MaskedColumn("email", "text", not_null=True, rule=rule), table="public.c")
    fixed = parse_rule("fixed:x")
    with pytest.raises(UsageError, match="unique"):
        select_expression(MaskedColumn("email", "text", unique=True, rule=fixed), table="public.c")


def test_the_most_specific_mask_rule_wins(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        '[sync.profiles.p.mask]\n"public.*.name" = "keep"\n"public.clients.name" = "name"\n',
    )
    profile = loaded.profiles["p"]
    assert str(profile.rule("public", "clients", "name")) == "name"
    assert str(profile.rule("public", "prompts", "name")) == "keep"
    assert profile.rule("public", "prompts", "email") is None
