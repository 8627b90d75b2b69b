"""Correct books to corrupt: the demo accounts after three months of what an installation does, built once per
database through the use cases and copied for each test (``PREPARED`` in tests/conftest.py: a file copy on SQLite,
a template database on PostgreSQL).

What they hold (simulated clock from Nov 15, 2026):

- ``demo-pro`` (USD, New York): Pro 3, two licenses assigned; 5 licenses from Nov 20 (a prorated charge, L2);
  renewed Dec 15 and Jan 15 by card; its card declines on Feb 15 and that open renewal is voided (a void credit note).
- ``demo-business`` (PLN, Warsaw, 23 % VAT): Business 12 with Large Meetings 500 for two Licensed users; upgraded to
  Business Plus on Nov 25 (a credit and a charge, P2); the new plan's line credited on Nov 26 (a partial credit
  note on a paid invoice, refunded to the balance, which pays part of the Dec 15 renewal); its Feb 15 renewal is
  declined, then paid by a payment that the operator's void overtakes in flight (a credited payment, an overpayment
  in the ledger).
- ``demo-basic`` (PLN): Pro 2 yearly from Nov 26, switched to monthly on Nov 28 (the unused year credited to the
  balance, C2), renewed monthly from the balance.
- ``demo-pro`` also orders more licenses on Jan 20 with the declining card: a failed order (a draft invoice and a
  failed payment, rule K8).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from prorata.adapters.db.clock import move_clock, start_simulation
from prorata.adapters.db.database import migrate
from prorata.adapters.db.queries import account_id_by_code
from prorata.adapters.db.schema import invoices
from prorata.bootstrap import App, build
from prorata.domain.cart import Change, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.invariants import Verification
from prorata.domain.periods import Interval
from prorata.entrypoints.cli.demo import load_demo
from prorata.services.billing_information import AddCard, add_card
from prorata.services.credit_notes import credit_lines, void_invoice
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from prorata.services.place_order import PlaceOrder, place_order
from prorata.services.renew_due import RenewDue, renew_due
from prorata.services.verify_books import VerifyBooks, verify_books
from tests.conftest import PREPARED
from tests.races import CountingGateway

START = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
DECLINED = "4000000000000002"


def at(app: App, when: datetime) -> None:
    move_clock(app.engine, when)
    app.clock.refresh()


def order(app: App, code: str, *changes: Change, key: str) -> str:
    with app.engine.connect() as conn:
        account = account_id_by_code(conn, code)
    assert account is not None
    return place_order(PlaceOrder(account, changes, key, actor="owner", terms_version="2026-01", terms_accepted=True),
                uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax).status  # fmt: skip


def bill_until(app: App, until: datetime) -> None:
    """A day at a time, as ``prorata clock advance`` does."""
    day = app.clock.now()
    while day < until:
        day = min(day + timedelta(days=1), until)
        at(app, day)
        renew_due(RenewDue(day), uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog,
                  tax=app.tax, dunning=app.dunning)  # fmt: skip


def account(app: App, code: str) -> int:
    with app.engine.connect() as conn:
        found = account_id_by_code(conn, code)
    assert found is not None
    return found


def open_invoice(app: App, code: str) -> tuple[int, str]:
    with app.engine.connect() as conn:
        row = conn.execute(
            select(invoices.c.id, invoices.c.year, invoices.c.number).where(
                invoices.c.account_id == account(app, code), invoices.c.status == "open"
            )
        ).one()
    return int(row.id), f"INV-{row.year}-{row.number:06d}"


def last_number(app: App, code: str) -> str:
    with app.engine.connect() as conn:
        row = conn.execute(
            select(invoices.c.year, invoices.c.number)
            .where(invoices.c.account_id == account(app, code), invoices.c.number.is_not(None))
            .order_by(invoices.c.id.desc())
            .limit(1)
        ).one()
    return f"INV-{row.year}-{row.number:06d}"


def decline(app: App, code: str) -> None:
    add_card(AddCard(account(app, code), DECLINED, 12, 2030), uow=app.uow, clock=app.clock, gateway=app.gateway)


def write_books(url: str) -> None:
    app = build(url)
    migrate(app.engine)
    start_simulation(app.engine, START)
    app.clock.refresh()
    load_demo(app)
    at(app, START + timedelta(days=5))
    order(app, "demo-pro", SetLicenses(5), key="more")
    at(app, START + timedelta(days=10))
    order(app, "demo-business", ChangePlan("business_plus", 12), key="upgrade")
    upgrade = last_number(app, "demo-business")
    at(app, START + timedelta(days=11))
    credit_lines(upgrade, [2], actor="operator", reason="goodwill", uow=app.uow, clock=app.clock)
    order(app, "demo-basic", ChangePlan("pro", 2, Interval.YEAR), key="yearly")
    at(app, START + timedelta(days=13))
    order(app, "demo-basic", ChangeInterval(Interval.MONTH), key="monthly")
    bill_until(app, datetime(2027, 1, 20, 10, tzinfo=UTC))
    for code in ("demo-pro", "demo-business", "demo-basic"):
        decline(app, code)
    assert order(app, "demo-pro", SetLicenses(6), key="declined") == "failed"
    bill_until(app, datetime(2027, 2, 16, 10, tzinfo=UTC))
    _, pro_open = open_invoice(app, "demo-pro")
    void_invoice(pro_open, actor="operator", reason="goodwill", uow=app.uow, clock=app.clock)
    business_open, number = open_invoice(app, "demo-business")
    add_card(AddCard(account(app, "demo-business"), "4242424242424242", 12, 2030), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip
    gateway = CountingGateway(delay=0)
    gateway.during = lambda: void_invoice(number, actor="operator", uow=app.uow, clock=app.clock)
    pay_invoices(PayInvoices(account(app, "demo-business"), "late", (business_open,)), uow=app.uow, clock=app.clock,
                 gateway=gateway)  # fmt: skip
    app.close()


# A test whose fixture is named ``books`` gets a copy of these books, written once per test session
# (tests/conftest.py); test_verify.py has it
PREPARED["books"] = write_books


def verify(app: App, **command: object) -> Verification:
    return verify_books(VerifyBooks(**command), books=app.books, log=app.verification_log(), clock=app.clock)  # type: ignore[arg-type]
