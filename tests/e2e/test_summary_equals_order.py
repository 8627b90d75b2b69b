"""Property: the order summary says exactly what the order does (rules C6, L3, L6, P5, D1, T3, K8, X4).

For random carts on random accounts, every figure and every scheduled or withdrawn change the portal's order summary
shows equals what placing it then invoices (the invoice's lines and totals, what the card was charged, the credit
ledger) and schedules (the ``pending_changes`` rows); the cart shows the same; the confirmation repeats it. A cart
the engine refuses is refused on the cart and on the summary alike, and places nothing.

Accounts: a plan (Pro, Business, Business Plus) monthly or yearly, bought some days before "now", with add-ons,
licenses assigned, sometimes a change already pending for the term end (a reduction, a downgrade, a cancellation,
fewer add-on seats), sometimes a credit balance (a credit note on the first invoice), in USD or PLN, a Sold-To
contact in the US, Poland or Germany (a consumer, or a business with a VAT number: reverse charge) that may have
moved since the first invoice, so that one order reverses tax at one rate and charges another (T3). Pages are read
in English or Polish. The cart is written into the session as the portal's forms write it, so that carts a form
would refuse item by item reach the summary too; everything after that goes through the portal over HTTP.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update

from prorata.adapters.db.accounts import create_account
from prorata.adapters.db.clock import start_simulation
from prorata.adapters.db.database import migrate
from prorata.adapters.db.queries import invoice_views
from prorata.adapters.db.schema import (
    contacts,
    credit_ledger,
    invoice_lines,
    invoices,
    orders,
    payment_methods,
    payments,
    pending_changes,
    subscriptions,
    users,
)
from prorata.adapters.db.web_sessions import find_session, open_session, person_of_user, save_session, wall_clock
from prorata.bootstrap import App, build
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
from prorata.entrypoints.portal import basket
from prorata.entrypoints.portal.i18n import day, money
from prorata.entrypoints.portal.pages import SESSION_COOKIE
from prorata.entrypoints.web import create_app
from prorata.services.assign_license import Assignment, assign_license
from prorata.services.credit_notes import credit_lines
from prorata.services.place_order import PlaceOrder, place_order
from tests.e2e.conftest import CSRF, START
from tests.e2e.order_page import OrderPage, norm, order_page, text_by_id

# The Sold-To contact: country and VAT number (rules T1, T2)
BUYERS = {"us": ("US", None), "pl": ("PL", None), "de": ("DE", None), "de-vat": ("DE", "DE136695976")}
ZONES = {"USD": "America/New_York", "PLN": "Europe/Warsaw"}
PLANS = {"pro": (1, 9), "business": (10, 16), "business_plus": (10, 16)}
ADDONS = ["large_meetings_500", "webinar_500", "webinar_1000", "cloud_recording_1tb"]


@dataclass(frozen=True)
class History:
    """What the account did before the cart: bought ``plan`` ``days_ago``, assigned some licenses, perhaps
    scheduled a change for the term end, perhaps got a credit balance, perhaps moved its Sold-To contact."""

    currency: str
    buyer_then: str
    buyer_now: str
    plan: str
    licenses: int
    interval: Interval
    days_ago: int
    addons: tuple[tuple[str, int], ...]
    assigned: int
    pending: str | None  # reduce, downgrade, cancel, addon
    credit_line: int | None  # the position of the first invoice's line a credit note reverses
    language: str


@st.composite
def histories(draw: st.DrawFn) -> History:
    plan = draw(st.sampled_from(sorted(PLANS)))
    low, high = PLANS[plan]
    licenses = draw(st.integers(low, high))
    interval = draw(st.sampled_from([Interval.MONTH, Interval.YEAR]))
    addons = draw(st.lists(st.tuples(st.sampled_from(ADDONS), st.integers(1, 3)), max_size=2, unique_by=lambda a: a[0]))
    return History(
        currency=draw(st.sampled_from(sorted(ZONES))),
        buyer_then=draw(st.sampled_from(sorted(BUYERS))),
        buyer_now=draw(st.sampled_from(sorted(BUYERS))),
        plan=plan,
        licenses=licenses,
        interval=interval,
        days_ago=draw(st.integers(0, 27 if interval is Interval.MONTH else 360)),
        # seats within the licenses (rule A7); storage is bought once per account
        addons=tuple((code, 1 if code.startswith("cloud") else min(quantity, licenses)) for code, quantity in addons),
        assigned=draw(st.integers(0, licenses)),
        pending=draw(st.sampled_from([None, None, "reduce", "downgrade", "cancel", "addon"])),
        credit_line=draw(st.sampled_from([None, 1, 2])),
        language=draw(st.sampled_from(["en", "pl"])),
    )


# A cart item relative to what the account holds, so that most carts are ones a buyer could mean: ("licenses", -2) is
# two licenses fewer than now, ("addon", 0, ...) the account's first add-on; resolved once the account exists
plan_items = st.tuples(st.just("plan"), st.sampled_from(sorted(PLANS)), st.sampled_from([None, "min", "now", "more"]),
                       st.sampled_from([None, "same", "switch"]))  # fmt: skip
license_items = st.tuples(st.just("licenses"), st.integers(-3, 4))
items = st.one_of(
    plan_items,
    plan_items,
    license_items,
    license_items,
    st.tuples(st.just("interval")),
    st.tuples(st.just("add"), st.sampled_from(ADDONS), st.integers(1, 3)),
    st.tuples(st.just("addon"), st.integers(0, 1), st.integers(-2, 2),
              st.sampled_from([None, "webinar_500", "webinar_1000", "large_meetings_1000"])),
    st.tuples(st.just("cancel"), st.booleans()),
    st.tuples(st.just("reactivate"), st.sampled_from([None, 0, 1])),
)  # fmt: skip
carts = st.lists(items, min_size=1, max_size=3)


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def shop(database_url: str) -> Iterator[tuple[App, TestClient]]:
    """One database for all the examples of a test, each example on an account of its own."""
    app = build(database_url)
    migrate(app.engine)
    start_simulation(app.engine, START)
    app.clock.refresh()
    with TestClient(create_app(app)) as client:
        yield app, client
    app.close()


NUMBERS = itertools.count(1)


def open_account(app: App, history: History) -> tuple[int, int]:
    """The account of ``history``: its id and its owner's user id."""
    code = f"acct-{next(NUMBERS)}"
    bought = START - timedelta(days=history.days_ago, hours=3)
    later = bought + (START - bought) / 2
    country, tax_id = BUYERS[history.buyer_then]
    with app.engine.begin() as conn:
        account_id = create_account(conn, code=code, name=code, currency=history.currency,
                                    time_zone=ZONES[history.currency], country=country, now=bought)  # fmt: skip
        people = [
            int(conn.execute(insert(users).values(account_id=account_id, email=f"u{n}@{code}.test", name=f"User {n}",
                                                  role="owner" if n == 0 else "member", created_at=bought)
                             .returning(users.c.id)).scalar_one())
            for n in range(max(history.assigned, 1))
        ]  # fmt: skip
        for kind in ("sold_to", "bill_to"):
            conn.execute(insert(contacts).values(account_id=account_id, kind=kind, name="Buyer", email=f"b@{code}.test",
                                                 address_line1="1 Street", city="City", postal_code="00-001",
                                                 country=country, tax_id=tax_id))  # fmt: skip
        token, card = app.gateway.tokenize_card("4242424242424242", 12, 2030, bought.date())
        conn.execute(insert(payment_methods).values(account_id=account_id, kind="card", gateway=app.gateway.name,
                                                    token=token, brand=card.brand.value, last4=card.last4,
                                                    exp_month=12, exp_year=2030, is_default=True,
                                                    created_at=bought))  # fmt: skip

    def order(at: datetime, key: str, *changes: Change) -> None:
        with suppress(ProrataError):  # a history the rules refuse is simply not this account's
            place_order(PlaceOrder(account_id, changes, key, actor="history", terms_version="2026-01",
                                   terms_accepted=True),
                        uow=app.uow, clock=FixedClock(at), gateway=app.gateway, catalog=app.catalog,
                        tax=app.tax)  # fmt: skip

    order(bought, "first", ChangePlan(history.plan, history.licenses, history.interval),
          *(AddAddon(code, quantity) for code, quantity in history.addons))  # fmt: skip
    held = holdings(app, account_id)
    plan = next((sub_id for sub_id, product in held if app.catalog.products[product].is_plan), None)
    if plan is None:
        return account_id, people[0]
    for user in people[: history.assigned]:
        assign_license(Assignment(account_id, plan, user), uow=app.uow, clock=FixedClock(bought), catalog=app.catalog,
                       actor="history")  # fmt: skip
    addons = [sub_id for sub_id, product in held if sub_id != plan]
    if history.pending == "reduce":
        order(later, "pending", SetLicenses(max(history.assigned, history.licenses - 2, 1)))
    elif history.pending == "downgrade":
        order(later, "pending", ChangePlan("pro", max(history.assigned, 1), history.interval))
    elif history.pending == "cancel":
        order(later, "pending", Cancel(with_addons=True))
    elif history.pending == "addon" and addons:
        order(later, "pending", ChangeAddon(str(addons[0]), quantity=1))
    if history.credit_line is not None:
        with app.engine.connect() as conn:
            first = invoice_views(conn, account_id)[-1].number
        with suppress(ProrataError):  # the invoice has no such line
            credit_lines(first, [history.credit_line], actor="history", reason="goodwill", uow=app.uow,
                         clock=FixedClock(later))  # fmt: skip
    if history.buyer_now != history.buyer_then:  # rule T1: the tax of what comes next follows the new country
        country, tax_id = BUYERS[history.buyer_now]
        with app.engine.begin() as conn:
            conn.execute(update(contacts).where(contacts.c.account_id == account_id)
                         .values(country=country, tax_id=tax_id))  # fmt: skip
    return account_id, people[0]


