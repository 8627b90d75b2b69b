"""A credit note of an invoice with a discount line (rules DC2, I2): the charge is reversed by a credit, and the
discount by a discount line of the opposite sign that still names its code, so every page and document can say
"Reversal: Discount SAVE20: ..." rather than calling it a charge."""

from __future__ import annotations

from datetime import UTC, datetime

from prorata.domain.credit_notes import IssuedInvoice, IssuedLine, plan_credit_note
from prorata.domain.periods import Period

PERIOD = Period(datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))
CHARGE = IssuedLine(1, "charge", 7, "business", "Business x 2", 2, 6000, PERIOD, 16, 30, 6400, 2300, 1472)
DISCOUNT = IssuedLine(2, "discount", 7, "business", "Discount SAVE20", 2, None, PERIOD, 16, 30, -1280, 2300, -294,
                      discount_code="SAVE20")  # fmt: skip
INVOICE = IssuedInvoice(9, 3, "FV/2026/7", "paid", "PLN", 6298, 0, 0, (CHARGE, DISCOUNT), amount_paid=6298)


def test_a_void_reverses_the_discount_line_as_a_discount_of_the_opposite_sign_with_its_code() -> None:
    note = plan_credit_note(INVOICE)

    assert [(line.kind, line.amount, line.tax, line.discount_code) for line in note.lines] == [
        ("credit", -6400, -1472, None),
        ("discount", 1280, 294, "SAVE20"),
    ]
    assert note.total == -INVOICE.total  # what was paid, the discount's share netted, comes back exactly
