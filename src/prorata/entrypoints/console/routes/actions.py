"""What an operator does to an account, each on a page of its own that says what will happen and asks to confirm:
add credit with a reason, mark it managed by sales (rule I7), void or credit an invoice and refund it (rules I2, R1,
R2), charge its open invoices again (rule I6), and cancel its plan at the period's end or withdraw that (rules D1,
D2).

Each action is done by the use case the REST API calls (``services/``), audited under the operator's name, and
refused with the field and the reason on the same page, nothing changed. A form that moves money carries a key made
when the page was shown, so that sending it twice (a double click, a reload) does it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from prorata.adapters.db.console_queries import invoice_id_by_number
from prorata.adapters.db.queries import (
    AccountView,
    InvoiceView,
    SubscriptionView,
    account_view,
    invoice_view,
    invoice_views,
    subscription_views,
)
from prorata.domain.cart import Cancel, Change, Reactivate
from prorata.domain.engine import OPERATOR
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.domain.money import Money
from prorata.domain.refunds import CREDIT_BALANCE, ORIGINAL_METHOD
from prorata.entrypoints.console.pages import PREFIX, Desk, operator_desk, posted, render
from prorata.entrypoints.console.refusals import message_of
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.refusals import failure_text
from prorata.entrypoints.web.forms import Form, RowId, form_text, redirect
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from prorata.services.grant_credit import GrantCredit, grant_credit
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from prorata.services.place_order import PlaceOrder, place_order
from prorata.services.sales_managed import SetManagedBySales, set_managed_by_sales

router = APIRouter()
_AMOUNT_LENGTH = 24  # an amount typed longer than this is no amount (and is never parsed)


def done_messages() -> dict[str, str]:
    """What the account page says after an action, in the page's language."""
    _ = i18n.gettext_
    return {
        "credit": _("The credit was added to the balance."),
        "sales": _("The account's management was changed."),
        "voided": _("The invoice was voided with a credit note."),
        "credited": _("The credit note was issued."),
        "paid": _("The open invoices were charged."),
        "cancelled": _("The plan and its add-ons are cancelled at the end of the billing period."),
        "reactivated": _("The cancellation was withdrawn: the plan renews as before."),
        "exemption": _("The tax exemption was decided."),
        "terms": _("The account's invoice terms were changed."),
        "bank_payment": _("The bank payment was recorded."),
    }


def _account(found: Desk, account_id: int) -> AccountView:
    with found.app.engine.connect() as conn:
        account = account_view(conn, account_id)
    if account is None:
        raise HTTPException(status_code=404)
    return account


def _invoice(found: Desk, account_id: int, number: str) -> InvoiceView:
    """The account's own issued invoice of this number, with its lines (another account's is not found)."""
    with found.app.engine.connect() as conn:
        invoice_id = invoice_id_by_number(conn, account_id, number)
        shown = invoice_view(conn, account_id, invoice_id) if invoice_id is not None else None
    if shown is None or shown.kind != "invoice":
        raise HTTPException(status_code=404)
    return shown


def _back(account_id: int, done: str) -> Response:
    return redirect(f"{PREFIX}/accounts/{account_id}?done={done}#top")


def _refused(found: Desk, template: str, error: ProrataError, **context: object) -> Response:
    field = error.field or "form"
    return render(found, template, 400, errors={field: message_of(error)}, **context)


def _attempt(found: Desk, template: str, act: Callable[[], None], done: Response, **context: object) -> Response:
    try:
        act()
    except ProrataError as error:
        return _refused(found, template, error, **context)
    return done


# ------------------------------------------------------------------------------------------------ credit by hand
@router.get("/accounts/{account_id}/credit", response_model=None)
def credit_page(request: Request, account_id: RowId) -> Response:
    found = operator_desk(request)
    return render(found, "action_credit.html", account=_account(found, account_id), key=uuid.uuid4().hex,
                  amount="", reason="")  # fmt: skip


