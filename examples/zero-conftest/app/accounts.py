"""Opening accounts: the kind of service code that commits its own transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Plan


def open_account(session: Session, email: str, plan: str = "free") -> Account:
    """Create an account on a plan and commit it."""
    chosen = session.scalars(select(Plan).where(Plan.name == plan)).one()
    account = Account(email=email, plan=chosen)
    session.add(account)
    session.commit()
    return account
