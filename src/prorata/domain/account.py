"""What an account holds: subscriptions with what was charged for their current periods, pending changes, and
its credit balance. Frozen values: the engine computes a new account, it never edits one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from prorata.domain.catalog import Catalog, Product
from prorata.domain.discounts import Discount
from prorata.domain.errors import InvalidInput
from prorata.domain.frozen import direct_init
from prorata.domain.money import EXPONENTS, check_currency, check_minor
from prorata.domain.periods import Granularity, Interval, Period, boundary, period_bounds, time_zone


@direct_init
@dataclass(frozen=True, slots=True)
class Charge:
    """An amount actually charged (after discounts and earlier credits) for the service span ``[start, end)``.

    Credits for unused time are computed from these, never from list prices (rule C5).
    """

    amount: int
    start: datetime
    end: datetime
    tax_rate: int = 0  # basis points it was taxed at: a credit reverses tax at this rate (rule T3)


class PendingKind(enum.StrEnum):
    QUANTITY = "quantity"  # rule L3: a reduction waiting for the term end
    PRODUCT = "product"  # rule P5: a plan downgrade, or a smaller add-on size, at the term end
    CANCEL = "cancel"  # rule D1: cancellation at the period end


# Compared for every subscription of every order, so bound once: on Python 3.11 a member read through its class
# (``PendingKind.CANCEL``) passes the enum metaclass's ``__getattr__`` hook, several times the cost of a global
_CANCEL = PendingKind.CANCEL
_SETS_TOTAL = (PendingKind.QUANTITY, PendingKind.PRODUCT)  # the kinds that set the total renewed


@direct_init
@dataclass(frozen=True, slots=True)
class Pending:
    kind: PendingKind
    effective: datetime
    quantity: int | None = None
    product: str | None = None

    def describe(self) -> str:
        if self.kind is PendingKind.CANCEL:
            return "cancel"
        if self.kind is PendingKind.QUANTITY:
            return f"licenses -> {self.quantity}"
        return f"product -> {self.product} x {self.quantity}"


@direct_init
@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription: a plan or an add-on, its quantity, billing anchor and current period.

    Periods follow ``anchor``; ``period`` is the current one (a first period may start after the anchor boundary
    when an add-on was bought mid-period, rule A5). ``charges`` are what was charged for service in ``period``.
    """

    id: str
    product: str
    interval: Interval
    quantity: int
    anchor: datetime
    period: Period
    charges: tuple[Charge, ...] = ()
    assigned: int = 0
    pending: tuple[Pending, ...] = ()

    def evolve(
        self,
        *,
        product: str | None = None,
        interval: Interval | None = None,
        quantity: int | None = None,
        anchor: datetime | None = None,
        period: Period | None = None,
        charges: tuple[Charge, ...] | None = None,
        assigned: int | None = None,
        pending: tuple[Pending, ...] | None = None,
    ) -> Subscription:
        """A copy with some fields changed (``dataclasses.replace`` without its introspection, on the hot path)."""
        return Subscription(
            self.id,
            self.product if product is None else product,
            self.interval if interval is None else interval,
            self.quantity if quantity is None else quantity,
            self.anchor if anchor is None else anchor,
            self.period if period is None else period,
            self.charges if charges is None else charges,
            self.assigned if assigned is None else assigned,
            self.pending if pending is None else pending,
        )

    def pending_of(self, kind: PendingKind) -> Pending | None:
        for p in self.pending:
            if p.kind is kind:
                return p
        return None

    @property
    def cancelling(self) -> bool:
        # asked of every subscription several times per order, and most have nothing pending
        return bool(self.pending) and self.pending_of(_CANCEL) is not None  # a plain loop: no generator made

    def charged(self) -> int:
        return sum(c.amount for c in self.charges)

    def quantity_at_term_end(self) -> int:
        """The quantity after this period's pending changes (what renews)."""
        for p in self.pending:
            if p.kind in _SETS_TOTAL and p.quantity is not None:
                return p.quantity
        return self.quantity

    def assignable_limit(self) -> int:
        """Rules U1, L4, P5: how many licenses (or seats) may be assigned now, see ``assignable_limit``."""
        return assignable_limit(self.quantity, (p.quantity for p in self.pending))

    def product_at_term_end(self) -> str:
        p = self.pending_of(PendingKind.PRODUCT)
        return p.product if p is not None and p.product is not None else self.product


