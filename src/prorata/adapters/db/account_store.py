"""Accounts and their users as the use cases open them (``services/open_account.py``, ``services/add_user.py``), and
what operators change on them by hand (``services/grant_credit.py``, ``services/sales_managed.py``). A part of
``SqlUnitOfWork``, which provides the connection.

A code or an e-mail address taken by a writer that raced this one reaches the database's unique constraint: that
is answered with the use case's own refusal, never a server error. The statement runs in a savepoint, so on
PostgreSQL the transaction is still usable for the rollback that follows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.accounts import create_account
from prorata.adapters.db.schema import accounts, credit_ledger, users
from prorata.services.add_user import email_taken
from prorata.services.open_account import code_taken
from prorata.services.ports import CreditGrant

GRANT = "grant"  # the ledger's reason for credit an operator added by hand


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

    # -- by hand, by an operator

    def credit_grant(self, account_id: int, idempotency_key: str) -> CreditGrant | None:
        row = self.conn.execute(
            select(credit_ledger.c.id, credit_ledger.c.account_id, credit_ledger.c.amount, credit_ledger.c.currency,
                   credit_ledger.c.note, credit_ledger.c.created_at)
            .where(credit_ledger.c.grant_key == f"{account_id}:{idempotency_key}")
        ).first()  # fmt: skip
        return None if row is None else CreditGrant(int(row[0]), int(row[1]), int(row[2]), row[3], row[4], row[5])

    def insert_credit_grant(
        self, account_id: int, amount: int, reason: str, idempotency_key: str, now: datetime
    ) -> CreditGrant:
        currency = self.conn.execute(select(accounts.c.currency).where(accounts.c.id == account_id)).scalar_one()
        entry = self.conn.execute(
            insert(credit_ledger)
            .values(
                account_id=account_id,
                amount=amount,
                currency=currency,
                reason=GRANT,
                note=reason,
                grant_key=f"{account_id}:{idempotency_key}",
                created_at=now,
            )
            .returning(credit_ledger.c.id)
        ).scalar_one()  # the account is locked: a second request with this key waited, and found this one
        return CreditGrant(int(entry), account_id, amount, currency, reason, now)

    def credit_balance(self, account_id: int) -> int:
        return int(self.conn.execute(
            select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(credit_ledger.c.account_id == account_id)
        ).scalar_one())  # fmt: skip

    def set_managed_by_sales(self, account_id: int, managed: bool) -> bool:
        changed = self.conn.execute(
            update(accounts).where(accounts.c.id == account_id, accounts.c.managed_by_sales.is_not(managed))
            .values(managed_by_sales=managed)
        ).rowcount  # fmt: skip
        return bool(changed)
