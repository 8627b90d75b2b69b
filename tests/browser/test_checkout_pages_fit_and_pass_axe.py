"""The checkout's pages the crawl of ``test_every_page_fits_a_phone`` cannot reach without a cart or a placed order
(rule X5): the cart with items of several kinds, "Interested in other products?", the Terms of Service, the order
summary, the summary of a payment that failed and the confirmation of a placed order. In Polish and in English, each
fits a 390 px phone (``scrollWidth`` at most 390), passes axe-core with no serious or critical violation at 1280 and
390 px, and is saved at both widths under ``test-output/screenshots/``.

The pages are reached by their addresses, with the cart and the accepted Terms written into the session as the
portal's forms leave them, so the test does not depend on the way the checkout's steps lead from one to the next.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from prorata.adapters.db.queries import subscription_views
from prorata.adapters.db.web_sessions import find_session, save_session, wall_clock
from prorata.domain.cart import AddAddon, Change, ChangeAddon, ChangePlan, SetLicenses
from prorata.domain.periods import Interval
from prorata.entrypoints.portal import basket
from prorata.entrypoints.portal.pages import SESSION_COOKIE
from prorata.entrypoints.portal.routes.checkout import TERMS_VERSION
from prorata.services.billing_information import AddCard, add_card
from tests.browser.conftest import Walk
from tests.browser.test_every_page_fits_a_phone import LAPTOP, PHONE, measure
from tests.browser.test_every_page_is_accessible import audit
from tests.e2e.conftest import account_id


def set_cart(walk: Walk, *changes: Change) -> None:
    """The cart as the portal's forms leave it, the Terms of Service accepted."""
    token = next(c["value"] for c in walk.page.context.cookies() if c["name"] == SESSION_COOKIE)
    app = walk.server.app
    session = find_session(app.engine, token, wall_clock())
    assert session is not None
    session.state["cart"] = [basket.item_of(change) for change in changes]
    session.state.pop("summary", None)
    session.state["terms"] = TERMS_VERSION
    save_session(app.engine, session)


def held(walk: Walk, code: str, product: str) -> str:
    app = walk.server.app
    with app.engine.connect() as conn:
        return next(str(s.id) for s in subscription_views(conn, account_id(app, code)) if s.product == product)


class Audit:
    """Each page measured at 390 px and audited by axe at 1280 and 390 px; what is wrong, gathered."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk
        self.too_wide: dict[str, int] = {}
        self.violations: list[str] = []
        self.seen: list[str] = []

    def __call__(self, label: str) -> None:
        walk = self.walk
        # the document's own width at a phone's: what scrolls sideways, whatever the window's scrollbar takes
        wider = measure(walk, label)
        width: int = walk.page.evaluate("document.documentElement.scrollWidth")
        if wider > 0 or width > PHONE["width"]:
            self.too_wide[label] = width
        for size in (LAPTOP, PHONE):
            walk.page.set_viewport_size(size)
            self.violations.extend(audit(walk, f"{label} @{size['width']}"))
        walk.page.set_viewport_size(LAPTOP)
        self.seen.append(label)

    def check(self) -> None:
        assert not self.too_wide, f"wider than {PHONE['width']} px (scrollWidth): {self.too_wide}"
        assert not self.violations, f"{len(self.violations)} serious or critical axe violations:\n" + "\n".join(
            self.violations
        )


def place(walk: Walk) -> None:
    """Place order on the summary shown, and wait for the page it leads to (the confirmation, or the summary)."""
    walk.follow("form[action='/checkout/place'] button[type=submit]")


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_checkout_to_a_placed_order_fits_a_phone_and_passes_axe(walk: Walk, language: str) -> None:
    check = Audit(walk)
    walk.sign_in("owner@demo-business.test", language)
    addon = held(walk, "demo-business", "large_meetings_500")
    # items of several kinds: more licenses, a new add-on, a one-month product, more seats of an add-on held
    month = Interval.MONTH
    set_cart(walk, SetLicenses(14), AddAddon("webinar_500", 2, month), AddAddon("webinar_500_one_month", 1, month),
             ChangeAddon(addon, quantity=3))  # fmt: skip
    for path in ("/cart", "/checkout/products", "/checkout/terms", "/checkout/summary"):
        walk.go(path)
        assert walk.page.url.endswith(path), f"{path} led to {walk.page.url}"
        check(path.strip("/").replace("/", "-"))
    walk.page.set_viewport_size(LAPTOP)
    place(walk)
    assert "/checkout/done/" in walk.page.url
    check("checkout-done")
    # a change for the term end, summarised and confirmed as scheduled
    set_cart(walk, ChangePlan("pro", 8))
    walk.go("/checkout/summary")
    check("checkout-summary-downgrade")
    place(walk)
    assert "/checkout/done/" in walk.page.url
    check("checkout-done-downgrade")
    check.check()


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_summary_of_a_payment_that_failed_fits_a_phone_and_passes_axe(walk: Walk, language: str) -> None:
    # demo-basic upgrades from the free plan with a card that is declined (rule K7)
    app = walk.server.app
    add_card(AddCard(account_id(app, "demo-basic"), "4000000000000002", 12, 2030), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip
    check = Audit(walk)
    walk.sign_in("owner@demo-basic.test", language)
    set_cart(walk, ChangePlan("pro", 2, Interval.MONTH, 1), AddAddon("webinar_500", 1, Interval.MONTH))
    walk.go("/cart")
    check("cart-upgrade")
    walk.go("/checkout/summary")
    check("checkout-summary-upgrade")
    place(walk)
    assert walk.page.url.endswith("/checkout/place")
    assert walk.page.locator("[role=alert]").count() >= 1
    check("checkout-payment-failed")
    check.check()


@pytest.mark.parametrize("language", ["en", "pl"])
def test_a_free_trial_from_the_plan_card_to_its_confirmation_fits_a_phone_and_passes_axe(
    walk: Walk, language: str
) -> None:
    # rule TR1: the plan card and the plan's form offer it; the cart, the summary and the confirmation say nothing
    # is charged now and when the first charge comes
    check = Audit(walk)
    walk.sign_in("owner@demo-basic.test", language)
    for path in ("/billing/upgrade", "/billing/upgrade/pro"):
        walk.go(path)
        check("trial-" + path.rsplit("/", 1)[-1])  # measured, audited and saved at 1280 and 390 px
    expect(walk.page.locator("#trial-choice")).to_be_visible()
    set_cart(walk, ChangePlan("pro", 3, Interval.MONTH, trial=True))
    for path in ("/cart", "/checkout/summary"):
        walk.go(path)
        expect(walk.page.locator("#trial-note")).to_be_visible()
        check("trial-" + path.rsplit("/", 1)[-1])
    place(walk)
    assert "/checkout/done/" in walk.page.url
    expect(walk.page.locator("#trial-note")).to_be_visible()
    check("trial-done")
    check.check()
