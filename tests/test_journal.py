"""The journal: rows in dbenv.journal, the local file for refusals, carried over a drop."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg

from dbenv.safety import journal


def entry(outcome: journal.Outcome = "ok", **extra: object) -> journal.JournalEntry:
    return journal.JournalEntry("reset", "app", "test", outcome, **extra)  # type: ignore[arg-type]


def test_rows_round_trip_with_arguments_and_counts(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        journal.write_entry(
            conn, entry(rows={"users": 3}, arguments={"files": ["a.json"]}, duration_ms=1.5)
        )
        journal.write_entry(conn, entry("failed", detail="boom"))
        rows = journal.read_entries(conn)
    assert [r.outcome for r in rows] == ["ok", "failed"]
    assert rows[0].rows == {"users": 3} and rows[0].arguments == {"files": ["a.json"]}
    assert rows[0].pid > 0 and rows[1].detail == "boom"


def test_reading_a_database_without_a_journal_gives_nothing(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        assert journal.read_entries(conn) == []
        row = conn.execute("SELECT to_regnamespace('dbenv')").fetchone()
        assert row is not None and row[0] is None  # reading created nothing


def test_saved_rows_can_be_restored_into_a_new_database(scratch_db: str) -> None:
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        journal.write_entry(conn, entry())
        saved = journal.read_entries(conn)
        conn.execute("DROP SCHEMA dbenv CASCADE")
        journal.restore_entries(conn, saved)
        again = journal.read_entries(conn)
    assert [(r.operation, r.at) for r in again] == [(r.operation, r.at) for r in saved]


def test_refusals_go_to_the_local_journal(tmp_path: Path) -> None:
    path = journal.write_local(tmp_path, entry("refused", detail="tier: protected"))
    journal.write_local(tmp_path, entry("refused", detail="stamp: copy"))
    assert path == tmp_path / ".dbenv" / "journal.jsonl"
    found = journal.read_local(tmp_path)
    assert [e["detail"] for e in found] == ["tier: protected", "stamp: copy"]
    assert journal.read_local(tmp_path / "elsewhere") == []


def test_url_passwords_in_arguments_are_masked(tmp_path: Path) -> None:
    journal.write_local(tmp_path, entry(arguments={"source": "postgresql://u:Pa55word@h/db"}))
    text = (tmp_path / ".dbenv" / "journal.jsonl").read_text()
    assert "Pa55word" not in text and "postgresql://u:****@h/db" in text


def test_a_role_with_only_grants_can_journal(scratch_db: str, pg_server: Any) -> None:
    """Schema mode: the role does not own the database, provision granted it the table."""
    from psycopg import sql

    role = f"journal_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(scratch_db, autocommit=True) as admin:
        journal.ensure_table(admin)
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL(
                "GRANT USAGE ON SCHEMA dbenv TO {0}; GRANT SELECT, INSERT ON dbenv.journal TO {0};"
                " GRANT USAGE ON ALL SEQUENCES IN SCHEMA dbenv TO {0}"
            ).format(sql.Identifier(role))
        )
    db = scratch_db.rsplit("/", 1)[1]
    try:
        with psycopg.connect(pg_server.dsn_for(db, user=role), autocommit=True) as conn:
            journal.write_entry(conn, entry())
            assert len(journal.read_entries(conn)) == 1
    finally:
        with psycopg.connect(scratch_db, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(pg_server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_an_unwritable_project_directory_does_not_hide_the_entry_being_made(
    tmp_path: Path,
) -> None:
    (tmp_path / ".dbenv").write_text("a file where the directory should be")
    assert journal.write_local(tmp_path, entry("refused")) is None
