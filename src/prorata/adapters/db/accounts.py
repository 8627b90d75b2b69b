"""Accounts as the engine sees them, read from and written to the database.

``load_account`` builds the domain ``Account`` (subscriptions with their charges and pending changes, licenses
assigned, the credit balance as the sum of the ledger) and, asked to, locks the account row first: on PostgreSQL
``SELECT ... FOR UPDATE``, on SQLite the IMMEDIATE transaction already holds the write lock. Locks are always taken
account first, so two writers of one account queue instead of deadlocking.

``save_subscriptions`` writes what an order or a renewal left: changed subscriptions are updated, their charges and
pending changes replaced, subscriptions the engine dropped are ended, new ones are inserted. Subscription ids are
the database ids as text; the engine's provisional ``new-N`` ids are mapped to the rows inserted for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Connection,
    String,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    text,
    union_all,
    update,
)

from prorata.adapters.db.bulk import among, array_text, insert_rows
from prorata.adapters.db.schema import (
    accounts,
    credit_ledger,
    discount_redemptions,
    license_assignments,
    pending_changes,
    subscription_charges,
    subscriptions,
)
from prorata.adapters.db.types import UTCDateTime
from prorata.domain.account import Account, Charge, Pending, PendingKind, Subscription
from prorata.domain.discounts import Discount
from prorata.domain.errors import InvalidInput
from prorata.domain.periods import Granularity, Interval, Period


class AccountBusy(Exception):
    """Another transaction holds the account (a concurrent billing run renews it)."""

    def __init__(self, account_id: int) -> None:
        super().__init__(f"account {account_id} is locked by another transaction")
        self.account_id = account_id


def create_account(
    connection: Connection,
    *,
    code: str,
    name: str,
    currency: str,
    time_zone: str,
    country: str,
    now: datetime,
    managed_by_sales: bool = False,
) -> int:
    # the domain checks currency and time zone before anything is written
    Account(currency, time_zone, Granularity.DAY, 0)
    return int(
        connection.execute(
            insert(accounts)
            .values(
                code=code,
                name=name,
                currency=currency,
                time_zone=time_zone,
                country=country,
                managed_by_sales=managed_by_sales,
                created_at=now,
            )
            .returning(accounts.c.id)
        ).scalar_one()
    )


def load_account(
    connection: Connection, account_id: int, granularity: Granularity, *, lock: bool = False, skip_locked: bool = False
) -> Account:
    """The account as the engine sees it. ``skip_locked``: when another transaction holds the account, raise
    ``AccountBusy`` at once instead of waiting (PostgreSQL; SQLite has one writer at a time anyway). Unlocked, it is
    read in one statement (``_read_at_once``): a quote reads an account on every request; locked, in two (the lock,
    then the read)."""
    if not lock or connection.dialect.name != "postgresql":
        # SQLite: the IMMEDIATE transaction already holds the write lock
        return _read_at_once(connection, account_id, granularity)
    # the row lock first, in a statement of its own: the read that follows takes its snapshot once the lock is held,
    # so it sees everything the previous holder committed (a statement that waited for a lock reads the rest of
    # the database as it was before the wait)
    locking = select(accounts.c.id).where(accounts.c.id == account_id).with_for_update(skip_locked=skip_locked)
    if connection.execute(locking).first() is not None:
        return _read_at_once(connection, account_id, granularity)
    if skip_locked:
        exists = connection.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first()
        if exists is not None:
            raise AccountBusy(account_id)
    raise _unknown(account_id)


def load_accounts(
    connection: Connection,
    account_ids: Sequence[int],
    granularity: Granularity,
    *,
    lock: bool = False,
    skip_locked: bool = False,
) -> dict[int, Account]:
    """Several accounts in six queries whatever their number (the billing run loads them a batch at a time).

    Locked in id order when asked; with ``skip_locked`` the accounts another transaction holds are left out of the
    answer instead of waited for. Accounts that do not exist are left out too."""
    query = select(accounts).where(among(connection, accounts.c.id, account_ids)).order_by(accounts.c.id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=skip_locked)
    heads = {int(row["id"]): row for row in connection.execute(query).mappings()}
    if not heads:
        return {}
    ids = list(heads)
    active = among(connection, subscriptions.c.account_id, ids) & (subscriptions.c.status == "active")
    subs = connection.execute(select(subscriptions).where(active).order_by(subscriptions.c.id)).mappings().all()
    charges: dict[int, list[Charge]] = {int(s["id"]): [] for s in subs}
    pending: dict[int, list[Pending]] = {int(s["id"]): [] for s in subs}
    assigned: dict[int, int] = {}
    if subs:
        c = subscription_charges.c
        for sub_id, amount, start, end, rate in connection.execute(
            select(c.subscription_id, c.amount, c.service_start, c.service_end, c.tax_rate)
            .join(subscriptions, subscriptions.c.id == c.subscription_id)
            .where(active)
            .order_by(c.id)
        ):
            charges[sub_id].append(Charge(amount, start, end, rate))
        p = pending_changes.c
        for sub_id, kind, effective, quantity, product in connection.execute(
            select(p.subscription_id, p.kind, p.effective, p.quantity, p.product)
            .join(subscriptions, subscriptions.c.id == p.subscription_id)
            .where(active)
            .order_by(p.id)
        ):
            pending[sub_id].append(Pending(PendingKind(kind), effective, quantity, product))
        assigned = {
            int(sub_id): int(count)
            for sub_id, count in connection.execute(
                select(license_assignments.c.subscription_id, func.count())
                .join(subscriptions, subscriptions.c.id == license_assignments.c.subscription_id)
                .where(active)
                .group_by(license_assignments.c.subscription_id)
            )
        }
    balances = {
        int(account_id): int(total)
        for account_id, total in connection.execute(
            select(credit_ledger.c.account_id, func.sum(credit_ledger.c.amount))
            .where(among(connection, credit_ledger.c.account_id, ids))
            .group_by(credit_ledger.c.account_id)
        )
    }
    r = discount_redemptions.c
    discounts = {
        int(row.account_id): _discount(row.code, row.starts_at, row.ends_at, row.percent, row.amount, row.products)
        for row in connection.execute(
            select(r.account_id, r.code, r.starts_at, r.ends_at, r.percent, r.amount, r.products)
            .where(among(connection, r.account_id, ids), r.status == "applied")
            .order_by(r.id)  # the latest last: one at a time, so the latest is the account's
        )
    }
    held: dict[int, list[tuple[int, str, str, int, datetime, datetime, datetime]]] = {a: [] for a in ids}
    for sub in subs:
        held[int(sub["account_id"])].append(
            (int(sub["id"]), sub["product"], sub["interval"], sub["quantity"], sub["anchor"], sub["period_start"],
             sub["period_end"])
        )  # fmt: skip
    return {
        account_id: _assemble(
            (
                row["currency"],
                row["time_zone"],
                row["status"],
                bool(row["managed_by_sales"]),
                balances.get(account_id, 0),
            ),
            held[account_id],
            charges,
            pending,
            assigned,
            granularity,
            discounts.get(account_id),
        )
        for account_id, row in heads.items()
    }


def _unknown(account_id: int) -> InvalidInput:
    return InvalidInput("account.unknown", f"account: there is no account {account_id}", field="account")


def _assemble(
    head: tuple[str, str, str, bool, int],
    subs: list[tuple[int, str, str, int, datetime, datetime, datetime]],
    charges: Mapping[int, list[Charge]],
    pending: Mapping[int, list[Pending]],
    assigned: Mapping[int, int],
    granularity: Granularity,
    discount: Discount | None = None,
) -> Account:
    currency, zone, status, managed_by_sales, balance = head
    return Account(
        currency,
        zone,
        granularity,
        balance,
        tuple(
            Subscription(
                str(sub_id),
                product,
                Interval(interval),
                quantity,
                anchor,
                Period(start, end),
                tuple(charges.get(sub_id, ())),
                int(assigned.get(sub_id, 0)),
                tuple(pending.get(sub_id, ())),
            )
            for sub_id, product, interval, quantity, anchor, start, end in subs
        ),
        overdue=status == "overdue",
        managed_by_sales=managed_by_sales,
        discount=discount,
    )


def _discount(
    code: str, start: datetime, end: datetime | None, percent: int | None, amount: int | None, products: str
) -> Discount:
    return Discount(code, start, end, percent, amount, frozenset(products.split()))


def _account_rows() -> CompoundSelect[Any]:
    """The account, its active subscriptions, their charges, pending changes and assigned licenses, and the credit
    balance, as the rows of one UNION ALL. Each row says what it is in ``k``; the other columns are typed alike in
    every branch: three instants, three integers, three strings. Built once; the account is a bound parameter."""
    account_id = bindparam("account_id", type_=BigInteger)
    t, i, s = cast(null(), UTCDateTime), cast(null(), BigInteger), cast(null(), String)
    active = select(subscriptions.c.id).where(
        subscriptions.c.account_id == account_id, subscriptions.c.status == "active"
    )  # fmt: skip
    balance = (
        select(func.coalesce(func.sum(credit_ledger.c.amount), 0))
        .where(credit_ledger.c.account_id == account_id)
        .scalar_subquery()
    )
    sc, pc, la, dr = subscription_charges.c, pending_changes.c, license_assignments.c, discount_redemptions.c
    return union_all(
        select(literal("a").label("k"), accounts.c.id.label("sid"), t.label("t1"), t.label("t2"), t.label("t3"),
               cast(balance, BigInteger).label("n1"), case((accounts.c.managed_by_sales, 1), else_=0).label("n2"),
               i.label("n3"), accounts.c.currency.label("s1"), accounts.c.time_zone.label("s2"),
               accounts.c.status.label("s3"))
        .where(accounts.c.id == account_id),
        select(literal("s"), subscriptions.c.id, subscriptions.c.anchor, subscriptions.c.period_start,
               subscriptions.c.period_end, subscriptions.c.quantity, i, i, subscriptions.c.product,
               subscriptions.c.interval, s)
        .where(subscriptions.c.account_id == account_id, subscriptions.c.status == "active"),
        select(literal("c"), sc.subscription_id, sc.service_start, sc.service_end, t, sc.amount, sc.id,
               cast(sc.tax_rate, BigInteger), s, s, s)
        .where(sc.subscription_id.in_(active)),
        select(literal("p"), pc.subscription_id, pc.effective, t, t, pc.quantity, pc.id, i, pc.kind, pc.product, s)
        .where(pc.subscription_id.in_(active)),
        select(literal("n"), la.subscription_id, t, t, t, func.count(), i, i, s, s, s)
        .where(la.subscription_id.in_(active))
        .group_by(la.subscription_id),
        # rule DC2: the discount it holds (one at a time: the latest applied); the percent or the amount in n1/n2
        select(literal("d"), dr.id, dr.starts_at, dr.ends_at, t, cast(dr.percent, BigInteger), dr.amount, i, dr.code,
               dr.products, s)
        .where(dr.account_id == account_id, dr.status == "applied"),
    )  # fmt: skip


_ACCOUNT_ROWS = _account_rows()


def _read_at_once(connection: Connection, account_id: int, granularity: Granularity) -> Account:
    """The account in one round trip instead of six (``_account_rows``)."""
    head: tuple[str, str, str, bool, int] | None = None
    subs: list[tuple[int, str, str, int, datetime, datetime, datetime]] = []
    charges: dict[int, list[tuple[int, Charge]]] = {}
    pending: dict[int, list[tuple[int, Pending]]] = {}
    assigned: dict[int, int] = {}
    discount: tuple[int, Discount] | None = None
    for k, sid, t1, t2, t3, n1, n2, n3, s1, s2, s3 in connection.execute(_ACCOUNT_ROWS, {"account_id": account_id}):
        if k == "a":
            head = (s1, s2, s3, bool(n2), int(n1))
        elif k == "s":
            subs.append((int(sid), s1, s2, int(n1), t1, t2, t3))
        elif k == "c":
            charges.setdefault(int(sid), []).append((int(n2), Charge(int(n1), t1, t2, int(n3))))
        elif k == "p":
            pending.setdefault(int(sid), []).append((int(n2), Pending(PendingKind(s1), t1, n1, s2)))
        elif k == "d":
            if discount is None or int(sid) > discount[0]:
                discount = (int(sid), _discount(s1, t1, t2, n1, n2, s2))
        else:
            assigned[int(sid)] = int(n1)
    if head is None:
        raise _unknown(account_id)
    subs.sort()
    return _assemble(
        head,
        subs,
        {sid: [c for _, c in sorted(rows, key=lambda r: r[0])] for sid, rows in charges.items()},
        {sid: [p for _, p in sorted(rows, key=lambda r: r[0])] for sid, rows in pending.items()},
        assigned,
        granularity,
        None if discount is None else discount[1],
    )


def save_subscriptions(
    connection: Connection, account_id: int, before: Account, after: Account, now: datetime
) -> dict[str, int]:
    """Write ``after``'s subscriptions over ``before``'s; returns the database id of every subscription by its
    engine id (new ones included)."""
    return save_many_subscriptions(connection, [(account_id, before, after)], now)[0]


def save_many_subscriptions(
    connection: Connection, items: Sequence[tuple[int, Account, Account]], now: datetime
) -> list[dict[str, int]]:
    """``save_subscriptions`` for several accounts in a few statements whatever their number (the billing run)."""
    answers: list[dict[str, int]] = []
    changed: list[Subscription] = []
    ended: list[int] = []
    created: list[tuple[dict[str, int], int, Subscription]] = []
    for account_id, before, after in items:
        old = {s.id: s for s in before.subscriptions}
        ids: dict[str, int] = {}
        for sub in after.subscriptions:
            previous = old.pop(sub.id, None)
            if previous is None:
                created.append((ids, account_id, sub))
                continue
            ids[sub.id] = int(sub.id)
            if previous != sub:
                changed.append(sub)
        ended.extend(int(sub_id) for sub_id in old)
        answers.append(ids)
    if created:
        _insert_all(connection, created, now)
    if changed:
        _update_all(connection, changed)
    if ended:
        connection.execute(
            update(subscriptions)
            .where(among(connection, subscriptions.c.id, ended))
            .values(status="ended", ended_at=now)
        )
        connection.execute(delete(pending_changes).where(among(connection, pending_changes.c.subscription_id, ended)))
    return answers


def _insert_all(
    connection: Connection, created: Sequence[tuple[dict[str, int], int, Subscription]], now: datetime
) -> None:
    """New subscriptions in one multi-row INSERT whose ids come back in the order given, then their charges and
    pending changes; each id is written into the answer (``ids``) it belongs to."""
    new_ids = connection.execute(
        insert(subscriptions).returning(subscriptions.c.id, sort_by_parameter_order=True),
        [
            {"account_id": account_id, "product": sub.product, "interval": sub.interval.value,
             "quantity": sub.quantity, "anchor": sub.anchor, "period_start": sub.period.start,
             "period_end": sub.period.end, "created_at": now}
            for _, account_id, sub in created
        ],
    ).scalars().all()  # fmt: skip
    for (ids, _, sub), new_id in zip(created, new_ids, strict=True):
        ids[sub.id] = int(new_id)
    _write_children_all(connection, [(int(new_id), sub.charges, sub.pending) for (_, _, sub), new_id in
                                     zip(created, new_ids, strict=True)])  # fmt: skip


# PostgreSQL: one UPDATE joined to the new values passed as arrays, and deletes by one array parameter. A list of
# thousands of ids in ``IN (...)`` costs more to send and parse than the work itself, and an executemany UPDATE is
# one statement per row even when pipelined.
_UPDATE_FROM_ARRAYS = text(
    'UPDATE subscriptions AS s SET product = v.product, "interval" = v.interval, quantity = v.quantity, '
    "anchor = v.anchor, period_start = v.period_start, period_end = v.period_end "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:products AS varchar[]), CAST(:intervals AS varchar[]), "
    "CAST(:quantities AS integer[]), CAST(:anchors AS timestamptz[]), CAST(:starts AS timestamptz[]), "
    "CAST(:ends AS timestamptz[])) AS v(id, product, interval, quantity, anchor, period_start, period_end) "
    "WHERE s.id = v.id"
)
_DELETE_CHARGES = text("DELETE FROM subscription_charges WHERE subscription_id = ANY(CAST(:ids AS bigint[]))")
_DELETE_PENDING = text("DELETE FROM pending_changes WHERE subscription_id = ANY(CAST(:ids AS bigint[]))")


def _update_all(connection: Connection, changed: list[Subscription]) -> None:
    """Changed subscriptions in a few statements, whatever their number (the billing run writes many)."""
    sub_ids = [int(sub.id) for sub in changed]
    if connection.dialect.name == "postgresql":
        ids = array_text(sub_ids)
        connection.execute(
            _UPDATE_FROM_ARRAYS,
            {
                "ids": ids,
                "products": array_text(sub.product for sub in changed),
                "intervals": array_text(sub.interval.value for sub in changed),
                "quantities": array_text(sub.quantity for sub in changed),
                "anchors": array_text(sub.anchor for sub in changed),
                "starts": array_text(sub.period.start for sub in changed),
                "ends": array_text(sub.period.end for sub in changed),
            },
        )
        connection.execute(_DELETE_CHARGES, {"ids": ids})
        connection.execute(_DELETE_PENDING, {"ids": ids})
        _write_children_all(connection, [(int(sub.id), sub.charges, sub.pending) for sub in changed])
        return
    connection.execute(
        update(subscriptions).where(subscriptions.c.id == bindparam("sub_id")),
        [
            {
                "sub_id": int(sub.id),
                "product": sub.product,
                "interval": sub.interval.value,
                "quantity": sub.quantity,
                "anchor": sub.anchor,
                "period_start": sub.period.start,
                "period_end": sub.period.end,
            }
            for sub in changed
        ],
    )
    connection.execute(delete(subscription_charges).where(subscription_charges.c.subscription_id.in_(sub_ids)))
    connection.execute(delete(pending_changes).where(pending_changes.c.subscription_id.in_(sub_ids)))
    _write_children_all(connection, [(int(sub.id), sub.charges, sub.pending) for sub in changed])


def _write_children_all(
    connection: Connection, items: Iterable[tuple[int, Iterable[Charge], Iterable[Pending]]]
) -> None:
    charge_rows: list[dict[str, object]] = []
    pending_rows: list[dict[str, object]] = []
    for sub_id, charges, pending in items:
        charge_rows.extend(
            {
                "subscription_id": sub_id,
                "amount": c.amount,
                "service_start": c.start,
                "service_end": c.end,
                "tax_rate": c.tax_rate,
            }
            for c in charges
        )
        pending_rows.extend(
            {"subscription_id": sub_id, "kind": p.kind.value, "effective": p.effective, "quantity": p.quantity,
             "product": p.product}
            for p in pending
        )  # fmt: skip
    insert_rows(connection, subscription_charges, charge_rows)
    insert_rows(connection, pending_changes, pending_rows)


def as_stored(account: Account, ids: Mapping[str, int]) -> Account:
    """``account`` as a read gives it once written: the database ids (``renumber``), subscriptions in id order."""
    return renumber(account, ids, in_id_order=True)


def renumber(account: Account, ids: Mapping[str, int], *, in_id_order: bool = False) -> Account:
    """``account`` with the engine's provisional ids replaced by the database ids (and its subscriptions sorted by
    them, ``in_id_order``, as a read gives them)."""
    subs = [
        Subscription(
            str(ids.get(s.id, s.id)),
            s.product,
            s.interval,
            s.quantity,
            s.anchor,
            s.period,
            s.charges,
            s.assigned,
            s.pending,
        )
        for s in account.subscriptions
    ]
    if in_id_order:
        subs.sort(key=lambda s: int(s.id))
    return Account(
        account.currency,
        account.time_zone,
        account.granularity,
        account.credit_balance,
        tuple(subs),
        account.overdue,
        account.managed_by_sales,
        account.trial_used,
        account.discount,
    )
