"""Placing an order on SQLite and PostgreSQL: all or nothing, once per idempotency key (rules K6, K7, K8, X3, I2)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import audit_log, credit_ledger, events, invoices, orders, payments
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.cart import AddAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.errors import ProrataError
from prorata.domain.payments import ChargeResult
from prorata.domain.periods import Interval
from prorata.services.place_order import OrderResult
from prorata.services.reconcile import reconcile
from tests.helpers import CATALOG, price
from tests.integration.shop import Shop

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)


def test_a_paid_order_takes_effect_with_a_numbered_invoice(engine: Engine) -> None:
    # rules K8, I2: paid -> applied, invoice INV-2026-000001, payment recorded
    shop = Shop(engine)
    result = shop.order(ChangePlan("business", 12), AddAddon("webinar_500", 2))

    assert (result.status, result.invoice_number) == ("placed", "INV-2026-000001")
    assert result.amount_due == 12 * price("business") + 2 * price("webinar_500")  # a new period starts today
    assert shop.held() == [("business", 12), ("webinar_500", 2)]
    assert shop.count(payments, payments.c.status == "succeeded") == 1
    with engine.connect() as conn:
        invoice = conn.execute(select(invoices)).mappings().one()
    assert (invoice["status"], invoice["total"], invoice["amount_due"]) == ("paid", result.amount_due, 0)
    assert shop.paid_for(invoice["id"]) == result.amount_due


def test_the_same_order_sent_twice_charges_once(engine: Engine) -> None:
    # rule X3: one charge, one invoice, the same answer both times
    shop = Shop(engine)
    first = shop.order(ChangePlan("pro", 3))
    again = shop.order(ChangePlan("pro", 3))

    assert again.replayed
    assert (again.order_id, again.invoice_number, again.amount_due) == (
        first.order_id,
        first.invoice_number,
        first.amount_due,
    )
    assert shop.count(payments) == 1
    assert shop.count(invoices) == 1
    assert shop.held() == [("pro", 3)]


def test_a_key_reused_for_another_cart_is_refused(engine: Engine) -> None:
    # rule X3
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3))
    with pytest.raises(ProrataError) as error:
        shop.order(ChangePlan("pro", 4))
    assert error.value.code == "order.idempotency_conflict"


@pytest.mark.parametrize(
    ("card", "code"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")],
)
def test_a_failed_payment_leaves_the_account_exactly_as_it_was(engine: Engine, card: str, code: str) -> None:
    # rules K7, K8: no subscription, no issued invoice, no ledger entry; the buyer is told what to do
    shop = Shop(engine, card=card)
    result = shop.order(ChangePlan("business", 10))

    assert (result.status, result.failure_code, result.invoice_number) == ("failed", code, None)
    assert "Update your billing information, then your payment method" in result.message
    assert shop.held() == []
    assert shop.balance() == 0
    assert shop.count(invoices, invoices.c.number.is_not(None)) == 0
    assert shop.count(orders, orders.c.status == "failed") == 1
    again = shop.order(ChangePlan("business", 10))  # the retry gets the same answer, and no second charge
    assert (again.status, again.replayed, shop.count(payments)) == ("failed", True, 1)


def test_an_order_without_accepted_terms_writes_nothing(engine: Engine) -> None:
    # rule K6
    shop = Shop(engine)
    with pytest.raises(ProrataError) as error:
        shop.order(ChangePlan("pro", 2), terms=False)
    assert (error.value.code, error.value.rule) == ("order.terms_not_accepted", "K6")
    assert shop.count(orders) == 0


def test_an_order_the_engine_refuses_writes_nothing(engine: Engine) -> None:
    # rules P3, X4
    shop = Shop(engine)
    with pytest.raises(ProrataError) as error:
        shop.order(ChangePlan("business", 9))
    assert error.value.code == "plan.min_licenses"
    assert shop.count(orders) == 0
    assert shop.count(invoices) == 0


def test_credits_pay_first_and_what_is_left_goes_to_the_balance(engine: Engine) -> None:
    # rules C2, K8: yearly -> monthly leaves a credit on the balance; the next order is paid from it
    shop = Shop(engine)
    shop.order(
        ChangePlan("business", 10, interval=__import__("prorata.domain.periods").domain.periods.Interval.YEAR), key="a"
    )

    shop.clock.at = datetime(2026, 12, 20, tzinfo=UTC)
    switched = shop.order(ChangeInterval(Interval.MONTH), key="b")
    assert (switched.status, switched.amount_due) == ("placed", 0)
    balance = shop.balance()
    assert balance > 0
    more = shop.order(SetLicenses(11), key="c")
    assert (more.status, more.amount_due) == ("placed", 0)
    assert shop.balance() < balance
    assert shop.count(payments) == 1  # only the first order needed the card


def test_money_is_conserved_across_orders(engine: Engine) -> None:
    # every issued invoice is paid by payments and credit; the ledger balance is never negative
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), key="1")
    shop.clock.at = datetime(2026, 11, 20, tzinfo=UTC)
    shop.order(ChangePlan("business", 10), key="2")
    shop.order(SetLicenses(12), key="3")
    with engine.connect() as conn:
        issued = conn.execute(select(func.sum(invoices.c.total)).where(invoices.c.number.is_not(None))).scalar_one()
        paid = conn.execute(select(func.sum(payments.c.amount)).where(payments.c.status == "succeeded")).scalar_one()
        used = -int(conn.execute(select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
            credit_ledger.c.reason == "applied_to_invoice")).scalar_one())  # fmt: skip
        added = int(conn.execute(select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
            credit_ledger.c.reason == "unused_time")).scalar_one())  # fmt: skip
    assert issued == paid + used - added
    assert shop.balance() >= 0


class SlowGateway(SandboxGateway):
    """Holds every charge until released, so that a second order meets the first one mid-payment."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        self.entered.set()
        assert self.release.wait(10)
        return super().charge(token, amount, currency, idempotency_key)


