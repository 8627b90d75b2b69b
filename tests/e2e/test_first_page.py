"""The first page and the sign-in of a demonstration installation (rule X5), in both languages, on SQLite and
PostgreSQL: ``/`` tells a signed-out visitor what Prorata is and where to sign in (a signed-in one goes on to
Billing), and the sign-in page of an installation on a simulated clock (``prorata demo``) shows the demo logins, which
a production installation never shows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from prorata.adapters.db.clock import SIMULATED_NOW, SIMULATION
from prorata.adapters.db.schema import settings
from prorata.entrypoints.cli.demo import DEMO, DEMO_PASSWORD
from tests.e2e.conftest import Visitor
from tests.e2e.order_page import parse

WHAT = {
    "en": "Prorata is the billing portal of your subscription",
    "pl": "Prorata to portal rozliczeń Twojej subskrypcji",
}
SIGN_IN = {"en": "Sign in", "pl": "Zaloguj się"}
OWNERS = [account[5] for account in DEMO]


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_first_page_says_what_prorata_is_and_links_to_sign_in(visitor: Visitor, language: str) -> None:
    visitor.get(f"/language/{language}?next=/")

    page = visitor.get("/")

    assert page.status_code == 200
    assert page.url.path == "/"  # no redirect to the sign-in form
    assert WHAT[language] in page.text
    link = parse(page.text).find("sign-in")
    assert link is not None
    assert (link.attrs["href"], link.text) == ("/signin", SIGN_IN[language])
    assert parse(page.text).find("demo-logins") is None  # the logins belong to the sign-in page
    # once signed in, the first page is Billing
    visitor.sign_in("owner@demo-business.test")
    assert visitor.get("/").url.path == "/billing"


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_sign_in_page_of_a_demonstration_shows_the_demo_logins(visitor: Visitor, language: str) -> None:
    # the demo installation runs on a simulated clock, as `prorata demo` makes it
    visitor.get(f"/language/{language}?next=/signin")

    page = parse(visitor.get("/signin").text)

    logins = page.find("demo-logins")
    assert logins is not None
    assert [code.text for code in logins.all("code", "demo-email")] == OWNERS
    password = page.find("demo-password")
    assert password is not None
    assert password.text == DEMO_PASSWORD
    assert ("Demonstration installation" if language == "en" else "Instalacja demonstracyjna") in logins.text
    # and they work: the first owner signs in with them
    assert visitor.sign_in(OWNERS[0], password.text).url.path == "/billing"


def test_a_production_installation_shows_no_demo_logins(visitor: Visitor) -> None:
    # the same installation once on the real clock (no simulated instant in its settings): no logins, no password
    assert parse(visitor.get("/signin").text).find("demo-logins") is not None
    with visitor.app.engine.begin() as conn:
        conn.execute(delete(settings).where(settings.c.key.in_((SIMULATION, SIMULATED_NOW))))
    visitor.app.clock.refresh()

    page = visitor.get("/signin")

    assert page.status_code == 200
    assert parse(page.text).find("demo-logins") is None
    assert DEMO_PASSWORD not in page.text
