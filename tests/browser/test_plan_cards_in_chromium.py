"""Current Plans at a glance in a real browser (rules C7, D1, D2, L3, L6, X5): the next invoice and the credit
balance, an add-on cancelled on its own card and reactivated, a reduction shown with its date and withdrawn, each
page saved at 1280 and 390 pixels wide in the page's language."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from prorata.adapters.db.queries import invoice_views
from prorata.services.credit_notes import credit_lines
from tests.browser.conftest import Server, Walk
from tests.browser.test_billing_in_chromium import save
from tests.browser.test_order_pages_in_chromium import reviewed, shots, via_terms
from tests.e2e.conftest import account_id


def place(walk: Walk) -> None:
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")
    walk.go("/billing")


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_add_on_is_cancelled_and_reactivated_and_a_reduction_withdrawn_from_current_plans(
    walk: Walk, server: Server, language: str
) -> None:
    app = server.app
    with app.engine.connect() as conn:
        first = invoice_views(conn, account_id(app, "demo-business"))[-1]
    credit_lines(first.number, [2], actor="operator", reason="not used", uow=app.uow, clock=app.clock)
    walk.sign_in("owner@demo-business.test", language)
    expect(walk.page.locator("#next-invoice")).to_be_visible()
    expect(walk.page.locator("#credit-balance")).not_to_have_attribute("data-minor", "0")
    shots(walk, "current-plans")

    # rules D1, D2: the add-on alone, through the order summary
    walk.follow("#cancel-addon-large_meetings_500")
    via_terms(walk)  # the demo's older Terms are the one step (K2)
    expect(walk.page.locator("#scheduled li.scheduled")).to_have_count(1)
    shots(walk, "summary-addon-cancel")
    place(walk)
    expect(walk.page.locator("#reactivate-addon-large_meetings_500")).to_be_visible()
    expect(walk.page.locator("#next-changes li")).to_have_count(1)
    shots(walk, "addon-cancelled")
    walk.follow("#reactivate-addon-large_meetings_500")
    reviewed(walk)
    expect(walk.page.locator("#scheduled li.withdrawn")).to_have_count(1)
    shots(walk, "summary-addon-reactivate")
    place(walk)
    expect(walk.page.locator("#cancel-addon-large_meetings_500")).to_be_visible()

    # rules L3, L6: 12 licenses reduced to 10 at the term end, then withdrawn with its button
    walk.follow("#edit-plan")
    walk.page.fill("#licenses", "10")
    save(walk)
    walk.follow("#skip")
    reviewed(walk)
    place(walk)
    withdraw = walk.page.locator("button[id^='withdraw-'][id$='-quantity']")
    expect(withdraw).to_be_visible()
    shots(walk, "reduction-pending")
    walk.follow("button[id^='withdraw-'][id$='-quantity']")
    reviewed(walk)
    expect(walk.page.locator("#scheduled li.withdrawn")).to_have_count(1)
    shots(walk, "summary-withdrawal")
    place(walk)
    expect(withdraw).to_have_count(0)
    shots(walk, "reduction-withdrawn")
