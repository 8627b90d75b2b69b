"""What the backup payment method stores (rule BM1): which saved method of an account is its backup.

The role is a flag on the method, beside ``is_default``; the database holds the rule too: a method is never both
(``ck_payment_methods_backup_not_default``) and an account has at most one backup (``ux_payment_methods_backup``).
Every change is made under the account's lock, taken by the caller first.

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, select, update

from prorata.adapters.db.schema import payment_methods
from prorata.domain.backup_method import PaymentRoles
from prorata.services.ports import PaymentMethodRecord

_SAVED = payment_methods.c.removed_at.is_(None)


class BackupStore:
    """The backup part of the unit of work; ``SqlUnitOfWork`` provides the connection."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def payment_roles(self, account_id: int) -> PaymentRoles:
        """The account's saved methods, its default (the newest default, as charging reads it) and its backup."""
        rows = self.conn.execute(
            select(payment_methods.c.id, payment_methods.c.is_default, payment_methods.c.is_backup)
            .where(payment_methods.c.account_id == account_id, _SAVED)
            .order_by(payment_methods.c.id)
        ).all()
        primary = max((int(r.id) for r in rows if r.is_default), default=None)
        backup = next((int(r.id) for r in rows if r.is_backup), None)
        return PaymentRoles(frozenset(int(r.id) for r in rows), primary, backup)

    def backup_payment_method(self, account_id: int) -> PaymentMethodRecord | None:
        return self.backup_payment_methods((account_id,)).get(account_id)

    def backup_payment_methods(self, account_ids: Collection[int]) -> dict[int, PaymentMethodRecord]:
        """Each account's backup method, for those that have one (rule BM1)."""
        if not account_ids:
            return {}
        rows = self.conn.execute(
            select(payment_methods.c.account_id, payment_methods.c.id, payment_methods.c.gateway,
                   payment_methods.c.token)
            .where(payment_methods.c.account_id.in_(sorted(account_ids)), payment_methods.c.is_backup.is_(True),
                   _SAVED)
        )  # fmt: skip
        return {int(r.account_id): PaymentMethodRecord(int(r.id), r.gateway, r.token) for r in rows}

    def set_backup_method(self, account_id: int, method_id: int | None) -> None:
        """``method_id`` (a saved method that is not the default) becomes the backup; None: the account has none."""
        self.conn.execute(
            update(payment_methods)
            .where(payment_methods.c.account_id == account_id, payment_methods.c.is_backup.is_(True))
            .values(is_backup=False)
        )
        if method_id is not None:
            # a default flag left on an older method (only the newest default is charged) goes with its new role
            self.conn.execute(
                update(payment_methods)
                .where(payment_methods.c.id == method_id, payment_methods.c.account_id == account_id, _SAVED)
                .values(is_backup=True, is_default=False)
            )

    def swap_with_backup(self, account_id: int, primary_id: int | None, backup_id: int) -> None:
        """The backup becomes the default and the default the backup, in this order, so that no row is ever both and
        the account never has two backups, even for a moment (PostgreSQL checks the unique index row by row)."""
        self.conn.execute(
            update(payment_methods)
            .where(payment_methods.c.id == backup_id, payment_methods.c.account_id == account_id)
            .values(is_backup=False, is_default=True)
        )
        self.conn.execute(
            update(payment_methods)
            .where(payment_methods.c.account_id == account_id, payment_methods.c.id != backup_id)
            .values(is_default=False)
        )
        if primary_id is not None:
            self.conn.execute(
                update(payment_methods)
                .where(payment_methods.c.id == primary_id, payment_methods.c.account_id == account_id)
                .values(is_backup=True)
            )
