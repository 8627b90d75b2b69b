"""Invoice terms in the console and the portal (rule NT1), in English and Polish, on SQLite and PostgreSQL: an
operator puts the demo's Business account on terms, its owner orders without being asked for a card, the invoice
shows its due date, the seller's bank account and the payment title, and the operator records the transfer."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select, update

from prorata.adapters.db.schema import invoices, payment_methods
from prorata.bootstrap import App
from prorata.domain.payment_terms import TermsThresholds
from prorata.domain.seller import BankAccount
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.language_leaks import leaks
from tests.e2e.order_page import text_by_id
from tests.e2e.test_console import audited, operator

BUSINESS = "owner@demo-business.test"
IBAN = "PL61109010140000071219812874"


def on_terms_installation(app: App) -> int:
    """PLN accounts may be put on terms from 1000 PLN a month; the seller has a bank account; demo-business (12 x
    89.99 PLN and an add-on a month) has no card left."""
    app.terms_thresholds = TermsThresholds({"USD": 25000, "PLN": 100000})
    app.tax = replace(app.tax, seller=replace(app.tax.seller, bank=BankAccount(IBAN, "BPKOPLPW", "Bank Testowy")))
    demo = account_id(app, "demo-business")
    with app.engine.begin() as conn:
        conn.execute(update(payment_methods).where(payment_methods.c.account_id == demo).values(is_default=False))
    return demo


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_account_put_on_terms_in_the_console_orders_without_a_card_and_pays_by_transfer(
    app: App, language: str
) -> None:
    # rule NT1 through the console and the portal, in the operator's and the customer's language
    demo = on_terms_installation(app)
    desk = operator(app, language)
    page = desk.get(f"/operator/accounts/{demo}/terms")
    too_long = desk.post(f"/operator/accounts/{demo}/terms", {"days": "365", "action": "set"})
    set_terms = desk.post(f"/operator/accounts/{demo}/terms", {"days": "14", "action": "set"})

    assert page.status_code == 200
    assert not leaks(page.text, language, ("Demo Business Sp. z o.o.",))
    assert too_long.status_code == 400
    assert ("Enter a whole number of days, 1 to 120." if language == "en" else "Podaj liczbę dni, od 1 do 120.") in (
        too_long.text
    )
    assert ("Net 14" if language == "en" else "Termin 14 dni") in set_terms.text
    assert audited(app, "payment_terms.set") == ["operator:ops@example.test"]

    visitor = Visitor(app)
    visitor.sign_in(BUSINESS)
    visitor.language(language)
    assert visitor.post("/billing/edit", {"licenses": "13", "interval": "month"}).url.path == "/checkout/products"
    assert visitor.get("/checkout/payment").url.path == "/checkout/terms"  # no card is asked for
    summary = visitor.post("/checkout/terms", {"terms": "on"})
    assert summary.url.path == "/checkout/summary"
    assert text_by_id(summary.text, "review-terms-days") == (
        "Bank transfer on invoice terms (payment term in days: 14). No card is charged."
        if language == "en"
        else "Przelew bankowy na podstawie faktury (termin płatności w dniach: 14). Karta nie zostanie obciążona."
    )
    key = re.search(r'name="key" value="([^"]+)"', summary.text)
    assert key is not None
    placed = visitor.post("/checkout/place", {"key": key.group(1)})
    assert placed.url.path.startswith("/checkout/done/")

    with app.engine.connect() as conn:
        row = conn.execute(select(invoices).order_by(invoices.c.id.desc()).limit(1)).mappings().one()
    number = f"{row['series']}-{row['year']}-{row['number']:06d}"
    assert (row["status"], row["terms_days"]) == ("open", 14)
    invoice = visitor.get(f"/billing/invoices/{row['id']}")
    assert not leaks(invoice.text, language, (number, "Bank Testowy"))
    assert text_by_id(invoice.text, "payment-reference") == number
    assert (text_by_id(invoice.text, "bank-iban") or "").replace(" ", "").replace("\u00a0", "") == IBAN
    assert text_by_id(invoice.text, "due") is not None

    amount = f"{row['amount_due'] // 100}.{row['amount_due'] % 100:02d}"
    recorded = desk.post(f"/operator/accounts/{demo}/bank-payments",
                         {"invoice": number, "amount": amount, "received_on": "2026-11-15",
                          "reference": "PKO-2026-1"})  # fmt: skip
    assert recorded.status_code == 200, recorded.text
    assert ("The bank payment was recorded." if language == "en" else "Przelew został zaksięgowany.") in recorded.text
    paid = visitor.get(f"/billing/invoices/{row['id']}")
    assert "PKO-2026-1" in (text_by_id(paid.text, "transfers") or paid.text)
    with app.engine.connect() as conn:
        assert conn.execute(select(invoices.c.status).where(invoices.c.id == row["id"])).scalar_one() == "paid"


def test_a_transfer_the_console_cannot_book_is_refused_beside_its_field_and_books_nothing(app: App) -> None:
    # rules NT1, X4: an unknown invoice number, an amount with too many decimals
    demo = on_terms_installation(app)
    desk = operator(app, "pl")
    desk.get(f"/operator/accounts/{demo}/terms")

    unknown = desk.post(
        f"/operator/accounts/{demo}/bank-payments",
        {"invoice": "INV-2026-999999", "amount": "10", "received_on": "2026-11-15", "reference": "A"},
    )
    decimals = desk.post(f"/operator/accounts/{demo}/bank-payments",
                         {"invoice": "INV-2026-000001", "amount": "1,234", "received_on": "2026-11-15",
                          "reference": "B"})  # fmt: skip

    assert unknown.status_code == 400
    assert "Nie ma wystawionej faktury o tym numerze." in unknown.text
    assert decimals.status_code == 400
    assert audited(app, "bank_payment.recorded") == []
