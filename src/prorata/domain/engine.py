"""The pricing engine: a cart of changes against an account at an instant -> a quote (rules P, L, A, C, D).

``quote()`` applies the cart's changes to a working copy of the account in a fixed order (``cart.ORDER``), emitting
one credit line for the unused part of each subscription it replaces and one charge line for what starts now, and
scheduling what waits for the term end. It then checks the rules that concern the account as a whole (A6, A7, D2)
and settles the total against the credit balance. ``renew()`` produces the renewal of every subscription whose
period ends on a billing date, with the scheduled changes applied first (rule C7). Both are pure: nothing is read
or written outside the arguments, and a refusal leaves everything as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from prorata.domain.account import (
    Account,
    Charge,
    Pending,
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
from prorata.domain.catalog import Catalog, DowngradePolicy, Product, ProductKind, Unit
from prorata.domain.errors import InvalidInput, ProrataError, RuleViolation
from prorata.domain.invoice_lines import Line, LineKind, Quote, ScheduledChange, fraction_text, settle
from prorata.domain.money import round_half_up
from prorata.domain.periods import (
    Interval,
    Period,
    boundary,
    effective_start,
    measure,
    next_period,
    period_containing,
    require_aware,
)

BUYER_ROLES = frozenset({"owner", "admin"})

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


def check_total(value: object, *, field: str, code: str = "licenses.invalid_total", rule: str = "L1") -> int:
    """A license or seat total: a whole number, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            code,
            f"{field}: enter the new total as a whole number of at least 1 (got {value!r})",
            rule=rule,
            field=field,
        )
    return value


def check_limits(product: Product, total: int, *, field: str) -> None:
    """Rule P3: the catalog's minimum and maximum licenses for a product."""
    if total < product.min_quantity:
        raise RuleViolation(
            "plan.min_licenses",
            f"{field}: {product.name()} requires at least {product.min_quantity} licenses (got {total})",
            rule="P3",
            field=field,
            minimum=product.min_quantity,
        )
    if product.max_quantity is not None and total > product.max_quantity:
        raise RuleViolation(
            "plan.max_licenses",
            f"{field}: {product.name()} allows at most {product.max_quantity} licenses (got {total})",
            rule="P3",
            field=field,
            maximum=product.max_quantity,
        )


def check_account_may_buy(account: Account, role: str) -> None:
    """Rules P6, I6, I7: who may buy, and when buying is locked."""
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


