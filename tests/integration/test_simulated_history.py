"""A long simulated history, on SQLite and PostgreSQL: the books never fall behind (rules U1, U2, A7, L4, P5, C7, D1,
A8, I8, T1).

Several accounts live for months on the installation's simulation clock, through the use cases as the portal and the
API call them: random orders (upgrades, more and fewer licenses, downgrades, add-ons bigger and smaller, one-month
products, interval switches, cancellations and reactivations), assignments and unassignments, Sold-To changes, cards
that start to decline and invoices paid late, and the billing run every day. After each day's run and after each
day's changes it checks that

- no subscription has more assignments than it holds, nor than any change scheduled for it will leave (L4, U1);
- no ended subscription holds an assignment, users are Licensed exactly while they hold an active plan license, and
  add-on seats are held by Licensed users only (D1, A8, I8, A7);
- no account the run could renew is left due (C7).

The history is a seeded random one, so a failure names the seed and the day and replays exactly:
``PRORATA_HISTORY_SEED=7 PRORATA_HISTORY_DAYS=400 pytest tests/integration/test_simulated_history.py``. It also
counts what it went through, and fails if a history did not reach downgrades and reductions taking effect,
cancellations, one-month products and overdue accounts ending with assignments held, or refused assignments:
a history that exercised none of them would prove nothing.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import and_, func, select

from prorata.adapters.db.clock import move_clock, start_simulation
from prorata.adapters.db.database import migrate
from prorata.adapters.db.queries import subscription_views
from prorata.adapters.db.schema import audit_log, license_assignments, pending_changes, subscriptions, users
from prorata.bootstrap import App, build
from prorata.domain.account import assignable_limit
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
from prorata.domain.errors import ProrataError
from prorata.domain.periods import Interval
from prorata.services.add_user import AddUser, add_user
from prorata.services.assign_license import Assignment, assign_license, unassign_license
from prorata.services.billing_information import AddCard, Contact, add_card, set_contacts
from prorata.services.open_account import OpenAccount, open_account
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from prorata.services.place_order import OrderResult, PlaceOrder, place_order
from prorata.services.renew_due import BillingRunReport, RenewDue, renew_due
from tests.verified import assert_books_balance

SEED = int(os.environ.get("PRORATA_HISTORY_SEED", "20261115"))
DAYS = int(os.environ.get("PRORATA_HISTORY_DAYS", "240"))
START = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
GOOD, DECLINED = "4242424242424242", "4000000000000002"
ZONES = ("UTC", "Europe/Warsaw", "America/New_York")
COUNTRIES = {"PL": ("Warszawa", "00-001"), "DE": ("Berlin", "10115"), "US": ("New York", "10001")}
PER_USER_ADDONS = ("large_meetings_500", "large_meetings_1000", "webinar_500", "webinar_1000")
SMALLER = {"large_meetings_1000": "large_meetings_500", "webinar_1000": "webinar_500"}


@pytest.fixture
def installation(database_url: str) -> Iterator[App]:
    """A new installation on a simulation clock (not the e2e tests' ``app``, which holds the demo accounts)."""
    context = build(database_url)
    migrate(context.engine)
    start_simulation(context.engine, START)
    context.clock.refresh()
    yield context
    context.close()


REFUSED = object()


@dataclass
class Customer:
    account_id: int
    owner: str
    users: list[int]
    pays_late: bool  # its card starts to decline after the first purchase, and it never pays: it ends overdue


@dataclass
class History:
    app: App
    rng: random.Random
    customers: list[Customer] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)  # what the history went through
    log: list[str] = field(default_factory=list)  # the last things done, for a failure's message
    keys: int = 0

    @property
    def now(self) -> datetime:
        return self.app.clock.now()

    def did(self, what: str) -> None:
        self.log = [*self.log[-30:], f"{self.now.date()} {what}"]

    def attempt(self, what: str, call: Callable[[], object]) -> object:
        """A use case as a customer calls it: its answer, or ``REFUSED`` for a refusal (counted by its code), which
        is an answer too; anything else raised is a failure of the test."""
        self.did(what)
        try:
            return call()
        except ProrataError as refused:
            self.seen[f"refused {refused.code}"] += 1
            self.did(f"  refused {refused.code}")
            return REFUSED

    def key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"


