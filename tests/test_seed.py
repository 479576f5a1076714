"""Seeding a real database: formats, FK order, cycles, idempotence, sequences, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbenv.errors import ConfigError, SeedDataError
from dbenv.lifecycle.reset import reset
from dbenv.lifecycle.seed import seed
from lifecycle_support import database_state
from reset_support import drop_project_databases, make_project

USERS = {
    "users": [
        {"id": 2, "email": "b@example.com", "manager_id": 1},
        {"id": 1, "email": "a@example.com", "kind": "bot"},
    ],
    "providers": [{"id": 10, "user_id": 2, "name": "plaid", "settings": {"sandbox": True}}],
}


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory: pytest.TempPathFactory, pg_server: Any) -> Any:
    root = tmp_path_factory.mktemp("seed")
    project, database, dsn = make_project(root, pg_server)
    reset(project, project.environment("test"))
    yield project, dsn, root
    drop_project_databases(pg_server.dsn, project, database)


@pytest.fixture
def seeded_project(shared_project: Any) -> Any:
    """The module's project, emptied by a data-only reset (milliseconds) before each test."""
    project, _, _ = shared_project
    reset(project, project.environment("test"), data_only=True)
    return shared_project


def data_counts(dsn: str) -> dict[str, int]:
    """Row counts of the application's tables (dbenv's journal grows on every operation)."""
    counts = database_state(dsn)["counts"]
    return {k: v for k, v in counts.items() if not k.startswith("dbenv.")}


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def test_json_yaml_and_csv_seed_in_fk_order_and_twice_changes_nothing(seeded_project: Any) -> None:
    project, dsn, root = seeded_project
    env = project.environment("test")
    (root / "users.json").write_text(json.dumps(USERS))
    (root / "more.yaml").write_text("users:\n  - {id: 3, email: c@example.com, manager_id: 2}\n")
    (root / "provider_tokens.csv").write_text(
        "provider_id,token\n10,abc\n10,\n".replace(",\n", ",x\n")
    )
    files = [root / "provider_tokens.csv", root / "more.yaml", root / "users.json"]
    first = seed(project, env, files)
    assert first.changed == {"users": 3, "providers": 1, "provider_tokens": 2}
    assert first.rows == 6
    before = data_counts(dsn)
    second = seed(project, env, files)
    assert second.changed == {"users": 0, "providers": 0, "provider_tokens": 0}
    assert data_counts(dsn) == before
    assert rows(dsn, "SELECT id, kind::text, manager_id FROM users ORDER BY id") == [
        (1, "bot", None),
        (2, "person", 1),
        (3, "person", 2),
    ]
    assert rows(dsn, "SELECT settings::text FROM providers") == [('{"sandbox": true}',)]


def test_an_edited_row_is_updated_in_place(seeded_project: Any) -> None:
    project, dsn, root = seeded_project
    env = project.environment("test")
    path = root / "users.json"
    path.write_text(json.dumps(USERS))
    seed(project, env, [path])
    edited = json.loads(json.dumps(USERS))
    edited["users"][1]["email"] = "new@example.com"
    path.write_text(json.dumps(edited))
    result = seed(project, env, [path])
    assert result.changed == {"users": 1, "providers": 0}
    assert rows(dsn, "SELECT email FROM users WHERE id = 1") == [("new@example.com",)]


def test_sequences_and_identities_move_past_the_largest_id(seeded_project: Any) -> None:
    project, dsn, root = seeded_project
    env = project.environment("test")
    data = dict(USERS, provider_tokens=[{"id": 41, "provider_id": 10, "token": "t"}])
    (root / "s.json").write_text(json.dumps(data))
    seed(project, env, [root / "s.json"])
    with psycopg.connect(dsn, autocommit=True) as conn:
        user = conn.execute("INSERT INTO users (email) VALUES ('n') RETURNING id").fetchone()
        token = conn.execute(
            "INSERT INTO provider_tokens (provider_id, token) VALUES (10, 'u') RETURNING id"
        ).fetchone()
    assert user == (3,) and token == (42,)


def test_default_files_come_from_seed_files(tmp_path: Path, pg_server: Any) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "users.json").write_text(json.dumps({"users": USERS["users"]}))
    project, database, _ = make_project(tmp_path, pg_server, seed_files=["seeds/users.json"])
    try:
        env = project.environment("test")
        reset(project, env)
        assert seed(project, env).changed == {"users": 2}
    finally:
        drop_project_databases(pg_server.dsn, project, database)