class _Pricer:
    """The working state of one quote; discarded on any refusal."""

    def __init__(
        self,
        account: Account,
        catalog: Catalog,
        at: datetime,
        periods: dict[tuple[datetime, Interval], Period] | None = None,
    ) -> None:
        self.account = account
        self.catalog = catalog
        self.at = at
        self.tz = account.tz
        self.gran = account.granularity
        self.eff = effective_start(at, self.tz, self.gran)
        self.policy = catalog.downgrade_policy
        self.subs: dict[str, Subscription] = {s.id: s for s in account.subscriptions}
        self.lines: list[Line] = []
        self.scheduled: list[ScheduledChange] = []
        self._new = 0
        self._plan_id: str | None = None
        self.periods: dict[tuple[datetime, Interval], Period] = dict(periods or {})
        self.plan_restarted = False  # the plan started a new period: its add-ons follow at the end (rule A5)

    # ----------------------------------------------------------------------------------------------- lookups

    def product(self, sub: Subscription) -> Product:
        return self.catalog.products[sub.product]

    def plan(self) -> Subscription | None:
        # the plan keeps its id through every change; only an upgrade from Basic creates one
        if self._plan_id is None:
            found = find_plan(self.subs.values(), self.catalog)
            self._plan_id = found.id if found is not None else None
            return found
        return self.subs.get(self._plan_id)

    def sub(self, sub_id: str | None, *, field: str = "subscription") -> Subscription:
        if sub_id is None:
            plan = self.plan()
            if plan is None:
                raise RuleViolation("plan.none", f"{field}: the account has no paid plan", field=field)
            return plan
        found = self.subs.get(sub_id)
        if found is None:
            raise InvalidInput(
                "subscription.unknown", f"{field}: the account has no subscription {sub_id!r}", field=field
            )
        return found

    def price(self, product: Product, interval: Interval, *, field: str) -> int:
        return self.catalog.unit_price(product, interval, self.account.currency, field=field)

    def new_id(self) -> str:
        """An id for a subscription this order creates, never one the account already uses."""
        while True:
            self._new += 1
            candidate = f"new-{self._new}"
            if candidate not in self.subs:
                return candidate

    def not_cancelling(self, sub: Subscription, *, field: str) -> None:
        if sub.cancelling:
            raise RuleViolation(
                "subscription.cancelling",
                f"{field}: {self.product(sub).name()} is cancelled at the period end; reactivate it first",
                rule="D1",
                field=field,
            )

    def start(self, sub: Subscription) -> datetime:
        return max(self.eff, sub.period.start)

    def containing(self, anchor: datetime, interval: Interval) -> Period:
        """The whole anchor period in which the change takes effect (rule C3: the denominator of a line).

        Memoised per cart, and seeded with the periods ``validate_account`` already located.
        """
        # located from the instant itself: under day granularity the change's local midnight may fall before a
        # period that starts later that day, and the change still belongs to that period
        known = self.periods.get((anchor, interval))
        if known is None or self.at not in known:
            known = period_containing(anchor, self.at, interval, self.tz)
            self.periods[(anchor, interval)] = known
        return known

    # ----------------------------------------------------------------------------------------------- money

    def unused_exact(self, sub: Subscription) -> tuple[int, int]:
        """The exact unused value of what was charged this period, ``sum(amount x unused / span)``, as a fraction."""
        num, den = 0, 1
        for c in sub.charges:
            span = measure(c.start, c.end, self.tz, self.gran)
            if span:
                unused = measure(max(self.eff, c.start), c.end, self.tz, self.gran)
                num, den = num * span + c.amount * unused * den, den * span
        return num, den

    def credit_unused(self, sub: Subscription) -> None:
        """Rule C5: credit the unused part of what was charged for this period, rounded once, never above it."""
        num, den = self.unused_exact(sub)
        amount = round_half_up(num, den)
        if amount == 0:
            return
        used = measure(self.start(sub), sub.period.end, self.tz, self.gran)
        whole = measure(sub.period.start, sub.period.end, self.tz, self.gran)
        name = self.product(sub).name()
        self.lines.append(
            Line(
                LineKind.CREDIT,
                sub.id,
                sub.product,
                f"Unused time on {name} x {sub.quantity}, {fraction_text(used, whole, self.gran)}",
                sub.quantity,
                None,
                Period(self.start(sub), sub.period.end),
                used,
                whole,
                -amount,
                basis=sub.charged(),
            )
        )

    def charge(
        self,
        sub_id: str,
        product: Product,
        quantity: int,
        interval: Interval,
        span: Period,
        whole: Period,
        *,
        field: str,
    ) -> Charge:
        """Rules C3, C4: quantity x unit price x used/whole for ``span`` within the period ``whole``."""
        unit = self.price(product, interval, field=field)
        used = measure(span.start, span.end, self.tz, self.gran)
        den = measure(whole.start, whole.end, self.tz, self.gran)
        amount = round_half_up(quantity * unit * used, den)
        self.lines.append(
            Line(
                LineKind.CHARGE,
                sub_id,
                product.code,
                f"{product.name()} x {quantity}, {fraction_text(used, den, self.gran)}",
                quantity,
                unit,
                span,
                used,
                den,
                amount,
            )
        )
        return Charge(amount, span.start, span.end)

    # ----------------------------------------------------------------------------------------------- pending

    def withdraw(self, sub: Subscription, *kinds: PendingKind) -> Subscription:
        keep: list[Pending] = []
        for p in sub.pending:
            if p.kind in kinds:
                self.scheduled.append(ScheduledChange(sub.id, sub.product, "withdrawn", p))
            else:
                keep.append(p)
        return sub.evolve(pending=tuple(keep)) if len(keep) != len(sub.pending) else sub

    def schedule(self, sub: Subscription, pending: Pending, *, replaces: Iterable[PendingKind]) -> Subscription:
        """Rule L6: a new pending change replaces an earlier one of its kind, and both are reported."""
        sub = self.withdraw(sub, *replaces)
        self.scheduled.append(ScheduledChange(sub.id, sub.product, "scheduled", pending))
        return sub.evolve(pending=(*sub.pending, pending))

    def check_assigned(self, sub: Subscription, total: int, *, field: str) -> None:
        """Rule L4: a reduction below the licenses assigned now names how many users to unassign."""
        if total < sub.assigned:
            excess = sub.assigned - total
            raise RuleViolation(
                "licenses.below_assigned",
                f"{field}: {sub.assigned} licenses are assigned; unassign {excess} "
                f"user{'s' if excess != 1 else ''} in User Management -> Users before reducing to {total}",
                rule="L4",
                field=field,
                assigned=sub.assigned,
                must_unassign=excess,
            )

    def store(self, sub: Subscription) -> None:
        self.subs[sub.id] = sub

    # ----------------------------------------------------------------------------------------------- plans

    def change_plan(self, ch: ChangePlan) -> None:
        target = self.catalog.product(ch.product, field="product")
        if not target.is_plan:
            raise InvalidInput("product.not_a_plan", f"product: {target.name()} is not a plan", field="product")
        if target.sales_only:
            raise RuleViolation(
                "plan.sales_only",
                f"product: {target.name()} is sold through sales only: Contact Sales",
                rule="P1",
                field="product",
            )
        current = self.plan()
        if target.free:
            raise RuleViolation(
                "plan.downgrade_to_free",
                f"product: to return to {target.name()}, cancel the plan; it ends with the period (rule D1)",
                rule="D1",
                field="product",
            )
        if current is not None:
            self.not_cancelling(current, field="product")
            if current.product == target.code:
                if ch.interval is not None and ch.interval is not current.interval:
                    self.change_interval(ChangeInterval(ch.interval), licenses=ch.licenses)
                    return
                if current.pending_of(PendingKind.PRODUCT) is not None and ch.licenses in (None, current.quantity):
                    self.store(self.withdraw(current, PendingKind.PRODUCT))  # keep the plan: no downgrade after all
                    return
                raise RuleViolation(
                    "plan.unchanged", f"product: the account already has {target.name()}", field="product"
                )
        licenses = ch.licenses
        if licenses is None:
            licenses = current.quantity if current is not None else target.min_quantity
        licenses = check_total(licenses, field="licenses")
        check_limits(target, licenses, field="licenses")
        interval = ch.interval or (current.interval if current is not None else Interval.MONTH)
        if current is None or target.rank > self.product(current).rank:
            self.upgrade(current, target, licenses, interval, explicit_licenses=ch.licenses is not None)
        else:
            self.downgrade(current, target, licenses, interval)

    def upgrade(
        self,
        current: Subscription | None,
        target: Product,
        licenses: int,
        interval: Interval,
        *,
        explicit_licenses: bool = True,
    ) -> None:
        """Rule P2: credit the unused remainder, charge the new plan; same interval keeps the billing date."""
        pending: tuple[Pending, ...] = ()
        if current is None:
            now_qty, sub_id, assigned = licenses, self.new_id(), 0
        else:
            now_qty = max(licenses, current.quantity)  # rule L3: a lower total waits for the term end
            if interval is not current.interval and not explicit_licenses:
                self.no_pending_reduction(current, field="interval")
            carried = current.pending_of(PendingKind.QUANTITY)
            # a pending reduction survives an upgrade that names no total, where the new plan allows it (rule L6)
            keep_reduction = (
                carried is not None
                and not explicit_licenses
                and carried.quantity is not None
                and target.min_quantity <= carried.quantity <= (target.max_quantity or carried.quantity)
            )
            drop = (PendingKind.PRODUCT,) if keep_reduction else (PendingKind.QUANTITY, PendingKind.PRODUCT)
            kept = self.withdraw(current, *drop)
            sub_id, assigned, pending = current.id, current.assigned, kept.pending
            self.credit_unused(current)
        if current is not None and interval is current.interval:
            anchor = current.anchor
            whole = self.containing(anchor, interval)
            span = Period(self.start(current), current.period.end)
        else:
            anchor = self.eff
            whole = span = Period(anchor, boundary(anchor, 1, interval.months, self.tz))
        charge = self.charge(sub_id, target, now_qty, interval, span, whole, field="product")
        sub = Subscription(sub_id, target.code, interval, now_qty, anchor, span, (charge,), assigned, pending)
        if licenses < now_qty:
            self.check_assigned(sub, licenses, field="licenses")
            sub = self.schedule(sub, Pending(PendingKind.QUANTITY, sub.period.end, quantity=licenses), replaces=())
        self.store(sub)
        if current is None or anchor != current.anchor:
            self.plan_restarted = True

    def downgrade(self, current: Subscription, target: Product, licenses: int, interval: Interval) -> None:
        """Rule P5 (at the term end, no credit) or P7 (at once, credited); only the catalog's allowed paths."""
        source = self.product(current)
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
        self.check_assigned(current, licenses, field="licenses")
        if self.policy is DowngradePolicy.IMMEDIATE_WITH_CREDIT:
            self.replace_now(current, target, licenses, rule_field="product")
            return
        pending = Pending(PendingKind.PRODUCT, current.period.end, quantity=licenses, product=target.code)
        self.store(self.schedule(current, pending, replaces=(PendingKind.PRODUCT, PendingKind.QUANTITY)))

    def replace_now(self, sub: Subscription, product: Product, quantity: int, *, rule_field: str) -> None:
        """Credit what is unused and charge the new product and quantity to the period end (A4, P7).

        An add-on follows the plan's anchor, which this order may just have moved (rule A5).
        """
        self.credit_unused(sub)
        plan = self.plan()
        anchor = plan.anchor if plan is not None and not self.product(sub).is_plan else sub.anchor
        whole = self.containing(anchor, sub.interval)
        span = Period(self.start(sub), whole.end)
        charge = self.charge(sub.id, product, quantity, sub.interval, span, whole, field=rule_field)
        kept = self.withdraw(sub, PendingKind.QUANTITY, PendingKind.PRODUCT)
        self.store(kept.evolve(product=product.code, quantity=quantity, anchor=anchor, period=span, charges=(charge,)))

    def reduce_now(self, sub: Subscription, total: int, *, field: str) -> None:
        """Rule P7: fewer licenses or seats at once; the removed ones' unused part is credited (C5), nothing charged.

        The credit is the removed share of what was charged and is unused; what stays is the charge of the licenses
        kept, for the rest of the period, so a later credit reverses exactly that.
        """
        num, den = self.unused_exact(sub)
        unused = round_half_up(num, den)
        removed = sub.quantity - total
        credit = round_half_up(num * removed, den * sub.quantity)
        if credit:
            used = measure(self.start(sub), sub.period.end, self.tz, self.gran)
            whole = measure(sub.period.start, sub.period.end, self.tz, self.gran)
            self.lines.append(
                Line(
                    LineKind.CREDIT,
                    sub.id,
                    sub.product,
                    f"Unused time on {self.product(sub).name()} x {removed} removed, "
                    f"{fraction_text(used, whole, self.gran)}",
                    removed,
                    None,
                    Period(self.start(sub), sub.period.end),
                    used,
                    whole,
                    -credit,
                    basis=sub.charged(),
                )
            )
        kept = self.withdraw(sub, PendingKind.QUANTITY, PendingKind.PRODUCT)
        remaining = (Charge(unused - credit, self.start(sub), sub.period.end),) if unused - credit else ()
        self.store(kept.evolve(quantity=total, charges=remaining))

    def change_interval(self, ch: ChangeInterval, *, licenses: int | None = None) -> None:
        """Rules C1, C2: switching interval is immediate; a new period starts now, the unused part is credited."""
        sub = self.sub(ch.subscription)
        self.not_cancelling(sub, field="interval")
        if ch.interval is sub.interval:
            raise RuleViolation(
                "interval.unchanged",
                f"interval: the subscription is already billed {ch.interval}ly",
                field="interval",
            )
        product = self.product(sub)
        self.no_pending_reduction(sub, field="interval")
        quantity = sub.quantity
        if licenses is not None:
            quantity = check_total(licenses, field="licenses")
            check_limits(product, quantity, field="licenses")
            if quantity < sub.quantity:
                raise RuleViolation(
                    "licenses.reduction_with_interval",
                    "licenses: reduce licenses at the term end as a separate change",
                    rule="L3",
                    field="licenses",
                )
        self.price(product, ch.interval, field="interval")
        self.credit_unused(sub)
        if product.is_plan:
            anchor = self.eff
            span = Period(anchor, boundary(anchor, 1, ch.interval.months, self.tz))
            whole = span
        else:
            plan = self.sub(None)
            anchor = plan.anchor
            whole = self.containing(anchor, ch.interval)
            span = Period(self.eff, whole.end)
        charge = self.charge(sub.id, product, quantity, ch.interval, span, whole, field="interval")
        self.store(sub.evolve(interval=ch.interval, quantity=quantity, anchor=anchor, period=span, charges=(charge,)))
        if product.is_plan:
            self.plan_restarted = True

    def no_pending_reduction(self, sub: Subscription, *, field: str) -> None:
        """Rules L3, P5: a new period cannot start while a reduction or downgrade waits for the current one's end.

        Applying it now would credit the removed licenses (L3 says no refund); carrying it into the new period would
        postpone it, for up to a year. The buyer withdraws it (enter the current total) or lets it take effect first.
        """
        waiting = sub.pending_of(PendingKind.QUANTITY) or sub.pending_of(PendingKind.PRODUCT)
        if waiting is not None:
            raise RuleViolation(
                "pending.blocks_new_period",
                f"{field}: {self.product(sub).name()} has a change scheduled for "
                f"{waiting.effective.date().isoformat()} ({waiting.describe()}); withdraw it or make this change "
                "after it has taken effect",
                rule="L3",
                field=field,
                subscription=sub.id,
            )

    def coterm_addons(self) -> None:
        """Rule A5: when the plan starts a new period, its add-ons move to the plan's billing date.

        Done once, after the whole cart, so that an add-on changed in the same order is credited and charged once.
        """
        if not self.plan_restarted:
            return
        plan = self.sub(None)
        for sub in list(self.subs.values()):
            product = self.product(sub)
            if product.kind is not ProductKind.ADDON or sub.anchor == plan.anchor:
                continue
            if sub.cancelling:
                continue  # rule D1: it ends at its own period end, as the buyer asked; nothing new is charged
            self.no_pending_reduction(sub, field="interval")
            self.credit_unused(sub)
            whole = self.containing(plan.anchor, sub.interval)
            span = Period(self.eff, whole.end)
            charge = self.charge(sub.id, product, sub.quantity, sub.interval, span, whole, field="subscription")
            self.store(sub.evolve(anchor=plan.anchor, period=span, charges=(charge,)))

    # ----------------------------------------------------------------------------------------------- licenses

    def set_licenses(self, ch: SetLicenses) -> None:
        """Rules L1-L4, L6: the field is the new total; more now (prorated), fewer at the term end."""
        sub = self.sub(ch.subscription)
        product = self.product(sub)
        if product.is_addon:
            self.change_addon(ChangeAddon(sub.id, quantity=ch.total), field="total")
            return
        total = check_total(ch.total, field="total")
        downgrade = sub.pending_of(PendingKind.PRODUCT)
        if total < sub.quantity and downgrade is not None and downgrade.product is not None:
            check_limits(self.catalog.products[downgrade.product], total, field="total")  # what will renew
        else:
            check_limits(product, total, field="total")
        self.not_cancelling(sub, field="total")
        if total > sub.quantity:
            whole = self.containing(sub.anchor, sub.interval)
            span = Period(self.start(sub), sub.period.end)
            charge = self.charge(sub.id, product, total - sub.quantity, sub.interval, span, whole, field="total")
            kept = self.withdraw(sub, PendingKind.QUANTITY)  # rule L6: an increase cancels a pending reduction
            self.store(kept.evolve(quantity=total, charges=(*sub.charges, charge)))
        elif total == sub.quantity:
            if sub.pending_of(PendingKind.QUANTITY) is None:
                raise RuleViolation(
                    "licenses.unchanged",
                    f"total: the plan already has {total} licenses (enter the new total, not the number added)",
                    rule="L1",
                    field="total",
                )
            self.store(self.withdraw(sub, PendingKind.QUANTITY))
        else:
            self.check_assigned(sub, total, field="total")
            if self.policy is DowngradePolicy.IMMEDIATE_WITH_CREDIT:
                self.reduce_now(sub, total, field="total")
                return
            if downgrade is not None and downgrade.product is not None:
                # the total that renews is the pending downgrade's: it carries the new total (rules P3, L6)
                pending = Pending(PendingKind.PRODUCT, downgrade.effective, quantity=total, product=downgrade.product)
                self.store(self.schedule(sub, pending, replaces=(PendingKind.PRODUCT,)))
                return
            pending = Pending(PendingKind.QUANTITY, sub.period.end, quantity=total)
            self.store(self.schedule(sub, pending, replaces=(PendingKind.QUANTITY,)))

    # ----------------------------------------------------------------------------------------------- add-ons

    def add_addon(self, ch: AddAddon) -> None:
        product = self.catalog.product(ch.product, field="product")
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
        if product.unit is Unit.PER_ACCOUNT and quantity != 1:
            raise InvalidInput(
                "addon.invalid_quantity",
                f"quantity: {product.name()} is bought once per account (quantity 1)",
                rule="A7",
                field="quantity",
            )
        for held in self.subs.values():
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
        plan = self.plan()
        if plan is None:
            raise RuleViolation(
                "addon.requires_plan",
                f"product: {product.name()} is added to a paid plan; upgrade the account first",
                rule="A5",
                field="product",
            )
        self.not_cancelling(plan, field="product")
        if product.kind is ProductKind.ONE_TIME_MONTH:
            # rule A8: one calendar month from the purchase instant, in full, never renewed
            if ch.interval not in (None, Interval.MONTH):
                raise RuleViolation(
                    "addon.one_month_only",
                    "interval: a one-month product is bought for one month",
                    rule="A8",
                    field="interval",
                )
            span = Period(self.at, boundary(self.at, 1, 1, self.tz))
            sub_id = self.new_id()
            charge = self.charge(sub_id, product, quantity, Interval.MONTH, span, span, field="product")
            self.store(Subscription(sub_id, product.code, Interval.MONTH, quantity, self.at, span, (charge,)))
            return
        interval = ch.interval or plan.interval
        self.check_addon_interval(product, interval, plan)
        whole = self.containing(plan.anchor, interval)
        span = Period(self.start(plan), whole.end)
        sub_id = self.new_id()
        charge = self.charge(sub_id, product, quantity, interval, span, whole, field="product")
        self.store(Subscription(sub_id, product.code, interval, quantity, plan.anchor, span, (charge,)))

    def change_addon(self, ch: ChangeAddon, *, field: str = "quantity") -> None:
        """Rule A4: more seats or a larger size now (credit and prorated charge); less at the term end."""
        sub = self.sub(ch.subscription)
        product = self.product(sub)
        if product.kind is not ProductKind.ADDON:
            raise RuleViolation(
                "addon.not_changeable",
                f"subscription: {product.name()} cannot be edited here",
                field="subscription",
            )
        self.not_cancelling(sub, field="subscription")
        target = product if ch.product is None else self.catalog.product(ch.product, field="product")
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
            target.code in (s.product, s.product_at_term_end()) for s in self.subs.values() if s.id != sub.id
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
        self.price(target, sub.interval, field="product")
        if target is product and quantity == sub.quantity:
            if not sub.pending:
                raise RuleViolation("addon.unchanged", f"{field}: nothing would change", field=field)
            self.store(self.withdraw(sub, PendingKind.QUANTITY, PendingKind.PRODUCT))
            return
        bigger = target.size >= product.size and quantity >= sub.quantity
        smaller = target.size <= product.size and quantity <= sub.quantity
        if bigger:
            self.replace_now(sub, target, quantity, rule_field=field)
        elif smaller:
            self.check_assigned(sub, quantity, field=field)
            if self.policy is DowngradePolicy.IMMEDIATE_WITH_CREDIT:
                if target is product:
                    self.reduce_now(sub, quantity, field=field)
                else:
                    self.replace_now(sub, target, quantity, rule_field=field)
                return
            if target is product:
                pending = Pending(PendingKind.QUANTITY, sub.period.end, quantity=quantity)
            else:
                pending = Pending(PendingKind.PRODUCT, sub.period.end, quantity=quantity, product=target.code)
            self.store(self.schedule(sub, pending, replaces=(PendingKind.QUANTITY, PendingKind.PRODUCT)))
        else:
            raise RuleViolation(
                "addon.mixed_change",
                f"{field}: a larger size with fewer seats (or the reverse) is two changes; make them separately",
                rule="A4",
                field=field,
            )

    # ----------------------------------------------------------------------------------------------- cancel

    def cancel(self, ch: Cancel) -> None:
        """Rules D1, D2: cancellation waits for the period end; add-ons go first or with explicit consent."""
        sub = self.sub(ch.subscription)
        product = self.product(sub)
        if product.kind is ProductKind.ONE_TIME_MONTH:
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
            addons = [s for s in self.subs.values() if self.product(s).kind is ProductKind.ADDON]
            active = [s for s in addons if not s.cancelling]
            if active and not ch.with_addons:
                raise RuleViolation(
                    "cancel.addons_first",
                    "with_addons: cancel the add-ons first, or confirm that they are cancelled with the plan ("
                    + ", ".join(self.product(s).name() for s in active)
                    + ")",
                    rule="D2",
                    field="with_addons",
                    addons=[s.id for s in active],
                )
            for addon in active:
                # cancelled with the plan: a monthly add-on on a yearly plan keeps renewing until the plan ends
                ends = max(addon.period.end, sub.period.end)
                self.store(self.schedule(addon, Pending(PendingKind.CANCEL, ends), replaces=()))
        self.store(self.schedule(sub, Pending(PendingKind.CANCEL, sub.period.end), replaces=()))

    def reactivate(self, ch: Reactivate) -> None:
        sub = self.sub(ch.subscription)
        if not sub.cancelling:
            raise RuleViolation(
                "subscription.not_cancelling",
                f"subscription: {self.product(sub).name()} is not cancelled",
                rule="D1",
                field="subscription",
            )
        self.store(self.withdraw(sub, PendingKind.CANCEL))

    # ----------------------------------------------------------------------------------------------- whole account

    def check_addon_interval(
        self, product: Product, interval: Interval, plan: Subscription, *, field: str = "interval"
    ) -> None:
        """Rule A6: an annual add-on needs a yearly plan."""
        if interval is Interval.YEAR and plan.interval is Interval.MONTH:
            raise RuleViolation(
                "addon.annual_on_monthly",
                f"{field}: {product.name()} is billed yearly but the plan is monthly; an annual add-on needs "
                "a yearly plan (change the add-on to monthly in the same order)",
                rule="A6",
                field=field,
            )

    def check_account(self, field: str) -> None:
        """Rules A5-A7, D2 over the account as the whole order leaves it (a cart may pass through states that a
        single change would not be allowed to leave). ``field`` is the item to point at, or ``changes``."""
        plan = self.plan()
        for sub in self.subs.values():
            product = self.product(sub)
            if not product.is_addon:
                continue
            if plan is None:
                raise RuleViolation(
                    "addon.requires_plan", f"{field}: {product.name()} needs a paid plan", rule="A5", field=field
                )
            one_month = product.kind is ProductKind.ONE_TIME_MONTH
            if not one_month:
                self.check_addon_interval(product, sub.interval, plan, field=field)
            if plan.cancelling and not sub.cancelling and not one_month:
                raise RuleViolation(
                    "cancel.addons_first",
                    f"{field}: {product.name()} would outlive the cancelled plan",
                    rule="D2",
                    field=field,
                )
            if product.unit is Unit.PER_USER:
                # seats now, and seats after the term end's changes: a cancelled add-on then has none
                lasts = sub.period.end > plan.period.end if one_month else not sub.cancelling
                seats_then = sub.quantity_at_term_end() if lasts else 0
                licenses_then = 0 if plan.cancelling else plan.quantity_at_term_end()
                if sub.quantity > plan.quantity or seats_then > licenses_then:
                    seats, licenses = (
                        (sub.quantity, plan.quantity) if sub.quantity > plan.quantity else (seats_then, licenses_then)
                    )
                    raise RuleViolation(
                        "addon.seats_exceed_licenses",
                        f"{field}: {product.name()} would have more seats ({seats}) than the plan has licenses "
                        f"({licenses}); seats of an add-on cannot exceed the plan's licenses",
                        rule="A7",
                        field=field,
                        subscription=sub.id,
                    )

    def to_assign(self) -> tuple[tuple[str, str, int], ...]:
        """Rule L5: licenses and per-user seats this order adds, which must then be assigned to users."""
        before = {s.id: s for s in self.account.subscriptions}
        out = []
        for sub in self.subs.values():
            if self.product(sub).unit is not Unit.PER_USER:
                continue
            old = before.get(sub.id)
            added = sub.quantity - (old.quantity if old is not None else 0)
            if added > 0:
                out.append((sub.id, sub.product, added))
        return tuple(out)

    def finish(self, at: datetime) -> Quote:
        subtotal = sum(line.amount for line in self.lines)
        balance = self.account.credit_balance
        used, added, due = settle(subtotal, balance)
        acc = self.account
        after = Account(
            acc.currency, acc.time_zone, acc.granularity, balance - used + added, tuple(self.subs.values()),
            acc.overdue, acc.managed_by_sales,
        )  # fmt: skip
        return Quote(
            self.account.currency,
            at,
            tuple(self.lines),
            subtotal,
            balance,
            used,
            added,
            due,
            balance - used + added,
            tuple(self.scheduled),
            after,
            self.to_assign(),
        )


