"""What license assignment stores (rules U1, U2, A7): which users hold a subscription's licenses or seats.

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from prorata.adapters.db.schema import license_assignments, subscriptions, users


class LicenseStore:
    """The license-assignment part of the unit of work."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def subscription_owner(self, subscription_id: int) -> tuple[int, str, int, str] | None:
        row = self.conn.execute(
            select(
                subscriptions.c.account_id, subscriptions.c.product, subscriptions.c.quantity, subscriptions.c.status
            )
            .where(subscriptions.c.id == subscription_id)
            .with_for_update()
        ).first()
        return None if row is None else (int(row[0]), str(row[1]), int(row[2]), str(row[3]))

    def user_account(self, user_id: int) -> int | None:
        found = self.conn.execute(select(users.c.account_id).where(users.c.id == user_id)).scalar_one_or_none()
        return None if found is None else int(found)

    def assigned_users(self, subscription_id: int) -> set[int]:
        rows = self.conn.execute(
            select(license_assignments.c.user_id).where(license_assignments.c.subscription_id == subscription_id)
        )
        return {int(r[0]) for r in rows}

    def user_subscriptions(self, account_id: int, user_id: int) -> list[tuple[int, str]]:
        """The active subscriptions whose licenses or seats the user holds, with their products."""
        held = subscriptions.join(license_assignments, license_assignments.c.subscription_id == subscriptions.c.id)
        rows = self.conn.execute(
            select(subscriptions.c.id, subscriptions.c.product)
            .select_from(held)
            .where(
                subscriptions.c.account_id == account_id,
                subscriptions.c.status == "active",
                license_assignments.c.user_id == user_id,
            )
            .order_by(subscriptions.c.id)
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def assign(self, subscription_id: int, user_id: int, now: datetime) -> None:
        self.conn.execute(
            insert(license_assignments).values(subscription_id=subscription_id, user_id=user_id, assigned_at=now)
        )

    def unassign(self, subscription_id: int, user_id: int) -> None:
        self.conn.execute(
            license_assignments.delete().where(
                license_assignments.c.subscription_id == subscription_id, license_assignments.c.user_id == user_id
            )
        )

    def set_user_type(self, user_id: int, licensed: bool) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(type="licensed" if licensed else "basic"))
