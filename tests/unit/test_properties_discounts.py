"""Properties over random discounted histories (rules DC1, DC2 with C3, C4, C5, C7, X1).

The histories of ``test_properties.py`` (licenses added and removed, an upgrade, renewals, at random instants in
random time zones, by day or by second), with one discount code redeemed at a random instant: with an order (the
licenses added then) or on its own (from the next billing date); a percentage or a fixed amount off each license;
on the whole order or on Business Plus only (which the account holds only after an upgrade); for one period, a few,
or for ever.

- The total charged equals the exact integral of the *discounted* unit price x quantity over the time held, within
  half a minor unit per invoice line.
- No credit exceeds the charges it reverses; no discount exceeds the charge it follows; money is conserved.

The model knows the rules (which periods a code covers, from when, on which product; what a fixed amount off each
license means) but none of the engine's arithmetic: it walks the time axis segment by segment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from prorata.domain.account import Account
from prorata.domain.cart import Change, ChangePlan, SetLicenses
from prorata.domain.discounts import WHOLE_PERCENT, Redemption
from prorata.domain.engine import next_billing_date, quote, redeem_later, renew
from prorata.domain.invoice_lines import LineKind, Quote
from prorata.domain.periods import Granularity, Interval, boundary
from tests.helpers import CATALOG, price
from tests.unit.test_properties import ZONES, Event, events, position, starting_account


@dataclass(frozen=True)
class Code:
    offset: int  # seconds after the anchor it is entered
    with_order: bool  # entered with an order adding ``licenses`` (rule DC1), else on its own
    licenses: int
    percent: int | None  # basis points; else ``amount`` off each license per period
    amount: int
    only_business_plus: bool
    periods: int | None  # None: for ever

    def redemption(self) -> Redemption:
        products = frozenset({"business_plus"}) if self.only_business_plus else frozenset()
        amount = None if self.percent is not None else self.amount
        return Redemption("CODE", self.percent, amount, products, self.periods)

    def discounted(self, unit: int) -> Fraction:
        """The unit price once discounted (never below zero)."""
        if self.percent is not None:
            return Fraction(unit * (WHOLE_PERCENT - self.percent), WHOLE_PERCENT)
        return Fraction(unit - min(self.amount, unit))


codes = st.builds(
    Code,
    offset=st.integers(min_value=0, max_value=95 * 86400),
    with_order=st.booleans(),
    licenses=st.integers(min_value=1, max_value=4),
    percent=st.one_of(st.none(), st.integers(min_value=1, max_value=WHOLE_PERCENT)),
    amount=st.integers(min_value=1, max_value=6000),  # up to more than a Business license's monthly price
    only_business_plus=st.booleans(),
    periods=st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
)


def steps_of(script: list[Event], code: Code) -> list[tuple[int, str, int]]:
    """The script and the code's order (licenses added with it) in the order they happen: ``(offset, action,
    amount)``, the code's action ``"code"`` (an order adding its licenses, or the code on its own)."""
    steps = [(e.offset, 0, e.action, e.amount) for e in script] + [(code.offset, 1, "code", code.licenses)]
    return [(offset, action, amount) for offset, _, action, amount in sorted(steps, key=lambda s: (s[0], s[1]))]


def simulate(
    anchor_day: date,
    tz_name: str,
    granularity: Granularity,
    interval: Interval,
    licenses: int,
    script: list[Event],
    code: Code,
) -> tuple[list[Quote], Account, datetime]:
    """Run the script and the code through the engine, renewing when due: the quotes, the account as it ends, and
    the anchor."""
    acc, anchor = starting_account(anchor_day, tz_name, granularity, interval, licenses)
    quotes: list[Quote] = []
    held, pending, product = licenses, None, "business"
    for offset, action, amount in steps_of(script, code):
        at = anchor + timedelta(seconds=offset)
        while (due := next_billing_date(acc)) is not None and due <= at:
            renewal = renew(acc, CATALOG, due)
            quotes.append(renewal)
            acc = renewal.account
            if pending is not None:
                held, pending = pending, None
        if action == "code" and not code.with_order:
            acc = redeem_later(acc, CATALOG, at, code.redemption())
            continue
        change: Change
        if action in ("add", "code"):
            change = SetLicenses(held + amount)
        elif action == "reduce":
            target = max(10, held - amount)
            if target == held:
                continue
            change = SetLicenses(target)
        else:
            if product != "business":
                continue
            change = ChangePlan("business_plus")
        q = quote(acc, CATALOG, at, [change], redeem=code.redemption() if action == "code" else None)
        quotes.append(q)
        acc = q.account
        if action in ("add", "code"):
            held, pending = held + amount, None
        elif action == "reduce":
            pending = target
        else:
            product = "business_plus"  # a pending reduction carries over (rule L6)
    return quotes, acc, anchor


