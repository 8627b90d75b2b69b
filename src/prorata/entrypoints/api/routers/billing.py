"""Invoice History (rule I3), paying open invoices (rules I6, K7, X3) and payment methods (rules Y1-Y3)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from prorata.adapters.db.queries import (
    InvoiceView,
    account_view,
    invoice_view,
    invoice_views,
    payment_method_views,
)
from prorata.adapters.documents.ksef import fa3_xml_of
from prorata.adapters.documents.pdf import render_pdf
from prorata.bootstrap import App
from prorata.domain.documents import InvoiceDocument
from prorata.domain.errors import ProrataError
from prorata.domain.payments import ChargeResult
from prorata.entrypoints.api.auth import AppDep, ScopeDep, row_id
from prorata.entrypoints.api.errors import Problem, not_found
from prorata.entrypoints.api.routers.orders import IdempotencyKey
from prorata.entrypoints.api.routers.refunds import refund_out
from prorata.entrypoints.api.schemas import (
    CardIn,
    GatewayMethodIn,
    InvoiceDetailOut,
    InvoiceLineOut,
    InvoiceOut,
    PayIn,
    PaymentMethodIn,
    PaymentMethodOut,
    PaymentOut,
    PaymentReportOut,
    SetupIntentOut,
)
from prorata.services.billing_information import (
    AddCard,
    AddPayPal,
    BillingAddress,
    add_card,
    add_paypal,
    remove_payment_method,
)
from prorata.services.gateway_methods import add_saved_method, start_setup
from prorata.services.invoice_documents import corrected_document, exchange_rate_of, invoice_document
from prorata.services.pay_invoices import PayInvoices, pay_invoices

router = APIRouter(tags=["billing"])


@router.get(
    "/accounts/{account_id}/invoices",
    summary="Invoice History: issued invoices and credit notes, newest first",
    description="A credit note (`kind` credit_note, status issued) names the invoice it `corrects` and its `reason`; "
    "the corrected invoice lists it in `corrected_by` (rule I2).",
)
def get_invoices(scope: ScopeDep, app: AppDep) -> list[InvoiceOut]:
    with app.engine.connect() as conn:
        views = invoice_views(conn, scope.account_id)
    return [InvoiceOut(**_head(view)) for view in views]


def _head(view: InvoiceView) -> dict[str, Any]:
    """The invoice's own fields; a credit note's refund as the refund routes show it (rules R1, R2)."""
    head = {k: v for k, v in asdict(view).items() if k not in ("lines", "payments", "refund")}
    return {**head, "refund": refund_out(view.refund)}


@router.get(
    "/accounts/{account_id}/invoices/{invoice_id}",
    summary="One invoice or credit note with its lines and payments, and what it corrects or is corrected by",
)
def get_invoice(invoice_id: Annotated[int, row_id("The invoice")], scope: ScopeDep, app: AppDep) -> InvoiceDetailOut:
    with app.engine.connect() as conn:
        view = invoice_view(conn, scope.account_id, invoice_id)
    if view is None:
        raise not_found("invoice", "invoice_id")
    return InvoiceDetailOut(
        **_head(view),
        lines=[InvoiceLineOut(**asdict(line)) for line in view.lines],
        payments=[PaymentOut(**asdict(payment)) for payment in view.payments],
    )


@router.get(
    "/accounts/{account_id}/invoices/{invoice_id}/pdf",
    summary="The invoice or credit note as PDF (rules I3, I5), in English or Polish",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}},
)
def get_invoice_pdf(
    invoice_id: Annotated[int, row_id("The invoice")],
    scope: ScopeDep,
    app: AppDep,
    language: Annotated[Literal["en", "pl"], Query(description="The document's language")] = "en",
) -> Response:
    document = _document(app, scope.account_id, invoice_id)
    return Response(
        render_pdf(document, language),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{document.number}.pdf"'},
    )


@router.get(
    "/accounts/{account_id}/invoices/{invoice_id}/ksef",
    summary="The invoice or credit note as a KSeF FA(3) e-invoice, validated against the official schema",
    description="For a Polish seller. The XML is checked against the FA(3) schema before it is sent; sending it to "
    "the national e-invoicing service is left to the operator. A document in another currency with Polish VAT carries "
    "the National Bank of Poland's rate of the last working day before its issue date and its VAT in PLN; while that "
    "rate is not imported (`prorata rates import`) the document is held: 409 `rates.missing`, naming the date.",
    response_class=Response,
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
def get_invoice_ksef(invoice_id: Annotated[int, row_id("The invoice")], scope: ScopeDep, app: AppDep) -> Response:
    document = _document(app, scope.account_id, invoice_id)
    original = corrected_document(document, uow=app.uow, catalog=app.catalog, tax=app.tax)
    return Response(
        fa3_xml_of(document, original, exchange_rate_of(document, uow=app.uow)),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{document.number}.xml"'},
    )


def _document(app: App, account_id: int, invoice_id: int) -> InvoiceDocument:
    with app.engine.connect() as conn:
        view = invoice_view(conn, account_id, invoice_id)  # another account's invoice: not found
    if view is None:
        raise not_found("invoice", "invoice_id")
    return invoice_document(view.number, uow=app.uow, catalog=app.catalog, tax=app.tax)


@router.post(
    "/accounts/{account_id}/payments",
    summary="Pay open invoices now with the default payment method (an overdue account is re-enabled, rule I6)",
    description="Each invoice is paid at most once, whatever races (rule X3): an invoice already paid, or with a "
    "payment in flight, is refused (409 while a payment is in flight). The same Idempotency-Key answers the same "
    "and charges nothing more (header Idempotent-Replayed). A failed charge answers 402 with what to do (rule K7), "
    "listing the invoices that were paid before it.",
    responses={200: {"headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true", "false"]}}}}},
)
def post_payments(body: PayIn, scope: ScopeDep, app: AppDep, idempotency_key: IdempotencyKey) -> JSONResponse:
    ids = None if body.invoice_ids is None else tuple(body.invoice_ids)
    report = pay_invoices(PayInvoices(scope.account_id, idempotency_key, ids, actor=scope.caller.actor),
                          uow=app.uow, clock=app.clock, gateway=app.gateway)  # fmt: skip
    replayed = {"Idempotent-Replayed": "true" if report.replayed else "false"}
    if report.failed:
        code = report.failed[0][1]
        raise Problem(
            402, f"payment.{code}", ChargeResult(False, "", code).message(), rule="K7", field="payment_method",
            headers=replayed, paid=report.paid,
            failed=[{"invoice_id": invoice, "code": c} for invoice, c in report.failed],
        )  # fmt: skip
    with app.engine.connect() as conn:
        account = account_view(conn, scope.account_id)
    assert account is not None  # the scope checked it
    out = PaymentReportOut(paid=report.paid, credited=report.credited, account_status=account.status)  # type: ignore[arg-type]
    return JSONResponse(out.model_dump(mode="json"), headers=replayed)


@router.get("/accounts/{account_id}/payment-methods", summary="Cards and PayPal on file; the default is charged")
def get_payment_methods(scope: ScopeDep, app: AppDep) -> list[PaymentMethodOut]:
    with app.engine.connect() as conn:
        views = payment_method_views(conn, scope.account_id)
    return [PaymentMethodOut(**asdict(v)) for v in views]


@router.post(
    "/accounts/{account_id}/payment-methods",
    status_code=201,
    summary="Add a card or PayPal; it becomes the default (rules Y1-Y3)",
    description="A card number is checked (Luhn, brand, expiry) and handed to the gateway; only its token, brand, "
    "last four digits and expiry are kept (rule Y2). Sandbox test cards: 4242 4242 4242 4242 pays, "
    "4000 0000 0000 0002 is declined. With Stripe configured, card numbers are refused (`payment.card_number_refused`, "
    "rule Y2): send the `gateway` kind with the payment method Stripe.js saved.",
)
def post_payment_method(body: PaymentMethodIn, scope: ScopeDep, app: AppDep) -> PaymentMethodOut:
    if isinstance(body, GatewayMethodIn):
        method_id = add_saved_method(scope.account_id, setup_intent=body.setup_intent,
                                     payment_method_id=body.payment_method_id, uow=app.uow, clock=app.clock,
                                     gateway=app.gateway)  # fmt: skip
    elif isinstance(body, CardIn):
        method_id = add_card(
            AddCard(scope.account_id, body.card_number, body.exp_month, body.exp_year,
                    None if body.billing_address is None else BillingAddress(**body.billing_address.model_dump())),
            uow=app.uow, clock=app.clock, gateway=app.gateway,
        )  # fmt: skip
    else:
        method_id = add_paypal(AddPayPal(scope.account_id, body.paypal_email), uow=app.uow, clock=app.clock,
                               gateway=app.gateway)  # fmt: skip
    with app.engine.connect() as conn:
        views = payment_method_views(conn, scope.account_id)
    return next(PaymentMethodOut(**asdict(v)) for v in views if v.id == method_id)


@router.post(
    "/accounts/{account_id}/payment-methods/setup-intents",
    status_code=201,
    summary="Start saving a payment method in the customer's browser (a real gateway: Stripe.js)",
    description="Answers a SetupIntent and its client secret for Stripe.js; once the browser confirmed it at Stripe, "
    'send `{"kind": "gateway", "setup_intent": ...}` to `POST .../payment-methods`. The sandbox gateway answers 422 '
    "(`payment.no_browser_gateway`): it takes its test card numbers directly.",
)
def post_setup_intent(scope: ScopeDep, app: AppDep) -> SetupIntentOut:
    setup = start_setup(scope.account_id, uow=app.uow, clock=app.clock, gateway=app.gateway)
    return SetupIntentOut(gateway=setup.gateway, publishable_key=setup.publishable_key,
                          setup_intent=setup.setup_intent, client_secret=setup.client_secret)  # fmt: skip


@router.delete(
    "/accounts/{account_id}/payment-methods/{payment_method_id}",
    status_code=204,
    summary="Remove a payment method; it is never charged again",
)
def delete_payment_method(
    payment_method_id: Annotated[int, row_id("The payment method")], scope: ScopeDep, app: AppDep
) -> Response:
    try:
        remove_payment_method(scope.account_id, payment_method_id, uow=app.uow, clock=app.clock)
    except ProrataError as error:
        if error.code == "payment_method.unknown":
            raise not_found("payment_method", "payment_method_id") from None
        raise
    return Response(status_code=204)
