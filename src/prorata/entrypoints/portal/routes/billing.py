"""Account Management -> Billing, tab Current Plans: the next invoice and the credit balance, the plan card, Edit
current plan, Upgrade Account, each add-on with its own Edit, cancel and reactivate, every scheduled change with its
date and its withdrawal, "Interested in other plans?", and the discount the account holds with "Add Discount" for a
code that applies from the next billing date (rules P1, P3, P4, L1, L3, L6, A1, A3, A4, C7, D1, D2, I6, I7, DC1,
DC2).

Every form here puts a change into the cart, after pricing the whole cart: a refusal is shown beside the field and
the cart stays as it was (rule X4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from prorata.adapters.db.queries import (
    AccountView,
    SubscriptionView,
    account_head,
    account_view,
    subscription_views,
    subscription_views_in,
)
from prorata.domain.account import Account
from prorata.domain.cart import (
    AddAddon,
    Cancel,
    Change,
    ChangeAddon,
    ChangeInterval,
    ChangePlan,
    Reactivate,
    SetLicenses,
)
from prorata.domain.catalog import Product, ProductKind, Unit
from prorata.domain.engine import addon_offers
from prorata.domain.errors import ProrataError
from prorata.domain.periods import Interval
from prorata.domain.tax import TaxDecision
from prorata.entrypoints.portal import basket, discount_view, i18n, order_view, returning, trial_offer
from prorata.entrypoints.portal.pages import Form, RowId, Visit, buyer_visit, member_visit, posted, redirect, render
from prorata.entrypoints.portal.refusals import errors_of, message_of
from prorata.services.discounts import RedeemDiscount, redeem_discount
from prorata.services.next_invoice import next_invoice_of
from prorata.services.renew_account import RenewAccount, period_ended, renew_account
from prorata.services.taxation import tax_decision_for

router = APIRouter()


@dataclass(frozen=True)
class Holding:
    """A subscription as the plan card shows it."""

    view: SubscriptionView
    product: Product
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.unit_amount * self.view.quantity

    @property
    def cancelling(self) -> bool:
        """Cancelled at the period end (rule D1): it can be reactivated until then."""
        return any(p.kind == "cancel" for p in self.view.pending)

    @property
    def renews(self) -> bool:
        """Whether it renews, so can be cancelled: a one-month product ends by itself (rule A8)."""
        return self.product.kind is not ProductKind.ONE_TIME_MONTH


def locked_reason(account: AccountView, retired: Sequence[SubscriptionView] = ()) -> str | None:
    """Rules I6, I7: why editing and buying are disabled, or None. ``retired``: subscriptions to products the
    catalog no longer has; the engine cannot price such an account, so only its account manager can change it."""
    if account.status == "overdue":
        return "I6"
    if account.managed_by_sales:
        return "I7"
    if retired:
        return "retired"
    return None


def cancels_at(found: Visit, account: AccountView) -> datetime | None:
    """Rule I8: when an overdue account's subscriptions end unless it pays, by the installation's schedule."""
    if account.status != "overdue" or account.overdue_since is None:
        return None
    return found.app.dunning.cancels_at(account.overdue_since)


def holdings(found: Visit) -> tuple[AccountView, Holding | None, list[Holding]]:
    account, plan, addons, _retired = holdings_and_retired(found)
    return account, plan, addons


def holdings_and_retired(found: Visit) -> tuple[AccountView, Holding | None, list[Holding], list[SubscriptionView]]:
    """The account, its plan and add-ons, and the subscriptions to products its catalog no longer has (shown as
    they are, with no action: the billing run lists such an account for the operator)."""
    with found.app.engine.connect() as conn:
        account = account_view(conn, found.signed_in.account_id)
        subs = subscription_views(conn, found.signed_in.account_id)
    assert account is not None
    return _held(found, account, subs)


def _held(
    found: Visit, account: AccountView, subs: Sequence[SubscriptionView]
) -> tuple[AccountView, Holding | None, list[Holding], list[SubscriptionView]]:
    catalog = found.app.catalog
    plan, addons, retired = None, [], []
    for sub in subs:
        product = catalog.products.get(sub.product)
        if product is None:
            retired.append(sub)
            continue
        held = Holding(sub, product, product.prices.get((Interval(sub.interval), account.currency), 0))
        if product.is_plan:
            plan = held
        else:
            addons.append(held)
    return account, plan, addons, retired


@dataclass(frozen=True)
class Standing:
    """The account as Current Plans shows it, read in one transaction of three statements: as the engine sees it
    (subscriptions, pending changes, assigned licenses, credit balance; the add-on offers and the next invoice are
    computed from it), its tax decision, and its own row."""

    account: Account
    rate: TaxDecision
    view: AccountView


def standing(found: Visit) -> Standing:
    """The signed-in account, renewed first when its period has ended (rule C7), as ``member_visit`` renews it: the
    read that finds it due is the one the page shows, so an account not due costs no read of its own."""
    app, account_id = found.app, found.signed_in.account_id
    read = _read_standing(found)
    if period_ended(read.account, app.clock.now()) is not None:
        renew_account(RenewAccount(account_id, f"portal:{found.signed_in.email}"), uow=app.uow, clock=app.clock,
                      catalog=app.catalog, tax=app.tax)  # fmt: skip
        read = _read_standing(found)
    return read


def _read_standing(found: Visit) -> Standing:
    app, account_id = found.app, found.signed_in.account_id
    with app.uow() as tx:
        account = tx.load_account(account_id, lock=False)
        head = account_head(tx.conn, account_id, account.credit_balance)
    assert head is not None  # the account was read just above
    view, buyer = head
    return Standing(account, tax_decision_for(buyer, app.tax), view)  # taxed as the billing run taxes it (rule T1)


def _next_invoice(found: Visit, read: Standing, held: list[Holding]) -> dict[str, Any] | None:
    """Rule C7: the renewal the billing run will invoice next, priced by the run's own code, and what changes then."""
    app = found.app
    coming = next_invoice_of(read.account, app.catalog, read.rate)
    if coming is None:
        return None
    quantities = {str(h.view.id): h.view.quantity for h in held}
    changes = order_view.scheduled_items(order_view.changes_data(coming.changes, quantities), app.catalog,
                                         found.language, read.view.time_zone)  # fmt: skip
    return {"date": coming.billing_date, "figures": order_view.totals_of(coming.renewal), "changes": changes,
            "renews": bool(coming.renewal.lines)}  # fmt: skip


