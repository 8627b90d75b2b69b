"""Credit notes issued through the API, and their refunds to the original payment method (rules I2, R1, R2).

Writing is the operator's (an operator key); an account's key reads its own account's refunds.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Body, Path

from prorata.adapters.db.refund_store import refund_views
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.entrypoints.api.auth import AppDep, CallerDep, OperatorDep, ScopeDep, row_id
from prorata.entrypoints.api.errors import not_found
from prorata.entrypoints.api.refund_schemas import CreditNoteIn, CreditNoteOut, RetryIn
from prorata.entrypoints.api.schemas import RefundOut
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from prorata.services.ports import RefundRecord
from prorata.services.refunds import retry_refund

router = APIRouter(tags=["refunds"])

InvoiceNumber = Annotated[
    str, Path(min_length=3, max_length=32, pattern=r"^[A-Za-z]+-[0-9]{4}-[0-9]{1,9}$", description="INV-2026-000001")
]


HIDDEN = ("charge_reference", "idempotency_key")  # the gateway's own handles: nothing an integrator acts on


def refund_out(refund: RefundRecord | None) -> RefundOut | None:
    return None if refund is None else RefundOut(**{k: v for k, v in asdict(refund).items() if k not in HIDDEN})


@router.post(
    "/invoices/{number}/credit-notes",
    status_code=201,
    summary="Correct an issued invoice with a credit note (void it or credit lines), and refund it (rules I2, R1, R2)",
    description="An operator key. For a paid invoice, `refund` chooses where what it gives back goes: the credit "
    "balance, or the original payment method through the gateway (what was paid in money; what came from the "
    "balance goes back to it). A refund to the payment method is made only within 30 days of the invoice unless "
    "`override_reason` is given (rule R1, audited). Never more than the invoice took, less earlier refunds (R2). "
    "The answer names the credit note and its refund, whose `status` may be pending or failed: a failed refund is "
    "retried with `POST /refunds/{id}/retry`. Sending the same request again is refused (the lines are credited "
    "already), so a retried request never issues a second note.",
)
def post_credit_note(
    number: InvoiceNumber, body: Annotated[CreditNoteIn, Body()], operator: OperatorDep, app: AppDep
) -> CreditNoteOut:
    if body.void == (body.lines is not None):
        raise InvalidInput("credit_note.lines", "lines: give the lines to credit, or void: true, not both",
                           rule="I2", field="lines")  # fmt: skip
    command = CreditInvoice(
        number.upper(), operator.actor, body.reason or "", None if body.void else tuple(body.lines or ()),
        refund=body.refund, requested_by=body.requested_by, override_reason=body.override_reason,
    )  # fmt: skip
    try:
        result = credit_invoice(command, uow=app.uow, clock=app.clock, gateway=app.gateway)
    except ProrataError as error:
        if error.code == "invoice.unknown":
            raise not_found("invoice", "number") from None
        raise
    return CreditNoteOut(
        number=result.number, corrects=result.corrects, total=result.total, to_balance=result.to_balance,
        invoice_status=result.invoice_status, invoice_amount_due=result.invoice_amount_due,  # type: ignore[arg-type]
        currency=result.currency, refund=refund_out(result.refund),
    )  # fmt: skip


@router.get("/accounts/{account_id}/refunds", summary="The account's refunds to its payment methods, newest first")
def get_refunds(scope: ScopeDep, app: AppDep) -> list[RefundOut]:
    with app.engine.connect() as conn:
        found = refund_views(conn, account_id=scope.account_id)
    return [r for r in map(refund_out, found) if r is not None]


def _refund(app: AppDep, refund_id: int, account_id: int | None) -> RefundRecord:
    with app.engine.connect() as conn:
        found = refund_views(conn, refund_id=refund_id)
    if not found or (account_id is not None and found[0].account_id != account_id):
        raise not_found("refund", "refund_id")  # another account's refund is not found, as if it did not exist
    return found[0]


@router.get("/refunds/{refund_id}", summary="One refund: its amount, status, attempts and who asked")
def get_refund(refund_id: Annotated[int, row_id("The refund")], caller: CallerDep, app: AppDep) -> RefundOut:
    refund = refund_out(_refund(app, refund_id, caller.key.account_id))
    assert refund is not None
    return refund


@router.post(
    "/refunds/{refund_id}/retry",
    summary="Try a failed refund again (a new attempt, a new key), or send it to the credit balance (rule R2)",
    description="An operator key. Only a failed refund: one pending (409) or done is refused.",
)
def post_retry(
    refund_id: Annotated[int, row_id("The refund")], body: Annotated[RetryIn, Body()], operator: OperatorDep,
    app: AppDep,
) -> RefundOut:  # fmt: skip
    _refund(app, refund_id, None)
    after = retry_refund(refund_id, to=body.to, actor=operator.actor, uow=app.uow, clock=app.clock,
                         gateway=app.gateway)  # fmt: skip
    out = refund_out(after)
    assert out is not None
    return out