@router.post("/accounts/{account_id}/credit", response_model=None)
def credit_post(request: Request, account_id: RowId, form: Form) -> Response:
    found = posted(request, form)
    account = _account(found, account_id)
    text, reason = form_text(form, "amount", 200), form_text(form, "reason", 600)
    key = form_text(form, "key", 100)
    context = {"account": account, "key": key, "amount": text, "reason": reason}

    def act() -> None:
        typed = text.replace(" ", "").replace("\u00a0", "").replace(",", ".")
        if len(typed) > _AMOUNT_LENGTH:  # no amount is this long: refused before it is parsed
            raise InvalidInput("money.not_a_decimal_string", "amount: not a decimal amount", field="amount")
        amount = Money.parse(typed, account.currency).amount
        grant_credit(GrantCredit(account_id, amount, reason, key, found.actor), uow=found.app.uow,
                     clock=found.app.clock)  # fmt: skip

    return _attempt(found, "action_credit.html", act, _back(account_id, "credit"), **context)


# ------------------------------------------------------------------------------------------------ managed by sales
@router.get("/accounts/{account_id}/sales", response_model=None)
def sales_page(request: Request, account_id: RowId) -> Response:
    found = operator_desk(request)
    return render(found, "action_sales.html", account=_account(found, account_id), reason="")


@router.post("/accounts/{account_id}/sales", response_model=None)
def sales_post(request: Request, account_id: RowId, form: Form) -> Response:
    found = posted(request, form)
    account = _account(found, account_id)
    reason = form_text(form, "reason", 600)
    command = SetManagedBySales(account_id, form_text(form, "managed") == "1", found.actor, reason)

    def act() -> None:
        set_managed_by_sales(command, uow=found.app.uow, clock=found.app.clock)

    return _attempt(found, "action_sales.html", act, _back(account_id, "sales"), account=account, reason=reason)


# ------------------------------------------------------------------------------------------------ void or credit
@router.get("/accounts/{account_id}/invoices/{number}/void", response_model=None)
def void_page(request: Request, account_id: RowId, number: str) -> Response:
    found = operator_desk(request)
    return render(found, "action_void.html", account=_account(found, account_id),
                  invoice=_invoice(found, account_id, number[:40]), reason="")  # fmt: skip


@router.post("/accounts/{account_id}/invoices/{number}/void", response_model=None)
def void_post(request: Request, account_id: RowId, number: str, form: Form) -> Response:
    found = posted(request, form)
    account, invoice = _account(found, account_id), _invoice(found, account_id, number[:40])
    reason = form_text(form, "reason", 500)

    def act() -> None:
        if not reason.strip():
            raise InvalidInput("credit_note.reason", "reason: why the invoice is voided", field="reason")
        credit_invoice(CreditInvoice(invoice.number, found.actor, reason.strip()), uow=found.app.uow,
                       clock=found.app.clock, gateway=found.app.gateway)  # fmt: skip

    return _attempt(found, "action_void.html", act, _back(account_id, "voided"), account=account, invoice=invoice,
                    reason=reason)  # fmt: skip


@router.get("/accounts/{account_id}/invoices/{number}/credit", response_model=None)
def credit_note_page(request: Request, account_id: RowId, number: str) -> Response:
    found = operator_desk(request)
    return render(found, "action_credit_note.html", account=_account(found, account_id),
                  invoice=_invoice(found, account_id, number[:40]), chosen=[], reason="", override="",
                  destination=CREDIT_BALANCE)  # fmt: skip


@router.post("/accounts/{account_id}/invoices/{number}/credit", response_model=None)
def credit_note_post(request: Request, account_id: RowId, number: str, form: Form) -> Response:
    found = posted(request, form)
    account, invoice = _account(found, account_id), _invoice(found, account_id, number[:40])
    chosen = sorted({int(v) for v in form.getlist("line") if isinstance(v, str) and v.isdigit() and len(v) < 6})
    reason, override = form_text(form, "reason", 500), form_text(form, "override", 500)
    destination = ORIGINAL_METHOD if form_text(form, "destination") == ORIGINAL_METHOD else CREDIT_BALANCE
    context = {"account": account, "invoice": invoice, "chosen": chosen, "reason": reason, "override": override,
               "destination": destination}  # fmt: skip

    def act() -> None:
        if not chosen:
            raise InvalidInput("credit_note.lines", "lines: choose the lines to credit", field="lines")
        if not reason.strip():
            raise InvalidInput("credit_note.reason", "reason: why the invoice is credited", field="reason")
        command = CreditInvoice(invoice.number, found.actor, reason.strip(), tuple(chosen), refund=destination,
                                override_reason=override.strip() or None)  # fmt: skip
        credit_invoice(command, uow=found.app.uow, clock=found.app.clock, gateway=found.app.gateway)

    return _attempt(found, "action_credit_note.html", act, _back(account_id, "credited"), **context)


