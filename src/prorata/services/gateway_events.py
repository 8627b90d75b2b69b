"""What the gateway tells by webhook, acted on once per event (rules X3, K8, I3, R2).

Each event is recorded by its own id: an event delivered again is answered and not acted on. Acting is itself
idempotent (a payment is settled once under its locks, whoever comes first), so two deliveries of one event at the
same instant still change the books once.

- ``payment_intent.succeeded`` / ``payment_intent.payment_failed``: the payment it is about (by the gateway's
  reference, or by the Prorata key in its metadata when the synchronous answer was lost) is completed exactly as the
  request that made it would have (``services.completion``): an order placed or failed, an invoice paid.
- ``charge.refunded``, ``refund.updated``, ``refund.failed``: a refund the gateway first answered ``pending`` is
  settled (``services.refunds.settle_refund``): succeeded, or failed and shown as such, to be retried (rule R2).
- ``charge.dispute.created``: the customer's bank disputes a charge; the account's audit trail says so, for an
  operator to answer at the gateway.
- Anything else is recorded as ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prorata.domain.catalog import Catalog
from prorata.domain.payments import ChargeResult, RefundResult
from prorata.domain.tax import TaxRules
from prorata.services.completion import complete
from prorata.services.ports import Clock, PaymentGateway, UnitOfWork
from prorata.services.refunds import settle_refund

KEY_METADATA = "prorata_key"
LATER = timedelta(days=1)  # every pending refund, whenever it was asked


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    gateway: str
    id: str
    type: str
    object: Mapping[str, Any]  # the event's data.object as the gateway sent it
    result: ChargeResult | None = None  # for a payment event: the payment's outcome, read by the adapter
    refund: RefundResult | None = None  # for a refund event: the refund's outcome, read by the adapter


def handle_event(
    event: GatewayEvent,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None,
    gateway: PaymentGateway,
) -> str:
    """Act on the event once; answers what was done (``duplicate`` for an event seen before)."""
    with uow() as tx:
        if tx.gateway_event_seen(event.gateway, event.id):
            return "duplicate"
    object_id = str(event.object.get("id", "")) or None
    if event.type in ("payment_intent.succeeded", "payment_intent.payment_failed") and event.result is not None:
        outcome = _payment(event, event.result, uow=uow, clock=clock, catalog=catalog, tax=tax)
    elif event.type in ("refund.updated", "refund.failed", "charge.refund.updated") and event.refund is not None:
        settled = settle_refund(event.refund.reference, event.refund, uow=uow, clock=clock)
        outcome = "unknown_refund" if settled is None else f"refund_{settled.status}"
    elif event.type == "charge.refunded":
        outcome = _refunded(str(event.object.get("payment_intent") or ""), uow=uow, clock=clock, gateway=gateway)
    elif event.type == "charge.dispute.created":
        outcome = _dispute(event, uow=uow, clock=clock)
    else:
        outcome = "ignored"
    with uow() as tx:
        tx.record_gateway_event(event.gateway, event.id, event.type, object_id, outcome, clock.now())
    return outcome


def _payment(
    event: GatewayEvent, result: ChargeResult, *, uow: Callable[[], UnitOfWork], clock: Clock, catalog: Catalog,
    tax: TaxRules | None,
) -> str:  # fmt: skip
    metadata = event.object.get("metadata") or {}
    key = metadata.get(KEY_METADATA) if isinstance(metadata, Mapping) else None
    with uow() as tx:
        payment = tx.live_payment(reference=result.reference) or (
            tx.live_payment(key=str(key)) if key else None
        )  # fmt: skip
    if payment is None:
        return "settled_already"  # the request or an earlier door settled it, or it is not Prorata's
    return complete(payment, result, uow=uow, clock=clock, catalog=catalog, tax=tax, actor="gateway").outcome


def _refunded(charge: str, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway) -> str:
    """The charge's refunds still pending here are asked about (the event names the charge, not the refund)."""
    with uow() as tx:
        waiting = [r for r in tx.pending_refunds(clock.now() + LATER) if r.charge_reference == charge]
    settled = 0
    for refund in waiting:
        if refund.gateway_reference is None:
            continue  # its request has no answer yet: reconciliation asks with its key
        answer = gateway.refund_status(refund.gateway_reference)
        if answer is not None and answer.status != "pending":
            settled += settle_refund(refund.id, answer, uow=uow, clock=clock) is not None
    return f"refunds_settled_{settled}" if waiting else "no_pending_refund"


def _dispute(event: GatewayEvent, *, uow: Callable[[], UnitOfWork], clock: Clock) -> str:
    reference = str(event.object.get("payment_intent") or "")
    with uow() as tx:
        found = tx.payment_of_reference(reference) if reference else None
        if found is None:
            return "unknown_payment"
        account_id, invoice_id = found
        tx.audit(account_id, "gateway", "payment.disputed",
                 {"invoice": invoice_id, "reference": reference, "amount": event.object.get("amount"),
                  "reason": event.object.get("reason"), "dispute": event.object.get("id")}, clock.now())  # fmt: skip
    return "dispute_recorded"