def assignable_limit(quantity: int, scheduled: Iterable[int | None]) -> int:
    """Rules U1, L4, P5, A7: the most licenses or seats of a subscription that may be assigned at any moment: the
    fewest of what it holds now and what each change scheduled for it will leave (a reduction, a downgrade with its
    own total, a smaller add-on size). A license is never assigned that the term end would take away again; a
    cancellation leaves the licenses usable until it takes effect (D1), so it does not lower the limit.
    ``scheduled`` are the scheduled changes' quantities (None for a change that sets none)."""
    return min((quantity, *(q for q in scheduled if q is not None)))


@direct_init
@dataclass(frozen=True, slots=True)
class Account:
    """The account as the engine sees it (rule X2: periods and day counts use ``time_zone``)."""

    currency: str
    time_zone: str
    granularity: Granularity
    credit_balance: int
    subscriptions: tuple[Subscription, ...] = ()
    overdue: bool = False
    managed_by_sales: bool = False
    trial_used: bool = False  # rule TR1: the account has had a free trial (one per account)
    discount: Discount | None = None  # rules DC1, DC2: the code it holds and the service time that code covers

    def __post_init__(self) -> None:
        balance = self.credit_balance
        if type(balance) is int and balance >= 0 and type(self.currency) is str and self.currency in EXPONENTS:
            time_zone(self.time_zone)  # the common case, checked without building the messages of a refusal
            return
        check_currency(self.currency)
        check_minor(self.credit_balance, field="credit_balance")
        if self.credit_balance < 0:
            raise InvalidInput(
                "credit_balance.negative",
                "credit_balance: a credit balance cannot be negative",
                field="credit_balance",
            )
        time_zone(self.time_zone)

    @property
    def tz(self) -> ZoneInfo:
        return time_zone(self.time_zone)

    def subscription(self, sub_id: str) -> Subscription | None:
        for s in self.subscriptions:
            if s.id == sub_id:
                return s
        return None


def validate_account(
    account: Account, catalog: Catalog, at: datetime | None
) -> dict[tuple[datetime, Interval], Period]:
    """Refuse an account description that cannot be true (unknown products, periods off their anchor, two plans,
    pending changes that could not be applied). ``at`` must fall in every current period unless it is None.

    Returns the whole anchor periods it located, by (anchor, interval), for the pricing that follows.
    """
    periods: dict[tuple[datetime, Interval], Period] = {}
    plans = 0
    ids: set[str] = set()
    tz = account.tz
    products = catalog.products
    for i, s in enumerate(account.subscriptions):
        if s.id in ids:
            f = f"subscriptions[{i}]"
            raise InvalidInput("subscription.duplicate_id", f"{f}.id: {s.id!r} appears twice", field=f"{f}.id")
        ids.add(s.id)
        found = products.get(s.product) if type(s.product) is str else None
        product = found if found is not None else catalog.product(s.product, field=f"subscriptions[{i}].product")
        if product.is_plan:
            plans += 1
        quantity, assigned = s.quantity, s.assigned
        if not (type(quantity) is int and type(assigned) is int and 0 <= assigned <= quantity and quantity >= 1):
            _check_quantities(s, f"subscriptions[{i}]")  # the slow path: names what is wrong, if anything
        if not product.free:
            if product.is_one_month:
                if boundary(s.period.start, 1, 1, tz) != s.period.end:
                    f = f"subscriptions[{i}]"
                    raise InvalidInput(
                        "subscription.period_mismatch",
                        f"{f}.period_end: a one-month product runs one calendar month from its start",
                        rule="A8",
                        field=f"{f}.period_end",
                    )
            else:
                # a plan and its add-ons share an anchor and mostly an interval: their period is located once
                key = (s.anchor, s.interval)
                expected = periods.get(key)
                if expected is None or not expected.start <= s.period.start < expected.end:
                    start, end = period_bounds(s.anchor, s.period.start, s.interval, tz)
                    # mostly the subscription's own period, whole: that value serves, no equal one is made
                    whole = start == s.period.start and end == s.period.end
                    expected = periods[key] = s.period if whole else Period(start, end)
                if expected.end != s.period.end:
                    f = f"subscriptions[{i}]"
                    raise InvalidInput(
                        "subscription.period_mismatch",
                        f"{f}.period_end: {s.period.end.isoformat()} is not the end of the period that starts at "
                        f"{s.period.start.isoformat()} on anchor {s.anchor.isoformat()} ({expected.end.isoformat()})",
                        rule="C3",
                        field=f"{f}.period_end",
                    )
            if at is not None and not s.period.start <= at < s.period.end:
                f = f"subscriptions[{i}]"
                raise InvalidInput(
                    "subscription.period_not_current",
                    f"{f}: the instant {at.isoformat()} is outside the current period; renew it first",
                    rule="C7",
                    field=f"{f}.period_start",
                )
        if s.pending:
            _validate_pendings(s, product, catalog, f"subscriptions[{i}]")
        for c in s.charges:
            if type(c.amount) is not int or c.amount < 0:
                f = f"subscriptions[{i}]"
                check_minor(c.amount, field=f"{f}.charged")
                if c.amount < 0:
                    raise InvalidInput("subscription.charged", f"{f}.charged: cannot be negative", field=f"{f}.charged")
    if plans > 1:
        raise InvalidInput(
            "account.two_plans", "subscriptions: an account holds at most one plan", field="subscriptions"
        )
    return periods


