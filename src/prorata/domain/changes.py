"""The changes a cart can hold, each as a function of the order being priced (rules P, L, A, C, D).

Each function reads like its rule: it validates the change against the account as the order has left it so far,
then emits lines through the ``Pricer``'s primitives or schedules what waits for the term end.
"""

from __future__ import annotations

from prorata.domain.account import Pending, PendingKind, Subscription
from prorata.domain.cart import (
    AddAddon,
    Cancel,
    ChangeAddon,
    ChangeInterval,
    ChangePlan,
    Reactivate,
    SetLicenses,
)
from prorata.domain.catalog import DowngradePolicy, Product, ProductKind, Unit
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.periods import Interval, Period, billing_day_anchor, boundary, period_containing, trial_end
from prorata.domain.pricer import Pricer, check_limits, check_total


def check_billing_day(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
        raise InvalidInput(
            "plan.billing_day", f"billing_day: a day of the month from 1 to 31 (got {value!r})", field="billing_day"
        )
    return value


def change_plan(p: Pricer, ch: ChangePlan) -> None:
    """Rules P1-P5: another plan, an upgrade at once or a downgrade at the term end; the same plan on another
    interval is an interval switch (C1, C2)."""
    target = p.catalog.product(ch.product, field="product")
    if not target.is_plan:
        raise InvalidInput("product.not_a_plan", f"product: {target.name()} is not a plan", field="product")
    if target.sales_only:
        raise RuleViolation(
            "plan.sales_only",
            f"product: {target.name()} is sold through sales only: Contact Sales",
            rule="P1",
            field="product",
        )
    current = p.plan()
    if target.free:
        raise RuleViolation(
            "plan.downgrade_to_free",
            f"product: to return to {target.name()}, cancel the plan; it ends with the period (rule D1)",
            rule="D1",
            field="product",
        )
    if current is not None:
        p.not_cancelling(current, field="product")
        if current.product == target.code:
            if ch.interval is not None and ch.interval is not current.interval:
                change_interval(p, ChangeInterval(ch.interval), licenses=ch.licenses)
                return
            if current.pending_of(PendingKind.PRODUCT) is not None and ch.licenses in (None, current.quantity):
                p.store(p.withdraw(current, PendingKind.PRODUCT))  # keep the plan: no downgrade after all
                return
            raise RuleViolation("plan.unchanged", f"product: the account already has {target.name()}", field="product")
    licenses = ch.licenses
    if licenses is None:
        licenses = current.quantity if current is not None else target.min_quantity
    licenses = check_total(licenses, field="licenses")
    check_limits(target, licenses, field="licenses")
    interval = ch.interval or (current.interval if current is not None else Interval.MONTH)
    if ch.billing_day is not None and current is not None:
        raise RuleViolation(
            "plan.billing_day_fixed",
            "billing_day: the billing day is chosen when the first paid plan is bought",
            rule="C3",
            field="billing_day",
        )
    if ch.trial:
        start_trial(p, current, target, licenses, interval, billing_day=ch.billing_day)
        return
    if current is None or target.rank > p.product(current).rank:
        upgrade(p, current, target, licenses, interval, explicit_licenses=ch.licenses is not None,
                billing_day=ch.billing_day)  # fmt: skip
    else:
        downgrade(p, current, target, licenses, interval)


def upgrade(
    p: Pricer,
    current: Subscription | None,
    target: Product,
    licenses: int,
    interval: Interval,
    *,
    explicit_licenses: bool = True,
    billing_day: int | None = None,
) -> None:
    """Rule P2: credit the unused remainder, charge the new plan; same interval keeps the billing date."""
    pending: tuple[Pending, ...] = ()
    if current is None:
        now_qty, sub_id, assigned = licenses, p.new_id(), 0
    else:
        now_qty = max(licenses, current.quantity)  # rule L3: a lower total waits for the term end
        if interval is not current.interval:
            now_qty = new_period_total(p, current, licenses, explicit=explicit_licenses)
        carried = current.pending_of(PendingKind.QUANTITY)
        # a pending reduction survives an upgrade that names no total, where the new plan allows it (rule L6)
        keep_reduction = (
            carried is not None
            and not explicit_licenses
            and carried.quantity is not None
            and target.min_quantity <= carried.quantity <= (target.max_quantity or carried.quantity)
        )
        drop = (PendingKind.PRODUCT,) if keep_reduction else (PendingKind.QUANTITY, PendingKind.PRODUCT)
        kept = p.withdraw(current, *drop)
        sub_id, assigned, pending = current.id, current.assigned, kept.pending
        p.credit_unused(current)
    if current is not None and interval is current.interval:
        anchor = current.anchor
        whole = p.containing(anchor, interval)
        span = Period(p.start(current), current.period.end)
    elif billing_day is not None:
        # the periods follow the chosen day of the month; the first one runs from now to it, prorated
        anchor = billing_day_anchor(p.eff, check_billing_day(billing_day), interval, p.tz)
        whole = period_containing(anchor, p.eff, interval, p.tz)
        span = Period(p.eff, whole.end)
    else:
        anchor = p.eff
        whole = span = Period(anchor, boundary(anchor, 1, interval.months, p.tz))
    charges = p.charge(sub_id, target, now_qty, interval, span, whole, field="product")
    sub = Subscription(sub_id, target.code, interval, now_qty, anchor, span, charges, assigned, pending)
    if licenses < now_qty:
        p.check_assigned(sub, licenses, field="licenses")
        sub = p.schedule(sub, Pending(PendingKind.QUANTITY, sub.period.end, quantity=licenses), replaces=())
    p.store(sub)
    if current is None or anchor != current.anchor or interval is not current.interval:
        p.plan_restarted = True
        p.restarted.add(sub_id)  # a new period, even one that starts on the old anchor's day


def start_trial(
    p: Pricer,
    current: Subscription | None,
    target: Product,
    licenses: int,
    interval: Interval,
    *,
    billing_day: int | None,
) -> None:
    """Rule TR1: the plan's free trial. Its licenses are usable at once and nothing is charged: the trial is the
    plan's first period, ``[now, trial end)``, on an anchor at the trial's end, so the billing run issues the first
    invoice, at full price, when it ends (rule C7) and every period after follows that anchor. One per account."""
    if not target.trial_days:
        raise RuleViolation(
            "trial.not_offered", f"trial: {target.name()} offers no free trial", rule="TR1", field="trial"
        )
    if p.account.trial_used:
        raise RuleViolation(
            "trial.already_used",
            f"trial: this account has had its free trial; buy {target.name()} without one",
            rule="TR1",
            field="trial",
        )
    if current is not None:
        raise RuleViolation(
            "trial.plan_held",
            "trial: a free trial starts from the free plan; this account already has a paid plan",
            rule="TR1",
            field="trial",
        )
    if billing_day is not None:
        raise RuleViolation(
            "trial.billing_day",
            "billing_day: a trial's end is its billing day; it cannot be chosen",
            rule="TR1",
            field="billing_day",
        )
    end = trial_end(p.eff, target.trial_days, p.tz, p.gran)
    sub_id = p.new_id()
    p.store(Subscription(sub_id, target.code, interval, licenses, end, Period(p.eff, end)))
    p.plan_restarted = True
    p.restarted.add(sub_id)


def new_period_total(p: Pricer, sub: Subscription, total: int, *, explicit: bool) -> int:
    """Rules L3, C1, C2, L6: the total a new period started now (an interval switch) begins with.

    The current term ends now, so nothing can wait for its end any more: a lower total, or a reduction or downgrade
    still pending, would either take licenses away before the term end with their unused time credited (L3: removed
    licenses are neither refunded nor credited) or wait a whole new period, charged in full. Both are refused with
    the L3 code, whatever else the cart holds: the buyer withdraws the pending change or switches after it has taken
    effect. A total at least the one held withdraws a pending reduction (L6) and starts the new period. Under the
    catalog policy "downgrades immediate with credit" (P7) a lower total starts the new period at once.
    """
    lower = total < sub.quantity
    if p.policy is DowngradePolicy.IMMEDIATE_WITH_CREDIT and lower:
        p.check_assigned(sub, total, field="licenses")
        return total
    if lower or not explicit:
        p.no_pending_reduction(sub, field="licenses" if explicit else "interval")
    if lower:
        raise RuleViolation(
            "licenses.reduction_with_interval",
            f"licenses: {p.product(sub).name()} starts a new period now; it cannot start with fewer licenses than "
            f"the {sub.quantity} held (they are not credited): reduce them at the end of the new period, or switch "
            "after a reduction has taken effect",
            rule="L3",
            field="licenses",
            held=sub.quantity,
        )
    return total


def no_reduction_of_a_new_period(p: Pricer, sub: Subscription, total: int, *, field: str) -> None:
    """Rule L3: a subscription this order starts anew cannot be reduced in the same order (the reduction would wait
    for the end of the new period, charged in full)."""
    if sub.id in p.restarted and total < sub.quantity and p.policy is not DowngradePolicy.IMMEDIATE_WITH_CREDIT:
        raise RuleViolation(
            "licenses.reduction_with_interval",
            f"{field}: {p.product(sub).name()} starts a new period in this order; it cannot be reduced in the same "
            "order (the fewer licenses would wait for the end of the new period): order the reduction afterwards",
            rule="L3",
            field=field,
            held=sub.quantity,
        )


def downgrade(p: Pricer, current: Subscription, target: Product, licenses: int, interval: Interval) -> None:
    """Rule P5 (at the term end, no credit) or P7 (at once, credited); only the catalog's allowed paths."""
    source = p.product(current)
    if target.code not in source.downgrade_to:
        raise RuleViolation(
            "plan.downgrade_via_sales",
            f"product: {source.name()} -> {target.name()} is not a self-service change; contact sales",
            rule="P5",
            field="product",
        )
    if interval is not current.interval:
        raise RuleViolation(
            "plan.downgrade_with_interval",
            "interval: a downgrade keeps the billing interval; change the interval as a separate order",
            rule="P5",
            field="interval",
        )
    p.check_assigned(current, licenses, field="licenses")
    if p.policy is DowngradePolicy.IMMEDIATE_WITH_CREDIT:
        p.replace_now(current, target, licenses, rule_field="product")
        return
    pending = Pending(PendingKind.PRODUCT, current.period.end, quantity=licenses, product=target.code)
    p.store(p.schedule(current, pending, replaces=(PendingKind.PRODUCT, PendingKind.QUANTITY)))


def change_interval(p: Pricer, ch: ChangeInterval, *, licenses: int | None = None) -> None:
    """Rules C1, C2: switching interval is immediate; a new period starts now, the unused part is credited."""
    sub = p.sub(ch.subscription)
    p.not_cancelling(sub, field="interval")
    if ch.interval is sub.interval:
        raise RuleViolation(
            "interval.unchanged",
            f"interval: the subscription is already billed {ch.interval}ly",
            field="interval",
        )
    product = p.product(sub)
    quantity = sub.quantity
    if licenses is not None:
        quantity = check_total(licenses, field="licenses")
        check_limits(product, quantity, field="licenses")
    quantity = new_period_total(p, sub, quantity, explicit=licenses is not None)
    if licenses is not None and quantity >= sub.quantity:
        sub = p.withdraw(sub, PendingKind.QUANTITY)  # rule L6: the total given replaces a pending reduction
    p.price(product, ch.interval, field="interval")
    p.credit_unused(sub)
    if product.is_plan:
        anchor = p.eff
        span = Period(anchor, boundary(anchor, 1, ch.interval.months, p.tz))
        whole = span
    else:
        plan = p.sub(None)
        anchor = plan.anchor
        whole = p.containing(anchor, ch.interval)
        span = Period(p.eff, whole.end)
    charges = p.charge(sub.id, product, quantity, ch.interval, span, whole, field="interval")
    p.store(sub.evolve(interval=ch.interval, quantity=quantity, anchor=anchor, period=span, charges=charges))
    p.restarted.add(sub.id)
    if product.is_plan:
        p.plan_restarted = True


def coterm_addons(p: Pricer) -> None:
    """Rule A5: when the plan starts a new period, its add-ons move to the plan's billing date.

    Done once, after the whole cart, so that an add-on changed in the same order is credited and charged once.
    """
    if not p.plan_restarted:
        return
    plan = p.sub(None)
    for sub in list(p.subs.values()):
        product = p.product(sub)
        if product.kind is not ProductKind.ADDON or sub.anchor == plan.anchor:
            continue
        if sub.cancelling:
            continue  # rule D1: it ends at its own period end, as the buyer asked; nothing new is charged
        p.no_pending_reduction(sub, field="interval")
        p.credit_unused(sub)
        whole = p.containing(plan.anchor, sub.interval)
        span = Period(p.eff, whole.end)
        charges = p.charge(sub.id, product, sub.quantity, sub.interval, span, whole, field="subscription")
        p.store(sub.evolve(anchor=plan.anchor, period=span, charges=charges))
        p.restarted.add(sub.id)


def set_licenses(p: Pricer, ch: SetLicenses) -> None:
    """Rules L1-L4, L6: the field is the new total; more now (prorated), fewer at the term end."""
    sub = p.sub(ch.subscription)
    product = p.product(sub)
    if product.is_addon:
        change_addon(p, ChangeAddon(sub.id, quantity=ch.total), field="total")
        return
    total = check_total(ch.total, field="total")
    downgrade = sub.pending_of(PendingKind.PRODUCT)
    if total < sub.quantity and downgrade is not None and downgrade.product is not None:
        check_limits(p.catalog.products[downgrade.product], total, field="total")  # what will renew
    else:
        check_limits(product, total, field="total")
    p.not_cancelling(sub, field="total")
    if total > sub.quantity:
        whole = p.containing(sub.anchor, sub.interval)
        span = Period(p.start(sub), sub.period.end)
        charges = p.charge(sub.id, product, total - sub.quantity, sub.interval, span, whole, field="total")
        kept = p.withdraw(sub, PendingKind.QUANTITY)  # rule L6: an increase cancels a pending reduction
        p.store(kept.evolve(quantity=total, charges=(*sub.charges, *charges)))
    elif total == sub.quantity:
        if sub.pending_of(PendingKind.QUANTITY) is None:
            raise RuleViolation(
                "licenses.unchanged",
                f"total: the plan already has {total} licenses (enter the new total, not the number added)",
                rule="L1",
                field="total",
            )
        p.store(p.withdraw(sub, PendingKind.QUANTITY))
    else:
        no_reduction_of_a_new_period(p, sub, total, field="total")
        p.check_assigned(sub, total, field="total")
        if p.policy is DowngradePolicy.IMMEDIATE_WITH_CREDIT:
            p.reduce_now(sub, total, field="total")
            return
        if downgrade is not None and downgrade.product is not None:
            # the total that renews is the pending downgrade's: it carries the new total (rules P3, L6)
            pending = Pending(PendingKind.PRODUCT, downgrade.effective, quantity=total, product=downgrade.product)
            p.store(p.schedule(sub, pending, replaces=(PendingKind.PRODUCT,)))
            return
        pending = Pending(PendingKind.QUANTITY, sub.period.end, quantity=total)
        p.store(p.schedule(sub, pending, replaces=(PendingKind.QUANTITY,)))


def add_addon(p: Pricer, ch: AddAddon) -> None:
    product = p.catalog.product(ch.product, field="product")
    if not product.is_addon:
        raise InvalidInput(
            "product.not_an_addon", f"product: {product.name()} is a plan, not an add-on", field="product"
        )
    if product.sales_only:
        raise RuleViolation(
            "plan.sales_only",
            f"product: {product.name()} is sold through sales only",
            rule="P1",
            field="product",
        )
    quantity = check_total(ch.quantity, field="quantity", code="addon.invalid_quantity", rule="A7")
    if not product.per_user and quantity != 1:
        raise InvalidInput(
            "addon.invalid_quantity",
            f"quantity: {product.name()} is bought once per account (quantity 1)",
            rule="A7",
            field="quantity",
        )
    for held in p.subs.values():
        # what is held now, or will be after a pending size change (rules A2, A3)
        if product.code in (held.product, held.product_at_term_end()):
            if held.interval is not (ch.interval or held.interval):
                raise RuleViolation(
                    "addon.interval_conflict",
                    f"interval: {product.name()} is already held {held.interval}ly; the same add-on cannot "
                    "be held on two billing intervals",
                    rule="A2",
                    field="interval",
                )
            raise RuleViolation(
                "addon.already_held",
                f"product: {product.name()} is already held; edit it to change seats or size",
                rule="A3",
                field="product",
            )
    plan = p.plan()
    if plan is None:
        raise RuleViolation(
            "addon.requires_plan",
            f"product: {product.name()} is added to a paid plan; upgrade the account first",
            rule="A5",
            field="product",
        )
    p.not_cancelling(plan, field="product")
    if product.is_one_month:
        # rule A8: one calendar month from the purchase instant, in full, never renewed
        if ch.interval not in (None, Interval.MONTH):
            raise RuleViolation(
                "addon.one_month_only",
                "interval: a one-month product is bought for one month",
                rule="A8",
                field="interval",
            )
        span = Period(p.at, boundary(p.at, 1, 1, p.tz))
        sub_id = p.new_id()
        charges = p.charge(sub_id, product, quantity, Interval.MONTH, span, span, field="product")
        p.store(Subscription(sub_id, product.code, Interval.MONTH, quantity, p.at, span, charges))
        return
    interval = ch.interval or plan.interval
    p.check_addon_interval(product, interval, plan)
    whole = p.containing(plan.anchor, interval)
    span = Period(p.start(plan), whole.end)
    sub_id = p.new_id()
    charges = p.charge(sub_id, product, quantity, interval, span, whole, field="product")
    p.store(Subscription(sub_id, product.code, interval, quantity, plan.anchor, span, charges))


def change_addon(p: Pricer, ch: ChangeAddon, *, field: str = "quantity") -> None:
    """Rule A4: more seats or a larger size now (credit and prorated charge); less at the term end."""
    sub = p.sub(ch.subscription)
    product = p.product(sub)
    if product.kind is not ProductKind.ADDON:
        raise RuleViolation(
            "addon.not_changeable",
            f"subscription: {product.name()} cannot be edited here",
            field="subscription",
        )
    p.not_cancelling(sub, field="subscription")
    target = product if ch.product is None else p.catalog.product(ch.product, field="product")
    if target is not product and (
        target.kind is not ProductKind.ADDON or target.family is None or target.family != product.family
    ):
        raise RuleViolation(
            "addon.family_mismatch",
            f"product: {target.name()} is not a size of {product.name()}; add it as its own item",
            rule="A3",
            field="product",
        )
    if target is not product and any(
        target.code in (s.product, s.product_at_term_end()) for s in p.subs.values() if s.id != sub.id
    ):
        raise RuleViolation(
            "addon.already_held", f"product: {target.name()} is already held", rule="A3", field="product"
        )
    quantity = sub.quantity if ch.quantity is None else ch.quantity
    quantity = check_total(quantity, field=field, code="addon.invalid_quantity", rule="A7")
    if target.unit is Unit.PER_ACCOUNT and quantity != 1:
        raise InvalidInput(
            "addon.invalid_quantity",
            f"{field}: {target.name()} has a quantity of 1",
            rule="A7",
            field=field,
        )
    p.price(target, sub.interval, field="product")
    if target is product and quantity == sub.quantity:
        if not sub.pending:
            raise RuleViolation("addon.unchanged", f"{field}: nothing would change", field=field)
        p.store(p.withdraw(sub, PendingKind.QUANTITY, PendingKind.PRODUCT))
        return
    bigger = target.size >= product.size and quantity >= sub.quantity
    smaller = target.size <= product.size and quantity <= sub.quantity
    if bigger:
        p.replace_now(sub, target, quantity, rule_field=field)
    elif smaller:
        no_reduction_of_a_new_period(p, sub, quantity if target is product else 0, field=field)
        p.check_assigned(sub, quantity, field=field)
        if p.policy is DowngradePolicy.IMMEDIATE_WITH_CREDIT:
            if target is product:
                p.reduce_now(sub, quantity, field=field)
            else:
                p.replace_now(sub, target, quantity, rule_field=field)
            return
        if target is product:
            pending = Pending(PendingKind.QUANTITY, sub.period.end, quantity=quantity)
        else:
            pending = Pending(PendingKind.PRODUCT, sub.period.end, quantity=quantity, product=target.code)
        p.store(p.schedule(sub, pending, replaces=(PendingKind.QUANTITY, PendingKind.PRODUCT)))
    else:
        raise RuleViolation(
            "addon.mixed_change",
            f"{field}: a larger size with fewer seats (or the reverse) is two changes; make them separately",
            rule="A4",
            field=field,
        )


def cancel(p: Pricer, ch: Cancel) -> None:
    """Rules D1, D2: cancellation waits for the period end; add-ons go first or with explicit consent."""
    sub = p.sub(ch.subscription)
    product = p.product(sub)
    if product.is_one_month:
        raise RuleViolation(
            "subscription.not_renewing",
            f"subscription: {product.name()} ends by itself",
            rule="A8",
            field="subscription",
        )
    if sub.cancelling:
        raise RuleViolation(
            "subscription.already_cancelling",
            f"subscription: {product.name()} is already cancelled at the period end",
            rule="D1",
            field="subscription",
        )
    if product.is_plan:
        addons = [s for s in p.subs.values() if p.product(s).kind is ProductKind.ADDON]
        active = [s for s in addons if not s.cancelling]
        if active and not ch.with_addons:
            raise RuleViolation(
                "cancel.addons_first",
                "with_addons: cancel the add-ons first, or confirm that they are cancelled with the plan ("
                + ", ".join(p.product(s).name() for s in active)
                + ")",
                rule="D2",
                field="with_addons",
                addons=[s.id for s in active],
            )
        for addon in active:
            # cancelled with the plan: a monthly add-on on a yearly plan keeps renewing until the plan ends
            ends = max(addon.period.end, sub.period.end)
            p.store(p.schedule(addon, Pending(PendingKind.CANCEL, ends), replaces=()))
    p.store(p.schedule(sub, Pending(PendingKind.CANCEL, sub.period.end), replaces=()))


def reactivate(p: Pricer, ch: Reactivate) -> None:
    sub = p.sub(ch.subscription)
    if not sub.cancelling:
        raise RuleViolation(
            "subscription.not_cancelling",
            f"subscription: {p.product(sub).name()} is not cancelled",
            rule="D1",
            field="subscription",
        )
    p.store(p.withdraw(sub, PendingKind.CANCEL))


HANDLERS = {
    ChangePlan: change_plan,
    ChangeInterval: change_interval,
    SetLicenses: set_licenses,
    ChangeAddon: change_addon,
    AddAddon: add_addon,
    Cancel: cancel,
    Reactivate: reactivate,
}
