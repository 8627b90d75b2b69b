"""Invoice terms and bank transfer through the API (rule NT1; operator): an account put on net terms or back on
card, bank transfers recorded against an invoice number, and a CAMT.053 bank statement imported."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from prorata.adapters.db.terms_store import bank_payments_of, terms_of
from prorata.domain.bank_statement import parse_camt053
from prorata.domain.errors import InvalidInput
from prorata.domain.payment_terms import DEFAULT_TERMS_DAYS, MAX_BANK_REFERENCE, MAX_TERMS_DAYS, BankPaymentRecord
from prorata.entrypoints.api.auth import AppDep, OperatorDep, ScopeDep
from prorata.entrypoints.api.routers.orders import IdempotencyKey
from prorata.entrypoints.api.schemas import Currency, Out, Strict
from prorata.services.bank_payments import RecordBankPayment, import_statement, record_bank_payment
from prorata.services.grant_credit import LARGEST
from prorata.services.payment_terms import SetPaymentTerms, set_payment_terms

router = APIRouter(tags=["operator"])

InvoiceNumber = Annotated[str, Field(pattern=r"^[A-Z]{2,16}-[0-9]{4}-[0-9]{6}$", description="e.g. INV-2026-000012")]


class TermsIn(Strict):
    days: Annotated[int | None, Field(ge=1, le=MAX_TERMS_DAYS, description="Net terms in days; null: pay by card")]


class BankPaymentOut(Out):
    id: int
    account_id: int
    invoice_number: str
    bank_reference: str
    amount: int
    currency: str
    applied: int = Field(description="What it paid of the invoice")
    excess: int = Field(description="What went to the credit balance (an overpayment)")
    received_on: date
    source: Literal["operator", "statement"]
    recorded_at: datetime


class TermsOut(Out):
    account_id: int
    terms_days: int | None = Field(description="Net terms in days; null: the account pays by card")
    bank_payments: list[BankPaymentOut]


class BankPaymentIn(Strict):
    invoice_number: InvoiceNumber
    amount: Annotated[int, Field(gt=0, le=LARGEST, description="Minor units received")]
    currency: Currency
    received_on: Annotated[date, Field(strict=False, description="The day the bank booked the transfer (YYYY-MM-DD)")]
    bank_reference: Annotated[str, Field(min_length=1, max_length=MAX_BANK_REFERENCE,
                                         description="The bank's reference of the transfer: booked once")]  # fmt: skip


class StatementIn(Strict):
    content_base64: Annotated[str, Field(min_length=1, description="The CAMT.053 XML file, base64 (at most 5 MB)")]


class StatementEntryOut(Out):
    bank_reference: str
    amount: int
    currency: str
    booked_on: date
    invoice_number: str | None
    outcome: Literal["matched", "already", "unmatched"]
    reason: str = Field(description="Unmatched: the refusal code saying why")


class StatementOut(Out):
    matched: int
    already: int
    unmatched: int
    entries: list[StatementEntryOut]


def _payment_out(record: BankPaymentRecord) -> BankPaymentOut:
    return BankPaymentOut(
        id=record.id, account_id=record.account_id, invoice_number=record.invoice_number,
        bank_reference=record.bank_reference, amount=record.amount, currency=record.currency, applied=record.applied,
        excess=record.excess, received_on=record.received_on, source=record.source,  # type: ignore[arg-type]
        recorded_at=record.recorded_at,
    )  # fmt: skip


def _terms(app: AppDep, account_id: int) -> TermsOut:
    with app.engine.connect() as conn:
        days, paid = terms_of(conn, account_id), bank_payments_of(conn, account_id)
    return TermsOut(account_id=account_id, terms_days=days, bank_payments=[_payment_out(p) for p in paid])


@router.get("/accounts/{account_id}/payment-terms", summary="The account's invoice terms and bank payments (rule NT1)")
def get_terms(scope: ScopeDep, operator: OperatorDep, app: AppDep) -> TermsOut:
    return _terms(app, scope.account_id)


@router.put(
    "/accounts/{account_id}/payment-terms",
    summary="Put the account on invoice terms, or back on card (rule NT1; operator)",
    description=f"`days` (1 to {MAX_TERMS_DAYS}; Net {DEFAULT_TERMS_DAYS} is the usual) puts it on terms when its "
    "recurring charges a month reach the threshold of its currency (PRORATA_TERMS_THRESHOLDS): refused otherwise "
    "(422 `terms.below_threshold`, `terms.no_threshold`). `null` puts it back on card; invoices issued on terms stay "
    "due as issued.",
)
def put_terms(body: TermsIn, scope: ScopeDep, operator: OperatorDep, app: AppDep) -> TermsOut:
    set_payment_terms(SetPaymentTerms(scope.account_id, body.days, operator.actor), uow=app.uow, clock=app.clock,
                      catalog=app.catalog, thresholds=app.terms_thresholds)  # fmt: skip
    return _terms(app, scope.account_id)


@router.post(
    "/bank-payments",
    status_code=201,
    summary="Record a bank transfer against an invoice number (rule NT1; operator)",
    description="Booked once per bank reference: the same transfer again answers the first booking (header "
    "Idempotent-Replayed: true); the reference with other details is refused (409 `bank_payment.reference_used`). "
    "An underpayment leaves the rest owed; an overpayment goes to the account's credit balance.",
    responses={201: {"headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true", "false"]}}}}},
)
def post_bank_payment(
    body: BankPaymentIn, operator: OperatorDep, app: AppDep, idempotency_key: IdempotencyKey
) -> JSONResponse:
    # the bank reference is what books a transfer once (a unique index); the Idempotency-Key asks for no more
    command = RecordBankPayment(body.invoice_number, body.amount, body.currency, body.received_on,
                                body.bank_reference, operator.actor)  # fmt: skip
    recorded = record_bank_payment(command, uow=app.uow, clock=app.clock)
    return JSONResponse(_payment_out(recorded.payment).model_dump(mode="json"), status_code=201,
                        headers={"Idempotent-Replayed": "true" if recorded.replayed else "false"})  # fmt: skip


@router.post(
    "/bank-statements",
    summary="Import a CAMT.053 bank statement: book the transfers naming invoices on terms (rule NT1; operator)",
    description="Each credit entry whose remittance information names an invoice of an account on terms is booked "
    "(`matched`); one whose bank reference is booked already is `already`; the others are `unmatched`, with why. "
    "All or nothing; importing the same statement again books nothing more. A file with a DOCTYPE or ENTITY is "
    "refused.",
)
def post_statement(
    body: StatementIn, operator: OperatorDep, app: AppDep, idempotency_key: IdempotencyKey
) -> StatementOut:
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("bank_statement.not_encoded", "content_base64: not base64", rule="NT1",
                           field="content_base64") from None  # fmt: skip
    report = import_statement(parse_camt053(content), actor=operator.actor, uow=app.uow, clock=app.clock)
    return StatementOut(
        matched=len(report.of("matched")), already=len(report.of("already")), unmatched=len(report.of("unmatched")),
        entries=[StatementEntryOut(bank_reference=e.entry.bank_reference, amount=e.entry.amount,
                                   currency=e.entry.currency, booked_on=e.entry.booked_on,
                                   invoice_number=e.invoice_number, outcome=e.outcome,  # type: ignore[arg-type]
                                   reason=e.reason) for e in report.entries],
    )  # fmt: skip