def _check_quantities(s: Subscription, f: str) -> None:
    """The quantity and assigned licenses of a subscription: a whole number at least 1, and from 0 to it."""
    check_minor(s.quantity, field=f"{f}.quantity")
    if s.quantity < 1:
        raise InvalidInput("subscription.quantity", f"{f}.quantity: must be at least 1", field=f"{f}.quantity")
    check_minor(s.assigned, field=f"{f}.assigned")
    if not 0 <= s.assigned <= s.quantity:
        raise InvalidInput(
            "subscription.assigned",
            f"{f}.assigned: must be between 0 and the quantity",
            field=f"{f}.assigned",
        )


def _validate_pendings(s: Subscription, product: Product, catalog: Catalog, f: str) -> None:
    kinds: set[PendingKind] = set()
    for j, p in enumerate(s.pending):
        where = f"{f}.pending[{j}]"
        _validate_pending(p, s, product, catalog, where)
        # one change of each kind, and one total for the term end (rule L6: a new one replaces the old)
        if p.kind in kinds or {p.kind, *kinds} >= {PendingKind.QUANTITY, PendingKind.PRODUCT}:
            raise InvalidInput(
                "pending.invalid", f"{where}: another pending change already sets the term end", field=where
            )
        kinds.add(p.kind)
        if p.effective < s.period.end:
            raise InvalidInput(
                "pending.invalid",
                f"{where}.effective: a pending change takes effect at the period end or later",
                field=f"{where}.effective",
            )


def _validate_pending(p: Pending, s: Subscription, product: Product, catalog: Catalog, f: str) -> None:
    """A pending change must be one that renewal can apply (rules L3, P3, P5, D1)."""
    if p.kind is PendingKind.CANCEL:
        if p.quantity is not None or p.product is not None:
            raise InvalidInput("pending.invalid", f"{f}: a pending cancellation has no quantity or product", field=f)
        return
    if p.kind is PendingKind.QUANTITY and p.product is not None:
        raise InvalidInput(
            "pending.invalid", f"{f}.product: a pending quantity change has no product", field=f"{f}.product"
        )
    if p.kind is PendingKind.PRODUCT and p.product is None:
        raise InvalidInput(
            "pending.invalid", f"{f}.product: a pending product change needs the product", field=f"{f}.product"
        )
    target = catalog.product(p.product, field=f"{f}.product") if p.product is not None else product
    if p.kind is PendingKind.PRODUCT and (target.is_plan != product.is_plan or target.free):
        raise InvalidInput(
            "pending.invalid", f"{f}.product: {target.name()} cannot replace {product.name()}", field=f"{f}.product"
        )
    quantity = p.quantity if p.quantity is not None else s.quantity
    check_minor(quantity, field=f"{f}.quantity")
    low, high = target.min_quantity, target.max_quantity
    if quantity < low or (high is not None and quantity > high):
        raise InvalidInput(
            "pending.invalid",
            f"{f}.quantity: {quantity} is outside the {low}-{high or ''} licenses {target.name()} allows",
            rule="P3",
            field=f"{f}.quantity",
        )


def find_plan(subs: Iterable[Subscription], catalog: Catalog) -> Subscription | None:
    for s in subs:
        if catalog.products[s.product].is_plan:
            return s
    return None
