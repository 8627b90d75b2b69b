"""Invoice History and the invoice page at a glance (rules I3, I5, I6, I8, I2, X5), in both languages, on SQLite and
PostgreSQL: a badge per document (open, overdue, paid, void, or a credit note as such) with the due date of what is
owed, each number linking to its page, and the invoice page listing its payments (date, method, amount, status).

``demo-business`` paid its first invoice with the sandbox test card Visa 4242; ``make_overdue`` gives ``demo-pro`` a
card that declines (Visa 0002), so its renewal of Dec 15, 2026 fails on every retry and the account is overdue.
"""

from __future__ import annotations

import pytest

from prorata.adapters.db.queries import invoice_views
from prorata.entrypoints.portal.i18n import money
from prorata.services.credit_notes import credit_lines
from tests.e2e.conftest import Visitor, account_id, make_overdue
from tests.e2e.order_page import Node, norm, parse

WORDS = {
    "en": {"paid": "paid", "overdue": "overdue", "note": "Credit note", "due": "Due Dec 15, 2026",
           "succeeded": "succeeded", "failed": "failed", "date": "Nov 15, 2026", "payments": "Payments"},
    "pl": {"paid": "opłacona", "overdue": "zaległa", "note": "Korekta", "due": "Termin płatności: 15 gru 2026",
           "succeeded": "zrealizowana", "failed": "nieudana", "date": "15 lis 2026", "payments": "Płatności"},
}  # fmt: skip


def text(page: Node, element_id: str) -> str:
    found = page.find(element_id)
    assert found is not None, f"no #{element_id}"
    return found.text


@pytest.mark.parametrize("language", ["en", "pl"])
def test_each_invoice_shows_its_badge_and_links_its_number_to_its_page(visitor: Visitor, language: str) -> None:
    # rules I3, I2: demo-business's paid invoice, and a credit note correcting it, shown as what it is
    app = visitor.app
    with app.engine.connect() as conn:
        (paid,) = invoice_views(conn, account_id(app, "demo-business"))
    note = credit_lines(paid.number, [1], actor="operator", reason="Duplicate seats", uow=app.uow, clock=app.clock)
    with app.engine.connect() as conn:
        note_id = next(i.id for i in invoice_views(conn, account_id(app, "demo-business")) if i.number == note.number)
    visitor.sign_in("owner@demo-business.test")
    visitor.language(language)

    page = parse(visitor.get("/billing/invoices").text)

    assert text(page, f"status-{paid.id}") == WORDS[language]["paid"]
    assert "badge" in (page.find(f"status-{paid.id}") or Node("", {})).classes
    assert page.find(f"due-{paid.id}") is None  # nothing is owed on it
    assert text(page, f"status-{note_id}") == WORDS[language]["note"]
    number = page.find(f"number-{paid.id}")
    assert number is not None
    assert number.tag == "a"
    assert (number.attrs["href"], number.text) == (f"/billing/invoices/{paid.id}", paid.number)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_open_invoice_of_an_overdue_account_is_overdue_with_its_due_date(visitor: Visitor, language: str) -> None:
    # rules I6, I8: the renewal's last retry failed, so its open invoice is overdue, due since the billing date
    make_overdue(visitor.app, "demo-pro")
    with visitor.app.engine.connect() as conn:
        owed = next(i for i in invoice_views(conn, account_id(visitor.app, "demo-pro")) if i.status == "open")
    visitor.sign_in("owner@demo-pro.test")
    visitor.language(language)

    history = parse(visitor.get("/billing/invoices").text)
    invoice = parse(visitor.get(f"/billing/invoices/{owed.id}").text)

    assert text(history, f"status-{owed.id}") == WORDS[language]["overdue"]
    assert text(history, f"due-{owed.id}") == WORDS[language]["due"]
    assert text(invoice, "status") == WORDS[language]["overdue"]
    # rule I5: every attempt is listed, each with the card it was made on and what became of it
    rows = invoice.all("tr", "payment-failed")
    assert len(rows) == 5  # the renewal and its four retries
    cells = [norm(td.text) for td in rows[0].all("td")]
    assert cells[1:] == ["Visa •••• 0002", norm(money(owed.total, "USD", language)), WORDS[language]["failed"]]


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_invoice_page_lists_its_payment_with_date_method_amount_and_status(visitor: Visitor, language: str) -> None:
    # rule I5: demo-business paid its first invoice with the test card when the demo was loaded
    with visitor.app.engine.connect() as conn:
        (paid,) = invoice_views(conn, account_id(visitor.app, "demo-business"))
    visitor.sign_in("owner@demo-business.test")
    visitor.language(language)

    page = parse(visitor.get(f"/billing/invoices/{paid.id}").text)

    section = page.find("payments")
    assert section is not None
    assert section.all("h2")[0].text == WORDS[language]["payments"]
    (row,) = page.all("tr", "payment-succeeded")
    amount = norm(money(paid.total, "PLN", language))
    assert [norm(td.text) for td in row.all("td")] == [WORDS[language]["date"], "Visa •••• 4242", amount,
                                                       WORDS[language]["succeeded"]]  # fmt: skip
    assert text(page, "payment-1") == amount
    assert text(page, "amount-paid") == amount