def quote(account: Account, catalog: Catalog, at: datetime, changes: Sequence[Change], *, role: str = "owner") -> Quote:
    """Price a cart of changes as one order at ``at`` (rules P, L, A, C, D, K3), or refuse it with a rule error."""
    at = require_aware(at, field="at")
    if not changes:
        raise InvalidInput("cart.empty", "changes: the cart is empty", rule="K3", field="changes")
    check_account_may_buy(account, role)
    periods = validate_account(account, catalog, at)
    pricer = _Pricer(account, catalog, at, periods)
    handlers = {
        ChangePlan: pricer.change_plan,
        ChangeInterval: pricer.change_interval,
        SetLicenses: pricer.set_licenses,
        ChangeAddon: pricer.change_addon,
        AddAddon: pricer.add_addon,
        Cancel: pricer.cancel,
        Reactivate: pricer.reactivate,
    }
    plan = find_plan(account.subscriptions, catalog)
    plan_id = plan.id if plan is not None else None

    def order(change: Change) -> tuple[int, bool]:
        # within a kind, the plan's change first: add-ons are then priced against the plan the order leaves
        # (cancellations the other way round: add-ons before their plan, rule D2)
        target = getattr(change, "subscription", None)
        addon_first = isinstance(change, Cancel)
        return ORDER[type(change)], (target in (None, plan_id)) == addon_first

    checked: list[Change] = []
    for index, change in enumerate(changes):
        if type(change) not in handlers:
            raise InvalidInput(
                "change.unknown_type", f"changes[{index}]: {change!r} is not a cart change", field=f"changes[{index}]"
            )
        # a bare "year" from a caller that skipped the reader becomes an Interval, or is refused
        if (
            isinstance(change, ChangePlan | ChangeInterval | AddAddon)
            and change.interval is not None
            and type(change.interval) is not Interval
        ):
            change = replace(change, interval=Interval.parse(change.interval, field=f"changes[{index}].interval"))
        checked.append(change)
    changes = checked
    for index, change in sorted(enumerate(changes), key=lambda item: order(item[1])):
        try:
            handlers[type(change)](change)  # type: ignore[operator]
        except ProrataError as error:
            error.data.setdefault("change", index)  # which item of the cart, for the caller to point at
            raise
    # rules about the whole account point at the item when the cart holds one, else at the cart
    whole_field, whole_index = (_FIELD_OF[type(changes[0])], 0) if len(changes) == 1 else ("changes", None)
    try:
        pricer.coterm_addons()
        pricer.check_account(whole_field)
    except ProrataError as error:
        if whole_index is not None:
            error.data.setdefault("change", whole_index)
        raise
    return pricer.finish(at)


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


