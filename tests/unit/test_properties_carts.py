"""Carts combining plan, interval and license changes, against an independent model (rules P2, L1-L3, L6, C1-C5, C7).

The model walks the account day by day: what is held each day (plan, interval, licenses) and the period that day
belongs to. It knows the rules (an upgrade on the same interval keeps the billing date, a switch of interval starts a
new period that day, more licenses now, fewer at the term end, an increase or the total held withdraws a pending
reduction, and, rules L3 with C1, a new period never starts with fewer licenses than are held or while a reduction
waits) but none of the engine's arithmetic. For every cart it says whether the engine must refuse it and with which
code; for the whole history, the exact value of what was held, which the engine's lines must add up to within half a
minor unit per line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from prorata.domain.account import Account, Charge, Subscription
from prorata.domain.cart import Change, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.engine import next_billing_date, quote, renew
from prorata.domain.errors import ProrataError
from prorata.domain.periods import Granularity, Interval, Period, boundary, period_containing
from tests.helpers import CATALOG, price

MIN = 10  # Business and Business Plus


@dataclass(frozen=True)
class Held:
    """What the model says the account holds."""

    product: str
    interval: Interval
    licenses: int
    anchor: datetime
    pending: int | None = None  # a reduction waiting for the term end


@dataclass(frozen=True)
class Cart:
    """A cart as drawn: which kinds of change it holds, as offsets from what is held when it is placed."""

    plan: bool
    plan_licenses: int | None  # change_plan's total, as an offset from the licenses held
    plan_switch: bool  # change_plan names the other interval
    switch: bool  # a change_interval item
    licenses: int | None  # a set_licenses item, as an offset


carts = st.builds(
    Cart,
    plan=st.booleans(),
    plan_licenses=st.one_of(st.none(), st.integers(-4, 4)),
    plan_switch=st.booleans(),
    switch=st.booleans(),
    licenses=st.one_of(st.none(), st.integers(-4, 4)),
)


def other(interval: Interval) -> Interval:
    return Interval.YEAR if interval is Interval.MONTH else Interval.MONTH


def cart_changes(cart: Cart, held: Held) -> list[Change]:
    """The cart's items as the buyer would enter them against what is held (totals never below the minimum)."""
    changes: list[Change] = []
    plan_switches = False
    if cart.plan and held.product == "business":
        total = None if cart.plan_licenses is None else max(MIN, held.licenses + cart.plan_licenses)
        plan_switches = cart.plan_switch
        changes.append(ChangePlan("business_plus", total, other(held.interval) if plan_switches else None))
    if cart.switch and not plan_switches:
        changes.append(ChangeInterval(other(held.interval)))
    if cart.licenses is not None:
        changes.append(SetLicenses(max(MIN, held.licenses + cart.licenses)))
    return changes


def model_cart(held: Held, changes: list[Change], day_start: datetime) -> Held | str:
    """What the cart leaves, or the code the engine must refuse it with (in the engine's order of changes)."""
    restarted = False
    for change in sorted(changes, key=lambda c: [ChangePlan, ChangeInterval, SetLicenses].index(type(c))):
        if isinstance(change, ChangePlan):
            interval = change.interval or held.interval
            if interval is not held.interval:  # a new period now (rules C1, L3)
                total = held.licenses if change.licenses is None else change.licenses
                if (total < held.licenses or change.licenses is None) and held.pending is not None:
                    return "pending.blocks_new_period"
                if total < held.licenses:
                    return "licenses.reduction_with_interval"
                held = Held("business_plus", interval, total, day_start)
                restarted = True
            elif change.licenses is None:
                held = replace(held, product="business_plus")  # a pending reduction is kept (rule L6)
            else:
                licenses = max(change.licenses, held.licenses)
                pending = change.licenses if change.licenses < held.licenses else None
                held = replace(held, product="business_plus", licenses=licenses, pending=pending)
        elif isinstance(change, ChangeInterval):
            if held.pending is not None:
                return "pending.blocks_new_period"
            held = replace(held, interval=change.interval, anchor=day_start)
            restarted = True
        else:
            assert isinstance(change, SetLicenses)
            if change.total > held.licenses:
                held = replace(held, licenses=change.total, pending=None)
            elif change.total == held.licenses:
                if held.pending is None:
                    return "licenses.unchanged"
                held = replace(held, pending=None)
            elif restarted:
                return "licenses.reduction_with_interval"
            else:
                held = replace(held, pending=change.total)
    return held


