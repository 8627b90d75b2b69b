"""Discounts: codes, how they price charges and credits, and which periods they cover (rules DC1, DC2)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prorata.domain.cart import AddAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.discounts import (
    Discount,
    DiscountCode,
    Duration,
    Redemption,
    check_definition,
    normalise_code,
)
from prorata.domain.engine import quote, redeem_later, renew
from prorata.domain.errors import InvalidInput, ProrataError, RuleViolation
from prorata.domain.invoice_lines import LineKind
from prorata.domain.periods import Interval, Period
from prorata.domain.tax import TaxDecision
from tests.helpers import CATALOG, account, price, sub, t

BUSINESS_10 = sub("plan", "business", 10, "2026-11-01", "2026-12-01")
TWENTY = Redemption("SAVE20", 2000, None, frozenset(), 3)
FIVE_OFF = Redemption("FIVEOFF", None, 500, frozenset(), None)


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def refused(call: object, *args: object, **kwargs: object) -> ProrataError:
    with pytest.raises(ProrataError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def test_a_code_entered_with_the_order_discounts_that_order_on_a_line_of_its_own() -> None:
    # rule DC1: added licenses, 16 of 30 days; rule DC2: the discount follows its charge, in proportion, before tax
    q = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12)], redeem=TWENTY,
              tax=TaxDecision(2300))  # fmt: skip

    charge, discount = q.lines
    assert discount.kind is LineKind.DISCOUNT
    assert discount.discount == "SAVE20"
    assert charge.amount == half_up(2 * price("business") * 16, 30)
    assert discount.amount == -half_up(2 * price("business") * 16 * 2000, 30 * 10_000)
    assert (discount.used, discount.whole, discount.quantity) == (16, 30, 2)
    assert discount.tax == -half_up(-discount.amount * 2300, 10_000)  # rule T3: on its own rounded amount
    assert q.subtotal == charge.amount + discount.amount
    # what the subscription records as charged for the added licenses is what was paid for them
    added = q.account.subscriptions[0].charges[-1]
    assert added.amount == charge.amount + discount.amount
    assert q.account.discount == Discount("SAVE20", t("2026-11-15"), t("2027-02-01"), 2000, None, frozenset())


def test_the_discount_covers_the_periods_the_code_gives_and_then_ends() -> None:
    # rule DC2: three periods counted from the one the order is in: November, December, January
    acc = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12)], redeem=TWENTY).account
    december = renew(acc, CATALOG, t("2026-12-01"))
    january = renew(december.account, CATALOG, t("2027-01-01"))
    february = renew(january.account, CATALOG, t("2027-02-01"))

    full = 12 * price("business")
    assert [line.amount for line in december.lines] == [full, -full // 5]
    assert [line.amount for line in january.lines] == [full, -full // 5]
    assert [line.amount for line in february.lines] == [full]
    assert january.account.discount is not None
    assert february.account.discount is None  # its time ran out with January


def test_a_code_entered_without_an_order_applies_from_the_next_billing_date() -> None:
    # rule DC1: nothing of the current period changes
    acc = redeem_later(account(BUSINESS_10), CATALOG, t("2026-11-15"), TWENTY)

    assert acc.discount == Discount("SAVE20", t("2026-12-01"), t("2027-03-01"), 2000, None, frozenset())
    q = quote(acc, CATALOG, t("2026-11-20"), [SetLicenses(11)])
    assert [line.kind for line in q.lines] == [LineKind.CHARGE]
    renewal = renew(acc, CATALOG, t("2026-12-01"))
    assert [line.kind for line in renewal.lines] == [LineKind.CHARGE, LineKind.DISCOUNT]


def test_a_credit_for_unused_time_reverses_the_discount_its_charge_had() -> None:
    # rule DC2 (and C5): an upgrade on a discounted plan credits what was actually paid, not the list price
    acc = redeem_later(account(BUSINESS_10), CATALOG, t("2026-11-15"), TWENTY)
    acc = renew(acc, CATALOG, t("2026-12-01")).account
    paid = sum(c.amount for c in acc.subscriptions[0].charges)
    assert paid == 10 * price("business") * 8 // 10

    q = quote(acc, CATALOG, t("2026-12-11"), [ChangePlan("business_plus")])

    credit = next(line for line in q.lines if line.kind is LineKind.CREDIT)
    assert credit.amount == -half_up(paid * 21, 31)
    assert credit.basis == paid
    charge, discount = (line for line in q.lines if line.kind is not LineKind.CREDIT)
    assert discount.amount == -half_up(10 * price("business_plus") * 21 * 2000, 31 * 10_000)
    assert charge.amount == half_up(10 * price("business_plus") * 21, 31)


def test_a_fixed_discount_is_taken_off_each_license_and_never_below_zero() -> None:
    # rule DC2: 5.00 off each license a month; an add-on priced below it is discounted to zero, not below
    acc = redeem_later(account(BUSINESS_10), CATALOG, t("2026-11-15"), FIVE_OFF)
    renewal = renew(acc, CATALOG, t("2026-12-01"))
    assert [line.amount for line in renewal.lines] == [10 * price("business"), -10 * 500]

    cheap = replace(FIVE_OFF, amount=10 * price("business"))
    acc = redeem_later(account(BUSINESS_10), CATALOG, t("2026-11-15"), cheap)
    renewal = renew(acc, CATALOG, t("2026-12-01"))
    assert sum(line.amount for line in renewal.lines) == 0
    assert renewal.account.subscriptions[0].charges[0].amount == 0


def test_a_discount_on_chosen_products_leaves_the_others_at_full_price() -> None:
    # rule DC2: only Large Meetings is discounted
    meetings = Redemption("MEET50", 5000, None, frozenset({"large_meetings_500"}), None)
    q = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"),
              [SetLicenses(12), AddAddon("large_meetings_500", quantity=2)], redeem=meetings)  # fmt: skip

    kinds = [(line.product, line.kind) for line in q.lines]
    assert kinds == [
        ("business", LineKind.CHARGE),
        ("large_meetings_500", LineKind.CHARGE),
        ("large_meetings_500", LineKind.DISCOUNT),
    ]
    assert q.lines[2].amount == -half_up(2 * price("large_meetings_500") * 16 * 5000, 30 * 10_000)


def test_a_discount_that_ends_inside_a_yearly_charge_covers_only_its_part() -> None:
    # rule DC2: one monthly period of discount left, then the plan moves to yearly: the year's charge is discounted
    # for the rest of the month only, and what was paid is recorded per part, so a credit reverses it exactly
    acc = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12)],
                redeem=replace(TWENTY, periods=1)).account  # fmt: skip
    q = quote(acc, CATALOG, t("2026-11-21"), [ChangeInterval(Interval.YEAR)])

    discount = next(line for line in q.lines if line.kind is LineKind.DISCOUNT)
    assert discount.period == Period(t("2026-11-21"), t("2026-12-01"))
    year = 12 * price("business", Interval.YEAR)
    assert discount.amount == -half_up(year * 10 * 2000, 365 * 10_000)
    first, second = q.account.subscriptions[0].charges
    assert (first.end, second.start) == (t("2026-12-01"), t("2026-12-01"))
    assert first.amount + second.amount == year + discount.amount


def test_one_code_at_a_time() -> None:
    # rule DC2
    acc = redeem_later(account(BUSINESS_10), CATALOG, t("2026-11-15"), TWENTY)
    error = refused(quote, acc, CATALOG, t("2026-11-20"), [SetLicenses(11)], redeem=FIVE_OFF)
    assert (error.code, error.rule, error.field) == ("discount.one_at_a_time", "DC2", "discount_code")
    assert refused(redeem_later, acc, CATALOG, t("2026-11-20"), FIVE_OFF).code == "discount.one_at_a_time"


def test_a_new_code_may_follow_one_that_ends_at_the_next_billing_date() -> None:
    # rule DC2: the first covers November only; the second starts on 1 December
    acc = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12)],
                redeem=replace(TWENTY, periods=1)).account  # fmt: skip
    later = redeem_later(acc, CATALOG, t("2026-11-20"), FIVE_OFF)
    assert later.discount is not None
    assert later.discount.code == "FIVEOFF"


def test_a_code_needs_a_paid_plan() -> None:
    free = account(sub("plan", "basic", 1, "2026-11-01", "2026-12-01", charged=0))
    error = refused(redeem_later, free, CATALOG, t("2026-11-15"), TWENTY)
    assert (error.code, error.rule) == ("plan.none", "DC1")


def code(**terms: object) -> DiscountCode:
    values: dict[str, object] = {"code": "SAVE20", "duration": Duration.ONCE, "percent": 2000}
    values.update(terms)
    return DiscountCode(**values)  # type: ignore[arg-type]


def test_a_code_is_refused_once_expired_exhausted_retired_or_without_the_currency() -> None:
    # rule DC2
    at = t("2026-11-15")
    assert code().redemption("USD", at) == Redemption("SAVE20", 2000, None, frozenset(), 1)
    expired = code(expires_at=t("2026-11-15"))
    assert refused(expired.redemption, "USD", at).code == "discount.expired"
    assert refused(code(max_redemptions=3, redeemed=3).redemption, "USD", at).code == "discount.exhausted"
    assert refused(code(active=False).redemption, "USD", at).code == "discount.retired"
    fixed = code(percent=None, amounts={"EUR": 500})
    error = refused(fixed.redemption, "USD", at)
    assert (error.code, error.rule, error.field) == ("discount.currency", "DC2", "discount_code")
    assert fixed.redemption("EUR", at).amount == 500


@pytest.mark.parametrize(
    ("terms", "code_"),
    [
        ({"percent": None}, "discount.terms"),
        ({"amounts": {"USD": 100}}, "discount.terms"),
        ({"percent": 0}, "discount.percent"),
        ({"percent": 10_001}, "discount.percent"),
        ({"percent": None, "amounts": {"USD": 0}}, "discount.amount"),
        ({"percent": None, "amounts": {"XXY": 10}}, "currency.unknown"),
        ({"duration": Duration.REPEATING}, "discount.periods"),
        ({"duration": Duration.REPEATING, "periods": 0}, "discount.periods"),
        ({"periods": 3}, "discount.periods"),
        ({"max_redemptions": 0}, "discount.max_redemptions"),
        ({"products": frozenset({"nothing"})}, "discount.products"),
        ({"code": "a"}, "discount.invalid_code"),
    ],
)
def test_a_definition_that_cannot_be_true_is_refused_naming_its_field(terms: dict[str, object], code_: str) -> None:
    # rule DC2
    with pytest.raises(InvalidInput) as caught:
        check_definition(code(**terms), frozenset(CATALOG.products))
    assert caught.value.code == code_


def test_codes_are_typed_in_any_case() -> None:
    assert normalise_code("  save20 ") == "SAVE20"
    with pytest.raises(InvalidInput):
        normalise_code("SAVE 20")


def test_renewal_keeps_a_forever_discount() -> None:
    # rule DC2: for ever, and so no other code while it runs
    acc = redeem_later(account(BUSINESS_10), CATALOG, t("2026-11-15"), FIVE_OFF)
    renewal = renew(acc, CATALOG, t("2026-12-01"))
    assert renewal.account.discount == acc.discount
    assert isinstance(refused(redeem_later, renewal.account, CATALOG, t("2026-12-05"), TWENTY), RuleViolation)


def test_a_code_entered_with_a_free_trial_covers_the_paid_periods_after_it() -> None:
    # rules DC1, DC2, TR1: the trial charges nothing, so "once" means the first paid month, not the trial
    once = replace(TWENTY, periods=1)
    q = quote(account(), CATALOG, t("2026-11-15"), [ChangePlan("pro", 3, trial=True)], redeem=once)
    assert q.lines == ()
    assert q.account.discount is not None
    assert (q.account.discount.start, q.account.discount.end) == (t("2026-11-15"), t("2026-12-29"))

    first = renew(q.account, CATALOG, t("2026-11-29"))
    assert [line.amount for line in first.lines] == [3 * price("pro"), -half_up(3 * price("pro"), 5)]
    second = renew(first.account, CATALOG, t("2026-12-29"))
    assert [line.kind for line in second.lines] == [LineKind.CHARGE]


def test_a_discount_lines_stored_text_names_the_terms_exactly() -> None:
    # rule DC2 (and I5): the English text kept with the line; no float writes a percentage or an amount
    twelve_and_a_half = Redemption("HALF", 1250, None, frozenset(), None)
    q = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12)], redeem=twelve_and_a_half)
    assert q.lines[1].description == "Discount HALF (12.5 %) on Business x 2, 16 of 30 days"
    q = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12)], redeem=FIVE_OFF)
    assert q.lines[1].description == "Discount FIVEOFF (5.00 USD off each license) on Business x 2, 16 of 30 days"
