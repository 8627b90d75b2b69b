"""Billing information: the Sold-To and Bill-To contacts, the payment methods and the backup one, and the extra notice
addresses (rules K4, K5, K7, Y1-Y3, BM1, N1).

The same forms serve the checkout (``next`` leads on to its following step) and the Billing information page. An
address the validator would write differently is shown with its suggestion: the buyer keeps what was entered or
takes the suggestion, and both continue (K5). A card whose address differs from the Bill-To contact gets its own
address when "Same as Bill-To contact" is unticked (K4).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from prorata.adapters.address import check_address
from prorata.adapters.db.notice_store import notice_addresses_of
from prorata.adapters.db.queries import account_view, contact_views, payment_method_views
from prorata.domain.errors import ProrataError
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.portal.pages import Form, RowId, Visit, buyer_visit, member_visit, posted, redirect, render
from prorata.entrypoints.portal.refusals import errors_of, field_label, message_of
from prorata.services.backup_method import SetBackupMethod, SwapWithBackup, set_backup_method, swap_with_backup
from prorata.services.billing_information import (
    AddCard,
    AddPayPal,
    BillingAddress,
    Contact,
    add_card,
    add_paypal,
    check_contacts,
    check_new_card,
    remove_payment_method,
    set_contacts,
)
from prorata.services.gateway_methods import add_saved_method, start_setup
from prorata.services.notice_addresses import (
    MAX_NOTICE_ADDRESSES,
    AddNoticeAddress,
    RemoveNoticeAddress,
    add_notice_address,
    remove_notice_address,
)

router = APIRouter()

CONTACT_FIELDS = ("name", "company", "email", "phone", "address_line1", "address_line2", "city", "postal_code",
                  "region", "country", "tax_id")  # fmt: skip
ADDRESS_FIELDS = ("address_line1", "city", "postal_code", "region")


def _safe_next(value: object, default: str) -> str:
    text = str(value or default)
    return text if text.startswith("/") and not text.startswith("//") else default


@router.get("/billing/information", response_class=HTMLResponse)
def billing_information(request: Request) -> Response:
    return _information(member_visit(request))


def _information(found: Visit, status: int = 200, **context: Any) -> Response:
    """The page: contacts, payment methods with the backup (rule BM1), the extra notice addresses (rule N1) and the
    credit balance; ``context`` holds what a refused form sends back (``errors``, ``values``)."""
    account_id = found.signed_in.account_id
    with found.app.engine.connect() as conn:
        contacts = contact_views(conn, account_id)
        methods = payment_method_views(conn, account_id)
        notices = notice_addresses_of(conn, (account_id,))[account_id]
        account = account_view(conn, account_id)  # its credit balance, beside the payment methods
    context.setdefault("errors", {})
    context.setdefault("values", {})
    return render(found, "billing_information.html", status, contacts=contacts, methods=methods, account=account,
                  notices=notices, notice_limit=MAX_NOTICE_ADDRESSES, **context)  # fmt: skip


# -- the backup payment method (rule BM1): named, cleared and swapped with the default on the page itself


def _method_id(form: FormData) -> int:
    """The method a form names; anything but a row id is no saved method, which the use case refuses."""
    text = str(form.get("payment_method", ""))
    return int(text) if text.isdigit() and 0 < len(text) <= 18 else 0


@router.post("/billing/backup", response_model=None)
def set_backup(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    try:
        set_backup_method(SetBackupMethod(found.signed_in.account_id, _method_id(form)), uow=found.app.uow,
                          clock=found.app.clock)  # fmt: skip
    except ProrataError as error:
        return _information(found, 400, errors={"backup": message_of(error)})
    return redirect("/billing/information#backup")


@router.post("/billing/backup/swap", response_model=None)
def swap_backup(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    try:
        swap_with_backup(SwapWithBackup(found.signed_in.account_id, _method_id(form)), uow=found.app.uow,
                         clock=found.app.clock)  # fmt: skip
    except ProrataError as error:
        return _information(found, 400, errors={"backup": message_of(error)})
    return redirect("/billing/information#backup")


@router.post("/billing/backup/remove", response_model=None)
def remove_backup(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    set_backup_method(SetBackupMethod(found.signed_in.account_id, None), uow=found.app.uow, clock=found.app.clock)
    return redirect("/billing/information#backup")


# -- extra notice addresses (rule N1)


@router.post("/billing/notices", response_model=None)
def add_notice(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    entered = str(form.get("notice_address", ""))
    try:
        add_notice_address(AddNoticeAddress(found.signed_in.account_id, entered), uow=found.app.uow,
                           clock=found.app.clock)  # fmt: skip
    except ProrataError as error:
        return _information(found, 400, errors=errors_of(error), values={"notice_address": entered})
    return redirect("/billing/information#notices")


@router.post("/billing/notices/remove", response_model=None)
def remove_notice(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    with suppress(ProrataError):  # removed already (a second click): the page shows the addresses as they are
        remove_notice_address(RemoveNoticeAddress(found.signed_in.account_id, str(form.get("email", ""))),
                              uow=found.app.uow, clock=found.app.clock)  # fmt: skip
    return redirect("/billing/information#notices")


# -- contacts


def _contact_values(found: Visit) -> dict[str, str]:
    with found.app.engine.connect() as conn:
        contacts = contact_views(conn, found.signed_in.account_id)
    values: dict[str, str] = {}
    for kind in ("sold_to", "bill_to"):
        contact = contacts.get(kind)
        for name in CONTACT_FIELDS:
            values[f"{kind}.{name}"] = str(getattr(contact, name) or "") if contact is not None else ""
    return values


def _contacts_form(found: Visit, values: dict[str, str], next_url: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("checkout", next_url.startswith("/checkout"))
    return render(found, "contacts.html", status, values=values, next=next_url, **context)


@router.get("/billing/contacts", response_class=HTMLResponse)
def contacts_form(request: Request, next: str = "/billing/information") -> Response:
    return contacts_page(buyer_visit(request), _safe_next(next, "/billing/information"))


def contacts_page(found: Visit, next_url: str, *, checkout: bool = False) -> Response:
    return _contacts_form(found, _contact_values(found), next_url, checkout=checkout)


def _contact(values: dict[str, str], kind: str) -> Contact:
    get = {name: values.get(f"{kind}.{name}", "").strip() for name in CONTACT_FIELDS}
    return Contact(
        name=get["name"], email=get["email"], address_line1=get["address_line1"], city=get["city"],
        postal_code=get["postal_code"], country=get["country"].upper(), company=get["company"] or None,
        phone=get["phone"] or None, address_line2=get["address_line2"] or None, region=get["region"] or None,
        tax_id=get["tax_id"] or None,
    )  # fmt: skip


def _suggestions(values: dict[str, str], prefixes: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Rule K5: per address of the form, the validator's suggestion or problems (only those that have any)."""
    found: dict[str, dict[str, Any]] = {}
    for prefix in prefixes:
        check = check_address(values.get(f"{prefix}.country", ""), values.get(f"{prefix}.address_line1", ""),
                              values.get(f"{prefix}.city", ""), values.get(f"{prefix}.postal_code", ""),
                              values.get(f"{prefix}.region", ""))  # fmt: skip
        if check.suggestion is not None or check.problems:
            # the problems named by the fields' labels, as the form shows them ("Województwo lub stan", not region)
            problems = {field_label(name): problem for name, problem in check.problems.items()}
            found[prefix] = {"suggestion": check.suggestion, "problems": problems}
    return found


