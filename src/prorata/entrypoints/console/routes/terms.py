"""Invoice terms and bank transfers in the console (rule NT1): the account put on net terms or back on card, and a
transfer recorded against one of its invoices, by the use cases the API and the CLI call."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from prorata.adapters.db.queries import account_view, invoice_views
from prorata.adapters.db.terms_store import bank_payments_of, terms_of
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.domain.money import Money
from prorata.domain.payment_terms import DEFAULT_TERMS_DAYS, MAX_TERMS_DAYS
from prorata.entrypoints.console.pages import PREFIX, Desk, operator_desk, posted, render
from prorata.entrypoints.console.refusals import message_of
from prorata.entrypoints.web.forms import Form, RowId, form_text, redirect
from prorata.services.bank_payments import RecordBankPayment, record_bank_payment
from prorata.services.payment_terms import SetPaymentTerms, set_payment_terms

router = APIRouter()


def _page(found: Desk, account_id: int, status: int = 200, **context: object) -> Response:
    now = found.app.clock.now()
    with found.app.engine.connect() as conn:
        account = account_view(conn, account_id)
        if account is None:
            raise HTTPException(status_code=404)
        days = terms_of(conn, account_id)
        paid = bank_payments_of(conn, account_id)
        owed = [v for v in invoice_views(conn, account_id) if v.status == "open" and v.amount_due > 0]
    context.setdefault("days", str(days or DEFAULT_TERMS_DAYS))
    for name, value in (("invoice", owed[0].number if owed else ""), ("amount", ""),
                        ("received_on", now.date().isoformat()), ("reference", "")):  # fmt: skip
        context.setdefault(name, value)
    return render(found, "action_terms.html", status, account=account, terms_days=days, bank_payments=paid,
                  owed=owed, max_days=MAX_TERMS_DAYS, **context)  # fmt: skip


@router.get("/accounts/{account_id}/terms", response_model=None)
def terms_page(request: Request, account_id: RowId) -> Response:
    return _page(operator_desk(request), account_id)


@router.post("/accounts/{account_id}/terms", response_model=None)
def terms_post(request: Request, account_id: RowId, form: Form) -> Response:
    found = posted(request, form)
    text = form_text(form, "days", 10).strip()
    end = form_text(form, "action") == "end"
    try:
        if not end and not (text.isascii() and text.isdigit()):
            raise InvalidInput("terms.days", f"days: a whole number of days from 1 to {MAX_TERMS_DAYS}", rule="NT1",
                               field="days", max=MAX_TERMS_DAYS)  # fmt: skip
        set_payment_terms(SetPaymentTerms(account_id, None if end else int(text), found.actor), uow=found.app.uow,
                          clock=found.app.clock, catalog=found.app.catalog,
                          thresholds=found.app.terms_thresholds)  # fmt: skip
    except ProrataError as error:
        return _page(found, account_id, 400, errors={error.field or "form": message_of(error)}, days=text)
    return redirect(f"{PREFIX}/accounts/{account_id}?done=terms#terms")


@router.post("/accounts/{account_id}/bank-payments", response_model=None)
def bank_payment_post(request: Request, account_id: RowId, form: Form) -> Response:
    found = posted(request, form)
    values = {name: form_text(form, name, 64).strip() for name in ("invoice", "amount", "received_on", "reference")}
    try:
        with found.app.engine.connect() as conn:
            account = account_view(conn, account_id)
        if account is None:
            raise HTTPException(status_code=404)
        try:
            received = date.fromisoformat(values["received_on"])
        except ValueError:
            raise InvalidInput("bank_payment.received_on", "received_on: not a date", rule="NT1",
                               field="received_on") from None  # fmt: skip
        typed = values["amount"].replace(" ", "").replace("\u00a0", "").replace(",", ".")
        amount = Money.parse(typed, account.currency).amount
        record_bank_payment(RecordBankPayment(values["invoice"], amount, account.currency, received,
                                              values["reference"], found.actor), uow=found.app.uow,
                            clock=found.app.clock)  # fmt: skip
    except ProrataError as error:
        return _page(found, account_id, 400, errors={error.field or "form": message_of(error)}, **values)
    return redirect(f"{PREFIX}/accounts/{account_id}?done=bank_payment#terms")