def open_customers(history: History, count: int) -> None:
    app, rng = history.app, history.rng
    for n in range(count):
        currency = "PLN" if n % 3 == 0 else "USD"
        country = "PL" if currency == "PLN" else "US"
        command = OpenAccount(f"acct-{n}", f"Account {n}", currency, ZONES[n % len(ZONES)], country)
        account_id = open_account(command, uow=app.uow, clock=app.clock)
        owner = f"owner@acct-{n}.test"
        add_user(AddUser(account_id, owner, "Owner", "owner"), uow=app.uow, clock=app.clock)
        people = [add_user(AddUser(account_id, f"u{i}@acct-{n}.test", f"User {i}"), uow=app.uow, clock=app.clock)
                  for i in range(rng.randint(6, 14))]  # fmt: skip
        customer = Customer(account_id, owner, people, pays_late=n in (1, 4))
        history.customers.append(customer)
        change_sold_to(history, customer, "PL" if currency == "PLN" else "US")
        add_card(AddCard(account_id, GOOD, 12, 2035), uow=app.uow, clock=app.clock, gateway=app.gateway)
        plan = ChangePlan("business", rng.randint(10, 14)) if n % 2 else ChangePlan("pro", rng.randint(3, 9))
        order(history, customer, plan, AddAddon("large_meetings_500", 2))
        for user in people[: rng.randint(2, 8)]:
            assign(history, customer, user)
        assign(history, customer, people[0], "large_meetings_500")
        if customer.pays_late:
            add_card(AddCard(account_id, DECLINED, 12, 2035), uow=app.uow, clock=app.clock, gateway=app.gateway)


def change_sold_to(history: History, customer: Customer, country: str) -> None:
    city, postal = COUNTRIES[country]
    contact = Contact("Billing", customer.owner, "1 Main Street", city, postal, country)
    changed = history.attempt(f"{customer.account_id} sold-to {country}", lambda: set_contacts(
        customer.account_id, contact, None, uow=history.app.uow, clock=history.app.clock))  # fmt: skip
    history.seen["sold-to changed"] += changed is not REFUSED


def order(history: History, customer: Customer, *changes: Change) -> None:
    app = history.app
    command = PlaceOrder(customer.account_id, changes, history.key(), actor=customer.owner, terms_version="2026-01",
                         terms_accepted=True)  # fmt: skip
    placed = history.attempt(f"{customer.account_id} order {changes}", lambda: place_order(
        command, uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax))  # fmt: skip
    if isinstance(placed, OrderResult):
        history.seen[f"order {placed.status}"] += 1  # placed, or failed at the gateway (rule K8)


def assign(history: History, customer: Customer, user: int, product: str | None = None) -> None:
    app = history.app
    with app.engine.connect() as conn:
        subs = [s for s in subscription_views(conn, customer.account_id) if product in (None, s.product)
                and app.catalog.products[s.product].unit.value == "per_user"]  # fmt: skip
    if not subs:
        return
    plan = [s for s in subs if app.catalog.products[s.product].is_plan]
    sub = plan[0] if plan and (product is not None or history.rng.random() < 0.6) else history.rng.choice(subs)
    command = Assignment(customer.account_id, sub.id, user)
    history.attempt(f"{customer.account_id} assign {user} {sub.product}", lambda: assign_license(
        command, uow=app.uow, clock=app.clock, catalog=app.catalog, actor=customer.owner))  # fmt: skip


def unassign(history: History, customer: Customer) -> None:
    app = history.app
    with app.engine.connect() as conn:
        held = conn.execute(
            select(license_assignments.c.subscription_id, license_assignments.c.user_id)
            .join(subscriptions, subscriptions.c.id == license_assignments.c.subscription_id)
            .where(subscriptions.c.account_id == customer.account_id, subscriptions.c.status == "active")
            .order_by(license_assignments.c.id)
        ).all()
    if held:
        sub, user = history.rng.choice(held)
        command = Assignment(customer.account_id, int(sub), int(user))
        history.attempt(f"{customer.account_id} unassign {user} {sub}", lambda: unassign_license(
            command, uow=app.uow, clock=app.clock, catalog=app.catalog, actor=customer.owner))  # fmt: skip


