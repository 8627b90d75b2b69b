"""The money path on both gateways (rules K7, K8, I3, I6, I8, X3, Y4): the built-in sandbox, and the Stripe adapter
(Stripe's own SDK) against the local stand-in for Stripe's API. Each runs on SQLite and PostgreSQL.

Checkout, renewal, dunning to overdue, reconciliation after a crash between the charge and the commit, a charge the
bank asks the customer to confirm (3-D Secure), an answer that never came, and refunds (rule R2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import invoices, outbox, payments, refunds
from prorata.adapters.payments.stripe_gateway import StripeGateway, refund_result
from prorata.domain.cart import ChangePlan
from prorata.domain.errors import ProrataError
from prorata.domain.payments import ChargeResult
from prorata.services.confirm_payment import confirm_payment
from prorata.services.credit_notes import CreditInvoice, CreditNoteResult, credit_invoice
from prorata.services.gateway_events import GatewayEvent, handle_event
from prorata.services.reconcile import reconcile
from prorata.services.renew_due import BillingRunReport, RenewDue, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import Shop, stripe_gateway
from tests.stripe_standin import StripeStandIn

DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)


@pytest.fixture(params=["sandbox", "stripe"])
def gateway(request: pytest.FixtureRequest, standin: StripeStandIn) -> StripeStandIn | None:
    """None: the sandbox; the stand-in: the Stripe adapter."""
    return standin if request.param == "stripe" else None


def run(shop: Shop, at: datetime) -> BillingRunReport:
    shop.clock.at = at
    return renew_due(RenewDue(at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                     catalog=CATALOG, dunning=shop.dunning)  # fmt: skip


def rows(engine: Engine, *columns: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*columns).order_by(columns[0]))]


def intents(standin: StripeStandIn, key: str) -> list[dict[str, Any]]:
    return [o for o in standin.objects.values()
            if o.get("object") == "payment_intent" and o["metadata"].get("prorata_key") == key]  # fmt: skip


def test_checkout_charges_once_with_the_orders_own_key(engine: Engine, gateway: StripeStandIn | None) -> None:
    shop = Shop(engine, stripe=gateway)
    placed = shop.order(ChangePlan("business", 10), key="buy")
    again = shop.order(ChangePlan("business", 10), key="buy")

    assert (placed.status, again.replayed, shop.held()) == ("placed", True, [("business", 10)])
    assert rows(engine, payments.c.status, payments.c.amount) == [("succeeded", placed.amount_due)]
    if gateway is not None:
        (sent,) = gateway.seen("POST", "/v1/payment_intents")  # the replay asked nothing of Stripe
        assert sent.idempotency_key == f"order-{placed.order_id}"
        assert sent.form == {"amount": str(placed.amount_due), "currency": "usd", "customer": shop.customer,
                             "payment_method": shop.gateway.method(shop.customer, sent.form["payment_method"])
                             .token.split("|")[1], "confirm": "true", "off_session": "true",
                             "metadata": {"prorata_key": f"order-{placed.order_id}"}}  # fmt: skip
        assert rows(engine, payments.c.gateway_reference) == [(intents(gateway, sent.idempotency_key)[0]["id"],)]
    shop.assert_books_balance()


@pytest.mark.parametrize(
    ("card", "code"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"),
     ("4000000000000069", "expired_card"), ("4000000000000119", "processing_error")],
)  # fmt: skip
def test_a_decline_fails_the_order_with_the_message_the_portal_shows(
    engine: Engine, gateway: StripeStandIn | None, card: str, code: str
) -> None:
    # rules K7, K8: the gateway's decline becomes the portal's own message; nothing is applied
    shop = Shop(engine, card=card, stripe=gateway)
    failed = shop.order(ChangePlan("business", 10), key="buy")
    assert (failed.status, failed.failure_code, shop.held()) == ("failed", code, [])
    assert failed.message == ChargeResult(False, "", code).message()
    shop.assert_books_balance()


def test_a_renewal_is_charged_off_session_with_its_attempts_key(engine: Engine, gateway: StripeStandIn | None) -> None:
    shop = Shop(engine, stripe=gateway)
    shop.order(ChangePlan("pro", 2), key="buy")
    report = run(shop, DEC_15)
    assert (report.payments_succeeded, report.payments_failed) == (1, 0)
    renewal = rows(engine, invoices.c.id, invoices.c.status, invoices.c.total)[-1]
    assert renewal[1:] == ("paid", 2 * price("pro"))
    if gateway is not None:
        assert len(intents(gateway, f"invoice-{renewal[0]}-attempt-1")) == 1
        assert gateway.seen("POST", "/v1/payment_intents")[-1].form["off_session"] == "true"
    shop.assert_books_balance()


def test_dunning_retries_then_the_account_is_overdue(engine: Engine, gateway: StripeStandIn | None) -> None:
    # rule I8: the issue date, then 1, 3, 5 and 7 days later; overdue after the last
    shop = Shop(engine, stripe=gateway)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000009995")
    overdue = [run(shop, DEC_15 + timedelta(days=day)).accounts_overdue for day in (0, 1, 3, 5, 7)]
    assert overdue == [[], [], [], [], [shop.account_id]]
    failures = rows(engine, payments.c.id, payments.c.status, payments.c.failure_code)[1:]
    assert [f[1:] for f in failures] == [("failed", "insufficient_funds")] * 5
    if gateway is not None:
        assert len(gateway.seen("POST", "/v1/payment_intents")) == 1 + 5
    shop.assert_books_balance()


def test_a_crash_between_charge_and_commit_is_repaired_by_reconcile(
    engine: Engine, gateway: StripeStandIn | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rules K8, X3: the charge was taken, the process died before writing it; reconciliation asks the gateway with
    # the same key and places the order, charging nothing more
    shop = Shop(engine, stripe=gateway)
    shop.crash_after_charge(monkeypatch)
    with pytest.raises(SystemExit):
        shop.order(ChangePlan("business", 10), key="k")
    monkeypatch.undo()
    assert (shop.held(), rows(engine, payments.c.status)) == ([], [("pending",)])

    shop.gateway = shop.gateway if gateway is None else stripe_gateway(gateway)  # a new process
    shop.clock.at = datetime(2026, 11, 16, tzinfo=UTC)
    report = reconcile(uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG)

    assert (len(report.orders_placed), shop.held()) == (1, [("business", 10)])
    assert rows(engine, payments.c.status) == [("succeeded",)]
    if gateway is not None:
        assert len(gateway.seen("POST", "/v1/payment_intents")) == 1  # found by its key, not charged again
        assert gateway.seen("GET", "/v1/payment_intents/search")
    shop.assert_books_balance()


def test_a_charge_the_bank_wants_confirmed_waits_for_the_customer(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    # 3-D Secure on a renewal: the invoice stays open, the customer is e-mailed a link, and confirming pays it once
    shop = Shop(engine, stripe=gateway)
    shop.add_user("owner@acme.test", role="owner")
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000002760003184")
    report = run(shop, DEC_15)

    assert (report.payments_waiting, report.payments_failed, report.accounts_overdue) == (1, 0, [])
    ((payment_id, status),) = [(p, s) for p, s in rows(engine, payments.c.id, payments.c.status) if s != "succeeded"]
    assert status == "action_required"
    assert rows(engine, invoices.c.id, invoices.c.status)[-1][1] == "open"
    with engine.connect() as conn:
        mails = conn.execute(select(outbox.c.kind, outbox.c.data).where(outbox.c.kind == "payment_action_required"))
        sent = [(kind, json.loads(data)["payment"]) for kind, data in mails]
    assert sent == [("payment_action_required", payment_id)]
    assert run(shop, DEC_15 + timedelta(hours=12)).payments_waiting == 0  # nothing more is charged meanwhile

    if gateway is not None:
        reference = rows(engine, payments.c.id, payments.c.gateway_reference)[-1][1]
        gateway.authenticate(reference)  # in the browser, Stripe.js and the bank
    done = confirm_payment(shop.account_id, payment_id, True, uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                           catalog=CATALOG, tax=None, actor="owner")  # fmt: skip
    again = confirm_payment(shop.account_id, payment_id, True, uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                            catalog=CATALOG, tax=None, actor="owner")  # fmt: skip

    assert done is not None
    assert done.outcome == "paid"
    assert again is not None
    assert again.outcome == "already"
    assert rows(engine, invoices.c.id, invoices.c.status)[-1][1] == "paid"
    assert run(shop, DEC_15 + timedelta(days=1)).payments_succeeded == 0
    shop.assert_books_balance()


def test_an_unconfirmed_charge_is_given_up_when_the_next_attempt_is_due(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    # rule I8 with 3-D Secure: the schedule waits for the customer until the next attempt's day, then goes on
    shop = Shop(engine, stripe=gateway)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000002760003184")
    run(shop, DEC_15)
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")  # the customer added another card instead of confirming
    report = run(shop, DEC_15 + timedelta(days=1))

    assert (report.payments_succeeded, report.accounts_overdue) == (1, [])
    assert [s for _, s in rows(engine, payments.c.id, payments.c.status)][1:] == ["failed", "succeeded"]
    assert rows(engine, invoices.c.id, invoices.c.status)[-1][1] == "paid"
    if gateway is not None:
        waiting = rows(engine, payments.c.id, payments.c.gateway_reference)[1][1]
        assert gateway.objects[waiting]["status"] == "canceled"
    shop.assert_books_balance()


def test_an_order_the_bank_wants_confirmed_is_applied_once_confirmed(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    # rule K8: nothing is applied until the payment succeeds; then the order is placed at the price quoted
    shop = Shop(engine, card="4000002760003184", stripe=gateway)
    waiting = shop.order(ChangePlan("business", 10), key="buy")
    assert (waiting.status, shop.held()) == ("action_required", [])
    with pytest.raises(ProrataError) as busy:
        shop.order(ChangePlan("business", 11), key="other")
    assert busy.value.code == "order.in_progress"

    assert waiting.payment_id is not None
    if gateway is not None:
        gateway.authenticate(str(rows(engine, payments.c.gateway_reference)[0][0]))
    done = confirm_payment(shop.account_id, waiting.payment_id, True, uow=shop.uow, clock=shop.clock,
                           gateway=shop.gateway, catalog=CATALOG, tax=None, actor="owner")  # fmt: skip
    assert done is not None
    assert done.outcome == "placed"
    assert shop.held() == [("business", 10)]
    shop.assert_books_balance()


def test_a_declined_confirmation_fails_the_order_and_frees_the_account(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    shop = Shop(engine, card="4000002760003184", stripe=gateway)
    waiting = shop.order(ChangePlan("business", 10), key="buy")
    assert waiting.payment_id is not None
    if gateway is not None:
        gateway.authenticate(str(rows(engine, payments.c.gateway_reference)[0][0]), approve=False)
    done = confirm_payment(shop.account_id, waiting.payment_id, False, uow=shop.uow, clock=shop.clock,
                           gateway=shop.gateway, catalog=CATALOG, tax=None, actor="owner")  # fmt: skip
    assert done is not None
    assert done.outcome == "order_failed"
    assert (shop.held(), rows(engine, payments.c.status)) == ([], [("failed",)])
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
    assert shop.order(ChangePlan("business", 10), key="again").status == "placed"
    shop.assert_books_balance()


@pytest.mark.parametrize("fault", ["500", "slow"])
def test_an_answer_that_never_came_leaves_the_order_pending_until_reconciled(
    engine: Engine, standin: StripeStandIn, fault: str
) -> None:
    # rule X3: a server error or a timeout (after the SDK's own retry with the same key) is not a decline: whether
    # the card was charged is unknown, so the order stays pending; reconciliation then finds the charge (or makes
    # it, once) and places the order
    shop = Shop(engine, stripe=standin)
    standin.fail("/v1/payment_intents", fault)
    standin.fail("/v1/payment_intents", fault)
    with pytest.raises(ProrataError) as unanswered:
        shop.order(ChangePlan("business", 12), key="buy")
    assert unanswered.value.code == "payment.no_answer"
    assert (shop.held(), rows(engine, payments.c.status)) == ([], [("pending",)])
    key = standin.seen("POST", "/v1/payment_intents")[0].idempotency_key
    assert {r.idempotency_key for r in standin.seen("POST", "/v1/payment_intents")} == {key}  # retried, same key

    shop.clock.at = datetime(2026, 11, 16, tzinfo=UTC)
    report = reconcile(uow=shop.uow, clock=shop.clock, gateway=stripe_gateway(standin), catalog=CATALOG)
    assert (len(report.orders_placed), shop.held()) == (1, [("business", 12)])
    assert key is not None
    assert len(intents(standin, key)) == 1
    shop.assert_books_balance()


def test_stripe_refuses_card_numbers_once_it_is_configured(standin: StripeStandIn) -> None:
    # rule Y2, PCI SAQ A: with a real gateway, card numbers are typed into the gateway's own fields only
    gateway = stripe_gateway(standin)
    assert isinstance(gateway, StripeGateway)
    assert gateway.browser_tokens
    with pytest.raises(ProrataError) as refused:
        gateway.tokenize_card("4242424242424242", 12, 2030, DEC_15.date())
    assert (refused.value.code, refused.value.rule) == ("payment.card_number_refused", "Y2")
    assert standin.requests == []


def paid_invoice(shop: Shop) -> str:
    placed = shop.order(ChangePlan("business", 10), key="buy")
    assert placed.invoice_number is not None
    return placed.invoice_number


def credit(shop: Shop, number: str) -> CreditNoteResult:
    return credit_invoice(CreditInvoice(number, "operator@vendor.test", "customer asked", None,
                                        refund="original_method", requested_by="customer"),
                          uow=shop.uow, clock=shop.clock, gateway=shop.gateway)  # fmt: skip


def test_a_refund_goes_back_to_the_card_once(engine: Engine, gateway: StripeStandIn | None) -> None:
    # rule R2: the credit note's money back to the charge it came from, through the gateway, with the refund's key
    shop = Shop(engine, stripe=gateway)
    number = paid_invoice(shop)
    result = credit(shop, number)

    assert result.refund is not None
    assert (result.refund.status, result.refund.amount, result.to_balance) == ("succeeded", shop.paid_for(1), 0)
    if gateway is not None:
        (sent,) = gateway.seen("POST", "/v1/refunds")
        assert sent.idempotency_key == f"refund-{result.refund.id}-attempt-1"
        assert (sent.form["payment_intent"], sent.form["amount"]) == (result.refund.charge_reference,
                                                                      str(result.refund.amount))  # fmt: skip
    shop.assert_books_balance()


def test_a_refund_the_gateway_refuses_is_left_failed_and_visible(engine: Engine, gateway: StripeStandIn | None) -> None:
    # rule R2: a failed refund leaves the credit note unrefunded, to be retried or sent to the balance
    shop = Shop(engine, card="4000000000005126", stripe=gateway)
    result = credit(shop, paid_invoice(shop))
    assert result.refund is not None
    assert result.refund.status == "failed"
    assert shop.balance() == 0
    shop.assert_books_balance()


def test_a_pending_refund_is_settled_by_stripes_webhook(engine: Engine, standin: StripeStandIn) -> None:
    # Stripe answers some refunds "pending" and tells the outcome later by webhook (charge.refunded, refund.updated)
    shop = Shop(engine, card="4000000000007726", stripe=standin)
    result = credit(shop, paid_invoice(shop))
    assert result.refund is not None
    assert result.refund.status == "pending"
    assert result.refund.gateway_reference is not None
    done = standin.finish_refund(result.refund.gateway_reference, "succeeded")
    charge = {"id": done["charge"], "object": "charge", "payment_intent": done["payment_intent"]}
    event = GatewayEvent("stripe", "evt_refunded", "charge.refunded", charge)
    outcome = handle_event(event, uow=shop.uow, clock=shop.clock, catalog=CATALOG, tax=None, gateway=shop.gateway)
    again = handle_event(event, uow=shop.uow, clock=shop.clock, catalog=CATALOG, tax=None, gateway=shop.gateway)

    assert (outcome, again) == ("refunds_settled_1", "duplicate")
    with engine.connect() as conn:
        assert conn.execute(select(refunds.c.status)).scalars().all() == ["succeeded"]
    shop.assert_books_balance()


def test_a_refund_that_fails_later_is_told_by_refund_failed(engine: Engine, standin: StripeStandIn) -> None:
    shop = Shop(engine, card="4000000000007726", stripe=standin)
    result = credit(shop, paid_invoice(shop))
    assert result.refund is not None
    assert result.refund.gateway_reference is not None
    failed = standin.finish_refund(result.refund.gateway_reference, "failed")
    as_stripe_sends_it = stripe.StripeObject.construct_from(failed, standin.secret_key)
    event = GatewayEvent("stripe", "evt_failed", "refund.failed", failed, refund=refund_result(as_stripe_sends_it))
    assert handle_event(event, uow=shop.uow, clock=shop.clock, catalog=CATALOG, tax=None,
                        gateway=shop.gateway) == "refund_failed"  # fmt: skip
    shop.assert_books_balance()
