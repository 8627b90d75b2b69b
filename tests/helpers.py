"""Builders for tests: instants, catalogs, subscriptions and accounts in a few words."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from prorata.catalogs import default_catalog
from prorata.domain.account import Account, Charge, Pending, Subscription
from prorata.domain.cart import Change
from prorata.domain.catalog import Catalog, parse_catalog
from prorata.domain.engine import quote
from prorata.domain.errors import ProrataError
from prorata.domain.periods import Granularity, Interval, Period, period_containing, time_zone

CATALOG = default_catalog()


def t(text: str) -> datetime:
    """An instant: '2026-11-15' or '2026-11-15T10:00' are read as UTC; an explicit offset is kept."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def price(product: str, interval: Interval = Interval.MONTH, currency: str = "USD", catalog: Catalog = CATALOG) -> int:
    return catalog.products[product].prices[(interval, currency)]


def sub(
    id: str,
    product: str,
    quantity: int,
    start: str,
    end: str,
    *,
    interval: Interval = Interval.MONTH,
    charged: int | None = None,
    anchor: str | None = None,
    assigned: int = 0,
    pending: tuple[Pending, ...] = (),
    catalog: Catalog = CATALOG,
    currency: str = "USD",
) -> Subscription:
    """A subscription whose current period was charged in full at list price unless ``charged`` says otherwise."""
    begin, finish = t(start), t(end)
    if charged is None:
        charged = quantity * price(product, interval, currency, catalog)
    return Subscription(
        id, product, interval, quantity, t(anchor) if anchor else begin, Period(begin, finish),
        (Charge(charged, begin, finish),), assigned, pending,
    )  # fmt: skip


def account(
    *subs: Subscription,
    balance: int = 0,
    tz: str = "UTC",
    granularity: Granularity = Granularity.DAY,
    currency: str = "USD",
    overdue: bool = False,
    managed_by_sales: bool = False,
) -> Account:
    return Account(currency, tz, granularity, balance, subs, overdue, managed_by_sales)


def catalog(products: Mapping[str, Any], **head: Any) -> Catalog:
    """A small catalog for one test, e.g. two plans priced like a vendor's published example."""
    return parse_catalog({"catalog": {"name": "test", **head}, "products": products}, source="<test>")


def plan_product(rank: int, month: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "plan", "name": f"Plan {month}", "rank": rank, "prices": {"month": {"USD": month}}, **extra}


def whole_period(s: Subscription, at: datetime, tz: str = "UTC") -> Period:
    return period_containing(s.anchor, at, s.interval, time_zone(tz))


def amounts(q: Any) -> list[int]:
    return [line.amount for line in q.lines]


def refusal(
    acc: Account, *changes: Change, role: str = "owner", at: str = "2026-11-15", catalog: Catalog = CATALOG
) -> ProrataError:
    """The error a cart is refused with; the account handed in is left exactly as it was (rule X4)."""
    before = copy.deepcopy(acc)
    with pytest.raises(ProrataError) as error:
        quote(acc, catalog, t(at), list(changes), role=role)
    assert acc == before
    return error.value
