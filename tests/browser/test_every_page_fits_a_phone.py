"""Every portal page an owner reaches fits a phone (rule X5: the portal is for customers, on a phone too): no page is
wider than a 390 px screen, in Polish and in English, and each is saved at 1280 and 390 px.

The first page and the sign-in page are measured before signing in. The other pages are found as a customer finds
them: by following the portal's links from Current Plans (as ``tests/security/test_fuzz_portal.py`` crawls for forms),
then, with an add-on in the cart, the checkout's pages; a page added later is measured without editing this file.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Walk

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
START = ["/billing", "/billing/upgrade", "/users", "/cart", "/billing/invoices", "/account/password"]
SKIP = ("/signout", "/language/", "/static/", "/api/", "/docs", "/openapi")
LIMIT = 40


def links(walk: Walk) -> list[str]:
    """The paths of the portal's own links on the page shown (a PDF is no page)."""
    found: list[str] = walk.page.eval_on_selector_all(
        "a[href^='/']", "anchors => anchors.map(a => a.getAttribute('href'))"
    )
    return [urlsplit(href).path for href in found if not href.startswith(SKIP) and not href.endswith("/pdf")]


def measure(walk: Walk, path: str) -> int:
    """How many pixels the page is wider than the phone's screen (0 when it fits); a shot at each width."""
    label = path.strip("/").replace("/", "-") or "home"
    walk.page.set_viewport_size(LAPTOP)
    walk.shot(f"{label}-1280")
    walk.page.set_viewport_size(PHONE)
    walk.shot(f"{label}-390")
    wider: int = walk.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return wider


Visit = Callable[[Walk, str], None]


def crawl(walk: Walk, queue: list[str], seen: set[str], visit: Visit) -> None:
    """Open each page reachable from ``queue`` once (up to LIMIT) and hand it to ``visit``."""
    while queue and len(seen) < LIMIT:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = walk.page.goto(walk.server.url + path)
        if response is None or not response.ok or "text/html" not in response.headers.get("content-type", ""):
            continue
        shown = urlsplit(walk.page.url).path
        if shown != path and shown in seen:  # a redirect to a page measured already
            continue
        visit(walk, path)
        queue += [link for link in links(walk) if link not in seen]


def every_page(walk: Walk, language: str, visit: Visit) -> set[str]:
    """Visit every page an owner reaches in ``language``: the first page and the sign-in page before signing in, then
    the portal's pages, then the checkout's with an add-on in the cart. Returns the paths visited."""
    walk.go(f"/language/{language}?next=/")
    for path in ("/", "/signin"):
        walk.go(path)
        visit(walk, path)
    walk.page.set_viewport_size(PHONE)
    walk.sign_in("owner@demo-business.test", language)
    seen: set[str] = set()
    crawl(walk, list(START), seen, visit)
    # the checkout's pages need something in the cart: Webinar 500 from "Interested in other plans?" (rule A1)
    walk.go("/billing/addons/add/webinar_500")
    walk.follow("main button.primary")
    seen.discard("/cart")  # visited empty above; now with an item
    crawl(walk, ["/cart", "/checkout/products", "/checkout/contacts", "/checkout/payment", "/checkout/terms"], seen,
          visit)  # fmt: skip
    assert {"/billing", "/billing/invoices", "/users", "/cart", "/checkout/contacts"} <= seen
    assert any(path.startswith("/billing/invoices/") for path in seen), "no invoice page was reached"
    return seen


@pytest.mark.parametrize("language", ["en", "pl"])
def test_no_page_an_owner_reaches_is_wider_than_a_phone(walk: Walk, language: str) -> None:
    too_wide: dict[str, int] = {}

    def visit(walk: Walk, path: str) -> None:
        wider = measure(walk, path)
        if wider > 0:
            too_wide[path] = wider

    every_page(walk, language, visit)
    assert not too_wide, f"wider than {PHONE['width']} px (by px): {too_wide}"