CYCLE = """
CREATE TABLE teams (id int PRIMARY KEY, captain_id int);
CREATE TABLE players (id int PRIMARY KEY, team_id int NOT NULL REFERENCES teams);
ALTER TABLE teams ADD FOREIGN KEY (captain_id) REFERENCES players;
CREATE TABLE parts (id int PRIMARY KEY, kit_id int NOT NULL);
CREATE TABLE kits (id int PRIMARY KEY, part_id int NOT NULL REFERENCES parts
                   DEFERRABLE INITIALLY IMMEDIATE);
ALTER TABLE parts ADD FOREIGN KEY (kit_id) REFERENCES kits DEFERRABLE;
"""


def test_cycles_between_tables_are_seeded(tmp_path: Path, pg_server: Any) -> None:
    (tmp_path / "schema.sql").write_text(CYCLE)
    project, database, dsn = make_project(tmp_path, pg_server, source="sql:schema.sql")
    try:
        env = project.environment("test")
        reset(project, env)
        data = {
            "teams": [{"id": 1, "captain_id": 7}],
            "players": [{"id": 7, "team_id": 1}],
            "parts": [{"id": 1, "kit_id": 5}],
            "kits": [{"id": 5, "part_id": 1}],
        }
        (tmp_path / "c.json").write_text(json.dumps(data))
        seed(project, env, [tmp_path / "c.json"])
        assert seed(project, env, [tmp_path / "c.json"]).changed == {
            "teams": 0,
            "players": 0,
            "parts": 0,
            "kits": 0,
        }
        assert rows(dsn, "SELECT captain_id FROM teams") == [(7,)]
        assert rows(dsn, "SELECT part_id FROM kits") == [(1,)]
    finally:
        drop_project_databases(pg_server.dsn, project, database)


BAD = [
    ("a.json", {"nope": [{"id": 1}]}, ["a.json", "no table 'nope'"]),
    (
        "a.json",
        {"users": [{"id": 1, "email": "x"}, {"id": 2, "mail": "y"}]},
        ["table users", "row 2", "column mail", "has no column 'mail'"],
    ),
    (
        "a.json",
        {"users": [{"id": 1, "email": "x"}, {"id": "two", "email": "y"}]},
        ["table users", "row 2", "column id", "invalid input syntax for type integer"],
    ),
    (
        "a.json",
        {
            "users": [{"id": 1, "email": "x"}],
            "providers": [
                {"id": 1, "user_id": 1, "name": "p"},
                {"id": 2, "user_id": 99, "name": "q"},
            ],
        },
        ["table providers", "row 2", "column user_id", "(user_id)=(99)"],
    ),
    (
        "a.json",
        {"users": [{"id": 1, "email": "x"}, {"id": 1, "email": "y"}]},
        ["table users", "row 2", "column id", "repeats row 1"],
    ),
    ("a.json", {"users": [{"id": 1}]}, ["table users", "row 1", "column email", "null value"]),
    ("a.json", {"users": {"id": 1}}, ["table users", "expected a list of rows"]),
    ("a.json", {"users": [5]}, ["table users", "row 1", "expected an object"]),
    ("a.json", [1, 2], ["a.json", "expected a mapping"]),
    ("a.json", "{broken", ["a.json", "not valid JSON"]),
    ("a.yaml", "users: [a: b: c]", ["a.yaml", "not valid YAML"]),
    ("a.txt", "users", ["a.txt", "unsupported file type"]),
    ("users.csv", "id,email\n1,a,extra\n", ["table users", "row 1 (line 2)", "more cells"]),
    ("users.csv", "id,email\n1,a\nx,b\n", ["table users", "row 2 (line 3)", "column id"]),
]


@pytest.mark.parametrize(("name", "content", "words"), BAD)
def test_a_bad_seed_file_names_the_place_and_writes_nothing(
    seeded_project: Any, name: str, content: object, words: list[str]
) -> None:
    project, dsn, root = seeded_project
    env = project.environment("test")
    (root / "ok.json").write_text(json.dumps({"users": [{"id": 50, "email": "ok"}]}))
    path = root / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    before = data_counts(dsn)
    with pytest.raises(SeedDataError) as caught:
        seed(project, env, [root / "ok.json", path])
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert caught.value.exit_code == 2
    assert data_counts(dsn) == before


def test_a_missing_file_and_no_files_at_all_are_clear(seeded_project: Any) -> None:
    project, _, root = seeded_project
    env = project.environment("test")
    with pytest.raises(SeedDataError, match="no such file"):
        seed(project, env, [root / "absent.json"])
    with pytest.raises(ConfigError, match="has no seed_files"):
        seed(project, env)