def _page(found: Visit, status: int = 200, **context: Any) -> Response:
    """Current Plans as it stands; ``errors`` keyed ``sub-<id>`` go to that subscription's card. With the session's
    read, three statements whatever the account holds (``standing``)."""
    read = standing(found)
    account, plan, addons, retired = _held(found, read.view, subscription_views_in(read.account))
    held = [plan, *addons] if plan is not None else addons
    offers = [] if retired else addon_offers(read.account, found.app.catalog)
    # rule TR1: a plan in its free trial has been charged nothing for its period, which the trial is
    trial_until = next((s.period.end for s in read.account.subscriptions
                        if not s.charges and found.app.catalog.products[s.product].is_plan), None)  # fmt: skip
    locked = locked_reason(account, retired)
    # rules DC1, DC2: the discount held, and "Add Discount" for a code from the next billing date (buyers only)
    held_discount = discount_view.held_discount(read.account.discount, account.currency, found.app.catalog,
                                                found.language, account.time_zone, found.app.clock.now())  # fmt: skip
    next_billing = plan.view.period_end if plan is not None and not plan.product.free else None
    may_add = found.is_buyer and not locked and discount_view.may_add(read.account.discount, next_billing)
    context.setdefault("discount_typed", "")
    return render(found, "current_plans.html", status, account=account, plan=plan, addons=addons, retired=retired,
                  offers=offers, trial_until=trial_until, locked=locked, catalog=found.app.catalog,
                  cancels_at=cancels_at(found, account), coming=None if retired else _next_invoice(found, read, held),
                  held_discount=held_discount, next_billing=next_billing, may_add_discount=may_add,
                  **context)  # fmt: skip


@router.get("/billing", response_class=HTMLResponse)
def current_plans(request: Request) -> Response:
    return _page(member_visit(request, renew=False))  # the page renews the account itself (``standing``)


@router.post("/billing/discount", response_model=None)
def add_discount(request: Request, form: Form) -> Response:
    """Rule DC1: a code entered on Current Plans, without an order, applies from the next billing date; the owner or
    an admin only (rule P6). A refused code is said beside the field and nothing changes (rule X4)."""
    found = posted(request, form, buyer=True)
    _guard(found)
    typed = form.get("discount_code")
    code = typed if isinstance(typed, str) else ""
    session = found.signed_in
    try:
        redeem_discount(RedeemDiscount(session.account_id, code, actor=session.email, role=session.role),
                        uow=found.app.uow, clock=found.app.clock, catalog=found.app.catalog)  # fmt: skip
    except ProrataError as error:
        return _page(found, 400, errors={"discount_code": message_of(error)}, discount_typed=code[:64])
    return redirect("/billing#discount")


