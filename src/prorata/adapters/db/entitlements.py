"""An account's entitlements read from the database: the account, its users and who holds which license or seat,
handed to ``domain/entitlements.py``. Four statements whatever the number of users (nine for several accounts);
nothing is written or locked, so it may run inside a caller's transaction (to compare the entitlements before and
after a change).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from prorata.adapters.db.accounts import load_account, load_accounts
from prorata.adapters.db.bulk import among
from prorata.adapters.db.schema import accounts, license_assignments, subscriptions, users
from prorata.domain.catalog import Catalog
from prorata.domain.entitlements import AccountEntitlements, account_entitlements
from prorata.domain.periods import Granularity


def load_entitlements(
    conn: Connection, account_id: int, catalog: Catalog, granularity: Granularity | None = None
) -> AccountEntitlements | None:
    """The account's entitlements, or None when there is no such account. ``granularity`` defaults to the
    catalog's (the one the installation bills with)."""
    return load_entitlements_of(conn, [account_id], catalog, granularity).get(account_id)


def load_entitlements_of(
    conn: Connection, account_ids: Sequence[int], catalog: Catalog, granularity: Granularity | None = None
) -> dict[int, AccountEntitlements]:
    """The entitlements of several accounts (those that exist), in a fixed number of statements whatever their
    number: the billing run tells a batch's entitlements at once."""
    wanted = sorted(set(account_ids))
    heads = {
        int(r.id): r
        for r in conn.execute(
            select(accounts.c.id, accounts.c.status, accounts.c.overdue_since).where(among(conn, accounts.c.id, wanted))
        )
    }
    if not heads:
        return {}
    granularity = granularity or catalog.granularity
    if len(heads) == 1:  # one account (a change made in a request): its state in one statement instead of six
        only = next(iter(heads))
        held = {only: load_account(conn, only, granularity)}
    else:
        held = load_accounts(conn, list(heads), granularity)
    members: dict[int, list[tuple[int, str]]] = {}
    for r in conn.execute(
        select(users.c.id, users.c.account_id, users.c.email).where(among(conn, users.c.account_id, heads))
    ):
        members.setdefault(int(r.account_id), []).append((int(r.id), str(r.email)))
    holders: dict[int, dict[str, list[int]]] = {}
    for account_id, sub_id, user_id in conn.execute(
        select(subscriptions.c.account_id, license_assignments.c.subscription_id, license_assignments.c.user_id)
        .join(subscriptions, subscriptions.c.id == license_assignments.c.subscription_id)
        .where(among(conn, subscriptions.c.account_id, heads), subscriptions.c.status == "active")
    ):
        # the account's subscription ids are the row ids
        holders.setdefault(int(account_id), {}).setdefault(str(sub_id), []).append(int(user_id))
    return {
        account_id: account_entitlements(
            account_id, held[account_id], catalog, status=head.status, overdue_since=head.overdue_since,
            users=sorted(members.get(account_id, [])), holders=holders.get(account_id, {}),
        )
        for account_id, head in heads.items()
        if account_id in held
    }  # fmt: skip


EntitlementsReader = Callable[[Connection, Sequence[int]], dict[int, dict[str, Any]]]


def entitlements_reader(catalog: Catalog) -> EntitlementsReader:
    """What the unit of work compares to tell ``entitlements.updated``: the accounts' entitlements as the API
    returns them, read in the transaction of the change."""

    def read(conn: Connection, account_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        return {i: found.as_dict() for i, found in load_entitlements_of(conn, account_ids, catalog).items()}

    return read
