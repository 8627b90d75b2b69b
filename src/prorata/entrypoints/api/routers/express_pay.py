"""Express pay through the API: an open invoice paid without an API key, given its account's number and its own
(rule EP1). Any pair that names no open invoice of that account gets the same 404; every try is counted per client
address and per account number, and too many answer 429 with ``Retry-After``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from prorata.adapters.db.web_sessions import wall_clock
from prorata.domain.errors import ProrataError
from prorata.domain.payments import ChargeResult
from prorata.entrypoints.api.auth import AppDep
from prorata.entrypoints.api.errors import Problem
from prorata.entrypoints.api.routers.orders import IdempotencyKey
from prorata.entrypoints.api.schemas import CardIn, MinorUnits, Out, Strict
from prorata.entrypoints.web.forms import client_address
from prorata.services.express_pay import ExpressPay, FindInvoice, express_pay, find_invoice
from prorata.services.ports import ExpressInvoice

router = APIRouter(tags=["express pay"])

Number = Annotated[str, Field(min_length=1, max_length=64)]


class ExpressFindIn(Strict):
    account_number: Number = Field(description="The account's number, as printed on the invoice")
    invoice_number: Number = Field(description="The invoice's number, e.g. INV-2026-000001")


class ExpressGatewayIn(Strict):
    """A method saved by the gateway's own fields in the payer's browser (Stripe.js ``createPaymentMethod``); a real
    gateway never takes a card number through this server (rule Y2)."""

    kind: Literal["gateway"]
    payment_method_id: Annotated[str, Field(min_length=3, max_length=128, pattern=r"^pm_[A-Za-z0-9_]+$")]


class ExpressPayIn(ExpressFindIn):
    payment_method: CardIn | ExpressGatewayIn = Field(
        discriminator="kind",
        description="Sandbox gateway: a test card (`card`). Stripe: the payment method Stripe.js made (`gateway`). "
        "It pays this invoice only and is not kept for the account.",
    )


class ExpressInvoiceOut(Out):
    invoice_number: str
    amount_due: MinorUnits
    currency: str
    due_at: datetime | None


class ExpressPaymentOut(ExpressInvoiceOut):
    status: Literal["succeeded", "credited", "pending"] = Field(
        description="pending: the gateway did not answer; the payment is settled when it does (ask again with the "
        "same Idempotency-Key)"
    )


def _out(invoice: ExpressInvoice) -> dict[str, object]:
    return {"invoice_number": invoice.number, "amount_due": invoice.amount_due, "currency": invoice.currency,
            "due_at": invoice.due_at}  # fmt: skip


def _refused(error: ProrataError) -> Problem | ProrataError:
    """Throttled: 429 with when to try again; no such open invoice: 404, the same for either number wrong."""
    if error.code == "express_pay.throttled":
        retry = str(error.data.get("retry_after", 60))
        return Problem(429, error.code, error.message, rule="EP1", field=error.field, headers={"Retry-After": retry})
    if error.code == "express_pay.not_found":
        return Problem(404, error.code, error.message, rule="EP1", field=error.field)
    return error


@router.post(
    "/express-pay/invoice",
    summary="Find an open invoice by its account's number and its own, without an API key (rule EP1)",
    description="Answers only the invoice's number, amount due, currency and due date. A wrong account number, a "
    "wrong invoice number, or an invoice that is not open all answer the same 404 `express_pay.not_found`. Tries are "
    "counted per client address and per account number: too many answer 429 `express_pay.throttled` with "
    "`Retry-After`.",
    responses={404: {"description": "No open invoice has these numbers"}, 429: {"description": "Too many tries"}},
)
def post_find(body: ExpressFindIn, request: Request, app: AppDep) -> ExpressInvoiceOut:
    try:
        invoice = find_invoice(FindInvoice(body.account_number, body.invoice_number, client_address(request)),
                               uow=app.uow, now=wall_clock())  # fmt: skip
    except ProrataError as error:
        raise _refused(error) from None
    return ExpressInvoiceOut(**_out(invoice))  # type: ignore[arg-type]


@router.post(
    "/express-pay/payments",
    summary="Pay an open invoice by card without an API key (rule EP1)",
    description="Charges the invoice's amount due once per Idempotency-Key: the same key answers the first outcome "
    "(header Idempotent-Replayed) and charges nothing more (rule X3). A refused card answers 402 with the gateway's "
    "reason; a card that asks its holder to confirm with their bank (3-D Secure) is refused "
    "(`payment.authentication_required`): that confirmation needs the signed-in portal.",
    responses={
        200: {"headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true", "false"]}}}},
        404: {"description": "No open invoice has these numbers"},
        429: {"description": "Too many tries"},
    },
)
def post_pay(body: ExpressPayIn, request: Request, app: AppDep, idempotency_key: IdempotencyKey) -> JSONResponse:
    method = body.payment_method
    card = method if isinstance(method, CardIn) else None
    command = ExpressPay(
        body.account_number, body.invoice_number, client_address(request), idempotency_key,
        card_number=card.card_number if card else "", exp_month=card.exp_month if card else 0,
        exp_year=card.exp_year if card else 0,
        payment_method_id=method.payment_method_id if isinstance(method, ExpressGatewayIn) else "",
    )  # fmt: skip
    try:
        paid = express_pay(command, uow=app.uow, clock=app.clock, gateway=app.gateway, now=wall_clock())
    except ProrataError as error:
        raise _refused(error) from None
    replayed = {"Idempotent-Replayed": "true" if paid.replayed else "false"}
    if paid.status == "failed":
        code = paid.failure_code or "payment_failed"
        raise Problem(402, f"payment.{code}", ChargeResult(False, "", code).message(), rule="EP1",
                      field="payment_method", headers=replayed)  # fmt: skip
    out = ExpressPaymentOut(**_out(paid.invoice), status=paid.status)  # type: ignore[arg-type]
    return JSONResponse(out.model_dump(mode="json"), headers=replayed)