def _number(form: FormData, name: str) -> int | None:
    try:
        return int(str(form.get(name, "")).strip())
    except ValueError:
        return None


def _interval(form: FormData) -> Interval | None:
    value = str(form.get("interval", ""))
    return Interval(value) if value in {i.value for i in Interval} else None


def try_cart(found: Visit, changes: tuple[Change, ...]) -> ProrataError | None:
    """Price the cart as it would be; keep it only when the engine accepts it (rule X4)."""
    try:
        basket.preview(found, changes)
    except ProrataError as error:
        return error
    basket.store(found, changes)
    return None


def _guard(found: Visit) -> tuple[AccountView, Holding | None, list[Holding]]:
    account, plan, addons, retired = holdings_and_retired(found)
    if locked_reason(account, retired) is not None:
        raise HTTPException(status_code=303, headers={"Location": "/billing"})
    return account, plan, addons


# -- Upgrade Account (rules P1, P3, P4)


@router.get("/billing/upgrade", response_class=HTMLResponse)
def upgrade_account(request: Request) -> Response:
    found = buyer_visit(request)
    account, plan, _addons = _guard(found)
    catalog = found.app.catalog
    current_rank = plan.product.rank if plan is not None else 0
    plans = [p for p in catalog.plans() if not p.free]
    suggested = [catalog.products[c] for c in plan.product.suggest_addons] if plan is not None else []
    return render(found, "upgrade.html", account=account, plan=plan, plans=plans, current_rank=current_rank,
                  suggested=suggested, trial_open=trial_offer.may_start(found, plan is not None))  # fmt: skip


def _plan_form(found: Visit, code: str, status: int = 200, **context: Any) -> Response:
    account, plan, _addons = _guard(found)
    product = found.app.catalog.products.get(code)
    if product is None or not product.is_plan or product.free or product.sales_only:
        raise HTTPException(status_code=404)
    context.setdefault("trial", False)  # rule TR1: the buyer ticks the free trial; an unticked box buys the plan
    return render(found, "plan_form.html", status, account=account, plan=plan, product=product,
                  action=f"/billing/upgrade/{code}", trial_open=trial_offer.may_start(found, plan is not None),
                  **context)  # fmt: skip


@router.get("/billing/upgrade/{code}", response_class=HTMLResponse)
def upgrade_form(request: Request, code: str) -> Response:
    found = buyer_visit(request)
    product = found.app.catalog.products.get(code)
    minimum = product.min_quantity if product is not None else 1
    return _plan_form(found, code, licenses=minimum, interval="month")