def model_integral(
    anchor: datetime,
    finish: datetime,
    tz: ZoneInfo,
    granularity: Granularity,
    interval: Interval,
    licenses: int,
    script: list[Event],
    code: Code,
) -> Fraction:
    """What was held from the anchor to ``finish``, at the discounted unit price where and while the code covers it
    (rule DC2), replayed on the model's axis: a reduction applied at the period end that follows it."""
    instants: list[datetime] = []
    k = 0
    while True:
        instants.append(boundary(anchor, k, interval.months, tz))
        if instants[-1] >= finish:
            break
        k += 1
    axis = [position(b, tz, granularity) for b in instants]
    entered = anchor + timedelta(seconds=code.offset)
    # rule DC1: with an order, from its day (or second), for N periods counted from the one it falls in; on its own,
    # from the next billing date for N periods
    if code.with_order:
        start = position(entered, tz, granularity)
        first = max(i for i, b in enumerate(instants) if b <= entered)
    else:
        first = min(i for i, b in enumerate(instants) if b > entered)
        start = axis[first] if first < len(axis) else position(boundary(anchor, first, interval.months, tz), tz,
                                                                        granularity)  # fmt: skip
        first -= 1
    stop = None
    if code.periods is not None:
        stop = position(boundary(anchor, first + code.periods + (0 if code.with_order else 1), interval.months, tz), tz,
                        granularity)  # fmt: skip

    points: dict[int, list[tuple[str, int]]] = {}
    for offset, action, amount in steps_of(script, code):
        if action == "code" and not code.with_order:
            continue
        points.setdefault(position(anchor + timedelta(seconds=offset), tz, granularity), []).append((action, amount))
    cuts = sorted(c for c in {*axis, start, *([stop] if stop is not None else []), *points} if c <= axis[-1])
    held, pending, product = licenses, None, "business"
    # licenses paid for before a code entered with an order, in that period: the order's own are discounted, these
    # only from the next period (or from an upgrade, which charges them again)
    paid_before = 0
    total = Fraction(0)
    for left, right in itertools.pairwise(cuts):
        if left in axis and left != axis[0]:
            paid_before = 0
            if pending is not None:
                held, pending = pending, None
        for action, amount in points.get(left, []):
            if action == "code":
                paid_before = held
                held, pending = held + amount, None
            elif action == "add":
                held, pending = held + amount, None
            elif action == "reduce":
                target = max(10, held - amount)
                if target != held:
                    pending = target
            elif product == "business":
                product, paid_before = "business_plus", 0
        index = max(i for i, b in enumerate(axis) if b <= left)
        period_length = axis[index + 1] - axis[index]
        unit = price(product, interval)
        covered = left >= start and (stop is None or right <= stop)
        if covered and (product == "business_plus" or not code.only_business_plus):
            value = (held - paid_before) * code.discounted(unit) + paid_before * unit
        else:
            value = Fraction(held * unit)
        total += value * (right - left) / period_length
    return total


SCENARIO = {
    "anchor_day": st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    "tz_name": st.sampled_from(ZONES),
    "granularity": st.sampled_from(list(Granularity)),
    "interval": st.sampled_from(list(Interval)),
    "licenses": st.integers(min_value=10, max_value=40),
    "script": events,
    "code": codes,
}


@settings(max_examples=200, deadline=None)
@given(**SCENARIO)
def test_charged_total_equals_the_exact_integral_of_the_discounted_price_held(
    anchor_day: date,
    tz_name: str,
    granularity: Granularity,
    interval: Interval,
    licenses: int,
    script: list[Event],
    code: Code,
) -> None:
    # rules DC1, DC2, C3, C4, C5, C7: within half a minor unit per line, plus the first period's charge
    quotes, acc, anchor = simulate(anchor_day, tz_name, granularity, interval, licenses, script, code)
    tz = ZoneInfo(tz_name)
    integral = model_integral(anchor, acc.subscriptions[0].period.end, tz, granularity, interval, licenses, script,
                              code)  # fmt: skip
    charged = licenses * price("business", interval) + sum(line.amount for q in quotes for line in q.lines)
    lines = 1 + sum(len(q.lines) for q in quotes)
    assert abs(charged - integral) <= Fraction(lines, 2)


@settings(max_examples=150, deadline=None)
@given(**SCENARIO)
def test_no_discount_exceeds_its_charge_no_credit_exceeds_what_was_paid_and_money_is_conserved(
    anchor_day: date,
    tz_name: str,
    granularity: Granularity,
    interval: Interval,
    licenses: int,
    script: list[Event],
    code: Code,
) -> None:
    # rules DC2, C5, X1
    quotes, acc, _ = simulate(anchor_day, tz_name, granularity, interval, licenses, script, code)
    running = 0
    for q in quotes:
        previous = None
        for line in q.lines:
            if line.kind is LineKind.DISCOUNT:
                assert previous is not None
                assert previous.kind is LineKind.CHARGE  # a discount follows the charge it discounts
                assert (line.subscription, line.product) == (previous.subscription, previous.product)
                assert 0 < -line.amount <= previous.amount
                assert line.discount == "CODE"
            if line.kind is LineKind.CREDIT:
                assert line.basis is not None
                assert 0 < -line.amount <= line.basis
            previous = line
        assert q.subtotal == sum(line.amount for line in q.lines)
        assert q.subtotal == q.amount_due + q.credit_used - q.credit_added
        assert q.credit_balance_before == running
        running = q.credit_balance_after
    assert acc.credit_balance == running
    for sub in acc.subscriptions:
        assert all(c.amount >= 0 for c in sub.charges)  # what was paid is never negative
