"""Properties over random change sequences and instants (rules C3, C4, C5, C7, X1).

- The total charged for a subscription equals the exact integral of quantity x unit price over the time held,
  within half a minor unit per invoice line.
- No credit exceeds the charges it reverses.
- Prorated parts of any split period add up to the whole within half a minor unit per part.
- Money is conserved between invoice lines, the credit balance and the amounts due.

The integral is computed by an independent model of what the account holds on each day (or second): it knows the
rules (changes take effect on their day, reductions at the term end, an increase withdraws a pending reduction, an
upgrade keeps it) but none of the engine's arithmetic.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from prorata.domain.account import Account, Charge, Subscription
from prorata.domain.cart import Change, ChangePlan, SetLicenses
from prorata.domain.engine import next_billing_date, quote, renew
from prorata.domain.errors import ProrataError
from prorata.domain.invoice_lines import LineKind, Quote
from prorata.domain.money import round_half_up
from prorata.domain.periods import Granularity, Interval, Period, boundary, effective_start, measure
from prorata.domain.tax import TaxDecision
from tests.helpers import CATALOG, price

ZONES = ["UTC", "Europe/Warsaw", "America/New_York", "Asia/Kolkata"]


@dataclass(frozen=True)
class Event:
    offset: int  # seconds after the anchor
    action: str  # "add", "reduce" or "upgrade"
    amount: int


events = st.lists(
    st.builds(
        Event,
        offset=st.integers(min_value=0, max_value=95 * 86400),
        action=st.sampled_from(["add", "reduce", "upgrade"]),
        amount=st.integers(min_value=1, max_value=6),
    ),
    max_size=8,
)


def position(at: datetime, tz: ZoneInfo, granularity: Granularity) -> int:
    """Where an instant falls on the model's axis: a local day, or a second."""
    if granularity is Granularity.DAY:
        return at.astimezone(tz).date().toordinal()
    return int(at.timestamp())


def starting_account(
    anchor_day: date, tz_name: str, granularity: Granularity, interval: Interval, licenses: int
) -> tuple[Account, datetime]:
    """Business with ``licenses`` from the anchor day (at midnight, or at 09:17:03 under second granularity), its
    first period charged at list price; and the anchor."""
    tz = ZoneInfo(tz_name)
    anchor = datetime.combine(anchor_day, datetime.min.time(), tzinfo=tz)
    if granularity is Granularity.SECOND:
        anchor += timedelta(hours=9, minutes=17, seconds=3)
    end = boundary(anchor, 1, interval.months, tz)
    plan = Subscription(
        "plan", "business", interval, licenses, anchor, Period(anchor, end),
        (Charge(licenses * price("business", interval), anchor, end),),
    )  # fmt: skip
    return Account("USD", tz_name, granularity, 0, (plan,)), anchor


def simulate(
    anchor_day: date, tz_name: str, granularity: Granularity, interval: Interval, licenses: int, script: list[Event]
) -> tuple[list[Quote], Account, Fraction]:
    """Run the script through the engine (renewing when due) and through the model; return quotes, the account as
    it ends, and the model's exact integral up to the end of the current period."""
    tz = ZoneInfo(tz_name)
    acc, anchor = starting_account(anchor_day, tz_name, granularity, interval, licenses)
    quotes: list[Quote] = []

    held, pending, product = licenses, None, "business"
    for event in sorted(script, key=lambda e: e.offset):
        at = anchor + timedelta(seconds=event.offset)
        while (due := next_billing_date(acc)) is not None and due <= at:
            renewal = renew(acc, CATALOG, due)
            quotes.append(renewal)
            acc = renewal.account
            if pending is not None:
                held, pending = pending, None
        change: Change
        if event.action == "add":
            change = SetLicenses(held + event.amount)
        elif event.action == "reduce":
            target = max(10, held - event.amount)
            if target == held:
                continue
            change = SetLicenses(target)
        else:
            if product != "business":
                continue
            change = ChangePlan("business_plus")
        q = quote(acc, CATALOG, at, [change])
        quotes.append(q)
        acc = q.account
        if event.action == "add":
            held, pending = held + event.amount, None
        elif event.action == "reduce":
            pending = target
        else:
            product = "business_plus"  # a pending reduction carries over (rule L6)

    integral = model_integral(anchor, acc.subscriptions[0].period.end, tz, granularity, interval, licenses, script)
    return quotes, acc, integral