def a_cart(history: History, customer: Customer) -> tuple[Change, ...]:
    """A change a customer might want, given what the account holds: many are refused, as they would be."""
    rng, catalog = history.rng, history.app.catalog
    with history.app.engine.connect() as conn:
        held = subscription_views(conn, customer.account_id)
    plan = next((s for s in held if catalog.products[s.product].is_plan), None)
    addons = [s for s in held if not catalog.products[s.product].is_plan]
    if plan is None:
        return (ChangePlan(rng.choice(["pro", "business", "business_plus"]), rng.randint(2, 14)),)
    assigned = plan.assigned
    options: list[tuple[Change, ...]] = [
        (SetLicenses(max(1, plan.quantity + rng.randint(-4, 4))),),
        (SetLicenses(max(assigned, 1, plan.quantity - rng.randint(1, 3))),),  # a reduction that is allowed
        (AddAddon(rng.choice(PER_USER_ADDONS), rng.randint(1, max(1, min(plan.quantity, 4)))),),
        (AddAddon("webinar_500_one_month", rng.randint(1, 2)),),
        (Cancel(with_addons=True),),
        (Reactivate(),),
        (ChangeInterval(Interval.YEAR if plan.interval == "month" else Interval.MONTH),),
    ]
    if plan.product == "business":
        # rule P5: to Pro at the term end, with a total that fits the assigned users when it can
        options += [(ChangePlan("pro", rng.randint(min(max(assigned, 1), 9), 9)),)] * 3
        options.append((ChangePlan("business_plus", plan.quantity),))
    if plan.product == "pro":
        options.append((ChangePlan("business", rng.randint(10, 13)),))
    for addon in addons:
        if addon.product in SMALLER:  # rule A4: a smaller size with fewer seats waits for the term end
            seats = rng.randint(max(addon.assigned, 1), addon.quantity)
            options.append((ChangeAddon(str(addon.id), quantity=seats, product=SMALLER[addon.product]),))
        if addon.product in PER_USER_ADDONS:
            options.append((ChangeAddon(str(addon.id), quantity=rng.randint(1, addon.quantity + 2)),))
    return rng.choice(options)


def a_day(history: History) -> None:
    for customer in history.customers:
        if history.rng.random() <= 0.45:
            one_step(history, customer)


def one_step(history: History, customer: Customer) -> None:
    rng, app = history.rng, history.app
    if customer.pays_late:  # renews monthly as it bought, until 30 days overdue end it (rule I8)
        action = rng.choices(["assign", "unassign", "sold_to"], [50, 35, 15])[0]
    else:
        action = rng.choices(["order", "assign", "unassign", "sold_to", "card", "pay"], [36, 34, 14, 6, 4, 6])[0]
    if action == "order":
        order(history, customer, *a_cart(history, customer))
    elif action == "assign":
        assign(history, customer, rng.choice(customer.users))
    elif action == "unassign":
        unassign(history, customer)
    elif action == "sold_to":
        change_sold_to(history, customer, rng.choice(sorted(COUNTRIES)))
    elif action == "card":  # a new default card, which may be one that declines
        number = rng.choice([GOOD, GOOD, DECLINED])
        history.did(f"{customer.account_id} card {number[-4:]}")
        add_card(AddCard(customer.account_id, number, 12, 2035), uow=app.uow, clock=app.clock, gateway=app.gateway)
    else:  # pays what is open with a good card (rule I6: an overdue account can buy again)
        add_card(AddCard(customer.account_id, GOOD, 12, 2035), uow=app.uow, clock=app.clock, gateway=app.gateway)
        command = PayInvoices(customer.account_id, history.key())
        history.attempt(f"{customer.account_id} pay", lambda: pay_invoices(
            command, uow=app.uow, clock=app.clock, gateway=app.gateway))  # fmt: skip


# ----------------------------------------------------------------------------------------------------- the checks
def broken_rules(app: App) -> list[str]:
    """What the books say that they must not: empty when every invariant holds."""
    catalog = app.catalog
    plans = [code for code, product in catalog.products.items() if product.is_plan]
    out: list[str] = []
    with app.engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(license_assignments.c.subscription_id, func.count()).group_by(
                    license_assignments.c.subscription_id
                )
            ).all()
        )
        scheduled: dict[int, list[int | None]] = {}
        for sub_id, quantity in conn.execute(select(pending_changes.c.subscription_id, pending_changes.c.quantity)):
            scheduled.setdefault(int(sub_id), []).append(quantity)
        for sub_id, product, quantity, status in conn.execute(
            select(subscriptions.c.id, subscriptions.c.product, subscriptions.c.quantity, subscriptions.c.status)
        ):
            held = int(counts.get(sub_id, 0))
            if status == "ended" and held:
                out.append(f"ended subscription {sub_id} ({product}) holds {held} assignments")
            limit = assignable_limit(quantity, scheduled.get(int(sub_id), ()))
            if status == "active" and held > limit:
                out.append(f"subscription {sub_id} ({product} x {quantity}) has {held} assigned, more than {limit}")
        active = and_(subscriptions.c.id == license_assignments.c.subscription_id, subscriptions.c.status == "active")
        plan_holders = set(
            conn.execute(
                select(license_assignments.c.user_id)
                .join(subscriptions, active)
                .where(subscriptions.c.product.in_(plans))
            ).scalars()
        )
        seat_holders = set(
            conn.execute(
                select(license_assignments.c.user_id)
                .join(subscriptions, active)
                .where(subscriptions.c.product.not_in(plans))
            ).scalars()
        )
        licensed = set(conn.execute(select(users.c.id).where(users.c.type == "licensed")).scalars())
    if licensed != plan_holders:
        out.append(f"Licensed without a plan license: {sorted(licensed - plan_holders)}; "
                   f"holding one but Basic: {sorted(plan_holders - licensed)}")  # fmt: skip
    if seat_holders - plan_holders:
        out.append(f"add-on seats held by users without a plan license: {sorted(seat_holders - plan_holders)}")
    return out


