"""Account Management -> Billing, tab Invoice History: date, number, amount, status; pay one, several or all open
invoices (rules I3, I6, K7). Paying the last overdue invoice re-enables editing at once (I6). The page lists the last
12 months, and its archive the 3 years before (rule IH1); an invoice still owed is always on the page.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from prorata.adapters.db.queries import (
    AccountView,
    InvoiceView,
    PaymentView,
    account_view,
    invoice_view,
    invoice_views,
)
from prorata.adapters.db.terms_store import invoice_terms
from prorata.adapters.documents.pdf import render_pdf
from prorata.domain.errors import ProrataError
from prorata.domain.invoice_history import history_window
from prorata.domain.periods import local_date, time_zone
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.pages import Form, RowId, Visit, form_id, member_visit, posted, redirect, render
from prorata.entrypoints.portal.refusals import failure_text, message_of
from prorata.entrypoints.portal.routes.billing import cancels_at
from prorata.services.invoice_documents import invoice_document
from prorata.services.pay_invoices import PayInvoices, pay_invoices

router = APIRouter()
KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what secrets.token_urlsafe mints


def shown_status(invoice: InvoiceView, account: AccountView) -> str:
    """The badge of an invoice (rules I3, I6, I8, I2): a credit note is issued, never paid, so it shows as what it is;
    an open invoice is overdue while its account is (the last retry of a renewal failed, and only paying re-enables
    the account); otherwise its status: open, paid or void."""
    if invoice.kind == "credit_note":
        return "credit_note"
    if invoice.status == "open" and account.overdue_since is not None:
        return "overdue"
    return invoice.status


def _shelves(found: Visit) -> tuple[AccountView, dict[str, list[InvoiceView]]]:
    """The account, and its invoices by where rule IH1 lists them (``recent``, ``archive``), newest first, as the
    seller's dates count (the dates printed on them)."""
    with found.app.engine.connect() as conn:
        account = account_view(conn, found.signed_in.account_id)
        invoices = invoice_views(conn, found.signed_in.account_id)
    assert account is not None
    zone = time_zone(found.app.tax.seller.time_zone)
    window = history_window(local_date(found.app.clock.now(), zone))
    shelves: dict[str, list[InvoiceView]] = {"recent": [], "archive": []}
    for invoice in invoices:
        shelf = window.shelf(local_date(invoice.issued_at, zone), invoice.status)
        if shelf is not None:
            shelves[shelf].append(invoice)
    return account, shelves


def _history(found: Visit, status: int = 200, **context: object) -> Response:
    account, shelves = _shelves(found)
    invoices = shelves["recent"]
    # rule X3: the pay forms carry a key minted with the page, so a double click, a reload or a resubmit of this
    # page is one request, answered as the first time, and never a second charge
    return render(found, "invoices.html", status, account=account, invoices=invoices, pay_key=secrets.token_urlsafe(16),
                  open_count=sum(1 for i in invoices if i.status == "open"), archived=len(shelves["archive"]),
                  badges={i.id: shown_status(i, account) for i in invoices}, cancels_at=cancels_at(found, account),
                  **context)  # fmt: skip


@router.get("/billing/invoices", response_class=HTMLResponse)
def invoice_history(request: Request) -> Response:
    return _history(member_visit(request))


@router.get("/billing/invoices/archive", response_class=HTMLResponse)
def invoice_archive(request: Request) -> Response:
    """Rule IH1: the invoices of the 3 years before the last 12 months, to read and download (none is owed)."""
    found = member_visit(request)
    account, shelves = _shelves(found)
    archived = shelves["archive"]
    return render(found, "invoice_archive.html", account=account, invoices=archived,
                  badges={i.id: shown_status(i, account) for i in archived})  # fmt: skip


def _chosen(form: FormData) -> tuple[int, ...] | str | None:
    """The invoices a pay form names (None: all open ones), or the message for a form that names none."""
    one = form.get("pay_one")
    if one:
        found = form_id(one)
        return (found,) if found is not None else i18n.gettext_("Choose the invoices to pay.")
    if form.get("action") == "all":
        return None
    chosen = tuple(form_id(v) for v in form.getlist("invoice"))
    if not chosen or None in chosen:
        return i18n.gettext_("Choose the invoices to pay.")
    return tuple(i for i in chosen if i is not None)


