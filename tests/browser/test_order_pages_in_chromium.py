"""What an order does and how a credit note reads, in a real browser (rules C6, T3, L3, L6, P5, D1, I2, X5): the
cart, the order summary and the confirmation of a reduction and of its withdrawal, and Invoice History with a credit
note, each page saved at 1280 and 390 pixels wide in the page's language."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from prorata.adapters.db.queries import invoice_views
from prorata.services.credit_notes import credit_lines
from tests.browser.conftest import Server, Walk
from tests.browser.test_billing_in_chromium import save
from tests.e2e.conftest import account_id

WIDTHS = {"1280": (1280, 900), "390": (390, 844)}  # a laptop and a phone


def shots(walk: Walk, label: str) -> None:
    """The page at each width; the page must fit a phone's width without scrolling sideways."""
    for name, (width, height) in WIDTHS.items():
        walk.page.set_viewport_size({"width": width, "height": height})
        walk.shot(f"{label}-{name}")
        overflow = walk.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label} is {overflow} px wider than {width} px"
    walk.page.set_viewport_size({"width": 1280, "height": 900})


def to_summary(walk: Walk) -> None:
    """From "Interested in other products?" to the order summary, as a demo account goes: its contacts and card are
    as they were, and its demo order accepted an older version of the Terms, so the Terms are the one step (K2)."""
    walk.follow("#skip")
    via_terms(walk)


def via_terms(walk: Walk) -> None:
    """The Terms of Service step of a returning buyer (a cancellation, reactivation or withdrawal starts here: it
    skips the products step), then the order summary."""
    walk.page.wait_for_url("**/checkout/terms")
    expect(walk.page.locator(".steps li")).to_have_count(4)  # plan, other products, Terms, summary
    walk.page.check("#terms")
    walk.follow("#to-summary")
    walk.page.wait_for_url("**/checkout/summary")


def reviewed(walk: Walk) -> None:
    """A returning buyer's way (rule K2): straight to the order summary, the Terms shown as accepted before."""
    walk.page.wait_for_url("**/checkout/summary")
    expect(walk.page.locator("#terms-standing")).to_be_visible()


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_reduction_then_its_withdrawal_read_as_what_they_do(walk: Walk, language: str) -> None:
    # rules L3, L6: Business x 12 reduced to 10 at the term end, then back to 12, which withdraws it
    walk.sign_in("owner@demo-business.test", language)
    walk.follow("#edit-plan")
    walk.page.fill("#licenses", "10")
    save(walk)
    walk.go("/cart")
    expect(walk.page.locator("#scheduled li.scheduled")).to_have_count(1)
    expect(walk.page.locator("#tax")).to_be_visible()  # the cart shows the tax like the summary
    shots(walk, "cart-reduction")
    walk.go("/checkout/products")
    to_summary(walk)
    expect(walk.page.locator("#scheduled li.scheduled")).to_contain_text("10")
    shots(walk, "summary-reduction")
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")
    expect(walk.page.locator("#nothing-charged")).to_be_visible()
    expect(walk.page.locator("#confirmation")).not_to_contain_text(
        "Your purchase is complete" if language == "en" else "Twój zakup został sfinalizowany"
    )
    shots(walk, "confirmation-reduction")

    walk.go("/billing/edit")
    walk.page.fill("#licenses", "14")
    save(walk)
    # rule K2: the account placed an order under these Terms, so it goes from the products step to the summary
    walk.follow("#skip")
    reviewed(walk)
    expect(walk.page.locator("#scheduled li.withdrawn")).to_have_count(1)
    shots(walk, "summary-withdrawal")
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")
    expect(walk.page.locator("#confirmation-invoice")).to_be_visible()
    shots(walk, "confirmation-purchase-and-withdrawal")


@pytest.mark.parametrize("language", ["en", "pl"])
def test_invoice_history_lists_a_credit_note_as_a_correction_of_its_invoice(
    walk: Walk, server: Server, language: str
) -> None:
    # rule I2
    app = server.app
    with app.engine.connect() as conn:
        first = invoice_views(conn, account_id(app, "demo-business"))[-1]
    note = credit_lines(first.number, [2], actor="operator", reason="Large Meetings were not used",
                        uow=app.uow, clock=app.clock)  # fmt: skip
    walk.sign_in("owner@demo-business.test", language)
    walk.go("/billing/invoices")
    expect(walk.page.locator(f"#correction-{first.id}")).to_contain_text(note.number)
    shots(walk, "invoice-history-credit-note")
    walk.follow(f"#correction-{first.id} a")
    expect(walk.page.locator("#invoice h2")).to_contain_text(note.number)
    shots(walk, "credit-note")


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_returning_buyer_changes_a_count_on_the_summary_and_sees_it_priced_at_once(walk: Walk, language: str) -> None:
    # rules K2, C6: after a first order, a change is reviewed on the summary; a count typed there is priced again
    # without leaving the page, and Place order places what is on the screen
    walk.sign_in("owner@demo-business.test", language)
    walk.follow("#edit-plan")
    walk.page.fill("#licenses", "13")
    save(walk)
    to_summary(walk)
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")

    walk.go("/billing/edit")
    walk.page.fill("#licenses", "14")
    save(walk)
    walk.follow("#skip")
    reviewed(walk)
    expect(walk.page.locator(".steps li")).to_have_count(3)
    shots(walk, "summary-returning")
    due = walk.page.locator("#amount-due").inner_text()
    key = walk.page.locator("input[name=key]").get_attribute("value")

    walk.page.fill("#item-0 input[name=value]", "16")  # typed, not submitted: the preview saves and prices it
    expect(walk.page.locator("#item-text-0")).to_contain_text("16")
    expect(walk.page.locator("#amount-due")).not_to_have_text(due)
    expect(walk.page.locator("#place-order")).to_be_enabled()
    assert walk.page.locator("input[name=key]").get_attribute("value") != key
    assert walk.page.url.endswith("/checkout/summary")
    shots(walk, "summary-returning-recalculated")

    walk.page.fill("#item-0 input[name=value]", "9")  # below the plan's minimum: the browser says so, nothing is sent
    expect(walk.page.locator("#place-order")).to_be_disabled()
    walk.page.fill("#item-0 input[name=value]", "16")
    expect(walk.page.locator("#item-text-0")).to_contain_text("16")
    expect(walk.page.locator("#place-order")).to_be_enabled()
    shown = walk.page.locator("#amount-due").inner_text()
    walk.follow("#place-order")
    walk.page.wait_for_url("**/checkout/done/*")
    expect(walk.page.locator("#amount-due")).to_have_text(shown)
    shots(walk, "confirmation-returning")
