"""Stripe's webhook events (``POST /api/v1/webhooks/stripe``): signed by Stripe, checked with its SDK, each acted on
once by its event id (``services.gateway_events``). No API key: the signature is the authentication. With the
sandbox gateway the route does not exist (404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from prorata.adapters.payments.stripe_gateway import StripeGateway, intent_result, refund_result
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.api.auth import AppDep
from prorata.entrypoints.api.errors import Problem, not_found
from prorata.services.gateway_events import GatewayEvent, handle_event

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks/stripe",
    summary="Stripe's webhook events, signed with the endpoint's secret (header Stripe-Signature)",
    description="payment_intent.succeeded and payment_intent.payment_failed complete the payment they are about "
    "exactly as the request that made it would have; charge.refunded, refund.updated and refund.failed settle a "
    "refund left pending; charge.dispute.created is written to the account's audit "
    "trail; other events are recorded and ignored. An event delivered again is answered `duplicate` and not acted on. "
    "A body whose signature does not check is refused (400, `webhook.signature`).",
)
async def stripe_webhook(request: Request, app: AppDep) -> dict[str, Any]:
    gateway = app.gateway
    if not isinstance(gateway, StripeGateway):
        raise not_found("webhook endpoint", "path")
    payload = await request.body()
    try:
        event = gateway.event(payload, request.headers.get("stripe-signature"))
    except InvalidInput as refused:  # as Stripe expects: 400, and the event is sent again later
        raise Problem(400, refused.code, refused.message, field=refused.field) from None
    obj = event.data.object
    result = intent_result(obj) if event.type.startswith("payment_intent.") else None
    refund = refund_result(obj) if getattr(obj, "object", None) == "refund" else None
    found = GatewayEvent(gateway.name, str(event.id), str(event.type), obj.to_dict(), result, refund)
    outcome = await run_in_threadpool(handle_event, found, uow=app.uow, clock=app.clock, catalog=app.catalog,
                                      tax=app.tax, gateway=gateway)  # fmt: skip
    return {"received": True, "event": event.id, "outcome": outcome}