@router.post("/billing/upgrade/{code}", response_model=None)
def upgrade(request: Request, code: str, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    licenses, interval = _number(form, "licenses"), _interval(form)
    trial = form.get("trial") == "1"  # rule TR1: the box "Start with the free trial"
    if licenses is None or licenses < 1 or interval is None:
        bad = "licenses" if licenses is None or licenses < 1 else "interval"
        return _plan_form(
            found,
            code,
            400,
            licenses=form.get("licenses"),
            interval=form.get("interval"),
            trial=trial,
            errors={bad: i18n.gettext_("Enter a whole number of licenses and choose how to pay.")},
        )
    current = basket.changes_of(found.signed_in.state)
    # a plan change replaces any edit of the current plan already in the cart
    kept = tuple(c for c in current if not (isinstance(c, SetLicenses | ChangeInterval) and c.subscription is None))
    error = try_cart(found, basket.with_changes(kept, (ChangePlan(code, licenses, interval, trial=trial),)))
    if error is not None:
        return _plan_form(found, code, 400, licenses=licenses, interval=interval.value, trial=trial,
                          errors=errors_of(error), error_code=error.code)  # fmt: skip
    return redirect("/checkout/products")


# -- Edit current plan (rules L1-L4, C1, C2)


def _edit_form(found: Visit, status: int = 200, **context: Any) -> Response:
    account, plan, _addons = _guard(found)
    if plan is None:
        return redirect("/billing/upgrade")
    context.setdefault("licenses", plan.view.quantity)
    context.setdefault("interval", plan.view.interval)
    return render(found, "plan_form.html", status, account=account, plan=plan, product=plan.product,
                  action="/billing/edit", editing=True, **context)  # fmt: skip


@router.get("/billing/edit", response_class=HTMLResponse)
def edit_plan_form(request: Request) -> Response:
    return _edit_form(buyer_visit(request))


@router.post("/billing/edit", response_model=None)
def edit_plan(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    _account, plan, _addons = _guard(found)
    if plan is None:
        return redirect("/billing/upgrade")
    licenses, interval = _number(form, "licenses"), _interval(form)
    if licenses is None or licenses < 1 or interval is None:
        return _edit_form(found, 400, licenses=form.get("licenses"),
                          errors={"licenses": i18n.gettext_("Enter the new total number of licenses.")})  # fmt: skip
    new: list[Change] = []
    if interval.value != plan.view.interval:
        new.append(ChangeInterval(interval))
    if licenses != plan.view.quantity or not new:
        new.append(SetLicenses(licenses))  # rule L1: the new total; unchanged and alone, the engine says so
    current = tuple(c for c in basket.changes_of(found.signed_in.state)
                    if not (isinstance(c, SetLicenses | ChangeInterval) and c.subscription is None))  # fmt: skip
    error = try_cart(found, current + tuple(new))
    if error is not None:
        return _edit_form(found, 400, licenses=licenses, interval=interval.value, errors=errors_of(error),
                          error_code=error.code)  # fmt: skip
    return redirect("/checkout/products")


# -- Cancel at the period end, or reactivate before it (rules D1, D2)


@router.post("/billing/cancel", response_model=None)
def cancel_plan(request: Request, form: Form) -> Response:
    """The plan's cancellation goes to the cart like any change and is confirmed at the order summary; with add-ons
    it needs the explicit "cancel my add-ons too" tick (rule D2), refused beside the box otherwise."""
    found = posted(request, form, buyer=True)
    _account, plan, _addons = _guard(found)
    if plan is None:
        return redirect("/billing")
    error = try_cart(
        found, (*basket.changes_of(found.signed_in.state), Cancel(with_addons=bool(form.get("with_addons"))))
    )
    if error is not None:
        return _page(found, 400, errors=errors_of(error), error_code=error.code)
    return redirect(returning.after_products(found))


@router.post("/billing/reactivate", response_model=None)
def reactivate_plan(request: Request, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    _account, _plan, addons = _guard(found)
    # what was cancelled with the plan comes back with it
    coming_back = [Reactivate(str(a.view.id)) for a in addons if any(p.kind == "cancel" for p in a.view.pending)]
    error = try_cart(found, (*basket.changes_of(found.signed_in.state), Reactivate(), *coming_back))
    if error is not None:
        return redirect("/billing")
    return redirect(returning.after_products(found))


# -- Add-ons: add to cart (A1, A2, A3, A6) and edit one held (A4)


def _addon_form(found: Visit, code: str, status: int = 200, **context: Any) -> Response:
    account, plan, _addons = _guard(found)
    product = found.app.catalog.products.get(code)
    if product is None or product.is_plan:
        raise HTTPException(status_code=404)
    context.setdefault("quantity", 1)
    context.setdefault("interval", plan.view.interval if plan is not None else "month")
    context.setdefault("next", "/checkout/products")
    return render(found, "addon_form.html", status, account=account, plan=plan, product=product,
                  per_account=product.unit is Unit.PER_ACCOUNT, **context)  # fmt: skip


@router.get("/billing/addons/add/{code}", response_class=HTMLResponse)
def add_addon_form(request: Request, code: str, next: str = "/checkout/products") -> Response:
    return _addon_form(buyer_visit(request), code, next=next)


@router.post("/billing/addons/add/{code}", response_model=None)
def add_addon(request: Request, code: str, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    quantity, interval = _number(form, "quantity"), _interval(form)
    target = str(form.get("next", "/checkout/products"))
    target = target if target.startswith("/") and not target.startswith("//") else "/checkout/products"
    if quantity is None or quantity < 1 or interval is None:
        return _addon_form(found, code, 400, quantity=form.get("quantity"), next=target,
                           errors={"quantity": i18n.gettext_("Enter a whole number of seats.")})  # fmt: skip
    # rule A3: another size of a family is its own item, so the cart key is the product
    changes = basket.with_changes(basket.changes_of(found.signed_in.state), (AddAddon(code, quantity, interval),))
    error = try_cart(found, changes)
    if error is not None:
        return _addon_form(found, code, 400, quantity=quantity, interval=interval.value, next=target,
                           errors=errors_of(error))  # fmt: skip
    return redirect(target)


def _held_addon(addons: list[Holding], sub_id: int) -> Holding:
    for held in addons:
        if held.view.id == sub_id:
            return held
    raise HTTPException(status_code=404)


def _edit_addon_form(found: Visit, sub_id: int, status: int = 200, **context: Any) -> Response:
    account, plan, addons = _guard(found)
    held = _held_addon(addons, sub_id)
    sizes = [p for p in found.app.catalog.addons() if held.product.family and p.family == held.product.family]
    context.setdefault("quantity", held.view.quantity)
    context.setdefault("size", held.product.code)
    return render(found, "addon_edit.html", status, account=account, plan=plan, held=held, sizes=sizes,
                  per_account=held.product.unit is Unit.PER_ACCOUNT, **context)  # fmt: skip


@router.get("/billing/addons/{sub_id}/edit", response_class=HTMLResponse)
def edit_addon_form(request: Request, sub_id: RowId) -> Response:
    return _edit_addon_form(buyer_visit(request), sub_id)


@router.post("/billing/addons/{sub_id}/edit", response_model=None)
def edit_addon(request: Request, sub_id: RowId, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    _account, _plan, addons = _guard(found)
    held = _held_addon(addons, sub_id)
    quantity, size = _number(form, "quantity"), str(form.get("size", held.product.code))
    if quantity is None or quantity < 1:
        return _edit_addon_form(found, sub_id, 400, quantity=form.get("quantity"),
                                errors={"quantity": i18n.gettext_("Enter a whole number of seats.")})  # fmt: skip
    change = ChangeAddon(
        str(sub_id),
        quantity=quantity if quantity != held.view.quantity else None,
        product=size if size != held.product.code else None,
    )
    error = try_cart(found, basket.with_changes(basket.changes_of(found.signed_in.state), (change,)))
    if error is not None:
        return _edit_addon_form(found, sub_id, 400, quantity=quantity, size=size, errors=errors_of(error))
    return redirect("/checkout/products")


# -- An add-on on its own: cancel at the period end, reactivate before it (rules D1, D2), through the cart and the
# order summary like the plan's cancellation


def _addon_step(request: Request, form: FormData, sub_id: int, change: Change) -> Response:
    found = posted(request, form, buyer=True)
    _account, _plan, addons = _guard(found)
    _held_addon(addons, sub_id)
    error = try_cart(found, basket.with_changes(basket.changes_of(found.signed_in.state), (change,)))
    if error is not None:
        return _page(found, 400, errors={f"sub-{sub_id}": message_of(error)}, error_code=error.code)
    return redirect(returning.after_products(found))


@router.post("/billing/addons/{sub_id}/cancel", response_model=None)
def cancel_addon(request: Request, sub_id: RowId, form: Form) -> Response:
    return _addon_step(request, form, sub_id, Cancel(str(sub_id)))


@router.post("/billing/addons/{sub_id}/reactivate", response_model=None)
def reactivate_addon(request: Request, sub_id: RowId, form: Form) -> Response:
    return _addon_step(request, form, sub_id, Reactivate(str(sub_id)))


# -- Withdraw a change scheduled for the term end (rules L3, L6, P5, A4): an order whose only effect is that the
# subscription renews as it is; the order summary shows the change as withdrawn


def _withdrawal(held: Holding, kind: str) -> Change | None:
    """The cart change that withdraws ``held``'s pending change of ``kind``, as the engine withdraws it: the plan's
    current total (L6), the plan itself (a downgrade, P5), an add-on left as it is (A4)."""
    if not any(p.kind == kind for p in held.view.pending) or kind not in ("quantity", "product"):
        return None
    if not held.product.is_plan:
        return ChangeAddon(str(held.view.id))
    if kind == "product":
        return ChangePlan(held.product.code)
    return SetLicenses(held.view.quantity)


@router.post("/billing/withdraw/{sub_id}", response_model=None)
def withdraw_change(request: Request, sub_id: RowId, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    _account, plan, addons = _guard(found)
    held = plan if plan is not None and plan.view.id == sub_id else _held_addon(addons, sub_id)
    change = _withdrawal(held, str(form.get("kind", "")))
    if change is None:
        return redirect("/billing")  # withdrawn already (a second click), or taken effect
    current = basket.changes_of(found.signed_in.state)
    if held.product.is_plan:  # it replaces any other edit of the plan in the cart
        current = tuple(c for c in current if not (isinstance(c, ChangePlan | SetLicenses | ChangeInterval)
                                                   and getattr(c, "subscription", None) is None))  # fmt: skip
    error = try_cart(found, basket.with_changes(current, (change,)))
    if error is not None:
        return _page(found, 400, errors={f"sub-{sub_id}": message_of(error)}, error_code=error.code)
    return redirect(returning.after_products(found))
