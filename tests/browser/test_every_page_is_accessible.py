"""Every portal page an owner reaches passes axe-core (rule X5: the portal is for customers, whoever they are): no
violation of impact serious or critical, in Polish and in English, on the pages ``test_every_page_fits_a_phone`` crawls.

axe-core comes bundled in ``axe-playwright-python``; it is evaluated in the page through the DevTools protocol, which
the page's Content-Security-Policy does not govern, so the audit sees the page exactly as it is served (no
``bypass_csp``: a style the policy refuses is a style the customer does not see either).
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import Walk
from tests.browser.test_every_page_fits_a_phone import LAPTOP, PHONE, every_page

BLOCKING = {"serious", "critical"}
AXE = Axe()


def audit(walk: Walk, path: str) -> list[str]:
    """The serious and critical violations axe finds on the page shown, one line each: page, rule, target."""
    response = AXE.run(walk.page)
    found = []
    for violation in response.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            found.append(f"{path} [{violation['impact']}] {violation['id']}: {target} ({node['failureSummary']!r})")
    return found


@pytest.mark.parametrize("language", ["en", "pl"])
def test_no_page_an_owner_reaches_has_a_serious_accessibility_violation(walk: Walk, language: str) -> None:
    violations: list[str] = []
    audited: list[str] = []

    def visit(walk: Walk, path: str) -> None:
        # at both widths: the phone's layout hides and wraps differently from the laptop's
        for size in (LAPTOP, PHONE):
            walk.page.set_viewport_size(size)
            violations.extend(audit(walk, f"{path} @{size['width']}"))
        audited.append(path)

    every_page(walk, language, visit)
    assert len(audited) > 10, f"only {audited} were audited"
    assert not violations, f"{len(violations)} serious or critical axe violations:\n" + "\n".join(violations)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_checkout_steps_take_a_keyboard_back_to_a_step_already_passed(walk: Walk, language: str) -> None:
    # given an add-on in the cart and the checkout at its payment step
    walk.sign_in("owner@demo-business.test", language)
    walk.go("/billing/addons/add/webinar_500")
    walk.follow("main button.primary")
    walk.go("/checkout/payment")
    steps = walk.page.locator("nav.steps")
    assert steps.get_attribute("aria-label")
    assert steps.locator("[aria-current=step]").count() == 1
    # when the keyboard moves the focus from the top of the page to the first link of the steps
    walk.page.evaluate("document.activeElement.blur()")
    for _ in range(30):
        walk.page.keyboard.press("Tab")
        if walk.page.evaluate("!!document.activeElement.closest('nav.steps')"):
            break
    else:
        pytest.fail("Tab never reaches the checkout steps")
    focused = walk.page.evaluate("document.activeElement.getAttribute('href')")
    walk.shot("step-focused")
    # then Enter follows it to that step's page, and the steps ahead (terms, summary) are no links to skip to
    assert focused == "/checkout/products"
    assert steps.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
        "/checkout/products",
        "/checkout/contacts",
    ]
    with walk.page.expect_navigation():
        walk.page.keyboard.press("Enter")
    assert walk.page.url.endswith("/checkout/products")
