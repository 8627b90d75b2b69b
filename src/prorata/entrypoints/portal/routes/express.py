"""Express pay: an open invoice paid by card without signing in (rule EP1).

Three steps, each a page of its own: the two numbers, then the card (the invoice's number, what it owes and when it
is due, nothing else), then the outcome. The forms carry the double-submit CSRF token of a cookie, as the sign-in
form does, and the card's form a key made for it, so a double click pays once (rule X3); a failed card gets a new key
for the next try. With a real gateway the card is typed into its own fields in the browser.
"""

from __future__ import annotations

import math
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from prorata.adapters.db.web_sessions import wall_clock
from prorata.domain.errors import ProrataError
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.pages import (
    Form,
    Visit,
    check_cookie_csrf,
    client_address,
    cookie_form,
    render,
    visit,
)
from prorata.entrypoints.portal.refusals import errors_of, failure_text, message_of
from prorata.entrypoints.web.forms import form_text
from prorata.services.express_pay import (
    ExpressPay,
    ExpressPayment,
    FindInvoice,
    express_pay,
    find_invoice,
)
from prorata.services.gateway_methods import start_setup
from prorata.services.ports import ExpressInvoice

router = APIRouter()
TEMPLATE = "express_pay.html"


def _numbers(form: Form) -> dict[str, str]:
    return {name: form_text(form, name)[:64] for name in ("account_number", "invoice_number")}


def _refused(found: Visit, csrf: str, error: ProrataError, values: dict[str, str], **context: object) -> Response:
    """The step again with the refusal beside its field; a throttled try answers 429 with when to try again."""
    errors = errors_of(error)
    status = 400
    retry = error.data.get("retry_after") if error.code == "express_pay.throttled" else None
    if isinstance(retry, int):
        status = 429
        minutes = max(1, math.ceil(retry / 60))
        errors = {
            "account_number": i18n.ngettext_(
                "Too many tries. Try again in %(num)d minute.", "Too many tries. Try again in %(num)d minutes.", minutes
            )
        }
    response = render(found, TEMPLATE, status, csrf=csrf, values=values, errors=errors, **context)
    if isinstance(retry, int):
        response.headers["Retry-After"] = str(retry)
    return response


@router.get("/pay", response_class=HTMLResponse)
def express_page(request: Request, account: str = "", invoice: str = "") -> Response:
    """The numbers may come in the address (a link in an e-mail); nothing is looked up until the form is sent."""
    values = {"account_number": account[:64], "invoice_number": invoice[:64]}
    return cookie_form(visit(request), TEMPLATE, step="find", values=values)


@router.post("/pay", response_model=None)
def express_find(request: Request, form: Form) -> Response:
    found = visit(request)
    csrf = check_cookie_csrf(request, form)
    values = _numbers(form)
    try:
        invoice = find_invoice(FindInvoice(values["account_number"], values["invoice_number"], client_address(request)),
                               uow=found.app.uow, now=wall_clock())  # fmt: skip
    except ProrataError as refused:
        return _refused(found, csrf, refused, values, step="find")
    return _card_step(found, csrf, values, invoice)


def _card_step(
    found: Visit, csrf: str, values: dict[str, str], invoice: ExpressInvoice, status: int = 200, **context: object
) -> Response:
    """The card's form with a new key; with a real gateway, its fields mounted by its script."""
    key = secrets.token_urlsafe(18)
    setup = None
    if found.app.gateway.browser_tokens:
        try:
            setup = start_setup(invoice.account_id, uow=found.app.uow, clock=found.app.clock, gateway=found.app.gateway)
        except ProrataError as refused:
            context.setdefault("errors", {"form": message_of(refused)})
    back = {**values, "key": key}
    return render(found, TEMPLATE, status, csrf=csrf, step="card", values=values, invoice=invoice, key=key,
                  setup=setup, return_url=f"{found.app.portal_url}/pay/return?{urlencode(back)}",
                  stripe_js=getattr(getattr(found.app.gateway, "settings", None), "js_url", ""), **context)  # fmt: skip


def _whole(text: str) -> int:
    """A whole number as typed; anything else is 0, which the card check refuses as no month or year (rule Y2)."""
    return int(text) if text.isdigit() and len(text) <= 4 else 0


@router.post("/pay/card", response_model=None)
def express_card(request: Request, form: Form) -> Response:
    found = visit(request)
    csrf = check_cookie_csrf(request, form)
    values = _numbers(form)
    command = ExpressPay(
        values["account_number"], values["invoice_number"], client_address(request), form_text(form, "key"),
        card_number=form_text(form, "card_number"), exp_month=_whole(form_text(form, "exp_month")),
        exp_year=_whole(form_text(form, "exp_year")), setup_intent=form_text(form, "setup_intent"),
    )  # fmt: skip
    app = found.app
    try:
        paid = express_pay(command, uow=app.uow, clock=app.clock, gateway=app.gateway, now=wall_clock())
    except ProrataError as refused:
        if refused.field in ("account_number", "invoice_number") or refused.code == "express_pay.not_found":
            return _refused(found, csrf, refused, values, step="find")
        invoice = _still_open(found, values)
        if invoice is None:
            return _refused(found, csrf, refused, values, step="find")
        return _card_step(found, csrf, values, invoice, 400, errors=errors_of(refused), card=_expiry(form))
    return _outcome(found, csrf, values, paid, form)


def _expiry(form: Form) -> dict[str, str]:
    """The card's expiry as typed, for the form again; its number never is (rule Y2)."""
    return {"exp_month": form_text(form, "exp_month", 4), "exp_year": form_text(form, "exp_year", 4)}


def _still_open(found: Visit, values: dict[str, str]) -> ExpressInvoice | None:
    """The invoice for the card's form again after its card was refused (not counted: the refused try was)."""
    with found.app.uow() as tx:
        invoice = tx.express_invoice(values["account_number"], values["invoice_number"])
    return invoice if invoice is not None and invoice.owed else None


def _outcome(found: Visit, csrf: str, values: dict[str, str], paid: ExpressPayment, form: Form) -> Response:
    if paid.paid or paid.status == "pending":
        return render(found, TEMPLATE, csrf=csrf, step="done", invoice=paid.invoice, pending=paid.status == "pending")
    if paid.failure_code == "authentication_required":
        reason = i18n.gettext_(
            "Your bank asks you to confirm this payment, which can be done only when signed in. Sign in to pay the "
            "invoice, or use another card."
        )
    else:
        reason = failure_text(paid.failure_code)
    invoice = _still_open(found, values)
    if invoice is None:  # a replay of a failed try on an invoice paid since: nothing is owed
        return render(found, TEMPLATE, csrf=csrf, step="done", invoice=paid.invoice, pending=False)
    return _card_step(found, csrf, values, invoice, 402, errors={"card_number": reason}, card=_expiry(form))


@router.get("/pay/return", response_class=HTMLResponse)
def express_return(request: Request, setup_intent: str = "", key: str = "", account_number: str = "",
                   invoice_number: str = "") -> Response:  # fmt: skip
    """Where the gateway sends the payer back after a method approved on another page (PayPal, a bank's own page):
    nothing is charged by following a link; the page asks to confirm the payment with one button."""
    values = {"account_number": account_number[:64], "invoice_number": invoice_number[:64]}
    return cookie_form(visit(request), TEMPLATE, step="return", values=values, setup_intent=setup_intent[:255],
                       key=key[:100])  # fmt: skip
