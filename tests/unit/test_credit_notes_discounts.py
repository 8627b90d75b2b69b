"""Credit notes of invoices with discount lines (rules DC2, R2, I2): a discount belongs to the charge line just before
it, is given back with it and never alone, and its reversal stays a discount with the opposite sign."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prorata.domain.credit_notes import IssuedInvoice, IssuedLine, discounts_of, plan_credit_note
from prorata.domain.errors import RuleViolation
from prorata.domain.periods import Period

PERIOD = Period(datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))


def line(position: int, kind: str, amount: int, tax: int, subscription: int = 1, code: str | None = None) -> IssuedLine:
    return IssuedLine(position, kind, subscription, "business", kind, 10, 2199 if kind == "charge" else None, PERIOD,
                      30, 30, amount, 2300, tax, code)  # fmt: skip


# Business x 10 at 20 % off (219.90 - 43.98, tax 50.58 - 10.12), then an add-on of another subscription, undiscounted
DISCOUNTED = (
    line(1, "charge", 21990, 5058),
    line(2, "discount", -4398, -1012, code="SAVE20"),
    line(3, "charge", 1000, 230, subscription=2),
)
PAID = 21990 - 4398 + 1000 + 5058 - 1012 + 230  # 228.68, tax included


def invoice(lines: tuple[IssuedLine, ...] = DISCOUNTED, credited: frozenset[int] = frozenset()) -> IssuedInvoice:
    return IssuedInvoice(7, 1, "INV-2026-000007", "paid", "USD", PAID, 0, 0, lines, credited, amount_paid=PAID)


def test_a_discount_line_belongs_to_the_charge_of_its_subscription_just_before_it() -> None:
    # rule DC2: the engine writes each discount right after the charge it discounts
    assert discounts_of(DISCOUNTED) == {2: 1}
    # a discount after a line of another subscription, or after a credit, discounts neither
    assert discounts_of((line(1, "charge", 100, 23, subscription=2), line(2, "discount", -20, -5))) == {}
    assert discounts_of((line(1, "credit", -100, -23), line(2, "discount", -20, -5))) == {}


def test_crediting_a_charge_gives_back_its_discount_too_so_never_more_than_was_paid_for_it() -> None:
    # rules DC2, R2: 219.90 + 50.58 charged, 43.98 + 10.12 taken off: 216.38 was paid for line 1, and that comes back
    note = plan_credit_note(invoice(), [1])
    assert note.reversed_positions == (1, 2)
    assert [(li.position, li.kind, li.amount, li.tax, li.discount_code) for li in note.lines] == [
        (1, "credit", -21990, -5058, None),
        (2, "discount", 4398, 1012, "SAVE20"),  # the discount given back: still a discount, the other sign
    ]
    assert note.total == -(21990 - 4398 + 5058 - 1012) == -21638
    assert note.to_balance == 21638


def test_naming_the_charge_and_its_discount_together_is_the_same_credit() -> None:
    assert plan_credit_note(invoice(), [2, 1]).lines == plan_credit_note(invoice(), [1]).lines


def test_a_discount_line_named_without_its_charge_is_refused_naming_both_lines() -> None:
    # rule DC2: giving back the discount alone would charge the buyer again for it
    with pytest.raises(RuleViolation) as refused:
        plan_credit_note(invoice(), [2])
    error = refused.value
    assert (error.code, error.rule, error.field) == ("credit_note.discount_alone", "DC2", "lines")
    assert (error.data["line"], error.data["charge"]) == (2, 1)
    with pytest.raises(RuleViolation) as refused:
        plan_credit_note(invoice(), [2, 3])
    assert refused.value.code == "credit_note.discount_alone"


def test_another_subscriptions_charge_is_credited_without_the_discount() -> None:
    note = plan_credit_note(invoice(), [3])
    assert note.reversed_positions == (3,)
    assert note.total == -1230


def test_a_void_reverses_every_line_the_discount_included_and_gives_back_what_was_paid() -> None:
    note = plan_credit_note(invoice(), None)
    assert [li.kind for li in note.lines] == ["credit", "discount", "credit"]
    assert note.total == -PAID
    assert note.to_balance == PAID


def test_a_discount_given_back_with_its_charge_is_not_given_back_again_by_a_void() -> None:
    # rule R2: the void after the credit of line 1 (with line 2) reverses only what is left: line 3
    note = plan_credit_note(invoice(credited=frozenset({1, 2})), None)
    assert note.reversed_positions == (3,)
    assert note.lines[0].description == "Reversal of line 3: charge"
