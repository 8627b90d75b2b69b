"""Users of an account as the REST API creates them: Basic until a license is assigned (rule U1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from prorata.adapters.db.schema import users
from prorata.domain.errors import RuleViolation


def create_user(conn: Connection, account_id: int, *, email: str, name: str, role: str, now: datetime) -> int:
    taken = conn.execute(
        select(users.c.id).where(users.c.account_id == account_id, users.c.email == email)
    ).first()  # fmt: skip
    if taken is not None:
        raise RuleViolation("user.email_taken", f"email: the account already has a user {email}", field="email")
    return int(
        conn.execute(
            insert(users)
            .values(account_id=account_id, email=email, name=name, role=role, created_at=now)
            .returning(users.c.id)
        ).scalar_one()
    )


def user_role(conn: Connection, account_id: int, user_id: int) -> str | None:
    """The user's role, or None when the account has no such user."""
    role = conn.execute(
        select(users.c.role).where(users.c.id == user_id, users.c.account_id == account_id)
    ).scalar_one_or_none()  # fmt: skip
    return None if role is None else str(role)