@router.post("/billing/invoices/pay", response_model=None)
def pay(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    key = str(form.get("key") or "")
    if not KEY.fullmatch(key):
        # a page from before pay forms carried their key: show the invoices again, with a fresh one
        return _history(found, 400, errors={"invoice": i18n.gettext_("The page was out of date; choose again.")})
    chosen = _chosen(form)
    if isinstance(chosen, str):
        return _history(found, 400, errors={"invoice": chosen})
    try:
        report = pay_invoices(PayInvoices(found.signed_in.account_id, key, chosen, actor=found.signed_in.email),
                              uow=found.app.uow, clock=found.app.clock, gateway=found.app.gateway)  # fmt: skip
    except ProrataError as error:
        status = 409 if error.code in ("invoice.payment_in_progress", "payment.in_progress") else 400
        return _history(found, status, errors={"invoice": message_of(error)})
    if report.waiting:
        return redirect(f"/billing/payments/{report.waiting[0]}/confirm")  # the bank asks the customer first
    if report.failed:
        reason = failure_text(report.failed[0][1])
        return _history(found, 402, errors={"invoice": reason}, payment_failed=True)
    return _history(found, paid=len(report.paid), reenabled=report.reenabled, credited=len(report.credited))


@router.get("/billing/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice(request: Request, invoice_id: RowId) -> Response:
    found = member_visit(request)
    with found.app.engine.connect() as conn:
        account = account_view(conn, found.signed_in.account_id)
        shown = invoice_view(conn, found.signed_in.account_id, invoice_id)
    if shown is None or account is None:
        raise HTTPException(status_code=404)
    catalog = found.app.catalog
    lines = [
        {
            # rule I5: the line in the page's language from its fields, not the English text stored with it
            "text": i18n.catalog_line_text(
                line.kind,
                line.product,
                line.quantity,
                line.used,
                line.whole,
                catalog,
                found.language,
                reversal=shown.kind == "credit_note",
                discount=line.discount_code,  # rule DC2: a discount line names its code
            ),
            "kind": line.kind,
            "start": line.period_start,
            "end": line.period_end,
            # rules C3, I5: first and last day included, in the account's time zone, as the PDF writes it
            "period": i18n.service_period(line.period_start, line.period_end, account.time_zone, catalog.granularity),
            "amount": line.amount,
        }
        for line in shown.lines
    ]
    # rule I2: an invoice's dates are the seller's, as its PDF and its e-invoice print them
    # each payment with the number of the settled ones among them (``#payment-1`` is the first that paid)
    settled = 0
    payments: list[tuple[PaymentView, int | None]] = []
    for payment in shown.payments:
        settled += payment.status == "succeeded"
        payments.append((payment, settled if payment.status == "succeeded" else None))
    with found.app.engine.connect() as conn:
        # rule NT1: the bank account shown is the one configured now, where a transfer made today must go
        terms_days, transfers = invoice_terms(conn, shown.id)
    # a bank's booking day, shown as that day whatever the time zone
    received = [(datetime.combine(t.received_on, time(12), tzinfo=UTC), t) for t in transfers]
    return render(found, "invoice.html", account=account, invoice=shown, lines=lines, payments=payments,
                  shown=shown_status(shown, account), seller_zone=found.app.tax.seller.time_zone,
                  terms_days=terms_days, bank=found.app.tax.seller.bank, transfers=received)  # fmt: skip


@router.get("/billing/invoices/{invoice_id}/pdf", response_model=None)
def invoice_pdf(request: Request, invoice_id: RowId) -> Response:
    found = member_visit(request)
    with found.app.engine.connect() as conn:
        shown = invoice_view(conn, found.signed_in.account_id, invoice_id)  # another account's invoice: not found
    if shown is None:
        raise HTTPException(status_code=404)
    app = found.app
    document = invoice_document(shown.number, uow=app.uow, catalog=app.catalog, tax=app.tax)
    return Response(
        render_pdf(document, found.language),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{shown.number}.pdf"'},
    )
