"""examples/contentgen, as shipped: its schema, its production rows and its sync profile.

The example's environments live on the local stack (``server = "local"``); here its
``[project]`` and ``[sync]`` tables are kept verbatim and the two environments point
at fresh databases on the suite's server. The README's profile must be the example's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dbenv.commands import sync as commands
from dbenv.config import load_project
from lifecycle_support import stamp_as
from sync_support import SALT, execute, query

EXAMPLE = Path(__file__).parent.parent / "examples" / "contentgen"
README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def example(pg_server: Any, tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    text = (EXAMPLE / "dbenv.toml").read_text(encoding="utf-8")
    names = [f"contentgen_ex_{end}_{uuid.uuid4().hex[:8]}" for end in ("prod", "test")]
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    production, test = (pg_server.dsn_for(name) for name in names)
    try:
        schema = (EXAMPLE / "schema.sql").read_text(encoding="utf-8")
        execute(production, schema + (EXAMPLE / "production_data.sql").read_text("utf-8"))
        execute(test, schema)
        stamp_as(test, "contentgen", "test")
        environments = (
            f'[environments.production]\ntier = "protected"\ndatabase_url = "{production}"\n\n'
            f'[environments.test]\ntier = "disposable"\ndatabase_url = "{test}"\n\n'
        )
        project = text[text.index("[project]") : text.index("[local]")]
        (tmp_path / "dbenv.toml").write_text(
            project + environments + text[text.index("[sync]") :], encoding="utf-8"
        )
        yield tmp_path, production, test
    finally:
        with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
            for name in names:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def test_the_example_profile_syncs_masked(example: tuple[Path, str, str]) -> None:
    root, production, test = example
    project = load_project(project=root, process_env={"DBENV_MASK_SALT": SALT})
    result = commands.sync(project, project.environment("production"), project.environment("test"))
    rows = {t.table: t.rows for t in result.tables if t.policy == "mirror"}
    assert rows == {
        "public.object_models": 10,
        "public.prompts": 50,
        "project_acme.articles": 10,
    }
    assert result.profile == "reference" and result.masking
    copied = query(test, "SELECT owner_email FROM prompts") + query(
        test, "SELECT author_email FROM project_acme.articles"
    )
    personal = query(production, "SELECT owner_email FROM prompts") + query(
        production, "SELECT author_email FROM project_acme.articles"
    )
    assert len(copied) == 60 and not set(copied) & set(personal)
    assert query(test, "SELECT count(*) FROM clients") == [(0,)]  # structure only


def test_the_readme_shows_the_example_profile() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("### 6. Copy data between environments") :]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block is not None
    example = {
        line.split("#")[0].strip()
        for line in (EXAMPLE / "dbenv.toml").read_text(encoding="utf-8").splitlines()
    }
    shown = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert [line for line in shown if line and line not in example] == []
    masked = [line for line in example if line.startswith('"') and "=" in line]
    assert all(line in shown for line in masked)  # every rule the example needs
