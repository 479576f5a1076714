"""Tests with no conftest: the dbenv plugin's fixtures give each one a clean database."""

import pytest
from sqlalchemy import func, select

from app.accounts import open_account
from app.models import Account, Plan


def test_seed_plans_are_there(sa_session):
    assert sa_session.scalars(select(Plan.name).order_by(Plan.id)).all() == ["free", "team"]


def test_open_account_commits(sa_session):
    account = open_account(sa_session, "ada@example.com", plan="team")
    assert account.id is not None
    assert account.plan.seats == 10


def test_the_committed_account_is_gone(sa_session):
    # open_account() called commit() in the previous test; it was still rolled back
    assert sa_session.scalar(select(func.count()).select_from(Account)) == 0


def test_same_email_again_is_fine(sa_session):
    open_account(sa_session, "ada@example.com")


def test_plain_sql_with_psycopg(db):
    db.execute("INSERT INTO accounts (email, plan_id) VALUES ('sql@example.com', 1)")
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 1


@pytest.mark.dbenv(transaction=False)
def test_really_commits(sa_engine):
    with sa_engine.begin() as conn:
        conn.execute(Account.__table__.insert().values(email="real@example.com", plan_id=1))
    with sa_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Account)) == 1


def test_after_the_real_commit_only_seeds_remain(sa_session):
    assert sa_session.scalar(select(func.count()).select_from(Account)) == 0
    assert sa_session.scalar(select(func.count()).select_from(Plan)) == 2
