"""The pricing engine: a cart of changes against an account at an instant -> a quote (rules P, L, A, C, D).

``quote()`` applies the cart's changes to a working copy of the account in a fixed order (``cart.ORDER``), emitting
one credit line for the unused part of each subscription it replaces and one charge line for what starts now, and
scheduling what waits for the term end. It then checks the rules that concern the account as a whole (A6, A7, D2)
and settles the total against the credit balance. ``renew()`` produces the renewal of every subscription whose
period ends on a billing date, with the scheduled changes applied first (rule C7). Both are pure: nothing is read
or written outside the arguments, and a refusal leaves everything as it was.

The working state and the money primitives are in ``pricer.py``; each kind of change is a function in ``changes.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from prorata.domain import changes as _changes
from prorata.domain.account import (
    Account,
    PendingKind,
    Subscription,
    find_plan,
    validate_account,
)
from prorata.domain.cart import (
    ORDER,
    AddAddon,
    Cancel,
    Change,
    ChangeAddon,
    ChangeInterval,
    ChangePlan,
    Reactivate,
    SetLicenses,
)
from prorata.domain.catalog import Catalog, Product
from prorata.domain.discounts import Discount, Redemption, one_at_a_time
from prorata.domain.errors import InvalidInput, ProrataError, RuleViolation
from prorata.domain.invoice_lines import Quote, Unassigned, UnassignReason
from prorata.domain.periods import (
    Interval,
    effective_start,
    next_period,
    require_aware,
)
from prorata.domain.pricer import Pricer
from prorata.domain.tax import NO_TAX, TaxDecision

BUYER_ROLES = frozenset({"owner", "admin"})
# an operator of the installation acting for the account (the operator console): the account's manager, to whom
# the locks of self-service (rules I6, I7) send the customer, so they do not lock the operator out
OPERATOR = "operator"
_WITH_INTERVAL_TYPES = (ChangePlan, ChangeInterval, AddAddon)  # the changes that name a billing interval
_WITH_INTERVAL = frozenset(_WITH_INTERVAL_TYPES)

# The field a buyer filled in for each kind of change, for refusals about the account as the order leaves it
_FIELD_OF: dict[type, str] = {
    ChangePlan: "licenses",
    SetLicenses: "total",
    ChangeInterval: "interval",
    AddAddon: "quantity",
    ChangeAddon: "quantity",
    Cancel: "subscription",
    Reactivate: "subscription",
}


def check_account_may_buy(account: Account, role: str) -> None:
    """Rules P6, I6, I7: who may buy, and when buying is locked (an operator acting for the account is not)."""
    if role == OPERATOR:
        return
    if role not in BUYER_ROLES:
        raise RuleViolation(
            "account.forbidden_role",
            f"role: only the account owner or an admin may buy or change the plan (you are {role!r})",
            rule="P6",
            field="role",
        )
    if account.overdue:
        raise RuleViolation(
            "account.overdue_locked",
            "the account has overdue invoices: pay them in Invoice History to edit the plan or buy",
            rule="I6",
        )
    if account.managed_by_sales:
        raise RuleViolation(
            "account.sales_managed",
            "this account is managed under a contract: contact your account manager to change it",
            rule="I7",
        )


def quote(
    account: Account,
    catalog: Catalog,
    at: datetime,
    changes: Sequence[Change],
    *,
    role: str = "owner",
    tax: TaxDecision = NO_TAX,
    redeem: Redemption | None = None,
) -> Quote:
    """Price a cart of changes as one order at ``at`` (rules P, L, A, C, D, K3), or refuse it with a rule error.

    ``tax`` is the rate the buyer pays (rules T1, T2); credits reverse tax at the rate of what they reverse (T3).
    ``redeem``: a discount code entered with the order (rule DC1), which applies to it and to the plan's periods that
    follow as the code says; the quote's account holds it.
    """
    if redeem is None:
        return _quote(account, catalog, at, changes, role, tax, None)
    at = require_aware(at, field="at")
    start = effective_start(at, account.tz, account.granularity)
    one_at_a_time(account.discount, start)
    if redeem.periods is None:
        return _quote(account, catalog, at, changes, role, tax, redeem.covering(start, None))
    # the periods are the plan's as the order leaves it (an order may start a new one, or change the interval):
    # priced once to learn them, then again with the discount, which changes no period
    plan = find_plan(_quote(account, catalog, at, changes, role, tax, None).account.subscriptions, catalog)
    if plan is None:
        raise RuleViolation("plan.none", "discount_code: a discount needs a paid plan", rule="DC1",
                            field="discount_code")  # fmt: skip
    # a free trial's period charges nothing: the code's periods are the paid ones that follow it (rule TR1)
    in_trial = not plan.charges and not catalog.products[plan.product].free
    end = _periods_after(plan, plan.period.end, redeem.periods - (0 if in_trial else 1), account)
    return _quote(account, catalog, at, changes, role, tax, redeem.covering(start, end))


def redeem_later(account: Account, catalog: Catalog, at: datetime, redeem: Redemption) -> Account:
    """Rule DC1: a code entered without an order applies from the next billing date, for the periods it gives."""
    at = require_aware(at, field="at")
    validate_account(account, catalog, None)
    plan = find_plan(account.subscriptions, catalog)
    if plan is None or catalog.products[plan.product].free:
        raise RuleViolation("plan.none", "discount_code: a discount needs a paid plan", rule="DC1",
                            field="discount_code")  # fmt: skip
    start = plan.period.end
    one_at_a_time(account.discount, start)
    end = None if redeem.periods is None else _periods_after(plan, start, redeem.periods, account)
    return replace(account, discount=redeem.covering(start, end))


def _periods_after(plan: Subscription, start: datetime, count: int, account: Account) -> datetime:
    """The end of the ``count``-th period of the plan after the one ending at ``start`` (``start`` for none)."""
    end = start
    for _ in range(count):
        end = next_period(plan.anchor, end, plan.interval, account.tz).end
    return end


def _quote(
    account: Account,
    catalog: Catalog,
    at: datetime,
    changes: Sequence[Change],
    role: str,
    tax: TaxDecision,
    discount: Discount | None,
) -> Quote:
    at = require_aware(at, field="at")
    if not changes:
        raise InvalidInput("cart.empty", "changes: the cart is empty", rule="K3", field="changes")
    check_account_may_buy(account, role)
    periods = validate_account(account, catalog, at)
    pricer = Pricer(account, catalog, at, periods, tax, discount)
    checked: list[Change] = []
    for index, change in enumerate(changes):
        kind = type(change)
        if kind not in _changes.HANDLERS:
            raise InvalidInput(
                "change.unknown_type", f"changes[{index}]: {change!r} is not a cart change", field=f"changes[{index}]"
            )
        # a bare "year" from a caller that skipped the reader becomes an Interval, or is refused
        if (
            kind in _WITH_INTERVAL
            and isinstance(change, _WITH_INTERVAL_TYPES)
            and change.interval is not None
            and type(change.interval) is not Interval
        ):
            change = replace(change, interval=Interval.parse(change.interval, field=f"changes[{index}].interval"))
        checked.append(change)
    changes = checked
    # one change needs no ordering (the common cart); several are applied in the engine's order (cart.ORDER)
    ordered = enumerate(changes) if len(changes) == 1 else _in_order(changes, find_plan(account.subscriptions, catalog))
    for index, change in ordered:
        try:
            _changes.HANDLERS[type(change)](pricer, change)  # type: ignore[operator]
        except ProrataError as error:
            error.data.setdefault("change", index)  # which item of the cart, for the caller to point at
            raise
    # rules about the whole account point at the item when the cart holds one, else at the cart
    whole_field, whole_index = (_FIELD_OF[type(changes[0])], 0) if len(changes) == 1 else ("changes", None)
    try:
        _changes.coterm_addons(pricer)
        pricer.check_account(whole_field)
    except ProrataError as error:
        if whole_index is not None:
            error.data.setdefault("change", whole_index)
        raise
    return pricer.finish(at)


def _in_order(changes: Sequence[Change], plan: Subscription | None) -> list[tuple[int, Change]]:
    """The changes with their places in the cart, in the order they are applied (cart.ORDER): within a kind, the
    plan's change first, so that add-ons are priced against the plan the order leaves (cancellations the other way
    round: add-ons before their plan, rule D2)."""
    plan_id = plan.id if plan is not None else None

    def order(change: Change) -> tuple[int, bool]:
        target = getattr(change, "subscription", None)
        addon_first = type(change) is Cancel
        return ORDER[type(change)], (target in (None, plan_id)) == addon_first

    return sorted(enumerate(changes), key=lambda item: order(item[1]))


def addon_offers(account: Account, catalog: Catalog) -> list[Product]:
    """Rule A1 (and P4): the add-ons the section "Interested in other plans?" offers to this account: those it can
    buy now (a paid plan is held, the add-on is not), the plan's suggested ones (e.g. Large Meetings for Pro) first.
    """
    plan = find_plan(account.subscriptions, catalog)
    held = {s.product for s in account.subscriptions}
    suggested = catalog.products[plan.product].suggest_addons if plan is not None else ()
    offers = [
        p
        for p in catalog.addons()
        if p.code not in held
        and not p.sales_only
        and plan is not None
        and any(key[1] == account.currency for key in p.prices)
    ]
    return sorted(offers, key=lambda p: (p.code not in suggested, p.family or "", p.size, p.code))


def next_billing_date(account: Account) -> datetime | None:
    """The earliest period end among the account's subscriptions (when the next renewal is due)."""
    return min((s.period.end for s in account.subscriptions), default=None)


