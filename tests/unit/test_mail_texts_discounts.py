"""Discount lines in the invoice summary of billing e-mails, in English and Polish (rules DC2, I5, X5): each discount
is a line of its own, with its code, right after the charge it discounts, and the totals are the invoice's."""

from __future__ import annotations

from datetime import UTC, datetime

from prorata.domain.documents import DocumentLine, InvoiceDocument
from prorata.domain.periods import Period
from prorata.domain.seller import Seller
from prorata.services.mail_texts import compose

ISSUED = datetime(2026, 11, 30, 10, tzinfo=UTC)
REST_OF_PERIOD = Period(datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))
NAMES = {"en": "Business", "pl": "Dla firm"}


def line(kind: str, amount: int, tax: int, code: str | None = None) -> DocumentLine:
    # two licenses added on Nov 30 to a period that ends Dec 15: 15 of 30 days, 20 % off
    return DocumentLine(kind, "business", NAMES, 2, 2199 if kind == "charge" else None, REST_OF_PERIOD, 15, 30, amount,
                        2300, tax, counted_as="license", discount_code=code)  # fmt: skip


CHARGE, DISCOUNT = line("charge", 2199, 506), line("discount", -440, -101, "SAVE20")
INVOICE = InvoiceDocument("INV-2026-000002", "invoice", "paid", ISSUED, ISSUED, "USD", Seller("PL"), None, None,
                          (CHARGE, DISCOUNT), 1759, 405, 2164, 0, 0)  # fmt: skip


def body(kind: str, language: str, document: InvoiceDocument = INVOICE) -> list[str]:
    _, text = compose(kind, language, document.number, {}, document=document, time_zone="UTC")
    return text.replace("\xa0", " ").splitlines()


def test_the_order_confirmation_lists_the_discount_after_its_charge_in_english() -> None:
    lines = body("order_confirmation", "en")
    at = lines.index("- Business: 2 licenses, Nov 30, 2026 – Dec 14, 2026: $21.99")
    assert lines[at + 1] == "- Discount SAVE20: Business, 2 licenses, Nov 30, 2026 – Dec 14, 2026: -$4.40"
    assert lines[at + 2 :] == ["Subtotal: $17.59", "VAT: $4.05", "Total: $21.64", "Amount due: $0.00"]


def test_the_order_confirmation_lists_the_discount_after_its_charge_in_polish() -> None:
    lines = body("order_confirmation", "pl")
    at = lines.index("- Dla firm: 2 licencje, 30 lis 2026 – 14 gru 2026: 21,99 USD")
    assert lines[at + 1] == "- Rabat SAVE20: Dla firm, 2 licencje, 30 lis 2026 – 14 gru 2026: -4,40 USD"
    assert lines[at + 2] == "Razem netto: 17,59 USD"


def test_a_receipt_lists_the_same_lines() -> None:
    assert "- Discount SAVE20: Business, 2 licenses, Nov 30, 2026 – Dec 14, 2026: -$4.40" in body("receipt", "en")
    assert "- Rabat SAVE20: Dla firm, 2 licencje, 30 lis 2026 – 14 gru 2026: -4,40 USD" in body("receipt", "pl")


def test_a_refunds_credit_note_gives_the_discount_back_with_the_other_sign() -> None:
    # rules DC2, R2: the note reverses the charge and its discount; the discount's reversal is positive
    note = InvoiceDocument("CN-2026-000001", "credit_note", "paid", ISSUED, ISSUED, "USD", Seller("PL"), None, None,
                           (line("credit", -2199, -506), line("discount", 440, 101, "SAVE20")), -1759, -405, -2164, 0,
                           0, corrects="INV-2026-000002")  # fmt: skip
    data = {"amount": 2164, "currency": "USD", "method": "Visa •••• 4242"}
    _, text = compose("refund_succeeded", "en", note.number, data, document=note, time_zone="UTC")
    assert "- Discount SAVE20: Business, 2 licenses, Nov 30, 2026 – Dec 14, 2026: $4.40" in text.replace("\xa0", " ")
