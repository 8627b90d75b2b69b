"""Stripe's webhooks (``POST /api/v1/webhooks/stripe``): signed, checked with Stripe's SDK, acted on once per event,
driving the same completion as a synchronous answer (rules K8, X3). Events are signed with the test secret exactly
as Stripe signs them; the stand-in for Stripe's API holds the payments they are about."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import audit_log, gateway_events, payments
from prorata.bootstrap import App
from prorata.domain.cart import ChangePlan
from prorata.entrypoints.web import create_app
from tests.integration.shop import Shop
from tests.races import together
from tests.stripe_standin import StripeStandIn

URL = "/api/v1/webhooks/stripe"


@pytest.fixture
def shop(app: App, standin: StripeStandIn) -> Shop:
    """An account of the installation with a card at Stripe that asks for 3-D Secure; the installation on Stripe."""
    shop = Shop(app.engine, card="4000002760003184", code="hooks", stripe=standin)
    app.gateway = shop.gateway  # type: ignore[assignment]
    return shop


@pytest.fixture
def client(app: App, shop: Shop) -> TestClient:
    return TestClient(create_app(app))


def waiting_order(shop: Shop, standin: StripeStandIn) -> dict[str, Any]:
    """An order whose payment waits for 3-D Secure; the PaymentIntent as Stripe holds it."""
    result = shop.order(ChangePlan("business", 10), key="buy")
    assert result.status == "action_required"
    with shop.engine.connect() as conn:
        reference = conn.execute(select(payments.c.gateway_reference).where(payments.c.id == result.payment_id))
        return standin.objects[str(reference.scalar_one())]


def post(client: TestClient, payload: bytes, signature: str) -> Any:
    return client.post(URL, content=payload, headers={"Stripe-Signature": signature,
                                                       "Content-Type": "application/json"})  # fmt: skip


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_signed_success_places_the_waiting_order_once(client: TestClient, shop: Shop, standin: StripeStandIn) -> None:
    intent = waiting_order(shop, standin)
    standin.authenticate(intent["id"])  # the customer answered the bank in Stripe's window
    payload, signature = standin.signed("payment_intent.succeeded", intent, event_id="evt_paid")

    first = post(client, payload, signature)
    again = post(client, payload, signature)  # Stripe delivers an event at least once

    assert (first.status_code, first.json()["outcome"]) == (200, "placed")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert shop.held() == [("business", 10)]
    assert count(shop.engine, gateway_events) == 1
    shop.assert_books_balance()


def test_a_failure_event_fails_the_waiting_order(client: TestClient, shop: Shop, standin: StripeStandIn) -> None:
    intent = waiting_order(shop, standin)
    standin.authenticate(intent["id"], approve=False)
    payload, signature = standin.signed("payment_intent.payment_failed", intent)
    answer = post(client, payload, signature)
    assert answer.json()["outcome"] == "order_failed"
    assert shop.held() == []
    with shop.engine.connect() as conn:
        paid = select(payments.c.status, payments.c.failure_code).where(payments.c.account_id == shop.account_id)
        assert conn.execute(paid).one() == ("failed", "authentication_failed")


def test_a_webhook_completes_a_payment_whose_answer_was_lost(
    client: TestClient, shop: Shop, standin: StripeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the process died after Stripe charged and before it wrote the answer: the webhook finds the payment by the
    # Prorata key in the PaymentIntent's metadata and places the order, as reconciliation would
    with shop.engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
    shop.crash_after_charge(monkeypatch)
    with pytest.raises(SystemExit):
        shop.order(ChangePlan("business", 10), key="lost")
    monkeypatch.undo()
    (intent,) = [o for o in standin.objects.values() if o.get("object") == "payment_intent"]
    payload, signature = standin.signed("payment_intent.succeeded", intent)
    assert post(client, payload, signature).json()["outcome"] == "placed"
    assert shop.held() == [("business", 10)]
    shop.assert_books_balance()


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "missing"])
def test_an_event_not_signed_by_stripe_is_refused_and_changes_nothing(
    client: TestClient, shop: Shop, standin: StripeStandIn, tamper: str
) -> None:
    intent = waiting_order(shop, standin)
    standin.authenticate(intent["id"])
    payload, signature = standin.signed(
        "payment_intent.succeeded", intent,
        secret="whsec_someone_else" if tamper == "secret" else None,
        at=int(time.time()) - 600 if tamper == "stale" else None,  # older than the SDK's 5-minute tolerance
    )  # fmt: skip
    if tamper == "body":
        payload = payload.replace(b'"succeeded"', b'"succeeded" ', 1)
    answer = client.post(URL, content=payload, headers={"Content-Type": "application/json"} | (
        {} if tamper == "missing" else {"Stripe-Signature": signature}))  # fmt: skip

    assert answer.status_code == 400
    assert (answer.json()["code"], answer.json()["field"]) == ("webhook.signature", "Stripe-Signature")
    assert (shop.held(), count(shop.engine, gateway_events)) == ([], 0)


def test_a_dispute_is_written_to_the_accounts_audit_trail(
    client: TestClient, shop: Shop, standin: StripeStandIn
) -> None:
    intent = waiting_order(shop, standin)
    standin.authenticate(intent["id"])
    post(client, *standin.signed("payment_intent.succeeded", intent))
    dispute = {"id": "dp_standin1", "object": "dispute", "amount": intent["amount"], "payment_intent": intent["id"],
               "reason": "fraudulent", "status": "needs_response"}  # fmt: skip
    assert post(client, *standin.signed("charge.dispute.created", dispute)).json()["outcome"] == "dispute_recorded"
    with shop.engine.connect() as conn:
        (detail,) = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "payment.disputed")).scalars()
    found = json.loads(detail) if isinstance(detail, str) else detail
    assert (found["reference"], found["reason"]) == (intent["id"], "fraudulent")


def test_an_event_of_another_kind_is_recorded_and_ignored(client: TestClient, standin: StripeStandIn) -> None:
    answer = post(client, *standin.signed("customer.created", {"id": "cus_other", "object": "customer"}))
    assert answer.json()["outcome"] == "ignored"


def test_with_the_sandbox_there_is_no_webhook_endpoint(app: App) -> None:
    answer = TestClient(create_app(app)).post(URL, content=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 404


def test_one_event_delivered_twice_at_once_places_the_order_once(
    client: TestClient, shop: Shop, standin: StripeStandIn, database_url: str
) -> None:
    # rule X3: two deliveries of one event released together (two connections); the payment is settled once
    intent = waiting_order(shop, standin)
    standin.authenticate(intent["id"])
    payload, signature = standin.signed("payment_intent.succeeded", intent, event_id="evt_twice")
    answers = together([lambda: post(client, payload, signature), lambda: post(client, payload, signature)])

    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes in (["already", "placed"], ["duplicate", "placed"], ["placed", "settled_already"])
    assert shop.held() == [("business", 10)]
    assert count(shop.engine, gateway_events) == 1
    shop.assert_books_balance()