def left_due(app: App, now: datetime) -> list[int]:
    with app.engine.connect() as conn:
        return sorted(
            set(
                conn.execute(
                    select(subscriptions.c.account_id).where(
                        subscriptions.c.status == "active", subscriptions.c.period_end <= now
                    )
                ).scalars()
            )
        )


def held_now(app: App) -> dict[int, tuple[str, int, str]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(subscriptions.c.id, subscriptions.c.product, subscriptions.c.quantity, subscriptions.c.status)
        )
        return {int(r.id): (r.product, int(r.quantity), r.status) for r in rows}


def count_what_the_run_did(history: History, before: dict[int, tuple[str, int, str]], report: BillingRunReport) -> None:
    after = held_now(history.app)
    catalog = history.app.catalog
    for sub_id, (product, quantity, status) in before.items():
        new_product, new_quantity, new_status = after[sub_id]
        if status != "active" or new_status == "active":
            old, new = catalog.products[product], catalog.products[new_product]
            if new_status == "active" and new.is_plan and new.rank < old.rank:
                history.seen["plan downgraded at the term end"] += 1  # rule P5
            elif new_status == "active" and (new_quantity < quantity or new.size < old.size):
                history.seen["fewer licenses or a smaller size at the term end"] += 1  # rules L3, A4
            continue
        ended_with = "one-month product ended" if product.endswith("_one_month") else "subscription ended"
        history.seen[ended_with] += 1
    history.seen["account ended overdue"] += len(report.accounts_cancelled)
    history.seen["renewal invoices"] += len(report.invoices)


def fail(history: History, day: int, what: list[str]) -> None:
    where = f"seed {SEED}, day {day} ({history.now.date()})"
    pytest.fail(f"{where}: " + "; ".join(what) + "\nlast steps:\n" + "\n".join(history.log))


def test_a_long_history_never_lets_assignments_outgrow_what_is_held(installation: App) -> None:
    app = installation
    history = History(app, random.Random(SEED))
    open_customers(history, 8)
    for day in range(1, DAYS + 1):
        move_clock(app.engine, START + timedelta(days=day))
        app.clock.refresh()
        before = held_now(app)
        report = renew_due(RenewDue(history.now), uow=app.uow, clock=app.clock, gateway=app.gateway,
                           catalog=app.catalog, tax=app.tax, dunning=app.dunning)  # fmt: skip
        history.did(f"billing run: {len(report.invoices)} invoices, ended overdue {report.accounts_cancelled}")
        count_what_the_run_did(history, before, report)
        if not report.complete or left_due(app, history.now):
            fail(history, day, [f"refused {report.refused}", f"left due: {left_due(app, history.now)}"])
        if broken := broken_rules(app):
            fail(history, day, ["after the billing run", *broken])
        a_day(history)
        if broken := broken_rules(app):
            fail(history, day, ["after the day's changes", *broken])

    with app.engine.connect() as conn:
        released = conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == "license.unassigned",
                                                              audit_log.c.actor == "billing run")
        ).scalar_one()  # fmt: skip
    history.seen["assignments ended by the billing run"] += int(released)
    # a history that never reached these would prove nothing about them
    reached = {what: history.seen[what] for what in (
        "plan downgraded at the term end", "fewer licenses or a smaller size at the term end",
        "subscription ended", "one-month product ended",
        "account ended overdue", "assignments ended by the billing run", "refused assignment.pending_reduction",
        "sold-to changed", "order placed", "renewal invoices",
    )}  # fmt: skip
    assert all(reached.values()), f"seed {SEED}: the history did not reach {reached}"
    assert_books_balance(app.engine, app.clock, catalog=app.catalog)
