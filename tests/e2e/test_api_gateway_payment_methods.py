"""Payment methods through the API with Stripe configured (rules Y2, Y4; PCI SAQ A): the API hands out SetupIntents
for Stripe.js, keeps what Stripe saved by its id, and refuses card numbers. Against the local stand-in for Stripe's
API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from prorata.bootstrap import App
from prorata.entrypoints.web import create_app
from tests.e2e.api_client import Api
from tests.integration.shop import stripe_gateway
from tests.stripe_standin import StripeStandIn


@pytest.fixture
def on_stripe(api_app: App, standin: StripeStandIn) -> Iterator[Api]:
    api_app.gateway = stripe_gateway(standin)  # type: ignore[assignment]
    with TestClient(create_app(api_app)) as client:
        yield Api(api_app, client)


def test_a_method_saved_by_stripe_js_is_kept_by_its_setup_intent(on_stripe: Api, standin: StripeStandIn) -> None:
    acme = on_stripe.open_account("acme", card=None)
    setup = acme.post("/payment-methods/setup-intents", {})
    assert setup.status_code == 201, setup.text
    body = setup.json()
    assert (body["gateway"], body["publishable_key"]) == ("stripe", standin.publishable_key)
    assert body["client_secret"].startswith(body["setup_intent"])

    standin.confirm_setup(body["setup_intent"], "5555555555554444", 3, 2031)  # Stripe.js, in the browser
    saved = acme.post("/payment-methods", {"kind": "gateway", "setup_intent": body["setup_intent"]})

    assert saved.status_code == 201, saved.text
    shown = {k: saved.json()[k] for k in ("kind", "brand", "last4", "exp_month", "exp_year", "is_default")}
    assert shown == {"kind": "card", "brand": "mastercard", "last4": "4444", "exp_month": 3, "exp_year": 2031,
                     "is_default": True}  # fmt: skip
    again = acme.post("/payment-methods/setup-intents", {}).json()
    assert standin.objects[again["setup_intent"]]["customer"] == standin.objects[body["setup_intent"]]["customer"]


def test_a_payment_method_id_of_the_accounts_customer_is_kept(on_stripe: Api, standin: StripeStandIn) -> None:
    acme = on_stripe.open_account("acme", card=None)
    customer = standin.objects[acme.post("/payment-methods/setup-intents", {}).json()["setup_intent"]]["customer"]
    method = standin.card("4242424242424242", customer)
    saved = acme.post("/payment-methods", {"kind": "gateway", "payment_method_id": method})
    assert (saved.status_code, saved.json()["last4"]) == (201, "4242")


def test_paypal_saved_through_stripe_is_kept_and_charged_like_a_card(on_stripe: Api, standin: StripeStandIn) -> None:
    # PayPal and the other methods Stripe offers go through the same path (rule Y1)
    acme = on_stripe.open_account("acme", card=None)
    customer = standin.objects[acme.post("/payment-methods/setup-intents", {}).json()["setup_intent"]]["customer"]
    paypal = standin.paypal("buyer@acme.test", customer)
    saved = acme.post("/payment-methods", {"kind": "gateway", "payment_method_id": paypal})
    assert (saved.status_code, saved.json()["kind"], saved.json()["paypal_email"]) == (201, "paypal", "buyer@acme.test")
    order = acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy")
    assert (order.status_code, order.json()["status"]) == (201, "placed"), order.text
    (sent,) = standin.seen("POST", "/v1/payment_intents")
    assert sent.form["payment_method"] == paypal


def test_another_customers_payment_method_is_not_taken(on_stripe: Api, standin: StripeStandIn) -> None:
    acme = on_stripe.open_account("acme", card=None)
    other = standin.card("4242424242424242", "cus_someone_else")
    refused = acme.post("/payment-methods", {"kind": "gateway", "payment_method_id": other})
    assert (refused.status_code, refused.json()["code"]) == (422, "payment.method_unknown")
    assert acme.get("/payment-methods").json() == []


def test_an_unconfirmed_setup_intent_saves_nothing(on_stripe: Api) -> None:
    acme = on_stripe.open_account("acme", card=None)
    setup = acme.post("/payment-methods/setup-intents", {}).json()
    refused = acme.post("/payment-methods", {"kind": "gateway", "setup_intent": setup["setup_intent"]})
    assert (refused.status_code, refused.json()["code"]) == (422, "payment.setup_incomplete")
    assert acme.get("/payment-methods").json() == []


def test_a_card_number_is_refused_once_stripe_is_configured(on_stripe: Api, standin: StripeStandIn) -> None:
    # rule Y2: the number must never reach this server; the refusal says what to send instead
    acme = on_stripe.open_account("acme", card=None)
    refused = acme.post("/payment-methods", {"kind": "card", "card_number": "4242424242424242", "exp_month": 12,
                                             "exp_year": 2031})  # fmt: skip
    assert refused.json()["code"] == "payment.card_number_refused"
    assert refused.json()["rule"] == "Y2"
    assert not [r for r in standin.requests if "4242424242424242" in str(r.form)]


def test_the_sandbox_offers_no_setup_intent(api: Api) -> None:
    acme = api.open_account("acme", card=None)
    refused = acme.post("/payment-methods/setup-intents", {})
    assert (refused.status_code, refused.json()["code"]) == (422, "payment.no_browser_gateway")
