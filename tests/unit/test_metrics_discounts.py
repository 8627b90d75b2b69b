"""MRR of discounted subscriptions (rule DC2; domain/metrics.py): what the customer pays, net of the discount, as
Stripe and ChartMogul count it, for the time the discount covers; the list price before and after it."""

from __future__ import annotations

from prorata.domain import metrics as m
from tests.helpers import t


def charge(quantity: int, unit: int, start: str, end: str, months: int = 1) -> m.RecurringLine:
    return m.RecurringLine("charge", "business", quantity, unit, t(start), t(end), months)


def discount(quantity: int, start: str, end: str, *, percent: int | None = None, off: int | None = None,
             months: int = 1) -> m.RecurringLine:  # fmt: skip
    # the line's own amount is not read: the code's terms are, so that a share of a period still counts the run rate
    return m.RecurringLine("discount", "business", quantity, None, t(start), t(end), months, percent, off)


def credit(quantity: int, start: str, end: str) -> m.RecurringLine:
    return m.RecurringLine("credit", "business", quantity, None, t(start), t(end), 1)


def mrr(lines: list[m.RecurringLine], at: str, ended: str | None = None) -> int:
    return m.account_mrr(m.recurring_blocks(lines, t(ended) if ended else None), t(at))


def test_a_percentage_off_counts_the_price_the_customer_pays() -> None:
    # Business x 10 at 21.99 a month, 20 % off: 10 x 21.99 x 0.8 = 175.92
    lines = [charge(10, 2199, "2026-11-15", "2026-12-15"), discount(10, "2026-11-15", "2026-12-15", percent=2000)]
    assert mrr(lines, "2026-12-01") == 17592


def test_a_fixed_amount_off_each_license_counts_and_never_below_zero() -> None:
    # 5.00 off each license a month: 10 x (21.99 - 5.00) = 169.90; 30.00 off a 21.99 license leaves nothing
    lines = [charge(10, 2199, "2026-11-15", "2026-12-15"), discount(10, "2026-11-15", "2026-12-15", off=500)]
    assert mrr(lines, "2026-12-01") == 16990
    free = [charge(10, 2199, "2026-11-15", "2026-12-15"), discount(10, "2026-11-15", "2026-12-15", off=3000)]
    assert mrr(free, "2026-12-01") == 0


def test_a_yearly_price_with_a_percentage_off_is_summed_exactly_and_rounded_once() -> None:
    # 10 x 219.90 a year at 15 % off = 1869.15 a year = 155.7625 a month -> 155.76, rounded once (not per license)
    lines = [charge(10, 21990, "2026-01-10", "2027-01-10", months=12),
             discount(10, "2026-01-10", "2027-01-10", percent=1500)]  # fmt: skip
    assert mrr(lines, "2026-06-01") == 15576
    # a fixed amount off a yearly price is off the year: 120.00 off each license's 219.90 = 10 x 99.90 / 12 = 83.25
    fixed = [charge(10, 21990, "2026-01-10", "2027-01-10", months=12),
             discount(10, "2026-01-10", "2027-01-10", off=12000)]  # fmt: skip
    assert mrr(fixed, "2026-06-01") == 8325


def test_a_discount_that_ends_inside_the_period_counts_until_then_and_its_end_is_expansion() -> None:
    # the discount's last period ends on Nov 25, inside the add-on's period to Dec 15
    lines = [charge(10, 2199, "2026-11-15", "2026-12-15"), discount(10, "2026-11-15", "2026-11-25", percent=5000)]
    assert mrr(lines, "2026-11-20") == 10995
    assert mrr(lines, "2026-12-01") == 21990
    assert m.movement(10995, 21990, had_mrr_before=True) == (m.Movement.EXPANSION, 10995)


def test_licenses_credited_away_take_their_discount_with_them() -> None:
    # rule P7: 4 of the 10 discounted licenses removed on Nov 25; the 6 left keep 20 % off
    lines = [charge(10, 2199, "2026-11-15", "2026-12-15"), discount(10, "2026-11-15", "2026-12-15", percent=2000),
             credit(4, "2026-11-25", "2026-12-15")]  # fmt: skip
    assert mrr(lines, "2026-11-20") == 17592
    assert mrr(lines, "2026-12-01") == round(6 * 2199 * 0.8)  # 10555.2 -> 10555
    # an upgrade credits all of them: the new charge, undiscounted here, is the only thing left
    upgraded = [*lines[:2], credit(10, "2026-11-25", "2026-12-15"), charge(10, 2999, "2026-11-25", "2026-12-15")]
    assert mrr(upgraded, "2026-12-01") == 29990


def test_the_discount_is_of_the_charge_just_before_it_and_of_no_other() -> None:
    # two purchases in one period, the later one discounted (a code entered with it, rule DC1)
    lines = [charge(10, 2199, "2026-11-01", "2026-12-01"), charge(2, 2199, "2026-11-15", "2026-12-01"),
             discount(2, "2026-11-15", "2026-12-01", percent=5000)]  # fmt: skip
    assert mrr(lines, "2026-12-01") == 10 * 2199 + 2199


def test_a_discount_whose_terms_are_not_known_leaves_the_list_price() -> None:
    lines = [charge(10, 2199, "2026-11-15", "2026-12-15"), discount(10, "2026-11-15", "2026-12-15")]
    assert mrr(lines, "2026-12-01") == 21990


def test_the_definition_says_mrr_is_net_of_discounts() -> None:
    assert "less the discount" in m.DEFINITIONS["mrr"]
    assert "discount" in m.DEFINITIONS["history"]
