"""A billing run finishes its day (rules C7, I1, I8): an account or an invoice held by another transaction than a
billing run is waited for (a bounded time) and done in the same run; what is still not done when the wait is over is
listed with its reason, and the run is not complete (exit status 2). The locks are real, held from a connection of
their own while the run runs, on PostgreSQL and on SQLite (where a transaction holds the whole database).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.clock import move_clock, start_simulation
from prorata.adapters.db.schema import invoices, orders, payments, subscriptions
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.entrypoints.cli.main import main
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from prorata.services.place_order import PlaceOrder, place_order
from prorata.services.renew_due import BillingRunReport, RenewDue, collect_due, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import NOW, FixedClock, Shop
from tests.integration.test_billing_run import DEC_15
from tests.races import HeldGateway, Holder, in_flight

SQLITE_HOLDS_EVERYTHING = (
    "SQLite has one writer at a time: a transaction that holds an account holds the whole database, and the run "
    "waits for it at its first statement (busy timeout) instead of passing the account by"
)


def run(shop: Shop, until: datetime, wait: float) -> BillingRunReport:
    shop.clock.at = until
    return renew_due(RenewDue(until, wait=wait), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                     catalog=CATALOG, dunning=shop.dunning)  # fmt: skip


def renewed_on(engine: Engine, account_id: int, day: datetime) -> list[str]:
    """The numbers of the account's renewal invoices for ``day``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(invoices.c.number).where(invoices.c.account_id == account_id, invoices.c.billing_date == day)
        ).scalars()
        return [str(n) for n in rows]


def period_end(engine: Engine, account_id: int) -> datetime:
    with engine.connect() as conn:
        return conn.execute(
            select(subscriptions.c.period_end).where(
                subscriptions.c.account_id == account_id, subscriptions.c.status == "active"
            )
        ).scalar_one()


def two_accounts(engine: Engine) -> tuple[Shop, Shop]:
    held, other = Shop(engine, code="held"), Shop(engine, code="other")
    for shop in (held, other):
        shop.order(ChangePlan("pro", 2), key="buy")
    return held, other


def test_an_account_another_transaction_holds_is_renewed_in_the_same_run_once_it_is_released(engine: Engine) -> None:
    # rule C7: the account is not passed by as "renewed by another billing run"; the run waits and renews it
    held, other = two_accounts(engine)

    with Holder(engine, held.account_id) as holder:
        holder.release_after(1.0)
        report = run(other, DEC_15, wait=20)

    assert report.complete, report
    assert (report.accounts, report.left_to_another_run, report.not_renewed) == (2, [], [])
    assert report.busy == ([held.account_id] if engine.dialect.name == "postgresql" else [])
    assert len(renewed_on(engine, held.account_id, DEC_15)) == 1
    assert len(renewed_on(engine, other.account_id, DEC_15)) == 1
    assert period_end(engine, held.account_id) > DEC_15


