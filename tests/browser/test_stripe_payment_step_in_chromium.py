"""The payment step with Stripe configured (rule Y2, PCI SAQ A), in Chromium: the card is typed into the payment
service's own fields, mounted by (a local stand-in for) Stripe.js, and the card number never reaches Prorata's server:
every request the browser sends to Prorata is read and none carries it. Then a payment the bank asks the customer to
confirm (3-D Secure) is confirmed in Stripe.js's window and pays the invoice. Screenshots at 1280 and 390 px, in both
languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request, expect

from prorata.adapters.payments.stripe_gateway import StripeGateway, StripeSettings
from tests.browser.conftest import Walk, demo_app
from tests.browser.test_billing_in_chromium import make_overdue
from tests.conftest import Templates
from tests.live_server import Server
from tests.stripe_standin import StripeStandIn

NUMBERS = ("4242424242424242", "4000002760003184")


@pytest.fixture
def stripe_server(tmp_path: Path, templates: Templates, standin: StripeStandIn) -> Iterator[Server]:
    app = demo_app(tmp_path, templates)
    make_overdue(app, "demo-pro")  # with the sandbox, before Stripe is configured
    app.gateway = StripeGateway(StripeSettings(
        standin.secret_key, standin.publishable_key, standin.webhook_secret, api_base=standin.url,
        js_url=f"{standin.url}/v3/stripe.js", timeout=5.0, retries=0,
    ))  # fmt: skip
    with Server(app) as running:
        yield running
    app.close()


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("pl", 390)])
def test_the_card_is_typed_into_the_gateways_fields_and_never_posted_to_prorata(
    browser: Browser, stripe_server: Server, standin: StripeStandIn, request: pytest.FixtureRequest, language: str,
    width: int,
) -> None:  # fmt: skip
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    to_prorata: list[str] = []

    def seen(sent: Request) -> None:
        if sent.url.startswith(stripe_server.url):
            to_prorata.append(f"{sent.url}\n{sent.post_data or ''}")

    page.on("request", seen)
    walk = Walk(page, stripe_server, request.node.name)
    walk.sign_in("owner@demo-pro.test", language)

    walk.go("/billing/payment?next=/billing/invoices")
    page.check("#method-gateway")
    expect(page.locator("input[name=card_number]")).to_have_count(0)  # no field of Prorata's takes a card number
    page.fill("#standin-card-number", "4000 0027 6000 3184")  # a card whose bank asks to confirm each payment
    page.fill("#standin-card-expiry", "12/2030")
    page.fill("#standin-card-cvc", "123")
    walk.shot("payment-element")
    walk.follow("form.payment button[type=submit]")
    page.wait_for_url("**/billing/invoices")
    walk.shot("invoice-history")

    walk.follow("#pay-all")  # the bank asks the customer to confirm: the confirmation page
    page.wait_for_url("**/billing/payments/*/confirm")
    expect(page.locator("#confirm-amount")).to_be_visible()
    walk.shot("confirm-payment")
    walk.follow("#confirm-button")  # Stripe.js opens the bank's challenge; the answer comes back to this page
    expect(page.locator("#confirm-outcome")).to_have_class("ok")
    walk.shot("confirmed")
    context.close()

    assert to_prorata, "the browser's requests to Prorata were recorded"
    for number in NUMBERS:
        spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
        assert not [r for r in to_prorata if number in r or spaced in r or spaced.replace(" ", "+") in r]
    confirmed = [r for r in standin.requests if r.path.endswith("/confirm") and r.path.startswith("/v1/setup")]
    assert [r.form["payment_method_data"]["card"]["number"] for r in confirmed] == ["4000002760003184"]
