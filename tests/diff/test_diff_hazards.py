"""Hazard labels, CONCURRENTLY indexes, enum values outside the transaction, column-order notes."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from dbenv.diff import DATA_LOSS, LONG_LOCK, NO_HAZARD, TABLE_REWRITE, Plan
from dbenv.diff.apply import apply_plan
from dbenv.diff.introspect import introspect
from dbenv.diff.plan import build_plan


def plan_for(
    make_db: Callable[[str], str], a: str, b: str, **options: bool
) -> tuple[Plan, str, str]:
    a_url, b_url = make_db(a), make_db(b)
    with psycopg.connect(a_url) as ca, psycopg.connect(b_url) as cb:
        return build_plan(introspect(ca), introspect(cb), **options), a_url, b_url


def hazard_of(plan: Plan, fragment: str) -> str:
    found = [s.hazard for s in plan.statements if fragment in s.sql]
    assert len(found) == 1, f"{fragment!r} in {[s.sql for s in plan.statements]}"
    return found[0]


def test_each_statement_gets_the_right_hazard(make_db: Callable[[str], str]) -> None:
    plan, _, _ = plan_for(
        make_db,
        """
        create table t (id int, n bigint, s text not null);
        create index t_s on t (s);
        comment on table t is 'note';
        """,
        "create table t (id int, n int, s text, gone int); create table old (id int);",
    )
    assert hazard_of(plan, "DROP TABLE public.old") == DATA_LOSS
    assert hazard_of(plan, "DROP COLUMN gone") == DATA_LOSS
    assert hazard_of(plan, "ALTER COLUMN n TYPE bigint") == TABLE_REWRITE
    assert hazard_of(plan, "ALTER COLUMN s SET NOT NULL") == LONG_LOCK
    assert hazard_of(plan, "CREATE INDEX t_s") == LONG_LOCK
    assert hazard_of(plan, "COMMENT ON TABLE") == NO_HAZARD
    assert len(plan.destructive) == 2


def test_enum_value_removed_is_data_loss_and_added_is_safe(make_db: Callable[[str], str]) -> None:
    added, _, _ = plan_for(
        make_db, "create type e as enum ('a', 'b');", "create type e as enum ('a');"
    )
    assert [s.hazard for s in added.statements] == [NO_HAZARD]
    assert not added.statements[0].transactional  # ADD VALUE runs on its own
    removed, _, _ = plan_for(
        make_db,
        "create type e as enum ('a'); create table t (x e);",
        "create type e as enum ('a', 'b'); create table t (x e);",
    )
    assert DATA_LOSS in {s.hazard for s in removed.statements}


def test_concurrently_builds_indexes_outside_the_transaction(
    make_db: Callable[[str], str],
) -> None:
    plan, a_url, b_url = plan_for(
        make_db,
        "create table t (id int); create index t_id on t (id);",
        "create table t (id int);",
        concurrently=True,
    )
    (stmt,) = plan.statements
    assert "CREATE INDEX CONCURRENTLY t_id" in stmt.sql
    assert (stmt.hazard, stmt.transactional) == (NO_HAZARD, False)
    with psycopg.connect(b_url) as conn:
        apply_plan(conn, plan)
    with psycopg.connect(a_url) as ca, psycopg.connect(b_url) as cb:
        assert build_plan(introspect(ca), introspect(cb)).empty


def test_new_tables_get_plain_index_builds(make_db: Callable[[str], str]) -> None:
    plan, _, _ = plan_for(
        make_db, "create table t (id int); create index t_id on t (id);", "", concurrently=True
    )
    index = next(s for s in plan.statements if "INDEX" in s.sql)
    assert "CONCURRENTLY" not in index.sql and index.hazard == NO_HAZARD


def test_column_order_difference_is_reported(make_db: Callable[[str], str]) -> None:
    plan, _, _ = plan_for(
        make_db, "create table t (a int, b int, c int);", "create table t (a int, c int);"
    )
    assert any("column order of public.t" in note for note in plan.notes)


def test_failed_statement_rolls_back_its_transaction(make_db: Callable[[str], str]) -> None:
    plan, _, b_url = plan_for(
        make_db,
        "create table t (id int, n int not null);",
        "create table t (id int); insert into t values (1);",
    )
    import pytest

    from dbenv.errors import OperationError

    with (
        psycopg.connect(b_url) as conn,
        pytest.raises(OperationError, match=r"column:public\.t\.n"),
    ):
        apply_plan(conn, plan)
    with psycopg.connect(b_url) as conn:
        cols = conn.execute(
            "select count(*) from information_schema.columns where table_name = 't'"
        ).fetchone()
    assert cols == (1,)


def test_owners_are_compared_only_when_asked(
    make_db: Callable[[str], str], roles: dict[str, str]
) -> None:
    a = "create table t (id int); alter table t owner to @ROLE1@;"
    plain, _, _ = plan_for(make_db, a, "create table t (id int);")
    assert plain.empty
    owned, _, _ = plan_for(make_db, a, "create table t (id int);", owners=True)
    assert [s.sql for s in owned.statements] == [
        f"ALTER TABLE public.t OWNER TO {roles['@ROLE1@']}"
    ]


def test_owner_of_a_table_with_serial_and_an_aggregate_converges(
    make_db: Callable[[str], str], roles: dict[str, str]
) -> None:
    body = """
        create table t (id serial primary key);
        create function add2(int, int) returns int language sql as 'select $1 + $2';
        create aggregate agg(int) (sfunc = add2, stype = int);
    """
    owners = "alter table t owner to @ROLE1@; alter aggregate agg(int) owner to @ROLE2@;"
    plan, a_url, b_url = plan_for(make_db, body + owners, body, owners=True)
    assert not any("t_id_seq" in s.sql for s in plan.statements)  # it follows its table
    with psycopg.connect(b_url, autocommit=True) as conn:
        apply_plan(conn, plan)
    with psycopg.connect(a_url) as ca, psycopg.connect(b_url) as cb:
        assert build_plan(introspect(ca), introspect(cb), owners=True).empty


def test_column_order_alone_is_no_drift_but_is_mentioned(make_db: Callable[[str], str]) -> None:
    from dbenv.diff.render import report

    plan, _, _ = plan_for(
        make_db, "create table t (a int, b int);", "create table t (b int, a int);"
    )
    assert plan.empty
    text = report(plan, source="A", target="B")
    assert text.startswith("No drift") and "column order of public.t" in text


def test_binary_coercible_widening_is_not_a_rewrite(make_db: Callable[[str], str]) -> None:
    plan, _, _ = plan_for(
        make_db,
        "create table t (a varchar(100), b text, c numeric(12,2), d numeric, e varchar(5))",
        "create table t (a varchar(50), b varchar(10), c numeric(10,2), d numeric(8,2),"
        " e varchar(9))",
    )
    assert hazard_of(plan, "COLUMN a TYPE") == NO_HAZARD
    assert hazard_of(plan, "COLUMN b TYPE") == NO_HAZARD
    assert hazard_of(plan, "COLUMN c TYPE") == NO_HAZARD
    assert hazard_of(plan, "COLUMN d TYPE") == NO_HAZARD
    assert hazard_of(plan, "COLUMN e TYPE") == TABLE_REWRITE  # shrinking checks every row


def test_narrowed_identity_restarts_as_data_loss(make_db: Callable[[str], str]) -> None:
    plan, _, _ = plan_for(
        make_db,
        "create table t (id int generated always as identity (minvalue 10 start 10));",
        "create table t (id int generated always as identity);",
    )
    assert hazard_of(plan, "RESTART") == DATA_LOSS


def test_partition_key_over_recreated_enum_recreates_the_table(
    make_db: Callable[[str], str],
) -> None:
    plan, _, _ = plan_for(
        make_db,
        "create type e as enum ('b', 'a'); create table p (k e) partition by list (k);",
        "create type e as enum ('a', 'b'); create table p (k e) partition by list (k);",
    )
    assert hazard_of(plan, "DROP TABLE public.p") == DATA_LOSS
    assert any("partition key uses public.e" in note for note in plan.notes)


def test_settings_that_change_no_data_have_no_hazard(make_db: Callable[[str], str]) -> None:
    plan, _, _ = plan_for(
        make_db,
        """
        create table t (id int primary key, v text) with (toast.autovacuum_enabled = false);
        alter table t alter v set statistics 500, alter v set storage external;
        alter table t cluster on t_pkey;
        alter default privileges grant select on tables to public;
        """,
        "create table t (id int primary key, v text);",
    )
    for fragment in ("SET STATISTICS", "SET STORAGE", "CLUSTER ON", "toast.", "DEFAULT PRIVILEGES"):
        assert hazard_of(plan, fragment) == NO_HAZARD
