"""Benchmark: how many quotes per second ``prorata.domain.engine.quote()`` prices on one core.

What it measures. ``--n`` random but valid carts (default 100,000, fixed ``--seed``) are built against the default
catalog before any timing: accounts on a paid plan (Pro, Business or Business Plus; monthly or yearly; USD or PLN;
UTC, Europe/Warsaw, America/New_York, Asia/Tokyo or Australia/Sydney; day or second granularity), some holding
add-ons, pending changes or a credit balance, each with a cart of 1-3 changes (upgrade the plan, set licenses up,
set licenses down at the term end, change an interval, add an add-on, change add-on seats or size, cancel,
reactivate). Only the ``quote(account, catalog, at, changes)`` calls are timed (``time.perf_counter`` around each
call, garbage collector left on, one process and thread; ``--cpu N`` pins it to one CPU). Carts the engine refuses
(``RuleViolation`` or ``InvalidInput``) are counted and timed separately. Every account is new to the engine: the
period caches (``periods.clear_caches``: boundaries, local midnights and dates) are emptied before each pass and
warmed with other carts only, so the figure is the steady state of many different accounts, not of one account quoted
again and again. The pass is repeated (``--repeat``, default 3) and the median pass is reported with the best and the
worst: timings on a shared virtual machine vary by tens of percent from one pass to the next.

Before timing, every cart is quoted once more, untimed, and each answer checked (a quote's subtotal and tax are the
sums of its lines, the credit balance pays first and changes by what the quote says, credits never exceed what was
charged); every answer, the whole quote or the refusal's class, code, message and data, goes into one SHA-256 digest
that is printed (``--expect-digest`` fails the run unless it matches): two versions of the engine that print the same
digest for the same ``--seed`` and ``--n`` answered every cart the same, to the minor unit and the letter.

It prints quotes per second (all carts and accepted only; and per CPU-second of the process, which a machine shared
with other work disturbs less than the wall clock), mean lines per quote, the refusals by code, memory
(``tracemalloc`` in a separate smaller pass: the peak of one quote and of the whole pass; and the process's
``ru_maxrss``, mostly the carts built in advance), the Python version and the machine, and the ratio to the issue's
target (50,000 quotes/s) and to two reference figures: a plain ``Decimal`` invoice of 2-4 lines, measured in the
same run on this machine, and django-plans (about 124 plan changes/s, quoted, not measured).

Run it with ``make bench`` or ``.venv/bin/python bench/quotes.py`` (``--n``, ``--seed``, ``--repeat``, ``--json``
for one JSON line of figures, ``--profile N`` to add a cProfile of N quotes sorted by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from prorata.catalogs import default_catalog
from prorata.domain.account import Account, Charge, Pending, PendingKind, Subscription
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
from prorata.domain.catalog import Catalog, Product, ProductKind, Unit
from prorata.domain.engine import quote
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.invoice_lines import LineKind, Quote
from prorata.domain.periods import (
    Granularity,
    Interval,
    Period,
    boundary,
    clear_caches,
    period_containing,
    time_zone,
)

DEFAULT_N = 100_000
DEFAULT_SEED = 20261127
TARGET_QPS = 50_000  # the target
DECIMAL_QUOTED_QPS = 170_000  # the figure for a plain Decimal invoice of 2-4 lines (re-measured below)
DJANGO_PLANS_QPS = 124  # the figure for django-plans plan changes, quoted, not measured
TRACEMALLOC_N = 10_000
WARMUP_N = 2_000

PLANS = ("pro", "business", "business_plus")
FAMILIES = {
    "large_meetings": ("large_meetings_500", "large_meetings_1000"),
    "webinar": ("webinar_500", "webinar_1000"),
    "cloud_recording": ("cloud_recording_1tb", "cloud_recording_3tb"),
}
ONE_MONTH = "webinar_500_one_month"
TIME_ZONES = ("UTC", "Europe/Warsaw", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
CURRENCIES = ("USD", "PLN")
FIRST_INSTANT = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 2 * 365 * 86_400
DAY_SECONDS = 86_400

# Relative weights of the kinds of change in a cart; at most one plan-level change per cart.
WEIGHTS = {
    "upgrade": 14,
    "interval": 10,
    "licenses_up": 18,
    "licenses_down": 12,
    "addon_seats": 12,
    "add_addon": 16,
    "cancel": 8,
    "reactivate": 8,
}
PLAN_LEVEL = frozenset({"upgrade", "interval", "licenses_up", "licenses_down"})
BUILD_ORDER = (
    "reactivate",
    "upgrade",
    "interval",
    "licenses_up",
    "licenses_down",
    "addon_seats",
    "add_addon",
    "cancel",
)

Case = tuple[Account, datetime, tuple[Change, ...]]


# ----------------------------------------------------------------------------------------------------- generator


@dataclass
class _Held:
    """What the generator knows of one subscription while it builds a cart (a small simulation of the engine)."""

    id: str | None
    code: str
    quantity: int
    quantity_end: int
    interval: Interval
    assigned: int = 0
    cancelling: bool = False


class CartFactory:
    """Random accounts and carts that the engine should accept (a few are refused, and counted as such)."""

    def __init__(self, catalog: Catalog, seed: int) -> None:
        self.catalog = catalog
        self.rng = random.Random(seed)

    def product(self, code: str) -> Product:
        return self.catalog.products[code]

    def price(self, code: str, interval: Interval, currency: str) -> int:
        return self.catalog.products[code].prices[(interval, currency)]

    def cases(self, n: int) -> list[Case]:
        return [self.case() for _ in range(n)]

    # ------------------------------------------------------------------------------------------------- account

    def local_midnight(self, at: datetime, tz: ZoneInfo) -> datetime:
        day = at.astimezone(tz).date()
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    def case(self) -> Case:
        rng = self.rng
        tz_name = rng.choice(TIME_ZONES)
        tz = time_zone(tz_name)
        granularity = Granularity.DAY if rng.random() < 0.7 else Granularity.SECOND
        currency = rng.choice(CURRENCIES)
        interval = Interval.MONTH if rng.random() < 0.65 else Interval.YEAR
        at = FIRST_INSTANT + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        anchor = at - timedelta(seconds=rng.randrange(1, 3 * 365 * DAY_SECONDS))
        if granularity is Granularity.DAY:
            anchor = self.local_midnight(anchor, tz)  # a period started by a change starts at local midnight
        period = period_containing(anchor, at, interval, tz)

        code = rng.choice(PLANS)
        product = self.product(code)
        quantity = rng.randint(1, 9) if code == "pro" else rng.choice((rng.randint(10, 60), rng.randint(10, 500)))
        assigned = rng.randint(0, quantity)
        plan = _Held("plan", code, quantity, quantity, interval, assigned)
        charges = self.plan_charges(plan, period, at, tz, granularity, currency)
        pending: list[Pending] = []
        roll = rng.random()
        if roll < 0.08:
            plan.cancelling = True
            pending.append(Pending(PendingKind.CANCEL, period.end))
        elif roll < 0.18:
            low = max(product.min_quantity, assigned, 1)
            if low < quantity:
                plan.quantity_end = rng.randint(low, quantity - 1)
                pending.append(Pending(PendingKind.QUANTITY, period.end, quantity=plan.quantity_end))
        subs = [Subscription("plan", code, interval, quantity, anchor, period, charges, assigned, tuple(pending))]

        held: list[_Held] = []
        if rng.random() < 0.45:
            families = rng.sample(sorted(FAMILIES), rng.choice((1, 1, 1, 2)))
            for family in families:
                subs.append(self.addon(family, plan, anchor, at, tz, currency, held))
        if rng.random() < 0.04:
            bought = at - timedelta(seconds=rng.randrange(27 * DAY_SECONDS))
            span = Period(bought, boundary(bought, 1, 1, tz))
            charge = Charge(self.price(ONE_MONTH, Interval.MONTH, currency), span.start, span.end)
            subs.append(Subscription("one-month", ONE_MONTH, Interval.MONTH, 1, bought, span, (charge,)))
            held.append(_Held("one-month", ONE_MONTH, 1, 1, Interval.MONTH))
        balance = rng.randint(100, 200_000) if rng.random() < 0.25 else 0
        account = Account(currency, tz_name, granularity, balance, tuple(subs))
        return account, at, self.cart(plan, held)

    def plan_charges(
        self, plan: _Held, period: Period, at: datetime, tz: ZoneInfo, granularity: Granularity, currency: str
    ) -> tuple[Charge, ...]:
        """The full period at list price, sometimes discounted, sometimes with licenses added mid-period."""
        rng = self.rng
        unit = self.price(plan.code, plan.interval, currency)
        minimum = self.product(plan.code).min_quantity
        if plan.quantity > minimum and rng.random() < 0.2:
            before = rng.randint(minimum, plan.quantity - 1)
            seconds = int((period.end - period.start).total_seconds())
            mid = period.start + timedelta(seconds=rng.randrange(int((at - period.start).total_seconds()) + 1))
            if granularity is Granularity.DAY:
                mid = max(period.start, self.local_midnight(mid, tz))
            left = int((period.end - mid).total_seconds())
            added = (plan.quantity - before) * unit * left // seconds
            return Charge(before * unit, period.start, period.end), Charge(added, mid, period.end)
        amount = plan.quantity * unit
        if rng.random() < 0.15:
            amount = amount * rng.choice((80, 90)) // 100
        return (Charge(amount, period.start, period.end),)

    def addon(
        self, family: str, plan: _Held, anchor: datetime, at: datetime, tz: ZoneInfo, currency: str, held: list[_Held]
    ) -> Subscription:
        rng = self.rng
        code = rng.choice(FAMILIES[family])
        product = self.product(code)
        interval = Interval.MONTH if plan.interval is Interval.MONTH or rng.random() < 0.3 else Interval.YEAR
        period = period_containing(anchor, at, interval, tz)
        if product.unit is Unit.PER_ACCOUNT:
            quantity, assigned = 1, 0
        else:
            quantity = rng.randint(1, min(plan.quantity_end, 25))
            assigned = rng.randint(0, quantity)
        state = _Held(f"addon-{family}", code, quantity, quantity, interval, assigned, plan.cancelling)
        pending: list[Pending] = []
        if plan.cancelling or rng.random() < 0.05:
            state.cancelling = True
            pending.append(Pending(PendingKind.CANCEL, period.end))
        elif product.unit is Unit.PER_USER and max(1, assigned) < quantity and rng.random() < 0.05:
            state.quantity_end = rng.randint(max(1, assigned), quantity - 1)
            pending.append(Pending(PendingKind.QUANTITY, period.end, quantity=state.quantity_end))
        held.append(state)
        charge = Charge(quantity * self.price(code, interval, currency), period.start, period.end)
        assert state.id is not None
        return Subscription(state.id, code, interval, quantity, anchor, period, (charge,), assigned, tuple(pending))

    # ------------------------------------------------------------------------------------------------- cart

    def cart(self, plan: _Held, held: list[_Held]) -> tuple[Change, ...]:
        rng = self.rng
        size = rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
        kinds: list[str] = []
        if plan.cancelling:
            kinds.append("reactivate")  # anything else on a plan cancelled at the period end is refused (rule D1)
        pool = dict(WEIGHTS)
        if kinds or not any(h.cancelling for h in held):
            del pool["reactivate"]
        if not any(h.id is not None and not h.cancelling and h.code != ONE_MONTH for h in held):
            del pool["addon_seats"]  # nothing to edit: keep the cart at the size drawn
        if plan.code == PLANS[-1]:
            del pool["upgrade"]
        while len(kinds) < size and pool:
            kind = rng.choices(list(pool), weights=list(pool.values()))[0]
            kinds.append(kind)
            del pool[kind]
            if kind in PLAN_LEVEL:
                for other in PLAN_LEVEL:
                    pool.pop(other, None)
        builders: dict[str, Callable[[_Held, list[_Held], set[str]], Change | None]] = {
            "reactivate": self.reactivate,
            "upgrade": self.upgrade,
            "interval": self.interval,
            "licenses_up": self.licenses_up,
            "licenses_down": self.licenses_down,
            "addon_seats": self.addon_seats,
            "add_addon": self.add_addon,
            "cancel": self.cancel,
        }
        done: set[str] = set()
        changes: list[Change] = []
        for kind in BUILD_ORDER:
            if kind in kinds and (change := builders[kind](plan, held, done)) is not None:
                changes.append(change)
                done.add(kind)
        for kind in ("licenses_up", "add_addon", "cancel"):  # a fallback when every pick turned out infeasible
            if changes:
                break
            if (change := builders[kind](plan, held, done)) is not None:
                changes.append(change)
        rng.shuffle(changes)  # the engine applies them in its own order (cart.ORDER) whatever the cart's order
        assert all(type(c) in ORDER for c in changes)
        return tuple(changes)

    def reactivate(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        if plan.cancelling:
            plan.cancelling = False
            return Reactivate()
        cancelling = [h for h in held if h.cancelling]
        if not cancelling:
            return None
        target = self.rng.choice(cancelling)
        target.cancelling = False
        return Reactivate(target.id)

    def upgrade(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        rng = self.rng
        rank = self.product(plan.code).rank
        targets = [code for code in PLANS if self.product(code).rank > rank]
        if plan.cancelling or not targets:
            return None
        target = self.product(rng.choice(targets))
        licenses = max(target.min_quantity, plan.quantity) + (rng.randint(1, 5) if rng.random() < 0.5 else 0)
        interval = None
        if rng.random() < 0.2:
            other = Interval.YEAR if plan.interval is Interval.MONTH else Interval.MONTH
            if other is Interval.YEAR or not self.yearly_addons(held):
                interval = other
        plan.code, plan.quantity, plan.quantity_end = target.code, licenses, licenses
        plan.interval = interval or plan.interval
        return ChangePlan(target.code, licenses, interval)

    def yearly_addons(self, held: list[_Held]) -> bool:
        return any(h.interval is Interval.YEAR and self.product(h.code).kind is ProductKind.ADDON for h in held)

    def interval(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        rng = self.rng
        other = Interval.YEAR if plan.interval is Interval.MONTH else Interval.MONTH
        if not plan.cancelling and rng.random() < 0.75 and (other is Interval.YEAR or not self.yearly_addons(held)):
            plan.interval = other
            return ChangeInterval(other)
        choices = [
            h
            for h in held
            if h.id is not None
            and not h.cancelling
            and self.product(h.code).kind is ProductKind.ADDON
            and (h.interval is Interval.YEAR or plan.interval is Interval.YEAR)
        ]
        if not choices:
            return None
        addon = rng.choice(choices)
        addon.interval = Interval.YEAR if addon.interval is Interval.MONTH else Interval.MONTH
        return ChangeInterval(addon.interval, addon.id)

    def licenses_up(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        maximum = self.product(plan.code).max_quantity or 10_000
        if plan.cancelling or plan.quantity >= maximum:
            return None
        total = plan.quantity + self.rng.randint(1, min(5, maximum - plan.quantity))
        plan.quantity = plan.quantity_end = total
        return SetLicenses(total)

    def licenses_down(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        seats = [h.quantity_end for h in held if self.product(h.code).kind is ProductKind.ADDON]
        low = max(self.product(plan.code).min_quantity, plan.assigned, 1, *seats)
        if plan.cancelling or low >= plan.quantity:
            return None
        plan.quantity_end = self.rng.randint(low, plan.quantity - 1)
        return SetLicenses(plan.quantity_end)

    def addon_seats(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        rng = self.rng
        choices = [
            h for h in held if h.id is not None and not h.cancelling and self.product(h.code).kind is ProductKind.ADDON
        ]
        if not choices:
            return None
        addon = rng.choice(choices)
        assert addon.id is not None
        product = self.product(addon.code)
        ceiling = min(plan.quantity, plan.quantity_end)
        if product.unit is Unit.PER_ACCOUNT or rng.random() < 0.3:
            family = FAMILIES[product.family or ""]
            target = family[1] if addon.code == family[0] else family[0]
            if self.product(target).size > product.size:
                if addon.quantity > ceiling:
                    return None
                # a larger size now, for the seats held now; a pending seat reduction is withdrawn (rule A4)
                addon.code, addon.quantity_end = target, addon.quantity
                return ChangeAddon(addon.id, product=target)
            # a smaller size at the term end, keeping the seats that renew (otherwise the current seats renew)
            addon.code = target
            return ChangeAddon(addon.id, quantity=addon.quantity_end, product=target)
        options = []
        if addon.quantity < ceiling:
            options.append(rng.randint(addon.quantity + 1, min(ceiling, addon.quantity + 10)))
        fewer = min(addon.quantity - 1, ceiling)  # what renews must fit the licenses that renew (rule A7)
        if max(1, addon.assigned) <= fewer:
            options.append(rng.randint(max(1, addon.assigned), fewer))
        if not options:
            return None
        seats = rng.choice(options)
        addon.quantity_end = seats
        if seats > addon.quantity:
            addon.quantity = seats
        if rng.random() < 0.3:
            return SetLicenses(seats, addon.id)  # set_licenses on an add-on edits its seats (rule L1)
        return ChangeAddon(addon.id, quantity=seats)

    def add_addon(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        rng = self.rng
        codes = {h.code for h in held}
        if plan.cancelling:
            return None
        if ONE_MONTH not in codes and rng.random() < 0.1:
            held.append(_Held(None, ONE_MONTH, 1, 1, Interval.MONTH))
            return AddAddon(ONE_MONTH)
        free = [f for f, members in FAMILIES.items() if not codes.intersection(members)]
        if not free:
            return None
        code = rng.choice(FAMILIES[rng.choice(free)])
        product = self.product(code)
        quantity = 1 if product.unit is Unit.PER_ACCOUNT else rng.randint(1, min(plan.quantity, plan.quantity_end, 25))
        interval = Interval.MONTH if plan.interval is Interval.YEAR and rng.random() < 0.2 else None
        held.append(_Held(None, code, quantity, quantity, interval or plan.interval))
        return AddAddon(code, quantity, interval)

    def cancel(self, plan: _Held, held: list[_Held], done: set[str]) -> Change | None:
        rng = self.rng
        addons = [h for h in held if self.product(h.code).kind is ProductKind.ADDON and not h.cancelling]
        choices = [h for h in addons if h.id is not None]
        if not plan.cancelling and "reactivate" not in done and (not choices or rng.random() < 0.6):
            plan.cancelling = True
            for h in addons:
                h.cancelling = True
            return Cancel(with_addons=bool(addons))
        if not choices:
            return None
        addon = rng.choice(choices)
        addon.cancelling = True
        return Cancel(addon.id)


# ----------------------------------------------------------------------------------------------------- measuring


@dataclass
class QuoteRun:
    accepted: int = 0
    refused: int = 0
    lines: int = 0
    accepted_seconds: float = 0.0
    refused_seconds: float = 0.0
    loop_seconds: float = 0.0
    cpu_seconds: float = 0.0  # process CPU time of the pass, harness included: steadier than the wall clock
    codes: Counter[str] | None = None

    @property
    def total(self) -> int:
        return self.accepted + self.refused

    @property
    def seconds(self) -> float:
        return self.accepted_seconds + self.refused_seconds


def run_quotes(cases: Sequence[Case], catalog: Catalog) -> QuoteRun:
    """Call quote() on every case; only the calls are timed (a perf_counter pair around each)."""
    run = QuoteRun(codes=Counter())
    assert run.codes is not None
    clock = time.perf_counter
    cpu = time.process_time()
    started = clock()
    for account, at, changes in cases:
        t0 = clock()
        try:
            result = quote(account, catalog, at, changes)
        except (RuleViolation, InvalidInput) as exc:
            run.refused_seconds += clock() - t0
            run.refused += 1
            run.codes[exc.code] += 1
        else:
            run.accepted_seconds += clock() - t0
            run.accepted += 1
            run.lines += len(result.lines)
    run.loop_seconds = clock() - started
    run.cpu_seconds = time.process_time() - cpu
    return run


@dataclass
class Answers:
    digest: str  # sha256 over every answer in case order: the whole quote, or the refusal's class, code and text
    accepted: int
    refused: int
    due: int  # the sum of amount_due over the accepted quotes, minor units (currencies mixed: a checksum only)


def check_quote(result: Quote, account: Account) -> None:
    """The conservation every accepted quote keeps (rules C4, C5, T3, I5): totals are sums of rounded lines, the
    credit balance pays first, and what the balance loses or gains is what the quote says."""
    assert result.subtotal == sum(line.amount for line in result.lines), "subtotal is not the sum of the lines"
    assert result.tax == sum(line.tax for line in result.lines), "tax is not the sum of the lines' tax"
    assert result.credit_balance_before == account.credit_balance
    total = result.subtotal + result.tax
    assert result.amount_due == max(0, total - result.credit_used)
    assert result.amount_due >= 0
    assert 0 <= result.credit_used <= account.credit_balance
    assert result.credit_added == max(0, -total)
    after = result.credit_balance_before - result.credit_used + result.credit_added
    assert result.credit_balance_after == after == result.account.credit_balance
    for line in result.lines:
        assert isinstance(line.amount, int), "money is integer minor units"
        assert isinstance(line.tax, int), "money is integer minor units"
        charge = line.kind is LineKind.CHARGE
        assert line.amount >= 0 if charge else line.amount < 0, "charges are not negative, credits are negative"
        if line.basis is not None:
            assert -line.amount <= line.basis, "a credit never exceeds what was charged"


def answers(cases: Sequence[Case], catalog: Catalog) -> Answers:
    """Every answer of quote() over ``cases`` (untimed), checked and folded into one digest.

    The digest covers the whole of each quote (``repr``: lines with their texts, totals, scheduled changes, the
    account it leaves, validity) and the class, code, message and data of each refusal, so two versions of the
    engine that give it for the same seed and number of carts answered every cart the same, to the minor unit.
    """
    sha = hashlib.sha256()
    accepted = refused = due = 0
    for account, at, changes in cases:
        try:
            result = quote(account, catalog, at, changes)
        except (RuleViolation, InvalidInput) as exc:
            refused += 1
            data = sorted((key, repr(value)) for key, value in exc.data.items())
            text = repr((type(exc).__name__, exc.code, exc.message, exc.rule, exc.field, data))
        else:
            check_quote(result, account)
            accepted += 1
            due += result.amount_due
            text = repr(result)
        sha.update(text.encode())
        sha.update(b"\n")
    return Answers(sha.hexdigest(), accepted, refused, due)


def timed_passes(cases: Sequence[Case], warmup: Sequence[Case], catalog: Catalog, repeat: int) -> list[QuoteRun]:
    """``repeat`` passes over ``cases``, each from an empty boundary cache warmed with other carts; slowest first."""
    runs = []
    for _ in range(repeat):
        clear_caches()
        run_quotes(warmup, catalog)
        runs.append(run_quotes(cases, catalog))
    return sorted(runs, key=lambda r: r.total / r.seconds)


@dataclass
class Memory:
    quote_median: int  # bytes: the peak above the memory in use before the call, per quote
    quote_p99: int
    quote_max: int
    pass_peak: int  # bytes: the peak above the start of the pass (the period caches grow)
    quotes: int


def quote_memory(cases: Sequence[Case], catalog: Catalog) -> Memory:
    """tracemalloc while quoting ``cases`` one by one (results dropped as they come)."""
    peaks = []
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    top = refused = 0
    for account, at, changes in cases:
        before, peak = tracemalloc.get_traced_memory()
        top = max(top, peak)
        tracemalloc.reset_peak()
        try:
            quote(account, catalog, at, changes)
        except (RuleViolation, InvalidInput):
            refused += 1
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
    top = max(top, tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    peaks.sort()
    return Memory(peaks[len(peaks) // 2], peaks[len(peaks) * 99 // 100], peaks[-1], top - base, len(peaks))


def cpu_model() -> str:
    """The processor's model name (``platform.processor()`` is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def pin_to_cpu(cpu: int | None) -> int | None:
    """Run on that one CPU (Linux only); the CPU's number, or None when not pinned."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    os.sched_setaffinity(0, {cpu})
    return cpu


Invoice = tuple[tuple[int, Decimal, int, int], ...]


def decimal_invoices(n: int, seed: int) -> list[Invoice]:
    """2-4 lines of (quantity, unit price, used, whole), the shape of a proration invoice."""
    rng = random.Random(seed)
    prices = [Decimal(p) for p in ("15.99", "21.99", "26.99", "50.00", "90.00", "159.90", "219.90", "340.00")]
    out = []
    for _ in range(n):
        lines = []
        for _ in range(rng.randint(2, 4)):
            whole = rng.choice((28, 29, 30, 31, 365, 366))
            lines.append((rng.randint(1, 60), rng.choice(prices), rng.randint(1, whole), whole))
        out.append(tuple(lines))
    return out


def run_decimal(invoices: Sequence[Invoice], repeat: int) -> float:
    """Invoices per second of the plain Decimal computation: quantity x price x used / whole, rounded per line.

    The median of ``repeat`` passes, as for the quotes.
    """
    cent = Decimal("0.01")
    clock = time.perf_counter
    rates = []
    for _ in range(repeat):
        started = clock()
        for invoice in invoices:
            total = Decimal(0)
            for quantity, unit, used, whole in invoice:
                total += (unit * quantity * used / whole).quantize(cent, rounding=ROUND_HALF_UP)
        rates.append(len(invoices) / (clock() - started))
    return sorted(rates)[len(rates) // 2]


def profile_quotes(cases: Sequence[Case], catalog: Catalog, top: int) -> str:
    """cProfile of quote() over ``cases``, the ``top`` functions by own time."""
    profiler = cProfile.Profile()
    refused = 0
    profiler.enable()
    for account, at, changes in cases:
        try:
            quote(account, catalog, at, changes)
        except (RuleViolation, InvalidInput):
            refused += 1
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # bytes on macOS, KiB on Linux


# ----------------------------------------------------------------------------------------------------- report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="carts to quote (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON line of figures instead of the report")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes, the median reported (default %(default)s)")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU (Linux; default: no pin)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also cProfile N quotes (e.g. 20000)")
    parser.add_argument("--top", type=int, default=15, help="functions shown by --profile (default %(default)s)")
    parser.add_argument("--expect-digest", default=None, metavar="SHA256", help="fail unless the answers give it")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")

    cpu = pin_to_cpu(args.cpu)
    catalog = default_catalog()
    built = time.perf_counter()
    cases = CartFactory(catalog, args.seed).cases(args.n)
    warmup = CartFactory(catalog, args.seed + 1).cases(WARMUP_N)  # other accounts: imports, specialisation
    build_seconds = time.perf_counter() - built

    checked = answers(cases, catalog)
    runs = timed_passes(cases, warmup, catalog, args.repeat)
    run = runs[len(runs) // 2]
    decimal_qps = run_decimal(decimal_invoices(args.n, args.seed), args.repeat)
    clear_caches()
    run_quotes(warmup, catalog)
    memory = quote_memory(cases[:TRACEMALLOC_N], catalog)
    rss = max_rss_bytes()

    all_qps = run.total / run.seconds
    accepted_qps = run.accepted / run.accepted_seconds if run.accepted else 0.0
    refused_qps = run.refused / run.refused_seconds if run.refused else 0.0
    mean_lines = run.lines / run.accepted if run.accepted else 0.0
    assert run.codes is not None
    figures = {
        "n": run.total,
        "seed": args.seed,
        "accepted": run.accepted,
        "refused": run.refused,
        "refused_share": run.refused / run.total,
        "refused_codes": dict(run.codes.most_common()),
        "quotes_per_second": round(all_qps),
        "quotes_per_second_best": round(runs[-1].total / runs[-1].seconds),
        "quotes_per_second_worst": round(runs[0].total / runs[0].seconds),
        "repeat": args.repeat,
        "accepted_quotes_per_second": round(accepted_qps),
        "refused_quotes_per_second": round(refused_qps),
        "loop_quotes_per_second": round(run.total / run.loop_seconds),
        "cpu_quotes_per_second": round(run.total / run.cpu_seconds) if run.cpu_seconds else None,
        "answers_digest": checked.digest,
        "answers_amount_due": checked.due,
        "mean_microseconds_per_quote": round(1e6 / all_qps, 2),
        "mean_lines_per_quote": round(mean_lines, 3),
        "quote_peak_bytes_median": memory.quote_median,
        "quote_peak_bytes_p99": memory.quote_p99,
        "quote_peak_bytes_max": memory.quote_max,
        "tracemalloc_pass_peak_bytes": memory.pass_peak,
        "tracemalloc_quotes": memory.quotes,
        "max_rss_bytes": rss,
        "decimal_invoices_per_second": round(decimal_qps),
        "ratio_to_target": round(all_qps / TARGET_QPS, 3),
        "cpu_ratio_to_target": round(run.total / run.cpu_seconds / TARGET_QPS, 3) if run.cpu_seconds else None,
        "ratio_to_decimal_measured": round(all_qps / decimal_qps, 4),
        "ratio_to_decimal_quoted": round(all_qps / DECIMAL_QUOTED_QPS, 4),
        "ratio_to_django_plans_quoted": round(all_qps / DJANGO_PLANS_QPS, 1),
        "build_seconds": round(build_seconds, 2),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpu_count": os.cpu_count(),
        "pinned_cpu": cpu,
    }
    assert (checked.accepted, checked.refused) == (run.accepted, run.refused), "the timed passes answered otherwise"
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    else:
        report(figures)
    if args.expect_digest is not None and args.expect_digest != checked.digest:
        print(f"answers digest {checked.digest} differs from the expected {args.expect_digest}", file=sys.stderr)
        return 1
    if args.profile:
        clear_caches()
        run_quotes(warmup, catalog)
        print(f"\ncProfile of quote() over {min(args.profile, len(cases))} carts, top {args.top} by own time:")
        print(profile_quotes(cases[: args.profile], catalog, args.top))
    return 0


def report(f: dict[str, object]) -> None:
    def num(key: str) -> float:
        value = f[key]
        assert isinstance(value, int | float)
        return value

    def kib(key: str) -> str:
        return f"{num(key) / 1024:,.1f} KiB"

    pinned = f"pinned to CPU {f['pinned_cpu']}" if f["pinned_cpu"] is not None else "not pinned"
    print(f"Prorata quote() benchmark: {f['n']:,} random carts, seed {f['seed']} (built in {f['build_seconds']} s)")
    print(f"  Python {f['python']} ({f['implementation']}) on {f['platform']}")
    print(f"  {f['machine']}, {f['processor']}, {f['cpu_count']} CPUs, {pinned}")
    print(f"quote() timing, median of {f['repeat']} passes")
    each = f"({f['mean_microseconds_per_quote']} µs each)"
    print(f"  quotes/s, all carts         {num('quotes_per_second'):>10,.0f}  {each}")
    print(
        f"    best / worst pass         {num('quotes_per_second_best'):>10,.0f} / {num('quotes_per_second_worst'):,.0f}"
    )
    print(f"  quotes/s, accepted only     {num('accepted_quotes_per_second'):>10,.0f}")
    print(f"  refusals/s                  {num('refused_quotes_per_second'):>10,.0f}")
    print(f"  quotes/s incl. the harness  {num('loop_quotes_per_second'):>10,.0f}")
    if f["cpu_quotes_per_second"] is not None:
        print(f"  quotes per CPU-second       {num('cpu_quotes_per_second'):>10,.0f}  (process time, harness included)")
    share = f"({num('refused_share'):.1%} refused)"
    print(f"  accepted / refused          {num('accepted'):>10,.0f} / {num('refused'):,.0f} {share}")
    codes = f["refused_codes"]
    assert isinstance(codes, dict)
    for code, count in codes.items():
        print(f"      {code:<34} {count:>7,}")
    print(f"  mean lines per quote        {num('mean_lines_per_quote'):>10.3f}")
    print(f"  answers digest              {f['answers_digest']}")
    print(f"    (every quote and refusal, checked: totals are sums of lines; amount due {f['answers_amount_due']:,})")
    print(f"memory (tracemalloc over {num('tracemalloc_quotes'):,.0f} quotes, results dropped)")
    print(f"  one quote, median / p99     {kib('quote_peak_bytes_median'):>14} / {kib('quote_peak_bytes_p99')}")
    print(f"  one quote, max              {kib('quote_peak_bytes_max'):>14}  (a cache resizing within the call)")
    print(f"  whole pass, peak            {kib('tracemalloc_pass_peak_bytes'):>14}  (the period caches growing)")
    print(f"  max RSS, whole process      {num('max_rss_bytes') / 2**20:>10,.1f} MiB  (mostly the carts built ahead)")
    print("references")
    print(f"  plain Decimal invoices/s    {num('decimal_invoices_per_second'):>10,.0f}  (2-4 lines, measured here)")
    print("ratios (quote(), all carts, median pass / reference)")
    print(f"  issue target 50,000/s        x{num('ratio_to_target'):.3f}")
    if f["cpu_ratio_to_target"] is not None:
        print(f"    per CPU-second             x{num('cpu_ratio_to_target'):.3f}")
    print(f"  Decimal, measured here       x{num('ratio_to_decimal_measured'):.4f}")
    print(f"  Decimal, quoted ~170,000/s   x{num('ratio_to_decimal_quoted'):.4f}")
    print(f"  django-plans, quoted ~124/s  x{num('ratio_to_django_plans_quoted'):.1f}")


if __name__ == "__main__":
    sys.exit(main())
