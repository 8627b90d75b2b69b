"""Users of an account as the API and the portal read them (adding one is ``services/add_user.py``)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from prorata.adapters.db.schema import users


def user_role(conn: Connection, account_id: int, user_id: int) -> str | None:
    """The user's role, or None when the account has no such user."""
    role = conn.execute(
        select(users.c.role).where(users.c.id == user_id, users.c.account_id == account_id)
    ).scalar_one_or_none()  # fmt: skip
    return None if role is None else str(role)