def renew(account: Account, catalog: Catalog, billing_date: datetime) -> Quote:
    """Rule C7 (and A8, D1): renew every subscription whose period ends at ``billing_date`` at full price, with its
    scheduled changes applied first; cancelled and one-month products end. One invoice per billing date (rule I1).
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
    pricer = _Pricer(account, catalog, billing_date)
    pricer.eff = billing_date
    for sub in account.subscriptions:
        if sub.period.end != billing_date:
            continue
        product = catalog.products[sub.product]
        due = [p for p in sub.pending if p.effective <= billing_date]
        later = tuple(p for p in sub.pending if p.effective > billing_date)
        if product.kind is ProductKind.ONE_TIME_MONTH or any(p.kind is PendingKind.CANCEL for p in due):
            del pricer.subs[sub.id]
            continue
        quantity, code = sub.quantity, sub.product
        for p in due:
            quantity = p.quantity if p.quantity is not None else quantity
            code = p.product if p.product is not None else code
        product = catalog.products[code]
        span = next_period(sub.anchor, billing_date, sub.interval, pricer.tz)
        charge = pricer.charge(sub.id, product, quantity, sub.interval, span, span, field="product")
        pricer.store(
            sub.evolve(
                product=code,
                quantity=quantity,
                period=span,
                charges=(charge,),
                pending=later,
                # the services keep assignments within the licenses; the engine never shows more assigned than held
                assigned=min(sub.assigned, quantity),
            )
        )
    return pricer.finish(billing_date)