def renew(account: Account, catalog: Catalog, billing_date: datetime, *, tax: TaxDecision = NO_TAX) -> Quote:
    """Rule C7 (and A8, D1): renew every subscription whose period ends at ``billing_date`` at full price, with its
    scheduled changes applied first; cancelled and one-month products end. One invoice per billing date (rule I1).
    The assignments that end with it (an ended subscription's, or more than a reduced one keeps) are in
    ``unassigned``: the account it leaves shows only those that remain.
    """
    billing_date = require_aware(billing_date, field="billing_date")
    validate_account(account, catalog, None)
    if not any(s.period.end == billing_date for s in account.subscriptions):
        raise InvalidInput(
            "renewal.not_due",
            f"at: no subscription's period ends at {billing_date.isoformat()}",
            rule="C7",
            field="at",
        )
    pricer = Pricer(account, catalog, billing_date, tax=tax)
    pricer.eff = billing_date
    unassigned: list[Unassigned] = []
    for sub in account.subscriptions:
        if sub.period.end != billing_date:
            continue
        product = catalog.products[sub.product]
        due = [p for p in sub.pending if p.effective <= billing_date]
        later = tuple(p for p in sub.pending if p.effective > billing_date)
        if product.is_one_month or any(p.kind is PendingKind.CANCEL for p in due):
            del pricer.subs[sub.id]
            if sub.assigned:  # its assignments end with it, and its users say so (rules D1, A8, U1)
                unassigned.append(Unassigned(sub.id, sub.product, sub.assigned, UnassignReason.ENDED))
            continue
        quantity, code = sub.quantity, sub.product
        for p in due:
            quantity = p.quantity if p.quantity is not None else quantity
            code = p.product if p.product is not None else code
        product = catalog.products[code]
        span = next_period(sub.anchor, billing_date, sub.interval, pricer.tz)
        charges = pricer.charge(sub.id, product, quantity, sub.interval, span, span, field="product")
        pricer.store(
            sub.evolve(
                product=code,
                quantity=quantity,
                period=span,
                charges=charges,
                pending=later,
                assigned=min(sub.assigned, quantity),
            )
        )
        if sub.assigned > quantity:
            # rule L4 keeps assignments within what renews; data from before it held may not be. The excess is
            # reported, never dropped silently: the services unassign the most recently assigned and say so
            unassigned.append(Unassigned(sub.id, sub.product, sub.assigned - quantity, UnassignReason.REDUCED))
    return pricer.finish(billing_date, renewal=True, unassigned=tuple(unassigned))
