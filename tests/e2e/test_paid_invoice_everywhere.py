"""A paid invoice means one thing wherever it is shown: "Paid", nothing due, and the payment that paid it, on the
portal's invoice page, its PDF, the API and the command line alike (rules I3, I5, X5).

``demo-pro`` paid its first invoice with the sandbox test card (Visa ending 4242) when the demo was loaded.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from prorata.adapters.db.api_keys import create_api_key
from prorata.adapters.db.queries import invoice_views
from prorata.bootstrap import App
from prorata.entrypoints.cli.main import main
from prorata.entrypoints.portal.i18n import money
from prorata.entrypoints.web import create_app
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.test_portal import text_of
from tests.e2e.test_portal_figures import pdf_text


def paid_invoice(app: App) -> tuple[int, str, int]:
    """demo-pro's paid invoice: its id, number and total."""
    with app.engine.connect() as conn:
        (first,) = invoice_views(conn, account_id(app, "demo-pro"))
    assert first.status == "paid"
    return first.id, first.number, first.total


@pytest.mark.parametrize(("language", "paid"), [("en", "paid"), ("pl", "opłacona")])
def test_the_invoice_page_and_its_pdf_say_paid_with_nothing_due_and_the_payment(
    visitor: Visitor, language: str, paid: str
) -> None:
    # rules I3, I5: the page showed "Amount due 47.97" for a paid invoice
    invoice_id, number, total = paid_invoice(visitor.app)
    visitor.sign_in("owner@demo-pro.test")
    visitor.language(language)

    page = visitor.get(f"/billing/invoices/{invoice_id}")

    assert text_of(page, "status") == paid
    assert text_of(page, "amount-due") == money(0, "USD", language)
    assert "Visa •••• 4242" in page.text
    assert text_of(page, "payment-1") == money(total, "USD", language)  # the payment that settled the total
    document = pdf_text(visitor.get(f"/billing/invoices/{invoice_id}/pdf"))
    assert number in document
    assert paid in document.lower()
    assert money(0, "USD", language).replace("\xa0", " ") in document
    assert "Visa •••• 4242" in document


def test_the_api_and_the_command_line_say_paid_with_nothing_due_and_the_payment(
    app: App, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules I3, X1: the API and `prorata invoices list` give the same figures as the pages
    invoice_id, number, total = paid_invoice(app)
    account = account_id(app, "demo-pro")
    with app.engine.begin() as conn:
        _, secret = create_api_key(conn, account_id=account, name="test", now=app.clock.now())
    with TestClient(create_app(app)) as client:
        served = client.get(f"/api/v1/accounts/{account}/invoices/{invoice_id}",
                            headers={"Authorization": f"Bearer {secret}"}).json()  # fmt: skip
    assert (served["number"], served["status"], served["amount_due"], served["amount_paid"]) == (
        number,
        "paid",
        0,
        total,
    )
    assert [(p["status"], p["amount"], p["method"]) for p in served["payments"]] == [
        ("succeeded", total, "Visa •••• 4242")
    ]

    assert main(["invoices", "list", "--account", "demo-pro", "--json", "--database", database_url]) == 0
    (listed,) = json.loads(capsys.readouterr().out)["invoices"]
    assert (listed["number"], listed["status"], listed["amount_due"], listed["total"]) == (number, "paid", 0, total)
