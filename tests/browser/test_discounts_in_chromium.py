"""Discounts in a real browser (rules DC1, DC2, X5): "Add Discount" on the cart and the order summary, with a refused
code and an accepted one, the order placed and its invoice; Current Plans with the discount the account holds, and
with a code added there from the next billing date. In Polish and in English, each page fits a 390 px phone, passes
axe-core at 1280 and 390 px, and is saved at both widths under ``test-output/screenshots/``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from prorata.adapters.db.clock import move_clock
from prorata.bootstrap import App
from prorata.domain.discounts import WHOLE_PERCENT
from prorata.services.discounts import CreateDiscountCode, create_discount_code
from tests.browser.conftest import Walk
from tests.browser.test_billing_in_chromium import save
from tests.browser.test_checkout_pages_fit_and_pass_axe import Audit
from tests.browser.test_order_pages_in_chromium import to_summary
from tests.e2e.conftest import START

MID_PERIOD = START + timedelta(days=14)  # demo-business is billed on the 15th: 16 of November's 30 days left


def codes(app: App) -> None:
    """20 % off the whole order for three billing periods, and 10 zł off each Business license for ever."""
    for command in (
        CreateDiscountCode("SAVE20", "repeating", "operator", periods=3, percent=20 * WHOLE_PERCENT // 100),
        CreateDiscountCode("TEN-OFF", "forever", "operator", amounts={"PLN": 1000}, products=("business",)),
    ):
        create_discount_code(command, uow=app.uow, clock=app.clock, catalog=app.catalog)
    move_clock(app.engine, MID_PERIOD)
    app.clock.refresh()


def enter(walk: Walk, code: str, button: str) -> None:
    walk.page.fill("#discount_code", code)
    walk.follow(button)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_code_in_the_cart_to_the_placed_order_and_its_invoice(walk: Walk, language: str) -> None:
    codes(walk.server.app)
    check = Audit(walk)
    walk.sign_in("owner@demo-business.test", language)
    walk.follow("#edit-plan")
    walk.page.fill("#licenses", "14")
    save(walk)
    walk.go("/cart")

    enter(walk, "nosuch", "#discount-apply")  # refused beside the field; the cart as it was
    expect(walk.page.locator("#error-discount_code")).to_be_visible()
    expect(walk.page.locator("#lines tr.discount")).to_have_count(0)
    check("cart-discount-refused")
    enter(walk, "save20", "#discount-apply")
    expect(walk.page.locator("#discount-applied")).to_be_visible()
    expect(walk.page.locator("#lines tr.discount")).to_have_count(1)
    check("cart-discount")

    walk.go("/checkout/products")
    to_summary(walk)
    expect(walk.page.locator("#summary #lines tr.discount")).to_have_count(1)
    check("summary-discount")
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")
    expect(walk.page.locator(".discount-taken")).to_have_count(1)
    check("done-discount")
    walk.follow("#confirmation-invoice a")
    expect(walk.page.locator("#lines tr.discount")).to_have_count(1)
    check("invoice-discount")
    walk.go("/billing")  # the code came with the order: the account holds it now, one at a time
    expect(walk.page.locator("#discount-held")).to_be_visible()
    expect(walk.page.locator("#discount-form")).to_have_count(0)
    check("current-plans-discount-held")
    check.check()


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_code_added_on_current_plans_from_the_next_billing_date(walk: Walk, language: str) -> None:
    codes(walk.server.app)
    check = Audit(walk)
    walk.sign_in("owner@demo-business.test", language)
    expect(walk.page.locator("#discount-next")).to_be_visible()
    check("current-plans-add-discount")

    enter(walk, "no such code", "#discount-add")
    expect(walk.page.locator("#error-discount_code")).to_be_visible()
    check("current-plans-discount-refused")
    enter(walk, "ten-off", "#discount-add")
    expect(walk.page.locator("#discount-held")).to_be_visible()
    expect(walk.page.locator("#discount-waiting")).to_be_visible()
    check("current-plans-discount")
    check.check()