def holdings(app: App, account_id: int) -> list[tuple[int, str]]:
    with app.engine.connect() as conn:
        return [(int(r.id), r.product) for r in conn.execute(
            select(subscriptions.c.id, subscriptions.c.product)
            .where(subscriptions.c.account_id == account_id, subscriptions.c.status == "active")
            .order_by(subscriptions.c.id))]  # fmt: skip


def resolve(cart: list[tuple[Any, ...]], app: App, account_id: int) -> tuple[Change, ...]:
    with app.engine.connect() as conn:
        held = conn.execute(
            select(subscriptions.c.id, subscriptions.c.product, subscriptions.c.quantity, subscriptions.c.interval)
            .where(subscriptions.c.account_id == account_id, subscriptions.c.status == "active")
            .order_by(subscriptions.c.id)).all()  # fmt: skip
        cancelling = set(conn.execute(
            select(pending_changes.c.subscription_id).where(pending_changes.c.kind == "cancel")).scalars())  # fmt: skip
    plan = next((h for h in held if app.catalog.products[h.product].is_plan), None)
    addons = [h for h in held if app.catalog.products[h.product].is_addon]
    held_products = {h.product: h for h in addons}
    licenses, interval = (plan.quantity, Interval(plan.interval)) if plan is not None else (1, Interval.MONTH)
    other = Interval.YEAR if interval is Interval.MONTH else Interval.MONTH
    changes: list[Change] = []
    for item in cart:
        kind = item[0]
        if kind == "plan":
            # another plan than the one held (the same one is refused, and is covered by the examples)
            code = item[1] if plan is None or item[1] != plan.product else next(p for p in PLANS if p != plan.product)
            low = app.catalog.products[code].min_quantity
            total = {None: None, "min": low, "now": max(low, licenses), "more": max(low, licenses) + 2}[item[2]]
            changes.append(ChangePlan(code, total, {None: None, "same": interval, "switch": other}[item[3]]))
        elif kind == "licenses":
            changes.append(SetLicenses(max(1, licenses + item[1])))
        elif kind == "interval":
            changes.append(ChangeInterval(other))
        elif kind == "add" and item[1] in held_products:  # an add-on held is edited, not bought again (A3)
            changes.append(ChangeAddon(str(held_products[item[1]].id), quantity=held_products[item[1]].quantity + 1))
        elif kind == "add":
            changes.append(AddAddon(item[1], item[2]))
        elif kind == "addon" and item[1] < len(addons):
            addon = addons[item[1]]
            changes.append(ChangeAddon(str(addon.id), quantity=max(1, addon.quantity + item[2]), product=item[3]))
        elif kind == "cancel" and plan is not None and plan.id not in cancelling:
            changes.append(Cancel(with_addons=item[1]))
        elif kind == "reactivate":  # what is cancelling: the plan, or the add-on named
            target = plan if item[1] is None else addons[item[1]] if item[1] < len(addons) else None
            if target is not None and target.id in cancelling:
                changes.append(Reactivate(None if target is plan else str(target.id)))
    return tuple(changes) or (SetLicenses(licenses + 1),)


