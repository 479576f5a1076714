"""The catalog queries follow the server's version (PostgreSQL 13 to 17)."""

from __future__ import annotations

import re

import psycopg

from dbenv.diff import queries as q

# Catalog columns PostgreSQL 13 lacks, with the version that added them.
NEWER_THAN_13 = {
    "attcompression": 14,
    "rngmultitypid": 14,
    "prosqlbody": 14,
    "inhdetachpending": 14,
    "indnullsnotdistinct": 15,
    "confdelsetcols": 15,
    "colliculocale": 15,
    "datlocprovider": 15,
    "colllocale": 17,
}


def texts(server_version: int) -> dict[str, str]:
    found = {k: v for k, v in vars(q).items() if k.isupper() and isinstance(v, str)}
    found["columns"] = q.columns(server_version)
    return found


def test_columns_query_reads_attcompression_from_14_only() -> None:
    assert "attcompression" not in q.columns(130000)
    assert 'NULL::"char"' in q.columns(130000)
    for version in (140000, 150004, 170002):
        assert "a.attcompression" in q.columns(version)


def test_no_query_for_13_names_a_column_13_lacks() -> None:
    """Newer columns appear only as JSON keys (to_jsonb(...) ->> 'name'), never as columns."""
    for name, text in texts(130000).items():
        for column in NEWER_THAN_13:
            bare = re.findall(rf"(?<!')\b{column}\b(?!')", text)
            assert not bare, f"{name} selects {column} (PostgreSQL {NEWER_THAN_13[column]}+)"


def test_both_shapes_of_the_columns_query_run(scratch_db: str) -> None:
    with psycopg.connect(scratch_db) as conn:
        conn.execute("create table t (id int, body text compression pglz)")
        old = conn.execute(q.columns(130000).encode()).fetchall()
        new = conn.execute(q.columns(conn.info.server_version).encode()).fetchall()
    assert [r[14] for r in old] == [None, None]
    assert [r[14] for r in new] == ["", "p"]
    assert [r[:14] for r in old] == [r[:14] for r in new]


def test_filtering_a_model_keeps_the_fields_it_does_not_filter() -> None:
    """casts and inherited were dropped by filter_model, so `dbenv diff` never saw them."""
    from dataclasses import replace

    from dbenv.diff.model import SchemaModel, filter_model

    empty = SchemaModel(*([{}] * 12))  # type: ignore[arg-type]
    model = replace(empty, casts=frozenset({("date", "text")}), server_version=150004)
    kept = filter_model(model, schemas=("public",))
    assert kept.casts == model.casts and kept.server_version == 150004
