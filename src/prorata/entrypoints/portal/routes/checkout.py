"""The cart and the checkout (rules K1-K8, C6, L5, X3, DC1): "Interested in other products?", contacts and payment
method (in ``billing_info``), Terms of Service, the order summary with every line priced as it will be invoiced,
Confirm / Place order, and the confirmation that links to license assignment. The cart and the summary have "Add
Discount": a code checked when it is entered, kept with the cart (``basket``), its lines shown before tax, and placed
with the order.

The summary is priced by ``preview_order`` and the order placed by ``place_order`` on the same cart: the amounts
shown are the amounts invoiced (C6). The summary carries an idempotency key made when it was shown, so a double
submit places one order and charges once (X3).
"""

from __future__ import annotations

import re
import secrets
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from prorata.adapters.db.queries import (
    account_view,
    contact_views,
    payment_method_views,
    subscription_views,
    user_views,
)
from prorata.adapters.db.terms_store import terms_of
from prorata.domain.cart import AddAddon, Change, ChangeAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.catalog import Catalog, ProductKind, Unit
from prorata.domain.discounts import normalise_code
from prorata.domain.engine import addon_offers
from prorata.domain.errors import ProrataError
from prorata.domain.invoice_lines import Quote
from prorata.domain.periods import Granularity
from prorata.entrypoints.portal import basket, i18n, order_view, returning, trial_offer
from prorata.entrypoints.portal.pages import Form, RowId, Visit, buyer_visit, posted, redirect, render
from prorata.entrypoints.portal.refusals import failure_text, message_of
from prorata.entrypoints.portal.routes import billing_info
from prorata.entrypoints.portal.routes.billing import locked_reason, try_cart
from prorata.services.place_order import PlaceOrder, place_order

router = APIRouter()

TERMS_VERSION = returning.TERMS_VERSION


def describe(
    change: Change,
    catalog: Catalog,
    language: str,
    held: dict[str, str] | None = None,
    quantities: dict[str, int] | None = None,
) -> str:
    """A cart item in words, for the cart and the summary; ``held`` names the product of each subscription and
    ``quantities`` its quantity now (an item that leaves it as it is withdraws its scheduled change, rule L6)."""
    _ = i18n.gettext_
    data = basket.item_of(change)
    kind = str(data["type"])
    held = held or {}
    quantities = quantities or {}
    code = data.get("product") or held.get(str(data.get("subscription")), "")
    if not code and data.get("subscription") is None:  # a change without a target is the plan's
        code = next((p for p in held.values() if p in catalog.products and catalog.products[p].is_plan), "")
    product = catalog.products.get(code)
    name = product.name(language) if product is not None else ""
    interval = {"month": _("monthly"), "year": _("yearly")}.get(str(data.get("interval")), "")
    plan_id = next((i for i, p in held.items() if p in catalog.products and catalog.products[p].is_plan), None)
    if (  # the plan as it is, its total as it is, an add-on left as it is: the scheduled change is withdrawn
        (kind == "ChangePlan" and data["licenses"] is None and data["interval"] is None and plan_id is not None
         and held[plan_id] == code)
        or (kind == "SetLicenses" and data["subscription"] is None and quantities.get(plan_id or "") == data["total"])
        or (kind == "ChangeAddon" and data["quantity"] is None and data["product"] is None)
    ):  # fmt: skip
        return _("Withdrawal of the scheduled change: %(name)s", name=name)
    if kind == "ChangePlan":
        said = _("%(name)s: %(licenses)s, %(interval)s", name=name,
                 licenses=i18n.ngettext_("%(num)d license", "%(num)d licenses", data["licenses"] or 0),
                 interval=interval)  # fmt: skip
        if data.get("trial") and product is not None:  # rule TR1
            said += ", " + i18n.ngettext_("%(num)d-day free trial", "%(num)d-day free trial", product.trial_days)
        return said
    if kind == "SetLicenses":
        return i18n.ngettext_("Licenses: new total %(num)d license", "Licenses: new total %(num)d licenses",
                              data["total"])  # fmt: skip
    if kind == "ChangeInterval":
        return _("Billing: %(interval)s", interval=interval)
    if kind == "AddAddon":
        seats = i18n.seats(product, int(data["quantity"]))
        if product is not None and product.kind is ProductKind.ONE_TIME_MONTH:  # rule A8
            return _("%(name)s: %(seats)s, one calendar month, does not renew", name=name, seats=seats)
        return _("%(name)s: %(seats)s, %(interval)s", name=name, seats=seats, interval=interval)
    if kind == "ChangeAddon":
        if data.get("quantity") is None:
            return _("Add-on change: %(name)s", name=name)
        target = catalog.products.get(str(data.get("product") or code))
        return _("Add-on change: %(name)s: %(seats)s", name=name, seats=i18n.seats(target, int(data["quantity"])))
    if kind == "Cancel":  # rules D1, D2
        if data.get("with_addons"):
            addons = ", ".join(catalog.products[p].name(language) for p in held.values()
                               if p in catalog.products and catalog.products[p].kind is ProductKind.ADDON)  # fmt: skip
            return _("Cancellation at the end of the billing period: %(name)s and its add-ons (%(addons)s)",
                     name=name, addons=addons)  # fmt: skip
        return _("Cancellation at the end of the billing period: %(name)s", name=name)
    if kind == "Reactivate":
        return _("Reactivation: %(name)s", name=name)
    return kind