@dataclass(frozen=True)
class Books:
    """What the database holds for an account: what the summary is compared against."""

    subscriptions: dict[int, str]
    pending: Counter[tuple[object, ...]]
    orders: int
    invoices: int
    balance: int


def books(app: App, account_id: int, known: set[int] | None = None) -> Books:
    """``known``: the subscriptions that existed before the order; one it created is keyed by its product."""
    subs = dict(holdings(app, account_id))
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(pending_changes).join(subscriptions, subscriptions.c.id == pending_changes.c.subscription_id)
            .where(subscriptions.c.account_id == account_id, subscriptions.c.status == "active"))  # fmt: skip
        pending: Counter[tuple[object, ...]] = Counter()
        for r in rows:
            existed = known is None or r.subscription_id in known
            sub = str(r.subscription_id) if existed else ("new", subs[r.subscription_id])
            pending[(sub, r.kind, r.effective, r.quantity, r.product)] += 1
        count = {t.name: conn.execute(select(func.count()).select_from(t).where(t.c.account_id == account_id))
                 .scalar_one() for t in (orders, invoices)}  # fmt: skip
        balance = conn.execute(select(func.coalesce(func.sum(credit_ledger.c.amount), 0))
                               .where(credit_ledger.c.account_id == account_id)).scalar_one()  # fmt: skip
    return Books(subs, pending, count["orders"], count["invoices"], int(balance))