def model_integral(
    anchor: datetime,
    finish: datetime,
    tz: ZoneInfo,
    granularity: Granularity,
    interval: Interval,
    licenses: int,
    script: list[Event],
) -> Fraction:
    """The exact value of what was held from the anchor to ``finish``: the script replayed on the model's axis,
    a reduction applied at the period end that follows it."""
    boundaries = []
    k = 0
    while True:
        b = boundary(anchor, k, interval.months, tz)
        boundaries.append(position(b, tz, granularity))
        if b >= finish:
            break
        k += 1
    held, pending, product = licenses, None, "business"
    # the state on each segment between change points
    points: dict[int, list[tuple[str, int]]] = {}
    for event in sorted(script, key=lambda e: e.offset):
        points.setdefault(position(anchor + timedelta(seconds=event.offset), tz, granularity), []).append(
            (event.action, event.amount)
        )
    cuts = sorted({*boundaries, *[p for p in points if p < boundaries[-1]]})
    total = Fraction(0)
    for left, right in itertools.pairwise(cuts):
        if left in boundaries and left != boundaries[0] and pending is not None:
            held, pending = pending, None
        for action, amount in points.get(left, []):
            if action == "add":
                held, pending = held + amount, None
            elif action == "reduce":
                target = max(10, held - amount)
                if target != held:
                    pending = target
            elif product == "business":
                product = "business_plus"
        index = max(i for i, b in enumerate(boundaries) if b <= left)
        period_length = boundaries[index + 1] - boundaries[index]
        total += Fraction(held * price(product, interval) * (right - left), period_length)
    return total


# An account on Business from a random anchor, then a random script of changes
SCENARIO = {
    "anchor_day": st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    "tz_name": st.sampled_from(ZONES),
    "granularity": st.sampled_from(list(Granularity)),
    "interval": st.sampled_from(list(Interval)),
    "licenses": st.integers(min_value=10, max_value=40),
    "script": events,
}


@settings(max_examples=150, deadline=None)
@given(**SCENARIO)
def test_charged_total_equals_the_exact_integral_of_what_was_held(
    anchor_day: date, tz_name: str, granularity: Granularity, interval: Interval, licenses: int, script: list[Event]
) -> None:
    # rules C3, C4, C5, C7, L2, L3, P2: within half a minor unit per line, plus the first period's charge
    quotes, _, integral = simulate(anchor_day, tz_name, granularity, interval, licenses, script)
    first_period = licenses * price("business", interval)  # charged before the script starts
    charged = first_period + sum(line.amount for q in quotes for line in q.lines)
    lines = 1 + sum(len(q.lines) for q in quotes)
    assert abs(charged - integral) <= Fraction(lines, 2)


@settings(max_examples=150, deadline=None)
@given(**SCENARIO, balance=st.integers(min_value=0, max_value=500_000))
def test_no_credit_exceeds_its_charges_and_money_is_conserved(
    anchor_day: date,
    tz_name: str,
    granularity: Granularity,
    interval: Interval,
    licenses: int,
    script: list[Event],
    balance: int,
) -> None:
    # rules C5, X1
    quotes, acc, _ = simulate(anchor_day, tz_name, granularity, interval, licenses, script)
    running = 0
    for q in quotes:
        for line in q.lines:
            assert isinstance(line.amount, int)
            if line.kind is LineKind.CREDIT:
                assert line.basis is not None
                assert 0 < -line.amount <= line.basis
        assert q.subtotal == sum(line.amount for line in q.lines)
        assert q.subtotal == q.amount_due + q.credit_used - q.credit_added
        assert q.credit_balance_after == q.credit_balance_before - q.credit_used + q.credit_added
        assert q.credit_balance_after >= 0
        assert q.amount_due >= 0
        assert q.credit_balance_before == running
        running = q.credit_balance_after
    assert acc.credit_balance == running

    # the same with a starting balance: the balance pays first and never goes below zero
    plan = acc.subscriptions[0]
    funded = Account(acc.currency, acc.time_zone, acc.granularity, balance, acc.subscriptions)
    try:
        q = quote(funded, CATALOG, plan.period.start, [SetLicenses(plan.quantity + 1)])
    except ProrataError:
        return
    assert q.credit_used == min(balance, q.subtotal)
    assert q.amount_due == q.subtotal - q.credit_used


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)),  # noqa: DTZ001
    tz_name=st.sampled_from(ZONES),
    granularity=st.sampled_from(list(Granularity)),
    interval=st.sampled_from(list(Interval)),
    amount=st.integers(min_value=0, max_value=10**9),
    cuts=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), max_size=12),
)
def test_prorated_parts_of_a_split_period_add_up_to_the_whole(
    start: datetime, tz_name: str, granularity: Granularity, interval: Interval, amount: int, cuts: list[float]
) -> None:
    # rule C4: each part rounded once; the parts differ from the whole by at most half a minor unit each.
    # (The floats only choose where to cut; no money is a float.)
    tz = ZoneInfo(tz_name)
    anchor = start.replace(tzinfo=tz)
    whole = Period(boundary(anchor, 0, interval.months, tz), boundary(anchor, 1, interval.months, tz))
    length = whole.end - whole.start
    # a change takes effect at its whole second or its local midnight, as the engine counts it
    instants = sorted(
        {whole.start, *(effective_start(whole.start + length * c, tz, granularity) for c in cuts), whole.end}
    )
    span = measure(whole.start, whole.end, tz, granularity)
    parts = [round_half_up(amount * measure(a, b, tz, granularity), span) for a, b in itertools.pairwise(instants)]
    assert abs(sum(parts) - amount) <= Fraction(len(parts), 2)