def test_an_account_held_past_the_wait_is_listed_as_not_renewed_and_left_as_it_was(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip(SQLITE_HOLDS_EVERYTHING)
    held, other = two_accounts(engine)

    with Holder(engine, held.account_id):
        report = run(other, DEC_15, wait=0.5)

    assert not report.complete
    assert [(r.account_id, r.code, r.rule) for r in report.not_renewed] == [
        (held.account_id, "billing_run.account_locked", "C7")
    ]
    assert "0.5 s" in report.not_renewed[0].message
    assert report.left_to_another_run == []
    assert renewed_on(engine, held.account_id, DEC_15) == []
    assert period_end(engine, held.account_id) == DEC_15
    assert len(renewed_on(engine, other.account_id, DEC_15)) == 1
    # the next run renews it, once
    again = run(other, DEC_15, wait=0.5)
    assert again.complete
    assert len(renewed_on(engine, held.account_id, DEC_15)) == 1


def test_an_account_another_billing_run_holds_is_left_to_it_without_waiting(engine: Engine) -> None:
    # rule I1: runs share a day; one never waits for, nor reports, what another run is renewing
    if engine.dialect.name == "sqlite":
        pytest.skip(SQLITE_HOLDS_EVERYTHING)
    held, other = two_accounts(engine)
    with held.uow() as another_run:
        claimed = another_run.claim_due_accounts(DEC_15, 0, 1)
        assert list(claimed.accounts) == [held.account_id]
        started = time.monotonic()
        report = run(other, DEC_15, wait=20)
        waited = time.monotonic() - started

    assert report.complete, report
    assert (report.left_to_another_run, report.busy, report.not_renewed) == ([held.account_id], [], [])
    assert report.accounts == 1
    assert waited < 5


def test_bill_lists_an_account_it_could_not_renew_and_exits_with_status_2(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by holding SELECT ... FOR UPDATE on one account during `prorata bill`: exit status 0 before
    if engine.dialect.name == "sqlite":
        pytest.skip(SQLITE_HOLDS_EVERYTHING)
    held, _other = two_accounts(engine)
    args = ["bill", "--until", DEC_15.date().isoformat(), "--bill-in-advance", "--database", database_url]

    with Holder(engine, held.account_id):
        status = main([*args, "--wait", "0.5", "--json"])
        billed = json.loads(capsys.readouterr().out)["billing"]
        text_status = main([*args, "--wait", "0"])
        text = capsys.readouterr().out

    assert (status, billed["complete"], billed["accounts"]) == (2, False, 1)
    assert billed["accounts_not_renewed"] == [
        {"account_id": held.account_id, "account_code": "held", "code": "billing_run.account_locked",
         "message": billed["accounts_not_renewed"][0]["message"], "rule": "C7"}
    ]  # fmt: skip
    assert billed["accounts_left_to_another_run"] == []
    assert text_status == 2
    assert "accounts not renewed: 1" in text
    assert f"held (id {held.account_id}): another transaction held the account" in text
    assert "[billing_run.account_locked, rule C7]" in text
    status = main([*args, "--json"])  # released: the same command now finishes the day
    assert status == 0
    assert json.loads(capsys.readouterr().out)["billing"]["accounts"] == 1


def order_in_flight(shop: Shop) -> tuple[HeldGateway, threading.Thread]:
    """Three licenses ordered on Dec 14, their payment still at the gateway when the Dec 15 run comes."""
    gateway = HeldGateway("order-")
    command = PlaceOrder(shop.account_id, (SetLicenses(3),), "more", actor="owner@acme.test", terms_version="2026-01",
                         terms_accepted=True)  # fmt: skip
    clock = FixedClock(DEC_15 - timedelta(days=1))
    thread = in_flight(
        gateway, lambda: place_order(command, uow=shop.uow, clock=clock, gateway=gateway, catalog=CATALOG)
    )
    return gateway, thread


def test_an_account_with_an_order_being_paid_is_renewed_in_the_same_run_once_the_order_is_settled(
    engine: Engine,
) -> None:
    # rule C7 with K8: the renewal waits for the order (priced on the period it was in), then renews what it left
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    gateway, thread = order_in_flight(shop)

    threading.Timer(1.0, gateway.release.set).start()
    report = run(shop, DEC_15, wait=20)
    thread.join(timeout=30)

    assert report.complete, report
    assert (report.accounts, report.busy) == (1, [shop.account_id])
    assert shop.held() == [("pro", 3)]
    with engine.connect() as conn:
        renewal = conn.execute(
            select(invoices.c.subtotal).where(
                invoices.c.billing_date == DEC_15, invoices.c.account_id == shop.account_id
            )
        ).scalar_one()
    assert renewal == 3 * price("pro")  # the order's licenses are renewed with the plan


def test_an_order_still_being_paid_when_the_wait_is_over_leaves_the_account_listed_as_not_renewed(
    engine: Engine,
) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    gateway, thread = order_in_flight(shop)
    try:
        report = run(shop, DEC_15, wait=0.5)
    finally:
        gateway.release.set()
        thread.join(timeout=30)

    assert not report.complete
    assert [(r.account_id, r.code) for r in report.not_renewed] == [(shop.account_id, "billing_run.order_in_progress")]
    assert renewed_on(engine, shop.account_id, DEC_15) == []
    with engine.connect() as conn:
        assert conn.execute(select(orders.c.status).where(orders.c.idempotency_key == "more")).scalar_one() == "placed"


def declined_then_good_card(engine: Engine) -> tuple[Shop, int]:
    """A renewal whose first attempt was declined on Dec 15; a good card on file since; the retry is due Dec 16."""
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    assert run(shop, DEC_15, wait=0).payments_failed == 1
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
        invoice_id = conn.execute(select(invoices.c.id).where(invoices.c.status == "open")).scalar_one()
    shop.clock.at = DEC_15 + timedelta(days=1)
    return shop, int(invoice_id)


def attempts(engine: Engine, invoice_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(payments.c.status).where(payments.c.invoice_id == invoice_id)).scalars())


def test_an_invoice_whose_account_is_held_is_attempted_in_the_same_run_once_it_is_released(engine: Engine) -> None:
    # rule I8: the attempt due today is made today, so the dunning schedule does not slip a run
    shop, invoice_id = declined_then_good_card(engine)
    report = BillingRunReport()

    with Holder(engine, shop.account_id) as holder:
        holder.release_after(1.0)
        collect_due(shop.uow, shop.clock, shop.gateway, report, wait=20, dunning=shop.dunning)

    assert report.complete, report
    assert (report.payments_succeeded, report.not_attempted) == (1, [])
    assert attempts(engine, invoice_id) == ["failed", "succeeded"]


def test_an_invoice_whose_account_is_held_past_the_wait_is_listed_as_not_attempted(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip(SQLITE_HOLDS_EVERYTHING)
    start_simulation(engine, NOW)  # `prorata bill` collects by the installation's time
    shop, invoice_id = declined_then_good_card(engine)
    move_clock(engine, shop.clock.at)
    report = BillingRunReport()

    with Holder(engine, shop.account_id):
        collect_due(shop.uow, shop.clock, shop.gateway, report, wait=0.5, dunning=shop.dunning)
        status = main(["bill", "--wait", "0.5", "--database", database_url])
        text = capsys.readouterr().out

    assert not report.complete
    assert [(i.invoice_id, i.account_id, i.code, i.rule) for i in report.not_attempted] == [
        (invoice_id, shop.account_id, "billing_run.account_locked", "I8")
    ]
    assert report.payments_succeeded + report.payments_failed == 0
    assert attempts(engine, invoice_id) == ["failed"]  # no attempt recorded: the next run makes it
    assert status == 2
    assert "invoices not attempted: 1" in text
    assert f"INV-2026-000002 (id {invoice_id}) of acme (id {shop.account_id})" in text
    collect_due(shop.uow, shop.clock, shop.gateway, BillingRunReport(), wait=0.5, dunning=shop.dunning)
    assert attempts(engine, invoice_id) == ["failed", "succeeded"]


def test_an_invoice_with_a_customers_payment_in_flight_is_left_to_that_payment(engine: Engine) -> None:
    # rule X3: the run waits for the payment in flight; once it has paid the invoice nothing is left to attempt
    shop, invoice_id = declined_then_good_card(engine)
    gateway = HeldGateway("customer:")
    command = PayInvoices(shop.account_id, "customer", (invoice_id,))
    customer = in_flight(gateway, lambda: pay_invoices(command, uow=shop.uow, clock=shop.clock, gateway=gateway))

    threading.Timer(1.0, gateway.release.set).start()  # the customer's payment settles a second into the run
    report = BillingRunReport()
    collect_due(shop.uow, shop.clock, shop.gateway, report, wait=20, dunning=shop.dunning)
    customer.join(timeout=30)

    assert report.complete, report
    assert report.payments_succeeded + report.payments_failed == 0
    assert attempts(engine, invoice_id) == ["failed", "succeeded"]  # the customer's payment, and no other
    assert gateway.keys == [f"customer:invoice-{invoice_id}"]


def test_a_wait_outside_0_to_600_seconds_is_refused_by_name(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule X4: the command line refuses it, nothing is billed
    held, _other = two_accounts(engine)
    for command in (["bill"], ["clock", "advance", "--days", "1"]):
        for wait in ("-1", "601", "nan"):
            status = main([*command, "--wait", wait, "--json", "--database", database_url])
            error = json.loads(capsys.readouterr().err)["error"]
            assert (status, error["code"], error["field"]) == (1, "billing_run.wait", "wait"), (command, wait)
    assert renewed_on(engine, held.account_id, DEC_15) == []
