"""What the gateway tells by webhook, acted on once per event (rules X3, K8, I3, R2).

Each event is recorded by its own id: an event delivered again is answered and not acted on. Acting is itself
idempotent (a payment is settled once under its locks, whoever comes first), so two deliveries of one event at the
same instant still change the books once.

- ``payment_intent.succeeded`` / ``payment_intent.payment_failed``: the payment it is about (by the gateway's
  reference, or by the Prorata key in its metadata when the synchronous answer was lost) is completed exactly as the
  request that made it would have (``services.completion``): an order placed or failed, an invoice paid.
- ``charge.dispute.created``: the customer's bank disputes a charge; the account's audit trail says so, for an
  operator to answer at the gateway.
- Anything else is recorded as ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prorata.domain.catalog import Catalog
from prorata.domain.payments import ChargeResult
from prorata.domain.tax import TaxRules
from prorata.services.completion import complete
from prorata.services.ports import Clock, UnitOfWork

KEY_METADATA = "prorata_key"


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    gateway: str
    id: str
    type: str
    object: Mapping[str, Any]  # the event's data.object as the gateway sent it
    result: ChargeResult | None = None  # for a payment event: the payment's outcome, read by the adapter


def handle_event(
    event: GatewayEvent,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None,
) -> str:
    """Act on the event once; answers what was done (``duplicate`` for an event seen before)."""
    with uow() as tx:
        if tx.gateway_event_seen(event.gateway, event.id):
            return "duplicate"
    object_id = str(event.object.get("id", "")) or None
    if event.type in ("payment_intent.succeeded", "payment_intent.payment_failed") and event.result is not None:
        outcome = _payment(event, event.result, uow=uow, clock=clock, catalog=catalog, tax=tax)
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
