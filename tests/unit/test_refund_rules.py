"""The pure decisions of refunds: the 30 days of rule R1, the caps of rule R2, and where the money goes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prorata.domain.credit_notes import IssuedInvoice, IssuedLine, plan_credit_note
from prorata.domain.errors import RuleViolation
from prorata.domain.periods import Period
from prorata.domain.refunds import RefundSplit, check_window, refund_key, split_refund

ISSUED = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)  # already November 16 in Warsaw (UTC+1)
PERIOD = Period(datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))


def line(position: int, kind: str, amount: int, tax: int) -> IssuedLine:
    return IssuedLine(position, kind, 1, "business", kind, 1, None, PERIOD, 30, 30, amount, 23, tax)


def test_a_refund_to_the_card_is_allowed_up_to_the_30th_day_of_the_accounts_calendar() -> None:
    # rules R1, X2: days are the account's; November 16 (Warsaw) + 30 days is December 16
    assert check_window(ISSUED, datetime(2026, 12, 16, 22, 59, tzinfo=UTC), "Europe/Warsaw", None) is True
    with pytest.raises(RuleViolation) as refused:
        check_window(ISSUED, datetime(2026, 12, 16, 23, 0, tzinfo=UTC), "Europe/Warsaw", None)  # December 17 there
    assert (refused.value.code, refused.value.rule, refused.value.field) == ("refund.window_closed", "R1", "refund")
    assert refused.value.data["days"] == 31


def test_an_operators_reason_overrides_the_30_days_and_a_blank_one_does_not() -> None:
    late = datetime(2027, 2, 1, tzinfo=UTC)
    assert check_window(ISSUED, late, "UTC", "Outage") is False  # allowed, as an override
    with pytest.raises(RuleViolation):
        check_window(ISSUED, late, "UTC", "   ")


def test_the_money_goes_back_to_the_card_up_to_what_payments_paid_less_earlier_refunds() -> None:
    # rule R2: what came from the credit balance goes back to it
    assert split_refund(10_000, "original_method", paid=7_000, refunded=0) == RefundSplit(7_000, 3_000)
    assert split_refund(10_000, "original_method", paid=7_000, refunded=5_000) == RefundSplit(2_000, 8_000)
    assert split_refund(4_000, "original_method", paid=7_000, refunded=0) == RefundSplit(4_000, 0)
    assert split_refund(4_000, "credit_balance", paid=7_000, refunded=0) == RefundSplit(0, 4_000)
    assert split_refund(0, "original_method", paid=7_000, refunded=0) == RefundSplit(0, 0)
    assert refund_key(12, 3) == "refund-12-attempt-3"


def test_crediting_the_charge_of_an_upgrade_gives_back_no_more_than_the_invoice_took() -> None:
    # rule R2: charge 400 + 92 tax, unused time -100 - 23 tax: the invoice took 369; crediting the charge gives 369
    invoice = IssuedInvoice(1, 1, "INV-2026-000002", "paid", "USD", 369, 0, 0,
                            (line(1, "credit", -100, -23), line(2, "charge", 400, 92)), amount_paid=369)  # fmt: skip
    note = plan_credit_note(invoice, [2])
    assert (note.total, note.to_balance) == (-492, 369)
    # the same after an earlier note gave back 100: only what is left
    assert plan_credit_note(IssuedInvoice(**{**_fields(invoice), "returned": 100}), [2]).to_balance == 269


def _fields(invoice: IssuedInvoice) -> dict[str, object]:
    return {name: getattr(invoice, name) for name in IssuedInvoice.__slots__}  # type: ignore[attr-defined]