# ------------------------------------------------------------------------------------------------ charge again
@router.get("/accounts/{account_id}/pay", response_model=None)
def pay_page(request: Request, account_id: RowId) -> Response:
    found = operator_desk(request)
    account = _account(found, account_id)
    with found.app.engine.connect() as conn:
        owed = [v for v in invoice_views(conn, account_id) if v.status == "open"]
    return render(found, "action_pay.html", account=account, owed=owed, key=uuid.uuid4().hex)


@router.post("/accounts/{account_id}/pay", response_model=None)
def pay_post(request: Request, account_id: RowId, form: Form) -> Response:
    found = posted(request, form)
    account = _account(found, account_id)
    key = form_text(form, "key", 100)
    with found.app.engine.connect() as conn:
        owed = [v for v in invoice_views(conn, account_id) if v.status == "open"]
    context = {"account": account, "owed": owed, "key": key}
    try:
        report = pay_invoices(PayInvoices(account_id, f"console-{key}", None, actor=found.actor), uow=found.app.uow,
                              clock=found.app.clock, gateway=found.app.gateway)  # fmt: skip
    except ProrataError as error:
        return _refused(found, "action_pay.html", error, **context)
    if report.failed:
        message = i18n.gettext_("The charge failed: %(reason)s", reason=failure_text(report.failed[0][1]))
        # nothing was charged: a new key, so that trying again (the card updated) is a new attempt, while the same
        # form sent twice (a double click) stays one
        return render(found, "action_pay.html", 402, errors={"form": message}, **{**context, "key": uuid.uuid4().hex})
    return _back(account_id, "paid")


# ------------------------------------------------------------------------------------------------ cancel, reactivate
def _plan(found: Desk, account_id: int) -> tuple[SubscriptionView | None, list[SubscriptionView]]:
    """The account's plan subscription and its add-ons, as they stand."""
    with found.app.engine.connect() as conn:
        held = subscription_views(conn, account_id)
    products = found.app.catalog.products
    plan = next((s for s in held if s.product in products and products[s.product].is_plan), None)
    return plan, [s for s in held if s is not plan]


def _cancelling(sub: SubscriptionView) -> bool:
    return any(p.kind == "cancel" for p in sub.pending)


def _order(found: Desk, account_id: int, changes: tuple[Change, ...], key: str) -> None:
    """Rules D1, D2: the change placed as an order for the account, as the API places one, by the operator."""
    app = found.app
    command = PlaceOrder(account_id, changes, f"console-{key}", actor=found.actor, role=OPERATOR)
    place_order(command,
                uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax)  # fmt: skip


@router.get("/accounts/{account_id}/cancel", response_model=None)
def cancel_page(request: Request, account_id: RowId) -> Response:
    found = operator_desk(request)
    account = _account(found, account_id)
    plan, addons = _plan(found, account_id)
    return render(found, "action_cancel.html", account=account, plan=plan, addons=addons, key=uuid.uuid4().hex,
                  reactivate=plan is not None and _cancelling(plan))  # fmt: skip


@router.post("/accounts/{account_id}/cancel", response_model=None)
def cancel_post(request: Request, account_id: RowId, form: Form) -> Response:
    found = posted(request, form)
    account = _account(found, account_id)
    plan, addons = _plan(found, account_id)
    key = form_text(form, "key", 80)
    reactivate = plan is not None and _cancelling(plan)
    if reactivate:
        changes: tuple[Change, ...] = (Reactivate(), *(Reactivate(str(a.id)) for a in addons if _cancelling(a)))
    else:
        changes = (Cancel(with_addons=True),)
    context = {"account": account, "plan": plan, "addons": addons, "key": key, "reactivate": reactivate}
    return _attempt(found, "action_cancel.html", lambda: _order(found, account_id, changes, key),
                    _back(account_id, "reactivated" if reactivate else "cancelled"), **context)  # fmt: skip
