"""Schema-source parsing and fingerprints (no server needed)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from dbenv.config.model import Environment
from dbenv.errors import ConfigError
from dbenv.sources.schema import fingerprint, load_metadata, load_schema_source, parse_source


def test_the_forms_of_a_source(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE t (id int);")
    (tmp_path / "alembic.ini").write_text("[alembic]\n")
    one = parse_source("sqlalchemy:app.models:Base.metadata", environment="test", root=tmp_path)
    assert one.modules == ("app.models",) and one.attr == "Base.metadata"
    many = parse_source(
        "sqlalchemy:app.db, app.models.user:Base.metadata", environment="test", root=tmp_path
    )
    assert many.modules == ("app.db", "app.models.user")
    assert parse_source("sqlmodel:app:SQLModel.metadata", environment="t", root=tmp_path).kind == (
        "sqlalchemy"
    )
    assert parse_source("sql:schema.sql", environment="t", root=tmp_path).path == (
        tmp_path / "schema.sql"
    )
    assert parse_source("alembic:alembic.ini", environment="t", root=tmp_path).kind == "alembic"
    assert parse_source("env:staging", environment="test", root=tmp_path).other == "staging"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("", "expected a string"),
        ("models.py", "no kind prefix"),
        ("sqlalchemy:app.models", "expected sqlalchemy:module"),
        ("sqlalchemy:app-models:Base", "expected sqlalchemy:module"),
        ("sql:nope.sql", "does not exist"),
        ("django:app", "unknown kind 'django'"),
    ],
)
def test_a_bad_source_names_the_key_the_value_and_the_forms(
    tmp_path: Path, spec: object, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(spec, environment="test", root=tmp_path)
    message = str(caught.value)
    assert message.startswith("schema_source of environment 'test' is ")
    assert words in message and caught.value.exit_code == 2


def env(root: Path, **kwargs: object) -> Environment:
    return Environment(name="test", project="p", root=root, **kwargs)  # type: ignore[arg-type]


def test_no_source_and_unsupported_combinations_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text("")
    with pytest.raises(ConfigError, match="has no schema_source"):
        load_schema_source(None, env(tmp_path))
    with pytest.raises(ConfigError, match="prefix isolation needs a sqlalchemy source"):
        load_schema_source(
            None, env(tmp_path, schema_source="sql:s.sql", isolation="prefix", prefix="test_")
        )
    with pytest.raises(ConfigError, match="database isolation only"):
        load_schema_source(
            None, env(tmp_path, schema_source="env:prod", isolation="schema", schema="s")
        )


def test_fingerprints_follow_the_content_and_the_extensions(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text("CREATE TABLE t (id int);")
    base = env(tmp_path, schema_source="sql:s.sql")
    first = fingerprint(None, base)
    assert fingerprint(None, base) == first
    assert fingerprint(None, replace(base, extensions=("pgcrypto",))) != first
    (tmp_path / "s.sql").write_text("CREATE TABLE t (id bigint);")
    assert fingerprint(None, base) != first


def test_sqlalchemy_fingerprint_differs_with_the_prefix(tmp_path: Path) -> None:
    (tmp_path / "fp_models_x1.py").write_text(
        textwrap.dedent("""
        import sqlalchemy as sa
        metadata = sa.MetaData()
        sa.Table("Agents", metadata, sa.Column("id", sa.Integer, primary_key=True))
    """)
    )
    plain = env(tmp_path, schema_source="sqlalchemy:fp_models_x1:metadata")
    prefixed = replace(plain, isolation="prefix", prefix="test_")
    assert fingerprint(None, plain) != fingerprint(None, prefixed)
    source = load_schema_source(None, plain)
    assert list(load_metadata(source, tmp_path).tables) == ["Agents"]