def _held(found: Visit) -> tuple[dict[str, str], dict[str, int]]:
    """The product and the quantity of each subscription the account holds, by its id as a cart names it."""
    with found.app.engine.connect() as conn:
        subs = subscription_views(conn, found.signed_in.account_id)
    return {str(s.id): s.product for s in subs}, {str(s.id): s.quantity for s in subs}


def _items(found: Visit, changes: tuple[Change, ...]) -> list[str]:
    held, quantities = _held(found)
    return [describe(c, found.app.catalog, found.language, held, quantities) for c in changes]


def _checkout_ready(found: Visit) -> tuple[Change, ...]:
    changes = basket.changes_of(found.signed_in.state)
    if not changes:
        raise HTTPException(status_code=303, headers={"Location": "/billing"})
    return changes


def _cart_page(found: Visit, status: int = 200, **context: Any) -> Response:
    changes = basket.changes_of(found.signed_in.state)
    priced, error = None, None
    if changes:
        try:
            priced, refused_code = basket.priced(found, changes)
        except ProrataError as refusal:
            error = message_of(refusal)
        else:
            if refused_code is not None:
                context.setdefault("discount_error", message_of(refused_code))
    items = _items(found, changes)
    return render(found, "cart.html", status, items=items, quote=priced, error=error, **_priced(found, priced),
                  **_discount(found, "cart", context))  # fmt: skip


def _discount(found: Visit, back: str, context: dict[str, Any]) -> dict[str, Any]:
    """What "Add Discount" shows (rule DC1): the code kept with the cart, or the field with what was typed and why
    it was refused; ``back`` is the page the form returns to (the cart or the summary)."""
    return {"discount": basket.discount_of(found.signed_in.state), "discount_back": back,
            "discount_error": context.pop("discount_error", None),
            "discount_typed": context.pop("discount_typed", ""), **context}  # fmt: skip


@router.get("/cart", response_class=HTMLResponse)
def cart(request: Request) -> Response:
    return _cart_page(buyer_visit(request))


def _back(form: Form) -> str:
    return "summary" if form.get("back") == "summary" else "cart"


@router.post("/cart/discount", response_model=None)
def add_discount(request: Request, form: Form) -> Response:
    """Rule DC1: "Add Discount". The code is checked at once with the cart (``preview_order`` with the code, as
    placing the order checks it) and kept with the cart; a refused code is said beside the field and nothing
    changes (rule X4)."""
    found = posted(request, form, buyer=True)
    back = _back(form)
    changes = basket.changes_of(found.signed_in.state)
    page = "/checkout/summary" if back == "summary" else "/cart"
    if not changes:
        return redirect("/cart")  # a code goes with an order: an empty cart has none
    typed = form.get("discount_code")
    try:
        code = normalise_code(typed)
        basket.preview(found, changes, code)
    except ProrataError as refusal:
        if not basket.refuses_code(refusal):
            return redirect(page)  # the cart itself is refused now: its page says why
        shown = typed[:64] if isinstance(typed, str) else ""
        refused = {"discount_error": message_of(refusal), "discount_typed": shown}
        return _summary(found, 400, **refused) if back == "summary" else _cart_page(found, 400, **refused)
    basket.keep_discount(found, code)
    return redirect(page)


