"""Discount lines in the operator console, on SQLite and PostgreSQL (rules DC2, I2, R2, X5): the invoice's lines read
with the code in the operator's language, a discount is offered for credit only with its charge, and a form that names
it alone is refused on the lines' field."""

from __future__ import annotations

import re

import pytest

from prorata.adapters.db.queries import invoice_view, invoice_views
from prorata.bootstrap import App
from prorata.domain.cart import SetLicenses
from prorata.services.discounts import CreateDiscountCode, create_discount_code
from prorata.services.place_order import PlaceOrder, place_order
from tests.e2e.language_leaks import leaks
from tests.e2e.test_console import ERROR, account, operator

CHOICES = re.compile(r'name="line" value="(\d+)"')


def discounted_invoice(app: App) -> tuple[int, str]:
    """demo-business (Business x 12, PLN) buys two more licenses with SAVE20: a charge and its discount line."""
    create_discount_code(CreateDiscountCode("SAVE20", "forever", "ops@example.test", percent=2000), uow=app.uow,
                         clock=app.clock, catalog=app.catalog)  # fmt: skip
    business = account(app, "demo-business")
    placed = place_order(PlaceOrder(business, (SetLicenses(14),), "more-with-code", "owner@demo-business.test",
                                    terms_version="2026-01", terms_accepted=True, discount_code="SAVE20"),
                         uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog)  # fmt: skip
    assert placed.status == "placed"
    assert placed.invoice_number is not None
    return business, placed.invoice_number


@pytest.mark.parametrize(
    ("language", "discount", "note"),
    [("en", "Discount SAVE20: Business, 2 licenses, ", "Credited with the line above."),
     ("pl", "Rabat SAVE20: Dla firm, 2 licencje, ", "Korygowany razem z pozycją powyżej.")],
)  # fmt: skip
def test_the_credit_form_shows_the_discount_with_its_code_and_offers_it_only_with_its_charge(
    app: App, language: str, discount: str, note: str
) -> None:
    business, number = discounted_invoice(app)
    desk = operator(app, language)
    form = desk.get(f"/operator/accounts/{business}/invoices/{number}/credit")
    assert form.status_code == 200
    assert discount in form.text
    assert note in form.text
    assert CHOICES.findall(form.text) == ["1"]  # the charge; its discount (line 2) goes with it
    assert leaks(form.text, language, ("Demo Business Sp. z o.o.", "Olga Operator", "SAVE20")) == []  # rule X5


def test_crediting_the_charge_gives_the_discount_back_and_naming_the_discount_alone_is_refused(app: App) -> None:
    business, number = discounted_invoice(app)
    desk = operator(app)
    desk.get(f"/operator/accounts/{business}/invoices/{number}/credit")
    forged = desk.post(f"/operator/accounts/{business}/invoices/{number}/credit",
                       {"line": "2", "reason": "Seats not used", "destination": "credit_balance"})  # fmt: skip
    assert forged.status_code == 400
    assert ERROR.findall(forged.text) == [
        "Line 2 is a discount of line 1: choose line 1, which is credited with its discount."
    ]
    credited = desk.post(f"/operator/accounts/{business}/invoices/{number}/credit",
                         {"line": "1", "reason": "Seats not used", "destination": "credit_balance"})  # fmt: skip
    assert "The credit note was issued." in credited.text
    with app.engine.connect() as conn:
        (head,) = [view for view in invoice_views(conn, business) if view.corrects and view.corrects.number == number]
        note = invoice_view(conn, business, head.id)
    assert note is not None
    assert [(line.kind, line.discount_code) for line in note.lines] == [("credit", None), ("discount", "SAVE20")]
    assert note.lines[1].amount > 0  # the discount given back: the note returns what was paid for the licenses
