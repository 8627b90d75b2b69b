"""Every invoice paid at most once, on every path, with real concurrent connections (rules X3, I3, I6, I8, K8).

Threads are held at a barrier and released together; each runs the use case with database connections of its own.
The gateway is the sandbox, slowed a little to widen every window a race could slip through, counting what it was
asked to charge. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.schema import (
    audit_log,
    credit_ledger,
    invoice_lines,
    invoices,
    license_assignments,
    orders,
    outbox,
    payments,
)
from prorata.domain.cart import AddAddon, ChangePlan, SetLicenses
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import ProrataError
from prorata.services.assign_license import Assignment, assign_license
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from prorata.services.reconcile import ReconcileReport, reconcile
from prorata.services.renew_due import BillingRunReport, collect_due
from tests.helpers import CATALOG
from tests.integration.shop import Shop
from tests.integration.test_billing_run import DEC_15, overdue_shop, run
from tests.races import CountingGateway, together


def open_invoice(engine: Engine) -> tuple[Shop, int]:
    """An overdue account with a good card on file again, and its one open renewal invoice."""
    shop = overdue_shop(engine)
    shop.add_user("owner@acme.test", "owner")  # who hears of it (rule I4)
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
    with engine.connect() as conn:
        invoice_id = conn.execute(select(invoices.c.id).where(invoices.c.status == "open")).scalar_one()
    return shop, int(invoice_id)


def number_and_due(engine: Engine, invoice_id: int) -> tuple[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(invoices.c.series, invoices.c.year, invoices.c.number, invoices.c.amount_due).where(
                invoices.c.id == invoice_id
            )
        ).one()
    return invoice_number_text(row.series, row.year, row.number), int(row.amount_due)


def succeeded(shop: Shop, invoice_id: int) -> int:
    return shop.count(payments, payments.c.invoice_id == invoice_id, payments.c.status == "succeeded")


def test_a_customer_paying_while_the_billing_run_collects_the_same_invoice_charges_it_once(engine: Engine) -> None:
    # rule X3: the run's collection and the customer lock the account, then the invoice, and check before charging
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    run(shop, DEC_15)  # the renewal's first attempt is declined
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
        invoice_id = int(conn.execute(select(invoices.c.id).where(invoices.c.status == "open")).scalar_one())
    gateway = CountingGateway()
    shop.gateway = gateway
    shop.clock.at = DEC_15 + timedelta(days=1)  # rule I8: the first retry is due today
    report = BillingRunReport()

    def customer() -> object:
        return pay_invoices(PayInvoices(shop.account_id, "customer", (invoice_id,)), uow=shop.uow, clock=shop.clock,
                            gateway=gateway)  # fmt: skip

    def billing_run() -> None:
        collect_due(shop.uow, shop.clock, gateway, report, dunning=shop.dunning)

    results = together([customer, billing_run, customer, billing_run])

    assert gateway.charges() == 1, (gateway.keys, results)
    assert succeeded(shop, invoice_id) == 1
    with engine.connect() as conn:
        paid = conn.execute(select(invoices.c.status, invoices.c.amount_due).where(invoices.c.id == invoice_id)).one()
    assert tuple(paid) == ("paid", 0)
    refused = [r for r in results if isinstance(r, ProrataError)]
    assert {error.code for error in refused} <= {"invoice.payment_in_progress", "invoice.not_open"}
    shop.assert_books_balance()


def test_runs_released_together_on_a_configured_retry_day_charge_the_invoice_once(engine: Engine) -> None:
    # rules I8, X3: retried 2 and 4 days after the issue date: nothing is tried on day 1, and on day 2 three
    # collections released at once make the retry once, under its one key
    shop = Shop(engine, dunning=DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10))
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    run(shop, DEC_15)  # the renewal's first attempt is declined
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
        invoice_id = int(conn.execute(select(invoices.c.id).where(invoices.c.status == "open")).scalar_one())
    gateway = CountingGateway()
    shop.gateway = gateway

    def collection() -> BillingRunReport:
        report = BillingRunReport()
        collect_due(shop.uow, shop.clock, gateway, report, dunning=shop.dunning)
        return report

    shop.clock.at = DEC_15 + timedelta(days=1)
    assert collection().payments_succeeded == 0
    assert gateway.keys == []  # not a retry day of this schedule
    shop.clock.at = DEC_15 + timedelta(days=2)
    reports = together([collection, collection, collection])

    assert all(isinstance(report, BillingRunReport) for report in reports), reports
    assert gateway.charges() == 1
    assert set(gateway.keys) == {f"invoice-{invoice_id}-attempt-2"}
    assert sum(report.payments_succeeded for report in reports) == 1
    assert succeeded(shop, invoice_id) == 1
    shop.assert_books_balance()


def test_the_database_refuses_a_second_live_payment_of_an_invoice(engine: Engine) -> None:
    # rule X3: even a caller that skipped the lock and the checks cannot start a second payment of one invoice
    shop, invoice_id = open_invoice(engine)
    with shop.uow() as tx:
        method = tx.default_payment_method(shop.account_id)
        assert method is not None
        tx.insert_payment_intent(shop.account_id, invoice_id, method, 100, "USD", "first", shop.clock.now())
    with pytest.raises(ProrataError) as error, shop.uow() as tx:
        tx.insert_payment_intent(shop.account_id, invoice_id, method, 100, "USD", "second", shop.clock.now())
    assert (error.value.code, error.value.rule) == ("invoice.payment_in_progress", "X3")
    assert shop.count(payments, payments.c.invoice_id == invoice_id, payments.c.status == "pending") == 1
    shop.assert_books_balance()


def test_a_payment_that_succeeds_for_an_invoice_voided_meanwhile_goes_to_the_credit_balance(engine: Engine) -> None:
    # rules X3, I2: the money is never silent: ledger entry, audit line, e-mail; the payment says "credited"
    shop, invoice_id = open_invoice(engine)
    text, due = number_and_due(engine, invoice_id)
    gateway = CountingGateway(delay=0)
    gateway.during = lambda: credit_invoice(CreditInvoice(text, "operator", "duplicate"), uow=shop.uow,
                                            clock=shop.clock)  # fmt: skip
    shop.gateway = gateway
    balance_before = shop.balance()

    report = pay_invoices(PayInvoices(shop.account_id, "late", (invoice_id,)), uow=shop.uow, clock=shop.clock,
                          gateway=gateway)  # fmt: skip

    assert (report.paid, report.credited) == ([], [invoice_id])
    assert shop.balance() - balance_before == due  # the whole payment, nothing owed any more
    with engine.connect() as conn:
        assert conn.execute(select(payments.c.status).where(payments.c.idempotency_key == f"late:invoice-{invoice_id}")
                            ).scalar_one() == "credited"  # fmt: skip
        entry = conn.execute(
            select(credit_ledger.c.amount, credit_ledger.c.reason, credit_ledger.c.payment_id).where(
                credit_ledger.c.reason == "overpayment"
            )
        ).one()
        assert (entry.amount, entry.reason, entry.payment_id is not None) == (due, "overpayment", True)
        assert conn.execute(select(func.count()).where(audit_log.c.action == "payment.excess_credited")).scalar_one()
        kinds = conn.execute(select(outbox.c.kind).where(outbox.c.account_id == shop.account_id)).scalars().all()
        assert "excess_credited" in kinds
        assert conn.execute(select(invoices.c.status).where(invoices.c.id == invoice_id)).scalar_one() == "void"
    shop.assert_books_balance()


def test_a_payment_larger_than_what_a_credit_note_left_owed_pays_it_and_credits_the_rest(engine: Engine) -> None:
    # rules X3, I2: one line credited while the charge was in flight: the invoice is paid, the excess is in the balance
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), AddAddon("large_meetings_500", 1), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    run(shop, DEC_15)
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
    with engine.connect() as conn:
        invoice_id = int(conn.execute(select(invoices.c.id).where(invoices.c.status == "open")).scalar_one())
        second_line = conn.execute(
            select(invoice_lines.c.amount + invoice_lines.c.tax).where(
                invoice_lines.c.invoice_id == invoice_id, invoice_lines.c.position == 2
            )
        ).scalar_one()
    text, due = number_and_due(engine, invoice_id)
    gateway = CountingGateway(delay=0)
    gateway.during = lambda: credit_invoice(CreditInvoice(text, "operator", "add-on", (2,)), uow=shop.uow,
                                            clock=shop.clock)  # fmt: skip
    shop.gateway = gateway
    before = shop.balance()

    report = pay_invoices(PayInvoices(shop.account_id, "partly", (invoice_id,)), uow=shop.uow, clock=shop.clock,
                          gateway=gateway)  # fmt: skip

    assert report.paid == [invoice_id]
    assert second_line > 0
    assert shop.balance() - before == second_line  # paid the whole amount; the credited line's part came back
    assert number_and_due(engine, invoice_id)[1] == 0
    with engine.connect() as conn:
        assert conn.execute(select(invoices.c.status).where(invoices.c.id == invoice_id)).scalar_one() == "paid"
        assert conn.execute(select(payments.c.amount, payments.c.status).where(
            payments.c.idempotency_key == f"partly:invoice-{invoice_id}")).one() == (due, "succeeded")  # fmt: skip
    shop.assert_books_balance()


def test_reconciliation_and_the_process_that_made_a_payment_settle_it_once(engine: Engine) -> None:
    # rule X3: a reconciliation run while the payment is still at the gateway leaves it to its own process
    shop, invoice_id = open_invoice(engine)
    gateway = CountingGateway(delay=0)
    shop.clock.at = DEC_15 + timedelta(days=20)
    outcome: list[ReconcileReport] = []

    def reconcile_now() -> None:
        gateway.during = None  # once: reconciliation asks the gateway again, with the payment's own key
        outcome.append(reconcile(uow=shop.uow, clock=shop.clock, gateway=gateway, catalog=CATALOG,
                                 grace=timedelta(0)))  # fmt: skip

    gateway.during = reconcile_now
    shop.gateway = gateway
    report = pay_invoices(PayInvoices(shop.account_id, "k", (invoice_id,)), uow=shop.uow, clock=shop.clock,
                          gateway=gateway)  # fmt: skip

    assert report.paid == [invoice_id]
    assert [o.invoices_paid for o in outcome] == [[invoice_id]]  # reconciliation settled it first
    assert gateway.charges() == 1
    assert succeeded(shop, invoice_id) == 1
    with engine.connect() as conn:
        receipts = conn.execute(
            select(func.count()).where(outbox.c.kind == "receipt", outbox.c.invoice_id == invoice_id)
        ).scalar_one()
    assert receipts == 1  # one payment, one receipt
    shop.assert_books_balance()


def test_orders_with_different_keys_released_together_place_one_order(engine: Engine) -> None:
    # rules X3, K8: the account lock serialises them; the others are told an order is in progress or are priced
    # on the account the first one left (and refused when nothing changes any more)
    shop = Shop(engine)
    gateway = CountingGateway()
    shop.gateway = gateway
    calls = [lambda k=k: shop.order(ChangePlan("business", 10), key=f"order-{k}") for k in range(8)]
    results = together(calls)

    placed = [r for r in results if not isinstance(r, BaseException) and r.status == "placed"]
    assert len(placed) == 1, results
    assert {r.code for r in results if isinstance(r, ProrataError)} <= {"order.in_progress", "plan.unchanged"}
    assert gateway.charges() == 1
    assert shop.held() == [("business", 10)]
    assert shop.count(orders, orders.c.status == "placed") == 1
    shop.assert_books_balance()


def test_one_order_key_sent_eight_times_at_once_places_one_order(engine: Engine) -> None:
    # rule X3: a double click or a retried request: one order, one charge, the same answer or "in progress"
    shop = Shop(engine)
    gateway = CountingGateway()
    shop.gateway = gateway
    results = together([lambda: shop.order(ChangePlan("business", 12), key="same") for _ in range(8)])

    answers = [r for r in results if not isinstance(r, BaseException)]
    assert {r.order_id for r in answers} == {answers[0].order_id}
    assert {r.code for r in results if isinstance(r, ProrataError)} <= {"order.in_progress"}
    assert gateway.charges() == 1
    assert shop.count(orders) == 1
    shop.assert_books_balance()


def test_the_last_free_license_assigned_eight_times_at_once_goes_to_one_user(engine: Engine) -> None:
    # rule U1: eight owners assigning the last license at the same moment: one gets it, the others are told why
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    subscription = shop.subscription_ids()["pro"]
    first = shop.add_user("first@acme.test")
    assign_license(Assignment(shop.account_id, subscription, first), uow=shop.uow, clock=shop.clock,
                   catalog=CATALOG, actor="owner")  # fmt: skip
    people = [shop.add_user(f"user{n}@acme.test") for n in range(8)]

    def assign(user: int) -> Callable[[], None]:
        return lambda: assign_license(Assignment(shop.account_id, subscription, user), uow=shop.uow,
                                      clock=shop.clock, catalog=CATALOG, actor="owner")  # fmt: skip

    results = together([assign(user) for user in people])

    assert sum(r is None for r in results) == 1, results
    assert {r.code for r in results if isinstance(r, ProrataError)} == {"assignment.no_free_license"}
    assert shop.count(license_assignments, license_assignments.c.subscription_id == subscription) == 2
    shop.assert_books_balance()


def test_an_assignment_and_a_reduction_released_together_never_leave_more_assigned_than_held(engine: Engine) -> None:
    # rule L4: whichever goes first, the other sees it
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), key="buy")
    subscription = shop.subscription_ids()["pro"]
    users = [shop.add_user(f"u{n}@acme.test") for n in range(3)]
    for user in users[:2]:
        assign_license(Assignment(shop.account_id, subscription, user), uow=shop.uow, clock=shop.clock,
                       catalog=CATALOG, actor="owner")  # fmt: skip

    def third() -> None:
        assign_license(Assignment(shop.account_id, subscription, users[2]), uow=shop.uow, clock=shop.clock,
                       catalog=CATALOG, actor="owner")  # fmt: skip

    results = together([third, lambda: shop.order(SetLicenses(2), key="reduce")])

    assigned = shop.count(license_assignments, license_assignments.c.subscription_id == subscription)
    reduction_placed = not isinstance(results[1], BaseException)
    # either the reduction was scheduled (and the third user was refused), or the third user got the license (and
    # the reduction below three assigned was refused): never both
    assert reduction_placed != (assigned == 3), results
    shop.assert_books_balance()