@router.post("/cart/discount/remove", response_model=None)
def remove_discount(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    if basket.discount_of(found.signed_in.state) is not None:  # else removed already (a second click)
        basket.keep_discount(found, None)
    return redirect("/checkout/summary" if _back(form) == "summary" else "/cart")


@router.post("/cart/remove", response_model=None)
def remove_item(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    changes = list(basket.changes_of(found.signed_in.state))
    with suppress(ValueError, IndexError):  # already removed (a second click)
        del changes[int(str(form.get("item", "")))]
    basket.store(found, tuple(changes))
    return redirect("/cart")


@router.get("/checkout/products", response_class=HTMLResponse)
def other_products(request: Request) -> Response:
    """K1 step: "Interested in other products?" with the add-ons the account could hold after this cart."""
    found = buyer_visit(request)
    changes = _checkout_ready(found)
    try:
        leaves = basket.preview(found, changes).account
    except ProrataError as refusal:
        return _refused(found, changes, refusal)
    in_cart = {getattr(c, "product", None) for c in changes}
    offers = [p for p in addon_offers(leaves, found.app.catalog) if p.code not in in_cart]
    items = _items(found, changes)
    now = returning.standing(found)
    next_step = returning.CONTACTS if not now.ready else returning.SUMMARY if now.terms_at else returning.TERMS
    return render(found, "products.html", offers=offers, items=items, skipped=now.skipped, next_step=next_step)


def _terms_skipped(found: Visit) -> tuple[str, ...]:
    """On the Terms step, a returning buyer's stepper leaves out the contacts and payment steps it did not walk."""
    return ("contacts", "payment") if returning.standing(found).ready else ()


@router.get("/checkout/terms", response_class=HTMLResponse)
def terms(request: Request) -> Response:
    found = buyer_visit(request)
    changes = _checkout_ready(found)
    return render(found, "terms.html", upgrade=any(isinstance(c, ChangePlan) for c in changes),
                  skipped=_terms_skipped(found))  # fmt: skip


@router.post("/checkout/terms", response_model=None)
def accept_terms(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    changes = _checkout_ready(found)
    if form.get("terms") != "on":
        return render(found, "terms.html", 400, upgrade=any(isinstance(c, ChangePlan) for c in changes),
                      errors={"terms": i18n.gettext_("Accept the Terms of Service to place the order.")},
                      skipped=_terms_skipped(found))  # fmt: skip
    found.signed_in.state["terms"] = TERMS_VERSION  # rule K6: recorded on the order when it is placed
    found.save()
    return redirect("/checkout/summary")


def _lines(found: Visit, priced: Quote | None) -> list[dict[str, Any]]:
    if priced is None:
        return []
    seconds = found.app.catalog.granularity is Granularity.SECOND
    catalog = found.app.catalog
    zone = priced.account.time_zone
    return [
        {
            "text": i18n.line_text(
                line.kind.value,
                catalog.products[line.product].name(found.language),
                line.quantity,
                line.used,
                line.whole,
                seconds,
                product=catalog.products[line.product],
                discount=line.discount,  # rule DC2: a discount line names its code
            ),
            "start": line.period.start,
            "end": line.period.end,
            # rules C3, I5: first and last day included, as the invoice, its PDF and the e-mails write it
            "period": i18n.service_period(line.period.start, line.period.end, zone, catalog.granularity),
            "amount": line.amount,
            "kind": line.kind.value,
            # rule A8: a one-month product says, on its line, that it ends and does not renew
            "note": i18n.gettext_("Does not renew — ends %(date)s", date=i18n.day(line.period.end, zone))
            if catalog.products[line.product].kind is ProductKind.ONE_TIME_MONTH and line.kind.value == "charge"
            else "",
        }
        for line in priced.lines
    ]


def _priced(found: Visit, priced: Quote | None) -> dict[str, Any]:
    """The lines, the totals and the scheduled changes of a quote, as the cart and the summary show them alike."""
    if priced is None:
        return {"lines": [], "figures": None, "scheduled": [], "interval_switch": False, "trial_end": None}
    scheduled = order_view.scheduled_items(order_view.scheduled_data(priced), found.app.catalog, found.language,
                                           priced.account.time_zone)  # fmt: skip
    changes = basket.changes_of(found.signed_in.state)
    switch = any(isinstance(c, ChangeInterval) for c in changes)  # rules C1, C2
    return {"lines": _lines(found, priced), "figures": order_view.totals_of(priced), "scheduled": scheduled,
            "interval_switch": switch, "trial_end": trial_offer.ends(priced, changes)}  # fmt: skip


def _refused(found: Visit, changes: tuple[Change, ...], refusal: ProrataError) -> Response:
    """A cart the engine refuses (the account changed since it was filled): the cart with the reason, no totals."""
    return render(found, "cart.html", 400, items=_items(found, changes), quote=None, error=message_of(refusal),
                  **_priced(found, None), **_discount(found, "cart", {}))  # fmt: skip


def _summary(found: Visit, status: int = 200, **context: Any) -> Response:
    changes = _checkout_ready(found)
    state = found.signed_in.state
    now = returning.standing(found)  # rule K2: a returning buyer reviews rather than walks the steps
    standing = now.terms_at
    if state.get("terms") != TERMS_VERSION and standing is None:
        return redirect("/checkout/terms")
    try:
        priced, refused_code = basket.priced(found, changes)
    except ProrataError as refusal:
        return _refused(found, changes, refusal)
    if refused_code is not None:
        context.setdefault("discount_error", message_of(refused_code))
    code = basket.discount_of(state)
    summary = state.get("summary") or {}
    if summary.get("cart") != state["cart"] or summary.get("discount") != code:
        # a fresh key for this cart and code: a second submit of this summary is the same order (rule X3)
        summary = {"key": secrets.token_urlsafe(16), "cart": state["cart"], "discount": code}
        state["summary"] = summary
        found.save()
    with found.app.engine.connect() as conn:
        contacts = contact_views(conn, found.signed_in.account_id)
        methods = payment_method_views(conn, found.signed_in.account_id)
        terms_days = terms_of(conn, found.signed_in.account_id)  # rule NT1
    items = _items(found, changes)
    held, _quantities = _held(found)
    editable = [_editable(found.app.catalog, c, held) for c in changes]
    accepted_now = state.get("terms") == TERMS_VERSION
    return render(found, "summary.html", status, quote=priced, items=items, **_priced(found, priced),
                  contacts=contacts, method=next((m for m in methods if m.is_default), None), key=summary["key"],
                  upgrade=any(isinstance(c, ChangePlan) for c in changes), editable=editable,
                  skipped=now.skipped, standing=None if accepted_now else standing,
                  terms_version=TERMS_VERSION, terms_days=terms_days,
                  **_discount(found, "summary", context))  # fmt: skip


@dataclass(frozen=True)
class Editable:
    """A cart item whose count the summary lets the buyer change in place, re-priced at once (the live preview)."""

    field: str  # the change's attribute: ``licenses``, ``total`` or ``quantity``
    value: int
    minimum: int
    maximum: int | None
    seats: bool  # an add-on's seats rather than the plan's licenses


def _editable(catalog: Catalog, change: Change, held: dict[str, str]) -> Editable | None:
    """The count of a plan change, a new license total, a new add-on or an add-on's new seats; ``held`` names the
    product of each subscription the account holds."""
    plan = next((code for code in held.values() if code in catalog.products and catalog.products[code].is_plan), "")
    if isinstance(change, ChangePlan) and change.licenses is not None:
        code, field, value = change.product, "licenses", change.licenses
    elif isinstance(change, SetLicenses) and change.subscription is None:
        code, field, value = plan, "total", change.total
    elif isinstance(change, AddAddon):
        code, field, value = change.product, "quantity", change.quantity
    elif isinstance(change, ChangeAddon) and change.quantity is not None:
        code, field, value = change.product or held.get(change.subscription, ""), "quantity", change.quantity
    else:
        return None
    product = catalog.products.get(code)
    if product is None or product.unit is Unit.PER_ACCOUNT:
        return None
    return Editable(field, value, product.min_quantity, product.max_quantity, seats=not product.is_plan)


@router.get("/checkout/summary", response_class=HTMLResponse)
def order_summary(request: Request) -> Response:
    return _summary(buyer_visit(request))


_COUNT = re.compile(r"\s*([0-9]{1,6})\s*")


def _count(value: object) -> int:
    """A whole number sent by a form (ASCII digits, six at most), or -1 for anything else."""
    matched = _COUNT.fullmatch(value) if isinstance(value, str) else None
    return int(matched.group(1)) if matched else -1


@router.post("/checkout/summary/quantity", response_model=None)
def change_quantity(request: Request, form: Form) -> Response:
    """The live preview: a count changed on the summary replaces its cart item and the summary is priced again, with
    a new key, so the order placed is always the one shown (rule C6). A count the engine refuses leaves the cart as
    it was and says why beside the item (rule X4)."""
    found = posted(request, form, buyer=True)
    changes = _checkout_ready(found)
    position, wanted = _count(form.get("item")), _count(form.get("value"))
    held, _quantities = _held(found)
    editable = _editable(found.app.catalog, changes[position], held) if 0 <= position < len(changes) else None
    if editable is None:
        return redirect("/checkout/summary")
    if wanted < 1:
        message = (i18n.gettext_("Enter a whole number of seats.") if editable.seats else
                   i18n.gettext_("Enter the new total number of licenses."))  # fmt: skip
        return _summary(found, 400, item_errors={position: message})
    counted: Change = replace(cast(Any, changes[position]), **{editable.field: wanted})
    edited = (*changes[:position], counted, *changes[position + 1 :])
    refusal = try_cart(found, edited)
    if refusal is not None:
        return _summary(found, 400, item_errors={position: message_of(refusal)})
    return redirect("/checkout/summary")


@router.post("/checkout/place", response_model=None)
def place(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    state = found.signed_in.state
    key = str(form.get("key", ""))
    placed = state.setdefault("placed", {})
    summary = state.get("summary") or {}
    if key in placed:  # a double submit: the first answer again (place_order would replay it too)
        return redirect(f"/checkout/done/{placed[key]['order']}")
    if not key or summary.get("key") != key:
        return redirect("/checkout/summary")
    session = found.signed_in
    changes = basket.changes_of({"cart": summary["cart"]})
    code = summary.get("discount")  # rule DC1: the code the summary was priced with applies to the order
    try:
        before = basket.preview(found, changes, code)  # rule L5: what this order buys, to assign afterwards
        # rule K6: the Terms accepted on this visit, or by the account's earlier order and shown on the summary
        accepted = state.get("terms") == TERMS_VERSION or returning.standing_terms(found) is not None
        result = place_order(
            PlaceOrder(session.account_id, changes, key, actor=session.email, role=session.role,
                       actor_user_id=session.user_id, terms_version=TERMS_VERSION if accepted else None,
                       terms_accepted=accepted, discount_code=code),
            uow=found.app.uow, clock=found.app.clock, gateway=found.app.gateway, catalog=found.app.catalog,
            tax=found.app.tax,
        )  # fmt: skip
    except ProrataError as refusal:
        return _summary(found, 400, failure=message_of(refusal))
    if result.status == "action_required" and result.payment_id is not None:
        # the bank asks the buyer to confirm the payment (3-D Secure): the order waits for it, nothing is applied
        for name in ("cart", "summary", "terms", basket.DISCOUNT):
            state.pop(name, None)
        found.save()
        return redirect(f"/billing/payments/{result.payment_id}/confirm")
    if result.status != "placed":
        # rule K7: update billing information, then the payment method; nothing changed (K8)
        reason = failure_text(result.failure_code)
        state.pop("summary", None)  # a new attempt is a new order, with a new key
        found.save()
        return _summary(found, 402, failure=reason, payment_failed=True)
    priced_to_assign = [(code, count) for _sub, code, count in before.to_assign]
    # what the confirmation says, priced as the order was (rule C6): its figures, what it scheduled or withdrew
    placed[key] = {"order": result.order_id, "invoice": result.invoice_number, "invoice_id": result.invoice_id,
                   "amount": result.amount_due, "to_assign": priced_to_assign,
                   "figures": order_view.totals_data(order_view.totals_of(before)),
                   "scheduled": order_view.scheduled_data(before), "zone": before.account.time_zone,
                   "trial_end": (end := trial_offer.ends(before, changes)) and end.isoformat(),
                   "discounts": order_view.discounts_data(before)}  # fmt: skip
    for old in list(placed)[:-10]:  # the last orders are enough to answer a double submit
        del placed[old]
    for name in ("cart", "summary", "terms", basket.DISCOUNT):
        state.pop(name, None)
    found.save()
    return redirect(f"/checkout/done/{result.order_id}")


@router.get("/checkout/done/{order_id}", response_class=HTMLResponse)
def confirmation(request: Request, order_id: RowId) -> Response:
    found = buyer_visit(request)
    placed = found.signed_in.state.get("placed", {})
    order = next((o for o in placed.values() if o["order"] == order_id), None)
    if order is None:
        raise HTTPException(status_code=404)
    account_id = found.signed_in.account_id
    with found.app.engine.connect() as conn:
        account = account_view(conn, account_id)
        subs, people = subscription_views(conn, account_id), user_views(conn, account_id)
    assert account is not None
    zone = order.get("zone", account.time_zone)
    scheduled = order_view.scheduled_items(order.get("scheduled", []), found.app.catalog, found.language, zone)
    figures = order_view.totals_from(order["figures"]) if "figures" in order else None
    trial_end = datetime.fromisoformat(order["trial_end"]) if order.get("trial_end") else None  # rule TR1
    return render(found, "confirmation.html", order=order, account=account, catalog=found.app.catalog,
                  locked=locked_reason(account), figures=figures, scheduled=scheduled, trial_end=trial_end,
                  discounts=order.get("discounts", []),
                  title=_confirmation_title(order, scheduled),
                  unassign=order_view.unassign_notes(scheduled, subs, people, found.language, zone))  # fmt: skip


def _confirmation_title(order: dict[str, Any], scheduled: list[order_view.ScheduledItem]) -> str:
    """What the order did, in a few words: a purchase, a change for the term end, or both (rules L3, P5, D1)."""
    _ = i18n.gettext_
    waiting = any(item.action == "scheduled" for item in scheduled)
    if order.get("invoice"):
        if waiting:
            return _("Your purchase is complete, and a change is scheduled for the end of the billing period")
        if scheduled:
            return _("Your purchase is complete, and a scheduled change is withdrawn")
        return _("Your purchase is complete")
    if waiting:
        return _("Your change is scheduled for the end of the billing period")
    if scheduled:
        return _("Your scheduled change is withdrawn")
    return _("Your order is placed")


@router.get("/checkout/contacts", response_class=HTMLResponse)
def checkout_contacts(request: Request) -> Response:
    """K1 step: Sold-To and Bill-To contacts, then the payment method."""
    found = buyer_visit(request)
    _checkout_ready(found)
    # a returning buyer came here with "Edit" from the summary, and goes back to it (rule K2); an account on
    # invoice terms is not asked for a card (rule NT1)
    after = returning.SUMMARY if returning.standing(found).ready else (
        "/checkout/terms" if _on_terms(found) else "/checkout/payment")  # fmt: skip
    return billing_info.contacts_page(found, after, checkout=True)


@router.get("/checkout/payment", response_class=HTMLResponse)
def checkout_payment(request: Request) -> Response:
    """K1 step: the payment method (card or PayPal), then the Terms of Service."""
    found = buyer_visit(request)
    _checkout_ready(found)
    after = returning.SUMMARY if returning.standing(found).ready else "/checkout/terms"
    if _on_terms(found):
        return redirect(after)  # rule NT1: paid by bank transfer, no card asked for
    return billing_info.payment_page(found, after, checkout=True)


def _on_terms(found: Visit) -> bool:
    with found.app.engine.connect() as conn:
        return terms_of(conn, found.signed_in.account_id) is not None