def shown_changes(page: OrderPage, known: set[int]) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    """The page's scheduled and withdrawn changes, keyed as ``books`` keys pending rows."""
    out: dict[str, Counter[tuple[object, ...]]] = {"scheduled": Counter(), "withdrawn": Counter()}
    for c in page.changes:
        sub: object = (
            c.subscription if c.subscription.isdigit() and int(c.subscription) in known else ("new", c.product)
        )
        out[c.action][(sub, c.kind, datetime.fromisoformat(c.effective), c.quantity, c.target)] += 1
    return out["scheduled"], out["withdrawn"]


def check(app: App, client: TestClient, history: History, cart: list[tuple[Any, ...]]) -> None:
    account_id, owner = open_account(app, history)
    changes = resolve(cart, app, account_id)
    note(f"{history}\n{changes}")
    language, currency, zone = history.language, history.currency, ZONES[history.currency]
    token = open_session(app.engine, person_of_user(app.engine, owner), owner, language, wall_clock())
    client.cookies.set(SESSION_COOKIE, token)
    session = find_session(app.engine, token, wall_clock())
    assert session is not None
    session.state["cart"] = [basket.item_of(c) for c in changes]  # as the portal's forms keep a cart (rule K3)
    save_session(app.engine, session)
    before = books(app, account_id)
    known = set(before.subscriptions)

    def shows(amount: int) -> str:
        return norm(money(amount, currency, language))

    cart_page = client.get("/cart")
    csrf = CSRF.search(cart_page.text)
    assert csrf is not None
    summary_page = client.post("/checkout/terms", data={"terms": "on", "csrf": csrf.group(1)})
    in_cart, summary = order_page(cart_page.text), order_page(summary_page.text)

    if in_cart.error is not None:  # rule X4: refused alike on both pages, and nothing is placed
        event("refused")
        assert summary_page.status_code == 400
        assert summary.error == in_cart.error
        assert summary.figures == {}
        refused = client.post("/checkout/place", data={"key": "", "csrf": csrf.group(1)})
        assert not refused.url.path.startswith("/checkout/done")
        after = books(app, account_id)
        assert (after.orders, after.invoices, after.pending, after.balance) == (
            before.orders, before.invoices, before.pending, before.balance)  # fmt: skip
        return

    assert summary_page.status_code == 200, summary_page.text
    assert (in_cart.lines, in_cart.figures, in_cart.tax_rows, in_cart.changes) == (
        summary.lines, summary.figures, summary.tax_rows, summary.changes)  # fmt: skip
    key = text_key(summary_page.text)
    placed = client.post("/checkout/place", data={"key": key, "csrf": csrf.group(1)})
    assert placed.status_code == 200, placed.text
    after = books(app, account_id, known)
    assert after.orders == before.orders + 1
    with app.engine.connect() as conn:
        order_id = conn.execute(select(func.max(orders.c.id)).where(orders.c.account_id == account_id)).scalar_one()
        invoice = conn.execute(select(invoices).where(invoices.c.order_id == order_id)).first()
        lines = [] if invoice is None else conn.execute(
            select(invoice_lines).where(invoice_lines.c.invoice_id == invoice.id).order_by(invoice_lines.c.position)
        ).all()  # fmt: skip
        # a sum of BIGINT is NUMERIC on PostgreSQL: read back as int, as money always is (rule X1)
        charged = 0 if invoice is None else int(conn.execute(
            select(func.coalesce(func.sum(payments.c.amount), 0))
            .where(payments.c.invoice_id == invoice.id, payments.c.status == "succeeded")).scalar_one())  # fmt: skip
        added = 0 if invoice is None else int(conn.execute(
            select(func.coalesce(func.sum(credit_ledger.c.amount), 0))
            .where(credit_ledger.c.invoice_id == invoice.id, credit_ledger.c.amount > 0)).scalar_one())  # fmt: skip

    used = invoice.credit_applied if invoice is not None else 0
    credit = "used" if used else "added" if added else "none"
    event(f"placed: {len(lines)} lines, {len({line.tax_rate for line in lines})} tax rates, "
          f"{len(summary.changes)} scheduled or withdrawn, credit {credit}")  # fmt: skip
    # the lines and every figure (rules C4, C6, T3): what the order invoiced, charged and booked
    assert summary.lines == [(line.kind, shows(line.amount)) for line in lines]
    assert after.invoices == before.invoices + (1 if lines else 0)
    rates: dict[int, int] = {}
    for line in lines:
        rates[line.tax_rate] = rates.get(line.tax_rate, 0) + line.tax
    if lines:
        assert summary.tax_rows == {rate: shows(tax) for rate, tax in rates.items()}
    else:
        assert set(summary.tax_rows.values()) == {shows(0)}
    subtotal, tax, total = (invoice.subtotal, invoice.tax, invoice.total) if invoice is not None else (0, 0, 0)
    assert summary.figures["subtotal"] == shows(subtotal)
    assert summary.figures["tax"] == shows(tax)
    assert summary.figures["total"] == shows(total)
    assert summary.figures.get("credit-used") == (shows(-used) if used else None)
    assert summary.figures.get("credit-added") == (shows(added) if added else None)
    assert summary.figures["amount-due"] == shows(charged)
    assert after.balance == before.balance - used + added
    if before.balance or after.balance:
        assert shows(before.balance) in summary.figures["credit-balance"]
        assert shows(after.balance) in summary.figures["credit-balance"]
    else:
        assert "credit-balance" not in summary.figures

    # what it scheduled and withdrew (rules L3, L6, P5, D1): the pending rows before, less the withdrawn, plus the
    # scheduled, are the pending rows after
    scheduled, withdrawn = shown_changes(summary, known)
    assert not withdrawn - before.pending, "withdrawn something that was not pending"
    assert before.pending - withdrawn + scheduled == after.pending
    for c in summary.changes:
        assert norm(day(datetime.fromisoformat(c.effective), zone, language)) in c.text
        if c.quantity is not None and c.kind != "cancel":
            assert str(c.quantity) in c.text

    # the confirmation repeats it, and never calls a change for the term end a purchase
    confirmed = order_page(placed.text)
    assert confirmed.changes == summary.changes
    if invoice is not None:
        assert confirmed.figures == summary.figures
    else:
        assert text_by_id(placed.text, "nothing-charged") is not None


