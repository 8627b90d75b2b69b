"""A refund as the customer sees it in Invoice History and on the credit note's page (rules R1, R2), at 1280 and 390 px
in both languages: one credit note refunded to the card, one whose refund failed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from prorata.adapters.db.schema import invoices
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from tests.browser.conftest import Walk
from tests.e2e.conftest import account_id
from tests.live_server import Server


@pytest.mark.parametrize(("language", "width", "words"), [("en", 1280, "Refunded to"), ("pl", 390, "Zwrócono na")])
def test_invoice_history_says_where_a_credit_notes_money_went(
    browser: Browser, server: Server, request: pytest.FixtureRequest, language: str, width: int, words: str
) -> None:
    app = server.app
    with app.engine.connect() as conn:
        number = conn.execute(
            select(invoices.c.series, invoices.c.year, invoices.c.number)
            .where(invoices.c.account_id == account_id(app, "demo-business"), invoices.c.status == "paid")
            .order_by(invoices.c.id.desc()).limit(1)
        ).one()  # fmt: skip
    paid = f"{number.series}-{number.year}-{number.number:06d}"
    note = credit_invoice(CreditInvoice(paid, "operator@vendor.test", "customer asked", None,
                                        refund="original_method", requested_by="customer"),
                          uow=app.uow, clock=app.clock, gateway=app.gateway)  # fmt: skip
    assert note.refund is not None
    assert note.refund.status == "succeeded"

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    walk = Walk(page, server, request.node.name)
    walk.sign_in("owner@demo-business.test", language)
    walk.go("/billing/invoices")
    expect(page.locator("body")).to_contain_text(words)
    expect(page.locator("body")).to_contain_text(note.number)
    walk.shot("invoice-history")
    walk.follow(f"text={note.number}")
    expect(page.locator("body")).to_contain_text(words)
    walk.shot("credit-note")
    context.close()
