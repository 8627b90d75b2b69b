"""An account's entitlements read from the database: the account, its users and who holds which license or seat,
handed to ``domain/entitlements.py``. Two statements whatever the number of users (seven for several accounts; one
when the caller's transaction hands the accounts over as it left them). Nothing is written or locked, so it may run
inside a caller's transaction (to compare the entitlements before and after a change).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CompoundSelect, Connection, String, cast, literal, null, select, union_all

from prorata.adapters.db.accounts import load_account, load_accounts
from prorata.adapters.db.bulk import among
from prorata.adapters.db.schema import accounts, license_assignments, subscriptions, users
from prorata.adapters.db.types import UTCDateTime
from prorata.domain.account import Account
from prorata.domain.catalog import Catalog
from prorata.domain.dunning import DunningPolicy
from prorata.domain.entitlements import AccountEntitlements, account_entitlements
from prorata.domain.periods import Granularity


def load_entitlements(
    conn: Connection, account_id: int, catalog: Catalog, dunning: DunningPolicy, granularity: Granularity | None = None
) -> AccountEntitlements | None:
    """The account's entitlements, or None when there is no such account. ``granularity`` defaults to the
    catalog's (the one the installation bills with); ``dunning`` is the installation's schedule (rule I8)."""
    return load_entitlements_of(conn, [account_id], catalog, dunning, granularity).get(account_id)


def load_entitlements_of(
    conn: Connection, account_ids: Sequence[int], catalog: Catalog, dunning: DunningPolicy,
    granularity: Granularity | None = None, held: Mapping[int, Account] | None = None,
) -> dict[int, AccountEntitlements]:  # fmt: skip
    """The entitlements of several accounts (those that exist), in a fixed number of statements whatever their
    number: the billing run tells a batch's entitlements at once. ``held``: accounts as the caller's transaction
    left them (as a read would give them), taken instead of read."""
    wanted = sorted(set(account_ids))
    heads: dict[int, tuple[str, datetime | None]] = {}
    members: dict[int, list[tuple[int, str]]] = {}
    holders: dict[int, dict[str, list[int]]] = {}
    for kind, account_id, text, at, first, second in conn.execute(_people(conn, wanted)):
        if kind == "a":
            heads[int(account_id)] = (str(text), at)
        elif kind == "u":
            members.setdefault(int(account_id), []).append((int(first), str(text)))
        else:  # the account's subscription ids are the row ids
            holders.setdefault(int(account_id), {}).setdefault(str(first), []).append(int(second))
    if not heads:
        return {}
    granularity = granularity or catalog.granularity
    given = held or {}
    states = {account_id: given[account_id] for account_id in heads if account_id in given}
    unread = [account_id for account_id in heads if account_id not in states]
    if len(unread) == 1:  # one account (a change made in a request): its state in one statement instead of six
        states[unread[0]] = load_account(conn, unread[0], granularity)
    elif unread:
        states.update(load_accounts(conn, unread, granularity))
    return {
        account_id: account_entitlements(
            account_id, states[account_id], catalog, dunning=dunning, status=head[0], overdue_since=head[1],
            users=sorted(members.get(account_id, [])), holders=holders.get(account_id, {}),
        )
        for account_id, head in heads.items()
        if account_id in states
    }  # fmt: skip


def _people(conn: Connection, wanted: Sequence[int]) -> CompoundSelect[Any]:
    """The accounts' status (``a``), their users (``u``) and who holds which active subscription (``h``): one
    statement, each row saying what it is in its first column, the others typed alike in every branch."""
    t, i, s = cast(null(), UTCDateTime), cast(null(), BigInteger), cast(null(), String)
    la = license_assignments.c
    return union_all(
        select(literal("a"), accounts.c.id, accounts.c.status, accounts.c.overdue_since, i, i)
        .where(among(conn, accounts.c.id, wanted)),
        select(literal("u"), users.c.account_id, users.c.email, t, users.c.id, i)
        .where(among(conn, users.c.account_id, wanted)),
        select(literal("h"), subscriptions.c.account_id, s, t, la.subscription_id, la.user_id)
        .join(subscriptions, subscriptions.c.id == la.subscription_id)
        .where(among(conn, subscriptions.c.account_id, wanted), subscriptions.c.status == "active"),
    )  # fmt: skip


EntitlementsReader = Callable[[Connection, Sequence[int], Mapping[int, Account]], dict[int, dict[str, Any]]]


def entitlements_reader(catalog: Catalog, dunning: DunningPolicy) -> EntitlementsReader:
    """What the unit of work compares to tell ``entitlements.updated``: the accounts' entitlements as the API
    returns them, read in the transaction of the change."""

    def read(conn: Connection, account_ids: Sequence[int], held: Mapping[int, Account]) -> dict[int, dict[str, Any]]:
        found = load_entitlements_of(conn, account_ids, catalog, dunning, held=held)
        return {account_id: entitlements.as_dict() for account_id, entitlements in found.items()}

    return read
