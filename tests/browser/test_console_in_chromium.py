"""The operator console in Chromium, in Polish and English: every page an operator reaches fits a phone (390 px) and a
laptop (1280 px), passes axe-core with no serious or critical violation, and is saved at both widths; and the actions
an operator takes work with a real browser's forms.

The installation is the demo one with an account made overdue (its card declines on every retry) and a billing run
told in the log, so that the dashboard, the dunning funnel and the billing runs have something to show.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from prorata.entrypoints.cli.billing import run_billing
from prorata.entrypoints.cli.demo import DEMO_OPERATOR
from tests.browser.conftest import Walk
from tests.browser.test_every_page_fits_a_phone import LAPTOP, PHONE
from tests.browser.test_every_page_is_accessible import audit
from tests.e2e.conftest import make_overdue

SKIP = ("/operator/signout", "/operator/language/", "/operator/static/", "/operator/dashboard.csv")
LIMIT = 30


def history(walk: Walk) -> None:
    """An overdue account (failed payments, dunning) and a billing run in the log."""
    app = walk.server.app
    make_overdue(app, "demo-pro")
    run_billing(app, app.clock.now(), actor="prorata bill")


def console_sign_in(walk: Walk, language: str) -> None:
    email, _name, password = DEMO_OPERATOR
    walk.go(f"/operator/language/{language}?next=/operator/signin")
    walk.page.fill("input[name=email]", email)
    walk.page.fill("input[name=password]", password)
    walk.shot("console-sign-in")
    walk.follow("main button[type=submit]")
    walk.page.wait_for_url("**/operator/")


def links(walk: Walk) -> list[str]:
    found: list[str] = walk.page.eval_on_selector_all(
        "a[href^='/operator']", "anchors => anchors.map(a => a.getAttribute('href'))"
    )
    return [href.split("#")[0] for href in found if not href.startswith(SKIP)]


@pytest.mark.parametrize("language", ["en", "pl"])
def test_every_console_page_fits_a_phone_and_passes_axe(walk: Walk, language: str) -> None:
    history(walk)
    wider: dict[str, int] = {}
    violations: list[str] = []

    def visit(path: str) -> None:
        label = "console-" + (urlsplit(path).path.strip("/").replace("/", "-") or "home")
        for size, name in ((LAPTOP, "1280"), (PHONE, "390")):
            walk.page.set_viewport_size(size)
            walk.shot(f"{label}-{name}")
            violations.extend(audit(walk, f"{path} @{name}"))
        extra: int = walk.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if extra > 0:
            wider[path] = extra
        walk.page.set_viewport_size(LAPTOP)

    walk.go(f"/operator/language/{language}?next=/operator/signin")
    visit("/operator/signin")
    console_sign_in(walk, language)
    walk.follow("form[action='/operator/metrics/refresh'] button")  # the dashboard's figures, computed now
    seen: set[str] = set()
    queue = ["/operator/", "/operator/accounts", "/operator/billing-runs", "/operator/catalog"]
    while queue and len(seen) < LIMIT:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = walk.page.goto(walk.server.url + path)
        assert response is not None
        assert response.ok, f"{path}: {response.status}"
        visit(path)
        queue += [link for link in links(walk) if link not in seen and link not in queue]
    kinds = {"/operator/", "/operator/accounts", "/operator/catalog", "/operator/billing-runs"}
    assert kinds <= seen
    for part in ("/credit", "/pay", "/sales", "/void", "/billing-runs/"):
        assert any(part in path for path in seen), f"no page with {part} was visited: {sorted(seen)}"
    assert not wider, f"pages wider than a phone: {wider}"
    assert not violations, f"{len(violations)} serious or critical axe violations:\n" + "\n".join(violations)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_operator_adds_credit_and_voids_an_invoice_with_the_browsers_forms(walk: Walk, language: str) -> None:
    console_sign_in(walk, language)
    walk.go("/operator/accounts?q=demo-business")
    walk.follow("main table a")
    walk.shot("account")
    walk.follow("nav.actions a[href$='/credit']")
    walk.page.fill("input[name=amount]", "125,50")
    walk.page.fill("textarea[name=reason]", "Goodwill")
    walk.shot("credit-form")
    walk.follow("main button[type=submit]")
    walk.shot("credit-added")
    assert walk.page.locator("p.ok[role=status]").count() == 1
    assert "125,50" in walk.page.inner_text("#credit") or "125.50" in walk.page.inner_text("#credit")
    walk.follow("#invoices a[href$='/void']")
    walk.shot("void-form")
    walk.page.click("main button[type=submit]")  # the reason is required: the browser keeps the form
    assert walk.page.locator("textarea[name=reason]:invalid").count() == 1
    walk.page.fill("textarea[name=reason]", "Ordered by mistake")
    walk.follow("main button[type=submit]")
    walk.shot("voided")
    assert walk.page.locator("#invoices .invoice-void").count() == 1


@pytest.mark.parametrize("language", ["en", "pl"])
def test_an_operator_credits_lines_marks_sales_cancels_and_moves_the_clock_in_the_browser(
    walk: Walk, language: str
) -> None:
    make_overdue(walk.server.app, "demo-pro")  # an open invoice to charge again
    console_sign_in(walk, language)
    walk.go("/operator/accounts?q=demo-business")
    walk.follow("main table a")
    walk.follow("#invoices a[href$='/credit']")
    walk.page.check("input[name=line] >> nth=1")
    walk.page.fill("textarea[name=reason]", "Seats not used")
    walk.shot("credit-lines-form")
    walk.follow("main button[type=submit]")
    walk.shot("credit-lines-done")
    assert walk.page.locator("p.ok[role=status]").count() == 1
    walk.follow("nav.actions a[href$='/sales']")
    walk.page.fill("textarea[name=reason]", "Enterprise contract")
    walk.follow("main button[type=submit]")
    assert walk.page.locator(".account-head .badge").count() == 2  # its status, and managed by sales
    walk.follow("nav.actions a[href$='/cancel']")
    walk.shot("cancel-form")
    walk.follow("main button[type=submit]")
    walk.shot("cancelled")
    assert walk.page.locator("#plan .pending").count() == 2  # the plan and its add-on end with the period
    walk.go("/operator/accounts?q=demo-pro")
    walk.follow("main table a")
    walk.follow("nav.actions a[href$='/pay']")
    walk.shot("pay-form")
    walk.follow("main button[type=submit]")
    walk.shot("pay-failed")
    assert walk.page.locator("p.error[role=alert]").count() == 1  # the card still declines: said, nothing charged
    walk.follow("header a.clock")
    walk.page.fill("input[name=days]", "2")
    walk.shot("clock-form")
    walk.follow("main button[type=submit]")
    walk.shot("clock-moved")
    assert walk.page.locator("p.ok[role=status]").count() == 1
