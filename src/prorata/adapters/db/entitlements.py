"""An account's entitlements read from the database: the account, its users and who holds which license or seat,
handed to ``domain/entitlements.py``. Four statements whatever the number of users; nothing is written or locked, so
it may run inside a caller's transaction (to compare the entitlements before and after a change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from prorata.adapters.db.accounts import load_account
from prorata.adapters.db.schema import accounts, license_assignments, subscriptions, users
from prorata.domain.catalog import Catalog
from prorata.domain.entitlements import AccountEntitlements, account_entitlements
from prorata.domain.periods import Granularity


def load_entitlements(
    conn: Connection, account_id: int, catalog: Catalog, granularity: Granularity | None = None
) -> AccountEntitlements | None:
    """The account's entitlements, or None when there is no such account. ``granularity`` defaults to the
    catalog's (the one the installation bills with)."""
    head = conn.execute(
        select(accounts.c.status, accounts.c.overdue_since).where(accounts.c.id == account_id)
    ).first()  # fmt: skip
    if head is None:
        return None
    account = load_account(conn, account_id, granularity or catalog.granularity, lock=False)
    members = [
        (int(r.id), str(r.email))
        for r in conn.execute(select(users.c.id, users.c.email).where(users.c.account_id == account_id))
    ]
    holders: dict[str, list[int]] = {}
    for sub_id, user_id in conn.execute(
        select(license_assignments.c.subscription_id, license_assignments.c.user_id)
        .join(subscriptions, subscriptions.c.id == license_assignments.c.subscription_id)
        .where(subscriptions.c.account_id == account_id, subscriptions.c.status == "active")
    ):
        holders.setdefault(str(sub_id), []).append(int(user_id))  # the account's subscription ids are the row ids
    return account_entitlements(
        account_id, account, catalog, status=head.status, overdue_since=head.overdue_since, users=members,
        holders=holders,
    )  # fmt: skip


def entitlements_reader(catalog: Catalog) -> Callable[[Connection, int], dict[str, Any] | None]:
    """What the unit of work compares to tell ``entitlements.updated``: the account's entitlements as the API
    returns them, read in the transaction of the change."""

    def read(conn: Connection, account_id: int) -> dict[str, Any] | None:
        found = load_entitlements(conn, account_id, catalog)
        return None if found is None else found.as_dict()

    return read