# Histories that change the Sold-To country between charges (rule T3): licenses added on random days, each taxed at
# the rate of the buyer's country that day, then an upgrade: each rate's charges are credited on a line of their own.
RATES = [2300, 0, 1900, 2550, 800]


@settings(max_examples=200, deadline=None)
@given(
    licenses=st.integers(min_value=10, max_value=30),
    first_rate=st.sampled_from(RATES),
    additions=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=29), st.integers(min_value=1, max_value=5), st.sampled_from(RATES)
        ),
        max_size=5,
    ),
    upgrade_day=st.integers(min_value=0, max_value=29),
    new_rate=st.sampled_from(RATES),
    tz_name=st.sampled_from(ZONES),
)
def test_a_credit_reverses_each_charge_at_the_rate_it_paid_however_the_country_changed(
    licenses: int,
    first_rate: int,
    additions: list[tuple[int, int, int]],
    upgrade_day: int,
    new_rate: int,
    tz_name: str,
) -> None:
    # rules T3, C4, C5
    tz = ZoneInfo(tz_name)
    start = datetime(2026, 11, 1, tzinfo=tz)
    end = boundary(start, 1, 1, tz)
    charged = licenses * price("business")
    plan = Subscription("plan", "business", Interval.MONTH, licenses, start, Period(start, end),
                        (Charge(charged, start, end, first_rate),))  # fmt: skip
    acc = Account("USD", tz_name, Granularity.DAY, 0, (plan,))
    held = licenses
    for day, more, rate in sorted(additions):
        if day > upgrade_day:
            break
        held += more
        acc = quote(acc, CATALOG, start + timedelta(days=day, hours=12), [SetLicenses(held)],
                    tax=TaxDecision(rate)).account  # fmt: skip
    before = acc.subscriptions[0]
    q = quote(acc, CATALOG, start + timedelta(days=upgrade_day, hours=12), [ChangePlan("business_plus")],
              tax=TaxDecision(new_rate))  # fmt: skip

    # the model: each charge's unused share, from the upgrade's day to the period's end, over the charge's own span
    change_day = (start + timedelta(days=upgrade_day, hours=12)).astimezone(tz).date()
    exact: dict[int, Fraction] = {}
    paid: dict[int, int] = {}
    for c in before.charges:
        first, last = c.start.astimezone(tz).date(), c.end.astimezone(tz).date()
        unused = (last - max(first, change_day)).days
        exact[c.tax_rate] = exact.get(c.tax_rate, Fraction(0)) + Fraction(
            c.amount * max(unused, 0), (last - first).days
        )
        paid[c.tax_rate] = paid.get(c.tax_rate, 0) + c.amount
    credits = {line.tax_rate: line for line in q.lines if line.kind is LineKind.CREDIT}
    expected = {rate: value for rate, value in exact.items() if round_half_up(value.numerator, value.denominator)}
    assert set(credits) == set(expected)
    for rate, line in credits.items():
        amount = round_half_up(exact[rate].numerator, exact[rate].denominator)
        assert line.amount == -amount  # rule C4: rounded once, per rate
        assert line.tax == round_half_up(-amount * rate, 10_000)  # rule T3: at the rate its charges paid, half up
        assert 0 < amount <= paid[rate] == line.basis  # rule C5
