"""Accounts and their users as the use cases open them (``services/open_account.py``, ``services/add_user.py``). A
part of ``SqlUnitOfWork``, which provides the connection.

A code or an e-mail address taken by a writer that raced this one reaches the database's unique constraint: that
is answered with the use case's own refusal, never a server error. The statement runs in a savepoint, so on
PostgreSQL the transaction is still usable for the rollback that follows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.accounts import create_account
from prorata.adapters.db.schema import accounts, users
from prorata.services.add_user import email_taken
from prorata.services.open_account import code_taken


class AccountStore:
    """The accounts' and users' part of the unit of work."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def account_id_by_code(self, code: str) -> int | None:
        found = self.conn.execute(select(accounts.c.id).where(accounts.c.code == code)).scalar_one_or_none()
        return None if found is None else int(found)

    def insert_account(
        self, code: str, name: str, currency: str, time_zone: str, country: str, *, managed_by_sales: bool,
        now: datetime,
    ) -> int:  # fmt: skip
        try:
            with self.conn.begin_nested():
                return create_account(self.conn, code=code, name=name, currency=currency, time_zone=time_zone,
                                      country=country, managed_by_sales=managed_by_sales, now=now)  # fmt: skip
        except IntegrityError:
            raise code_taken(code) from None

    def user_id_by_email(self, account_id: int, email: str) -> int | None:
        found = self.conn.execute(
            select(users.c.id).where(users.c.account_id == account_id, users.c.email == email)
        ).scalar_one_or_none()  # fmt: skip
        return None if found is None else int(found)

    def insert_user(self, account_id: int, email: str, name: str, role: str, now: datetime) -> int:
        try:
            with self.conn.begin_nested():
                return int(
                    self.conn.execute(
                        insert(users)
                        .values(account_id=account_id, email=email, name=name, role=role, created_at=now)
                        .returning(users.c.id)
                    ).scalar_one()
                )
        except IntegrityError:
            raise email_taken(email) from None
