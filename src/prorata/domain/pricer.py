"""The working state of one order being priced, and the money primitives every change uses (rules C3-C5, L4, L6).

A ``Pricer`` holds a working copy of the account's subscriptions, the invoice lines emitted so far and the pending
changes scheduled or withdrawn. Its primitives are the only places lines are made: ``charge`` (quantity x unit price x
used/whole, rounded once), ``credit_unused`` (the unused part of what was charged, never more), ``reduce_now`` and
``replace_now``. The changes themselves are in ``changes.py``; ``engine.py`` drives them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prorata.domain.account import (
    Account,
    Charge,
    Pending,
    PendingKind,
    Subscription,
    find_plan,
)
from prorata.domain.catalog import Catalog, Product
from prorata.domain.discounts import Discount
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.invoice_lines import Line, LineKind, Quote, ScheduledChange, Unassigned, fraction_text, settle
from prorata.domain.money import round_half_up
from prorata.domain.periods import (
    Interval,
    Period,
    effective_start,
    local_date,
    measure,
    period_containing,
    valid_until,
)
from prorata.domain.tax import NO_TAX, TaxDecision, line_tax

# Compared on every line and subscription priced, so bound once: on Python 3.11 a member read through its class
# (``LineKind.CHARGE``) passes the enum metaclass's ``__getattr__`` hook, several times the cost of a global
_CHARGE, _CREDIT, _DISCOUNT = LineKind.CHARGE, LineKind.CREDIT, LineKind.DISCOUNT
_MONTHLY, _YEARLY = Interval.MONTH, Interval.YEAR

# A ceiling no seat-based account reaches, below what a subscription's quantity column holds: a total past it is a
# typing error, refused at the field rather than failing where it is stored
MAX_TOTAL = 1_000_000


def check_total(value: object, *, field: str, code: str = "licenses.invalid_total", rule: str = "L1") -> int:
    """A license or seat total: a whole number, at least 1 and at most ``MAX_TOTAL``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOTAL:
        raise InvalidInput(
            code,
            f"{field}: enter the new total as a whole number from 1 to {MAX_TOTAL} (got {value!r})",
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


class Pricer:
    """The working state of one quote; discarded on any refusal."""

    def __init__(
        self,
        account: Account,
        catalog: Catalog,
        at: datetime,
        periods: dict[tuple[datetime, Interval], Period] | None = None,
        tax: TaxDecision = NO_TAX,
        discount: Discount | None = None,
    ) -> None:
        self.account = account
        # rules DC1, DC2: the discount every charge of this order gets where it covers the product and the time: a
        # code redeemed with the order, else the one the account holds
        self.discount = discount if discount is not None else account.discount
        self.tax = tax  # rules T1, T2: the rate every charge of this order pays
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
        # taken over, not copied: the caller located them for this order alone (``validate_account``)
        self.periods: dict[tuple[datetime, Interval], Period] = {} if periods is None else periods
        self.plan_restarted = False  # the plan started a new period: its add-ons follow at the end (rule A5)
        self.restarted: set[str] = set()  # subscriptions this order starts anew (rules C1, C2, A5, L3)

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
        if known is None or not known.start <= self.at < known.end:
            known = period_containing(anchor, self.at, interval, self.tz)
            self.periods[(anchor, interval)] = known
        return known

    # ----------------------------------------------------------------------------------------------- money

    def unused_by_rate(self, sub: Subscription) -> dict[int, tuple[int, int, int]]:
        """The exact unused value of what was charged this period, ``sum(amount x unused / span)``, as a fraction for
        each tax rate the charges paid: ``{rate: (numerator, denominator, charged)}``, in the order the rates were
        first charged. A subscription charged before and after a change of the buyer's country has two."""
        out: dict[int, tuple[int, int, int]] = {}
        for c in sub.charges:
            num, den, charged = out.get(c.tax_rate, (0, 1, 0))
            span = measure(c.start, c.end, self.tz, self.gran)
            if span:
                unused = measure(max(self.eff, c.start), c.end, self.tz, self.gran)
                num, den = num * span + c.amount * unused * den, den * span
            out[c.tax_rate] = (num, den, charged + c.amount)
        return out

    def credit_unused(self, sub: Subscription) -> None:
        """Rules C5, T3: credit the unused part of what was charged for this period, never above it: one line for
        each tax rate the charges paid, rounded once, whose tax is reversed at that rate."""
        for rate, (num, den, charged) in self.unused_by_rate(sub).items():
            self.credit_line(sub, round_half_up(num, den), sub.quantity, "", rate=rate, basis=charged)

    def credit_line(self, sub: Subscription, amount: int, quantity: int, note: str, *, rate: int, basis: int) -> None:
        """A credit for the unused rest of ``sub``'s period (nothing when it rounds to zero), reversing charges taxed
        at ``rate`` whose amounts total ``basis`` (rule T3: tax reversed at the rate the charge paid, on the credit's
        rounded amount, half up)."""
        if amount == 0:
            return
        used = measure(self.start(sub), sub.period.end, self.tz, self.gran)
        whole = measure(sub.period.start, sub.period.end, self.tz, self.gran)
        share = fraction_text(used, whole, self.gran)
        self.lines.append(
            Line(
                _CREDIT,
                sub.id,
                sub.product,
                f"Unused time on {self.product(sub).name()} x {quantity}{note}, {share}",
                quantity,
                None,
                Period(self.start(sub), sub.period.end),
                used,
                whole,
                -amount,
                basis=basis,
                tax_rate=rate,
                tax=line_tax(-amount, rate),
                billing_period=sub.period,
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
    ) -> tuple[Charge, ...]:
        """Rules C3, C4: quantity x unit price x used/whole for ``span`` within the period ``whole``; and rule DC2:
        the discount's line right after it, for the part of ``span`` it covers.

        Returns what the subscription records as charged: the charge less its discount, split where the discount
        stops covering (so a credit for unused time later reverses what was paid for that time, C5).
        """
        unit = self.price(product, interval, field=field)
        used = measure(span.start, span.end, self.tz, self.gran)
        den = measure(whole.start, whole.end, self.tz, self.gran)
        amount = round_half_up(quantity * unit * used, den)
        rate = self.tax.rate
        self.lines.append(
            Line(
                _CHARGE,
                sub_id,
                product.code,
                f"{product.name()} x {quantity}, {fraction_text(used, den, self.gran)}",
                quantity,
                unit,
                span,
                used,
                den,
                amount,
                tax_rate=rate,
                tax=line_tax(amount, rate),
                billing_period=whole,
            )
        )
        d = self.discount
        if d is None or not amount or not d.covers(product.code):
            return (Charge(amount, span.start, span.end, rate),)
        part = d.overlap(span.start, span.end)
        if part is None:
            return (Charge(amount, span.start, span.end, rate),)
        lo, hi = part
        covered = used if (lo, hi) == (span.start, span.end) else measure(lo, hi, self.tz, self.gran)
        off = d.off(quantity, unit, covered, den)
        if off:
            self.lines.append(
                Line(
                    _DISCOUNT,
                    sub_id,
                    product.code,
                    f"Discount {d.code} ({d.describe(self.account.currency)}) on {product.name()} x {quantity}, "
                    f"{fraction_text(covered, den, self.gran)}",
                    quantity,
                    None,
                    Period(lo, hi),
                    covered,
                    den,
                    -off,
                    tax_rate=rate,
                    tax=line_tax(-off, rate),
                    billing_period=whole,
                    discount=d.code,
                )
            )
        if covered == used:
            return (Charge(amount - off, span.start, span.end, rate),)
        # the discount covers part of the span (it stops inside it, or a code redeemed for the next period starts
        # inside a one-month add-on's month): what was paid for each part, the parts adding up to the whole charge
        # (never less than the discount taken off it, so no part is negative)
        covered_paid = max(off, round_half_up(amount * covered, used))
        rest = amount - covered_paid
        before = measure(span.start, lo, self.tz, self.gran) if lo > span.start else 0
        after = used - covered - before
        paid_before = round_half_up(rest * before, before + after)
        charges = [Charge(covered_paid - off, lo, hi, rate)]
        if before:
            charges.insert(0, Charge(paid_before, span.start, lo, rate))
        if after:
            charges.append(Charge(rest - paid_before, hi, span.end, rate))
        return tuple(charges)

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
                entered=total,
            )

    def store(self, sub: Subscription) -> None:
        self.subs[sub.id] = sub

    def replace_now(self, sub: Subscription, product: Product, quantity: int, *, rule_field: str) -> None:
        """Credit what is unused and charge the new product and quantity to the period end (A4, P7).

        An add-on follows the plan's anchor, which this order may just have moved (rule A5).
        """
        self.credit_unused(sub)
        plan = self.plan()
        anchor = plan.anchor if plan is not None and not self.product(sub).is_plan else sub.anchor
        whole = self.containing(anchor, sub.interval)
        span = Period(self.start(sub), whole.end)
        charges = self.charge(sub.id, product, quantity, sub.interval, span, whole, field=rule_field)
        kept = self.withdraw(sub, PendingKind.QUANTITY, PendingKind.PRODUCT)
        self.store(kept.evolve(product=product.code, quantity=quantity, anchor=anchor, period=span, charges=charges))

    def reduce_now(self, sub: Subscription, total: int, *, field: str) -> None:
        """Rule P7: fewer licenses or seats at once; the removed ones' unused part is credited (C5), nothing charged.

        The credit is the removed share of what was charged and is unused, for each tax rate the charges paid (T3);
        what stays is the charge of the licenses kept, for the rest of the period, so a later credit reverses exactly
        that.
        """
        removed = sub.quantity - total
        kept = self.withdraw(sub, PendingKind.QUANTITY, PendingKind.PRODUCT)
        remaining: list[Charge] = []
        for rate, (num, den, charged) in self.unused_by_rate(sub).items():
            unused = round_half_up(num, den)
            credit = round_half_up(num * removed, den * sub.quantity)
            self.credit_line(sub, credit, removed, " removed", rate=rate, basis=charged)
            if unused - credit:
                remaining.append(Charge(unused - credit, self.start(sub), sub.period.end, rate))
        self.store(kept.evolve(quantity=total, charges=tuple(remaining)))

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
                f"{local_date(waiting.effective, self.tz).isoformat()} ({waiting.describe()}); "
                "withdraw it or make this change after it has taken effect",
                rule="L3",
                field=field,
                subscription=sub.id,
            )

    # ----------------------------------------------------------------------------------------------- whole account

    def check_addon_interval(
        self, product: Product, interval: Interval, plan: Subscription, *, field: str = "interval"
    ) -> None:
        """Rule A6: an annual add-on needs a yearly plan."""
        if interval is _YEARLY and plan.interval is _MONTHLY:
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
        plan_cancelling: bool | None = None  # asked of the plan once, at its first add-on
        for sub in self.subs.values():
            product = self.product(sub)
            if not product.is_addon:
                continue
            if plan is None:
                raise RuleViolation(
                    "addon.requires_plan", f"{field}: {product.name()} needs a paid plan", rule="A5", field=field
                )
            if plan_cancelling is None:
                plan_cancelling = plan.cancelling
            one_month = product.is_one_month
            if not one_month:
                self.check_addon_interval(product, sub.interval, plan, field=field)
            if plan_cancelling and one_month and sub.period.end > plan.period.end:
                raise RuleViolation(  # it stays available for its whole month, and needs a Licensed user to use it
                    "cancel.one_month_outlives",
                    f"{field}: {product.name()} is available until {sub.period.end.isoformat()}, after the plan's "
                    f"billing period ends ({plan.period.end.isoformat()}): cancel the plan once it has ended",
                    rule="A8",
                    field=field,
                    subscription=sub.id,
                    product=product.code,
                    until=sub.period.end.isoformat(),
                )
            if plan_cancelling and not sub.cancelling and not one_month:
                raise RuleViolation(
                    "cancel.addons_first",
                    f"{field}: {product.name()} would outlive the cancelled plan",
                    rule="D2",
                    field=field,
                )
            if product.per_user:
                # seats now, and seats after the term end's changes: a cancelled add-on then has none
                lasts = sub.period.end > plan.period.end if one_month else not sub.cancelling
                seats_then = sub.quantity_at_term_end() if lasts else 0
                licenses_then = 0 if plan_cancelling else plan.quantity_at_term_end()
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
            if not self.product(sub).per_user:
                continue
            old = before.get(sub.id)
            added = sub.quantity - (old.quantity if old is not None else 0)
            if added > 0:
                out.append((sub.id, sub.product, added))
        return tuple(out)

    def finish(self, at: datetime, *, renewal: bool = False, unassigned: tuple[Unassigned, ...] = ()) -> Quote:
        """The quote of the order (or, with ``renewal``, the renewal and the ``unassigned`` it ends)."""
        subtotal = tax = 0
        for line in self.lines:
            subtotal += line.amount
            tax += line.tax
        balance = self.account.credit_balance
        used, added, due = settle(subtotal + tax, balance)
        acc = self.account
        # rule DC2: a discount whose time has run out by the end of this order (a renewal's billing date) is over
        discount = self.discount if self.discount is not None and self.discount.active_at(self.eff) else None
        after = Account(
            acc.currency, acc.time_zone, acc.granularity, balance - used + added, tuple(self.subs.values()),
            acc.overdue, acc.managed_by_sales, acc.trial_used, discount,
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
            at if renewal else valid_until(at, self.tz, self.gran, self.catalog.quote_valid_seconds),
            tax,
            self.tax,
            unassigned,
        )
