"""Billing days 28-31 against every month length, over several years (rules C3, C4, C7).

An independent model of "billed on day D": the period ends on day D of every month (of the same month every year),
or on the month's last day when it is shorter, and the first period runs from the purchase day to the first such
date, prorated against the whole period it belongs to (from the previous such date). The engine is checked against
it for purchases on every kind of day, in several time zones, renewal after renewal.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from prorata.domain.account import Account
from prorata.domain.cart import ChangePlan
from prorata.domain.engine import quote, renew
from prorata.domain.money import round_half_up
from prorata.domain.periods import Granularity, Interval
from tests.helpers import CATALOG, price

ZONES = ["UTC", "Europe/Warsaw", "America/New_York", "Pacific/Auckland"]


def on_day(year: int, month: int, day: int) -> date:
    """Day ``day`` of the month, or its last day when the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def shifted(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def model_ends(bought: date, day: int, months: int, count: int) -> list[date]:
    """The billing dates that bound the period of a purchase on ``bought``: the first billing date is the first date
    on day ``day`` on or after ``bought``, and they follow every ``months`` months. Returns the start of the period
    ``bought`` falls in, then ``count`` ends from that period's."""
    year, month = bought.year, bought.month
    if on_day(year, month, day) < bought:
        year, month = shifted(year, month, 1)
    dates = [on_day(*shifted(year, month, k * months), day) for k in range(-1, count + 1)]
    start = max(index for index, billed in enumerate(dates) if billed <= bought)
    return dates[start : start + count + 1]


@settings(max_examples=300, deadline=None)
@given(
    bought=st.dates(min_value=date(2023, 1, 1), max_value=date(2031, 12, 31)),
    day=st.integers(min_value=28, max_value=31),
    zone=st.sampled_from(ZONES),
    interval=st.sampled_from(list(Interval)),
    hour=st.integers(min_value=0, max_value=23),
)
def test_a_billing_day_of_28_to_31_lands_on_its_day_or_the_months_last_every_period(
    bought: date, day: int, zone: str, interval: Interval, hour: int
) -> None:
    tz = ZoneInfo(zone)
    at = datetime.combine(bought, time(hour), tzinfo=tz)
    account = Account("USD", zone, Granularity.DAY, 0)
    q = quote(account, CATALOG, at, [ChangePlan("pro", 3, interval=interval, billing_day=day)])

    renewals = 14 if interval is Interval.MONTH else 5
    previous, *expected = model_ends(bought, day, interval.months, renewals)
    (line,) = q.lines
    assert (line.used, line.whole) == ((expected[0] - bought).days, (expected[0] - previous).days)
    assert line.amount == round_half_up(3 * price("pro", interval) * line.used, line.whole)  # rule C4

    acc = q.account
    for end in expected:
        plan = acc.subscriptions[0]
        assert plan.period.end.astimezone(tz).date() == end
        assert plan.period.end.astimezone(tz).time() == time(0)  # local midnight, whatever the season
        renewal = renew(acc, CATALOG, plan.period.end)
        (full,) = renewal.lines
        assert full.amount == 3 * price("pro", interval)  # rule C7: every later period is whole
        acc = renewal.account