def model_value(days: list[tuple[datetime, Held]], until: datetime, tz: ZoneInfo) -> Fraction:
    """The exact value of what was held from the first day to ``until``: each day, the licenses held times the
    price of the plan and interval, over the days of the period that day belongs to. ``days`` are the days the
    holding changed, with what was held from then; a pending reduction takes effect at the end of the period in
    which it was scheduled (rule L3)."""
    total = Fraction(0)
    day, index = days[0][0], 0
    while day < until:
        while index + 1 < len(days) and days[index + 1][0] <= day:
            index += 1
        since, held = days[index]
        if held.pending is not None and day >= period_containing(held.anchor, since, held.interval, tz).end:
            held = replace(held, licenses=held.pending, pending=None)
        period = period_containing(held.anchor, day, held.interval, tz)
        length = (period.end.astimezone(tz).date() - period.start.astimezone(tz).date()).days
        total += Fraction(held.licenses * price(held.product, held.interval), length)
        day = datetime.combine(day.astimezone(tz).date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return total


@settings(max_examples=250, deadline=None)
@given(
    tz_name=st.sampled_from(["UTC", "Europe/Warsaw", "America/New_York"]),
    interval=st.sampled_from(list(Interval)),
    licenses=st.integers(MIN, 20),
    script=st.lists(st.tuples(st.integers(0, 400), carts), max_size=6),
)
def test_carts_of_plan_interval_and_license_changes_do_what_the_model_says(
    tz_name: str, interval: Interval, licenses: int, script: list[tuple[int, Cart]]
) -> None:
    tz = ZoneInfo(tz_name)
    start = datetime(2026, 1, 5, tzinfo=tz)
    end = boundary(start, 1, interval.months, tz)
    plan = Subscription("plan", "business", interval, licenses, start, Period(start, end),
                        (Charge(licenses * price("business", interval), start, end),))  # fmt: skip
    acc = Account("USD", tz_name, Granularity.DAY, 0, (plan,))
    held = Held("business", interval, licenses, start)
    days: list[tuple[datetime, Held]] = [(start, held)]
    charged, lines = licenses * price("business", interval), 1

    for offset, drawn in sorted(script, key=lambda item: item[0]):
        at = start + timedelta(days=offset, hours=10)
        while (due := next_billing_date(acc)) is not None and due <= at:
            renewal = renew(acc, CATALOG, due)
            charged += sum(line.amount for line in renewal.lines)
            lines += len(renewal.lines)
            acc = renewal.account
        day_start = datetime.combine(at.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
        # the model's own term end: a reduction scheduled in an earlier period has taken effect (rule L3)
        if held.pending is not None and day_start >= period_containing(held.anchor, days[-1][0], held.interval, tz).end:
            held = replace(held, licenses=held.pending, pending=None)
        changes = cart_changes(drawn, held)
        if not changes:
            continue
        expected = model_cart(held, changes, day_start)
        note(f"{at}: {changes} on {held}")
        if isinstance(expected, str):
            with pytest.raises(ProrataError) as refused:
                quote(acc, CATALOG, at, changes)
            assert refused.value.code == expected
            continue
        q = quote(acc, CATALOG, at, changes)
        after = q.account.subscriptions[0]
        assert (after.product, after.interval, after.quantity) == (expected.product, expected.interval,
                                                                   expected.licenses)  # fmt: skip
        assert after.quantity_at_term_end() == (expected.pending or expected.licenses)
        charged += sum(line.amount for line in q.lines)
        lines += len(q.lines)
        acc, held = q.account, expected
        days.append((day_start, held))

    finish = acc.subscriptions[0].period.end
    note(f"days: {days}")
    assert abs(charged - model_value(days, finish, tz)) <= Fraction(lines, 2)
