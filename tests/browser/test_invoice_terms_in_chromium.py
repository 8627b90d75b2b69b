"""Invoice terms in a real browser, in both languages, at 1280 and 390 px (rule NT1): the operator's terms page in
the console, and the customer's invoice on terms with its due date, the seller's bank account and the payment title;
each page passes axe-core."""

from __future__ import annotations

from dataclasses import replace

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from prorata.adapters.db.schema import invoices
from prorata.domain.cart import SetLicenses
from prorata.domain.payment_terms import TermsThresholds
from prorata.domain.seller import BankAccount
from prorata.services.payment_terms import SetPaymentTerms, set_payment_terms
from prorata.services.place_order import PlaceOrder, place_order
from tests.browser.conftest import Walk
from tests.browser.test_console_in_chromium import console_sign_in
from tests.browser.test_every_page_is_accessible import audit
from tests.browser.test_order_pages_in_chromium import shots
from tests.e2e.conftest import account_id

TITLE = {"en": "Pay by bank transfer", "pl": "Zapłać przelewem"}


def step(walk: Walk, label: str) -> None:
    shots(walk, label)
    assert not audit(walk, label), audit(walk, label)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_invoice_on_terms_shows_where_and_how_to_pay_it(walk: Walk, language: str) -> None:
    app = walk.server.app
    app.terms_thresholds = TermsThresholds({"PLN": 100000})
    bank = BankAccount("PL61109010140000071219812874", "BPKOPLPW", "Bank Testowy")
    app.tax = replace(app.tax, seller=replace(app.tax.seller, bank=bank))
    demo = account_id(app, "demo-business")
    set_payment_terms(SetPaymentTerms(demo, 30, "operator:test"), uow=app.uow, clock=app.clock, catalog=app.catalog,
                      thresholds=app.terms_thresholds)  # fmt: skip
    placed = place_order(PlaceOrder(demo, (SetLicenses(14),), "terms-1", actor="owner@demo-business.test",
                                    terms_version="2026-01", terms_accepted=True),
                         uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog)  # fmt: skip
    assert placed.status == "placed"
    with app.engine.connect() as conn:
        invoice_id = conn.execute(select(invoices.c.id).order_by(invoices.c.id.desc()).limit(1)).scalar_one()

    console_sign_in(walk, language)
    walk.go(f"/operator/accounts/{demo}/terms")
    expect(walk.page.locator("#terms-status")).to_contain_text("30")
    step(walk, "console-terms")

    walk.sign_in("owner@demo-business.test", language)
    walk.go(f"/billing/invoices/{invoice_id}")
    expect(walk.page.locator("#bank-transfer h2")).to_have_text(TITLE[language])
    expect(walk.page.locator("#payment-reference")).to_have_text(placed.invoice_number or "")
    step(walk, "invoice-on-terms")