def text_key(html: str) -> str:
    found = re.search(r'name="key" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


# A modest number keeps the suite fast; PRORATA_SUMMARY_EXAMPLES=500 searches harder
EXAMPLES = int(os.environ.get("PRORATA_SUMMARY_EXAMPLES", "25"))

# Examples that reach what random ones may miss
WITHDRAWS_A_REDUCTION = History("PLN", "pl", "pl", "business", 14, Interval.MONTH, 10, (), 5, "reduce", None, "pl")
PAID_FROM_CREDIT_AT_TWO_RATES = History(
    "USD", "pl", "de-vat", "pro", 5, Interval.MONTH, 12, (("webinar_500", 2),), 2, None, 1, "en"
)
CANCELLED_THEN_REACTIVATED = History(
    "USD", "us", "us", "business", 12, Interval.YEAR, 100, (("large_meetings_500", 3),), 4, "cancel", None, "pl"
)
# a downgrade to Pro pending, then fewer Business licenses: the summary says which downgrade it withdraws, total
# included, as it said when the downgrade was scheduled
DOWNGRADE_WITHDRAWN = History("PLN", "de", "de", "business", 10, Interval.MONTH, 6, (), 0, "downgrade", None, "en")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])  # fmt: skip
@example(history=WITHDRAWS_A_REDUCTION, cart=[("licenses", 2), ("add", "webinar_500", 2)])
@example(history=PAID_FROM_CREDIT_AT_TWO_RATES, cart=[("plan", "business", "min", None)])
@example(history=CANCELLED_THEN_REACTIVATED, cart=[("reactivate", None), ("reactivate", 0), ("addon", 0, 2, None)])
@example(history=WITHDRAWS_A_REDUCTION, cart=[("licenses", -8)])  # below Business's minimum: refused
@example(history=DOWNGRADE_WITHDRAWN, cart=[("licenses", -1)])
# one more license, then back to the total held: a reduction the cart schedules and replaces, shown once
@example(
    history=CANCELLED_THEN_REACTIVATED,
    cart=[("reactivate", None), ("reactivate", 0), ("licenses", 1), ("licenses", 0), ("licenses", 0)],
)
@given(history=histories(), cart=carts)
def test_the_order_summary_shows_what_the_order_invoices_and_schedules(
    shop: tuple[App, TestClient], history: History, cart: list[tuple[Any, ...]]
) -> None:
    app, client = shop
    check(app, client, history, cart)