def _take_suggestions(form: FormData, values: dict[str, str]) -> dict[str, str]:
    """The buyer's choice on the suggestion page: ``take`` copies the suggested fields over the entered ones."""
    for key in list(form.keys()):
        if key.startswith("choice.") and form.get(key) == "take":
            prefix = key.removeprefix("choice.")
            for name in ADDRESS_FIELDS:
                suggested = form.get(f"suggested.{prefix}.{name}")
                if isinstance(suggested, str):
                    values[f"{prefix}.{name}"] = suggested
    return values


@router.post("/billing/contacts", response_model=None)
def save_contacts(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    next_url = _safe_next(form.get("next"), "/billing/information")
    values = {f"{kind}.{name}": str(form.get(f"{kind}.{name}", "")) for kind in ("sold_to", "bill_to")
              for name in CONTACT_FIELDS}  # fmt: skip
    values = _take_suggestions(form, values)
    try:
        # rule K5: an address is suggested only once every field of both contacts is valid (rule X4, all refused at
        # once), never for input refused anyway
        check_contacts(_contact(values, "sold_to"), _contact(values, "bill_to"))
    except ProrataError as error:
        return _contacts_form(found, values, next_url, 400, errors=errors_of(error))
    if not form.get("address_checked"):
        suggestions = _suggestions(values, ("sold_to", "bill_to"))
        if suggestions:
            return render(found, "address_suggestion.html", action="/billing/contacts", values=values,
                          suggestions=suggestions, next=next_url)  # fmt: skip
    try:
        set_contacts(found.signed_in.account_id, _contact(values, "sold_to"), _contact(values, "bill_to"),
                     uow=found.app.uow, clock=found.app.clock, registry=found.app.vat_registry)  # fmt: skip
    except ProrataError as error:
        return _contacts_form(found, values, next_url, 400, errors=errors_of(error))
    return redirect(next_url)


# -- payment methods


def _payment_form(found: Visit, next_url: str, status: int = 200, **context: Any) -> Response:
    with found.app.engine.connect() as conn:
        methods = payment_method_views(conn, found.signed_in.account_id)
    context.setdefault("values", {})
    context.setdefault("checkout", next_url.startswith("/checkout"))
    gateway = found.app.gateway
    if gateway.browser_tokens:
        # PCI SAQ A: the gateway's own fields in the browser; this page never has a card number field
        context.setdefault("method", "current" if methods else "gateway")
        try:
            setup = start_setup(found.signed_in.account_id, uow=found.app.uow, clock=found.app.clock, gateway=gateway)
        except ProrataError as refused:
            setup = None
            context.setdefault("errors", {"form": message_of(refused)})
        back = f"{found.app.portal_url}/billing/payment/return?{urlencode({'next': next_url})}"
        return render(found, "payment.html", status, methods=methods, next=next_url, setup=setup,
                      browser_tokens=True, return_url=back,
                      stripe_js=getattr(getattr(gateway, "settings", None), "js_url", ""), **context)  # fmt: skip
    context.setdefault("method", "current" if methods else "card")
    return render(found, "payment.html", status, methods=methods, next=next_url, setup=None, browser_tokens=False,
                  **context)  # fmt: skip


@router.get("/billing/payment", response_class=HTMLResponse)
def payment_form(request: Request, next: str = "/billing/information") -> Response:
    return payment_page(buyer_visit(request), _safe_next(next, "/billing/information"))


def payment_page(found: Visit, next_url: str, *, checkout: bool = False) -> Response:
    return _payment_form(found, next_url, checkout=checkout)


CARD_FIELDS = ("card_number", "exp_month", "exp_year", "paypal_email", "card.address_line1", "card.city",
               "card.postal_code", "card.region", "card.country")  # fmt: skip


@router.post("/billing/payment", response_model=None)
def save_payment(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    next_url = _safe_next(form.get("next"), "/billing/information")
    method = str(form.get("method", "card"))
    entered = {name: str(form.get(name, "")) for name in CARD_FIELDS}
    values = _take_suggestions(form, dict(entered))
    same = form.get("same_as_bill_to") == "on"
    values["same_as_bill_to"] = entered["same_as_bill_to"] = "on" if same else ""
    account_id = found.signed_in.account_id
    suggested = bool(form.get("address_checked"))  # sent from the address suggestion page
    own: BillingAddress | None = None
    try:
        if method == "current":
            return redirect(next_url)
        if method == "gateway":  # saved at the gateway by its script; only the SetupIntent's id comes here
            add_saved_method(account_id, setup_intent=str(form.get("setup_intent") or "") or None,
                             uow=found.app.uow, clock=found.app.clock, gateway=found.app.gateway)  # fmt: skip
            return redirect(next_url)
        if method == "paypal":
            add_paypal(AddPayPal(account_id, values["paypal_email"].strip()), uow=found.app.uow,
                       clock=found.app.clock, gateway=found.app.gateway)  # fmt: skip
            return redirect(next_url)
        own = None if same else BillingAddress(  # rule K4: the card's own billing address
            values["card.address_line1"].strip(), values["card.city"].strip(), values["card.postal_code"].strip(),
            values["card.country"].strip().upper(), region=values.get("card.region", "").strip() or None,
        )  # fmt: skip
        month, year = _whole(values["exp_month"]), _whole(values["exp_year"])
        # rules X4, K5: the card and its address are checked together, and an address is suggested only once all
        # of them are valid
        check_new_card(values["card_number"], month, year, own, found.app.clock.now().date())
        if own is not None and not suggested:
            suggestions = _suggestions(values, ("card",))
            if suggestions:
                return render(found, "address_suggestion.html", action="/billing/payment", values=values,
                              suggestions=suggestions, next=next_url, method=method)  # fmt: skip
        add_card(AddCard(account_id, values["card_number"], month, year, own), uow=found.app.uow,
                 clock=found.app.clock, gateway=found.app.gateway)  # fmt: skip
    except ProrataError as error:
        errors = {"gateway": message_of(error)} if method == "gateway" else errors_of(error)
        if suggested and own is not None and set(errors) == {"card_number"}:
            again = _card_number_again(found, entered, errors, next_url, method)
            if again is not None:
                return again
        values["card_number"] = ""  # rule Y2: a card number is never sent back, not even to its owner
        return _payment_form(found, next_url, 400, values=values, method=method, errors=errors)
    return redirect(next_url)


def _card_number_again(
    found: Visit, entered: dict[str, str], errors: dict[str, str], next_url: str, method: str
) -> Response | None:
    """The address suggestion page again when only the card number, entered anew there, is wrong; an empty one is
    told why it is asked for again (rule Y2: it is never sent back)."""
    suggestions = _suggestions(entered, ("card",))
    if not suggestions:
        return None
    if not entered["card_number"].strip():
        errors = {"card_number": i18n.gettext_(
            "%(field)s: enter the card number again. It is never kept or sent back to the browser, so no page can "
            "fill it in for you.", field=field_label("card_number"))}  # fmt: skip
    values = {**entered, "card_number": ""}
    return render(found, "address_suggestion.html", 400, action="/billing/payment", values=values,
                  suggestions=suggestions, next=next_url, method=method, errors=errors)  # fmt: skip


def _whole(text: str) -> int:
    """A whole number as typed; anything else is 0, which the card check refuses as no month or year (rule Y2)."""
    try:
        return int(text.strip())
    except ValueError:
        return 0


@router.get("/billing/payment/return", response_model=None)
def payment_return(request: Request, setup_intent: str = "", next: str = "/billing/information") -> Response:
    """Where the gateway sends the customer back after a method that leaves the page to be approved (PayPal, a bank's
    own page): what the SetupIntent saved is read from the gateway, never taken from the address."""
    found = buyer_visit(request)
    next_url = _safe_next(next, "/billing/information")
    try:
        add_saved_method(found.signed_in.account_id, setup_intent=setup_intent or None, uow=found.app.uow,
                         clock=found.app.clock, gateway=found.app.gateway)  # fmt: skip
    except ProrataError as error:
        return _payment_form(found, next_url, 400, errors={"form": message_of(error)})
    return redirect(next_url)


@router.post("/billing/payment/{method_id}/remove", response_model=None)
def remove_method(request: Request, method_id: RowId, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    with suppress(ProrataError):  # already removed (a second click): the page shows the methods as they are
        remove_payment_method(found.signed_in.account_id, method_id, uow=found.app.uow, clock=found.app.clock)
    return redirect("/billing/information")