def test_a_second_order_while_the_first_is_being_paid_is_refused_with_a_clear_conflict(engine: Engine) -> None:
    # rules X3, K8: licenses, balance and invoices never disagree
    shop = Shop(engine)
    slow = SlowGateway()
    shop.gateway = slow
    outcome: dict[str, OrderResult | BaseException] = {}

    def first() -> None:
        try:
            outcome["first"] = shop.order(ChangePlan("business", 10), key="first")
        except BaseException as exc:
            outcome["first"] = exc

    thread = threading.Thread(target=first)
    thread.start()
    assert slow.entered.wait(10)
    with pytest.raises(ProrataError) as error:
        shop.order(ChangePlan("pro", 5), key="second")
    slow.release.set()
    thread.join(10)

    assert error.value.code == "order.in_progress"
    placed = outcome["first"]
    assert isinstance(placed, OrderResult)
    assert placed.status == "placed"
    assert shop.held() == [("business", 10)]
    assert shop.count(invoices, invoices.c.number.is_not(None)) == 1


class CrashingGateway(SandboxGateway):
    """Takes the money, then the process dies before the outcome reaches the database."""

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        super().charge(token, amount, currency, idempotency_key)
        raise SystemExit("the process is killed after the gateway answered")


def test_a_crash_between_charge_and_commit_is_repaired_by_reconcile(engine: Engine) -> None:
    # rules K8, X3: no money taken without an invoice, no invoice paid without money, nothing charged twice
    shop = Shop(engine)
    shop.gateway = CrashingGateway()
    with pytest.raises(SystemExit):
        shop.order(ChangePlan("business", 10), key="k")
    assert shop.held() == []
    assert shop.count(payments, payments.c.status == "pending") == 1

    shop.gateway = SandboxGateway()  # a new process
    shop.clock.at = datetime(2026, 11, 16, tzinfo=UTC)
    report = reconcile(uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG)

    assert len(report.orders_placed) == 1
    assert shop.held() == [("business", 10)]
    assert shop.count(payments, payments.c.status == "succeeded") == 1
    assert shop.count(invoices, invoices.c.number.is_not(None)) == 1
    replay = shop.order(ChangePlan("business", 10), key="k")
    assert (replay.replayed, replay.status) == (True, "placed")
    assert reconcile(uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG).orders_placed == []
    shop.assert_books_balance()


class AnsweringLate(SandboxGateway):
    """A gateway that answers so late that reconciliation, in another process, asks it about the payment with the
    same key and completes the order before the request that placed it hears back."""

    def __init__(self, shop: Shop) -> None:
        super().__init__()
        self.shop = shop
        self.asked = False

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        result = super().charge(token, amount, currency, idempotency_key)
        if not self.asked:  # reconciliation asks again with the same key: the first answer, nothing charged twice
            self.asked = True
            placed_at = self.shop.clock.at
            self.shop.clock.at = placed_at + timedelta(minutes=5)
            reconcile(uow=self.shop.uow, clock=self.shop.clock, gateway=self, catalog=CATALOG)
            self.shop.clock.at = placed_at
        return result


def test_an_order_reconciliation_completed_while_the_gateway_answered_is_told_as_placed_once(engine: Engine) -> None:
    # rules K8, X3: the request that placed the order finds its payment settled and answers with that outcome; the
    # order takes effect once: one charge, one numbered invoice, one audit line, one event
    shop = Shop(engine)
    shop.gateway = AnsweringLate(shop)

    result = shop.order(ChangePlan("business", 10), key="late")

    assert (result.status, result.invoice_number) == ("placed", "INV-2026-000001")
    assert result.amount_due == 10 * price("business")
    assert shop.held() == [("business", 10)]
    assert shop.count(payments) == shop.count(payments, payments.c.status == "succeeded") == 1
    assert shop.count(invoices, invoices.c.number.is_not(None)) == 1
    assert shop.count(orders, orders.c.status == "placed") == 1
    assert shop.count(audit_log, audit_log.c.action == "order.placed") == 1
    assert shop.count(events, events.c.type == "order.placed") == 1
    again = shop.order(ChangePlan("business", 10), key="late")
    assert (again.replayed, again.status, again.invoice_number) == (True, "placed", result.invoice_number)
    shop.assert_books_balance()
