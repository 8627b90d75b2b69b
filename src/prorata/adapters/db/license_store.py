"""What license assignment stores (rules U1, U2, A7): which users hold a subscription's licenses or seats.

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from prorata.adapters.db.schema import license_assignments, subscriptions, users
from prorata.services.ports import AssignmentRecord


class LicenseStore:
    """The license-assignment part of the unit of work."""

    # provided by the events part of the unit of work (``EventStore``)
    forget_held: Callable[[int | None], None]

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
        self.forget_held(None)  # what the account's subscriptions hold changes
        self.conn.execute(
            insert(license_assignments).values(subscription_id=subscription_id, user_id=user_id, assigned_at=now)
        )

    def unassign(self, subscription_id: int, user_id: int) -> None:
        self.forget_held(None)
        self.conn.execute(
            license_assignments.delete().where(
                license_assignments.c.subscription_id == subscription_id, license_assignments.c.user_id == user_id
            )
        )

    def set_user_type(self, user_id: int, licensed: bool) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(type="licensed" if licensed else "basic"))

    def assignments_of_accounts(self, account_ids: Sequence[int]) -> list[AssignmentRecord]:
        """Every assignment of the accounts' subscriptions (ended ones too), the most recently assigned first."""
        if not account_ids:
            return []
        la = license_assignments.c
        rows = self.conn.execute(
            select(la.id, subscriptions.c.account_id, la.subscription_id, subscriptions.c.product, la.user_id,
                   users.c.email)
            .select_from(
                license_assignments.join(subscriptions, subscriptions.c.id == la.subscription_id).join(
                    users, users.c.id == la.user_id
                )
            )
            .where(subscriptions.c.account_id.in_(list(account_ids)))
            .order_by(la.assigned_at.desc(), la.id.desc())
        )  # fmt: skip
        return [AssignmentRecord(int(r[0]), int(r[1]), int(r[2]), str(r[3]), int(r[4]), str(r[5])) for r in rows]

    def end_assignments(self, assignment_ids: Sequence[int]) -> None:
        if assignment_ids:
            self.forget_held(None)
            self.conn.execute(delete(license_assignments).where(license_assignments.c.id.in_(list(assignment_ids))))

    def set_users_basic(self, user_ids: Sequence[int]) -> None:
        if user_ids:
            self.conn.execute(update(users).where(users.c.id.in_(list(user_ids))).values(type="basic"))
