"""Express pay in a real browser, in both languages, at 1280 and 390 px (rule EP1): from the sign-in page's link to
the numbers, a refused pair, the card, a declined card, and the invoice paid; each step passes axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from prorata.adapters.db.schema import invoices
from tests.browser.conftest import Walk
from tests.browser.test_every_page_is_accessible import audit
from tests.browser.test_order_pages_in_chromium import shots
from tests.e2e.conftest import account_id, make_overdue

TEXTS = {
    "en": ("No open invoice has this number", "The card was declined.", "is paid"),
    "pl": ("Żadna otwarta faktura o tym numerze", "Karta została odrzucona.", "jest opłacona"),
}


def step(walk: Walk, label: str) -> None:
    shots(walk, label)
    assert not audit(walk, label), audit(walk, label)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_overdue_invoice_is_paid_from_the_sign_in_page_without_signing_in(walk: Walk, language: str) -> None:
    app = walk.server.app
    make_overdue(app, "demo-pro")
    with app.engine.connect() as conn:
        number = conn.execute(
            select(invoices.c.series, invoices.c.year, invoices.c.number)
            .where(invoices.c.account_id == account_id(app, "demo-pro"), invoices.c.status == "open")
        ).one()  # fmt: skip
    invoice_number = f"{number.series}-{number.year}-{number.number:06d}"
    not_found, declined, paid = TEXTS[language]

    walk.go(f"/language/{language}?next=/signin")
    walk.follow("#express-link")
    walk.page.fill("#account-number", "demo-pro")
    walk.page.fill("#invoice-number", "INV-2026-999999")
    walk.follow("#express-find button[type=submit]")
    expect(walk.page.locator("#error-invoice_number")).to_contain_text(not_found)
    step(walk, "express-refused")

    walk.page.fill("#invoice-number", invoice_number)
    walk.follow("#express-find button[type=submit]")
    expect(walk.page.locator("#express-number")).to_have_text(invoice_number)
    expect(walk.page.locator("body")).not_to_contain_text("Demo Pro Studio")
    walk.page.fill("input[name=card_number]", "4000 0000 0000 0002")
    walk.page.fill("input[name=exp_month]", "12")
    walk.page.fill("input[name=exp_year]", "2030")
    step(walk, "express-card")
    walk.follow("#express-pay")
    expect(walk.page.locator("#error-card_number")).to_contain_text(declined)
    step(walk, "express-declined")

    walk.page.fill("input[name=card_number]", "4242 4242 4242 4242")
    walk.follow("#express-pay")
    expect(walk.page.locator("#express-done")).to_contain_text(paid)
    step(walk, "express-paid")
    with app.engine.connect() as conn:
        still_open = conn.execute(
            select(invoices.c.id).where(invoices.c.account_id == account_id(app, "demo-pro"),
                                        invoices.c.status == "open")
        ).all()  # fmt: skip
    assert still_open == []
