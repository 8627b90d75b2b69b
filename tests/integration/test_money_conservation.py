"""Money is conserved across any sequence of orders, renewals, payments and credits (rules X1, K8, C5, I8).

For every account: the issued invoices' totals equal the payments taken, plus the credit used, less the credit
added, plus what is still open; and the credit balance (the ledger's sum) is never negative.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import credit_ledger, invoices, payments
from prorata.domain.cart import AddAddon, Cancel, Change, ChangeInterval, ChangePlan, Reactivate, SetLicenses
from prorata.domain.errors import ProrataError
from prorata.domain.periods import Interval
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import NOW, Shop

CHANGES: list[Change] = [
    ChangePlan("pro", 3),
    ChangePlan("business", 10),
    ChangePlan("business", 12, Interval.YEAR),
    ChangePlan("business_plus", 11),
    ChangePlan("pro", 5),
    SetLicenses(14),
    SetLicenses(10),
    SetLicenses(4),
    ChangeInterval(Interval.MONTH),
    ChangeInterval(Interval.YEAR),
    AddAddon("webinar_500", 2),
    AddAddon("cloud_recording_1tb"),
    Cancel(with_addons=True),
    Reactivate(),
]
CARDS = ["4242424242424242", "4000000000000002", "4000000000009995"]

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=20),  # days later
        st.sampled_from(["order", "order", "bill", "card", "pay"]),
        st.sampled_from(CHANGES),
        st.sampled_from(CARDS),
    ),
    min_size=3,
    max_size=10,
)


def check_conservation(engine: Engine) -> None:
    with engine.connect() as conn:
        issued = conn.execute(
            select(func.coalesce(func.sum(invoices.c.total), 0)).where(invoices.c.number.is_not(None))
        ).scalar_one()
        still_open = conn.execute(
            select(func.coalesce(func.sum(invoices.c.amount_due), 0)).where(invoices.c.status == "open")
        ).scalar_one()
        paid = conn.execute(
            select(func.coalesce(func.sum(payments.c.amount), 0)).where(payments.c.status == "succeeded")
        ).scalar_one()
        used, added = (
            abs(
                conn.execute(
                    select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(credit_ledger.c.reason == reason)
                ).scalar_one()
            )
            for reason in ("applied_to_invoice", "unused_time")
        )
        balance = conn.execute(select(func.coalesce(func.sum(credit_ledger.c.amount), 0))).scalar_one()
    assert issued == paid + used - added + still_open
    assert balance == added - used
    assert balance >= 0


# Sequences that reach every kind of money movement, whatever the random ones find
CREDIT_THEN_RENEWALS = [
    (0, "order", ChangePlan("business", 12, Interval.YEAR), CARDS[0]),
    (10, "order", ChangeInterval(Interval.MONTH), CARDS[0]),  # the unused year goes to the balance
    (3, "order", SetLicenses(14), CARDS[0]),  # paid from the balance
    (30, "bill", SetLicenses(14), CARDS[0]),  # renewed from the balance
]
DECLINED_THEN_PAID = [
    (0, "order", ChangePlan("pro", 3), CARDS[0]),
    (0, "card", ChangePlan("pro", 3), CARDS[1]),
    (30, "bill", ChangePlan("pro", 3), CARDS[1]),  # the renewal stays open
    (1, "card", ChangePlan("pro", 3), CARDS[0]),
    (0, "pay", ChangePlan("pro", 3), CARDS[0]),
]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(script=CREDIT_THEN_RENEWALS)
@example(script=DECLINED_THEN_PAID)
@given(script=steps)
def test_invoices_equal_payments_plus_credit_plus_what_is_open(engine: Engine, script: list[tuple]) -> None:  # type: ignore[type-arg]
    with engine.begin() as conn:  # a fresh start for every example on the test's database
        for table in ("webhook_attempts", "webhook_deliveries", "events", "entitlement_states",
                      "license_assignments", "payments", "credit_ledger", "invoice_lines", "subscription_charges",
                      "pending_changes", "invoices", "orders", "subscriptions", "payment_methods", "audit_log",
                      "users", "contacts", "invoice_counters", "accounts"):  # fmt: skip
            conn.exec_driver_sql(f"DELETE FROM {table}")
    shop = Shop(engine)
    at = NOW
    for n, (days, action, change, card) in enumerate(script):
        at += timedelta(days=days)
        shop.clock.at = at
        try:
            if action == "order":
                shop.order(change, key=f"o{n}")
            elif action == "bill":
                renew_due(RenewDue(at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                          catalog=CATALOG, dunning=shop.dunning)  # fmt: skip
            elif action == "card":
                with engine.begin() as conn:
                    shop.set_card(conn, card)
            else:
                pay_invoices(PayInvoices(shop.account_id, f"p{n}"), uow=shop.uow, clock=shop.clock,
                             gateway=shop.gateway)  # fmt: skip
        except ProrataError:
            pass  # a refusal changes nothing; the invariant below says so too
        check_conservation(engine)
