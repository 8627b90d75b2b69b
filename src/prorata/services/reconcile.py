"""Repair what a crash left between the gateway and the database (rules K8, X3).

A payment still ``pending`` means the process stopped after the intent was written and before the outcome was:
the gateway is asked again with the same idempotency key (it answers the first outcome and never charges twice),
and the order or the invoice is then completed exactly as it would have been. So no money is taken without an
invoice and no invoice is paid without money. An order is re-priced at the instant it was placed, on the account as
it stood (a pending order keeps other orders and renewals off the account), and must come to the same amount
(``services.completion`` does it, as for a webhook or a confirmation). A gateway that gives no answer leaves the
payment pending for the next run.

A payment waiting for the customer to confirm it (3-D Secure) is asked about too: a webhook that never arrived is
made good. An order's payment left unconfirmed for a day is cancelled at the gateway and the order fails; a
renewal's waits for its next attempt, which the billing run makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prorata.domain.catalog import Catalog
from prorata.domain.payments import ChargeResult, GatewayUnavailable
from prorata.domain.tax import TaxRules
from prorata.services.completion import Completed, complete
from prorata.services.ports import Clock, PaymentGateway, PendingPayment, UnitOfWork
from prorata.services.refunds import reconcile_refunds


@dataclass(slots=True)
class ReconcileReport:
    orders_placed: list[int] = field(default_factory=list)
    orders_failed: list[int] = field(default_factory=list)
    invoices_paid: list[int] = field(default_factory=list)
    payments_failed: list[int] = field(default_factory=list)
    mismatches: list[int] = field(default_factory=list)
    credited: list[int] = field(default_factory=list)  # payments for invoices no longer owed: to the balance
    unanswered: list[int] = field(default_factory=list)  # the gateway gave no answer: left pending, asked next time
    waiting: list[int] = field(default_factory=list)  # payments the customer has still to confirm (3-D Secure)
    refunds_settled: list[int] = field(default_factory=list)  # pending refunds the gateway has answered now


# A payment younger than this is most likely being settled by the process that made it; reconciliation leaves it
GRACE = timedelta(minutes=2)
# An order whose payment the customer has not confirmed (3-D Secure) within this time is given up: the order fails
ORDER_CONFIRMATION = timedelta(days=1)


def reconcile(
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    catalog: Catalog,
    tax: TaxRules | None = None,
    grace: timedelta = GRACE,
) -> ReconcileReport:
    report = ReconcileReport()
    now = clock.now()
    with uow() as tx:
        pending = tx.pending_payments(created_before=now - grace, statuses=("pending", "action_required"))
    for payment in pending:
        try:
            result = _ask(gateway, payment, now)
        except GatewayUnavailable:
            report.unanswered.append(payment.id)
            continue
        if result is None:
            report.waiting.append(payment.id)
            continue
        done = complete(payment, result, uow=uow, clock=clock, catalog=catalog, tax=tax, actor="reconcile")
        _count(done, report)
    # rules R2, X3: refunds left pending are asked again with the same key (services/refunds.py)
    report.refunds_settled = reconcile_refunds(uow=uow, clock=clock, gateway=gateway, grace=grace)
    return report


def _ask(gateway: PaymentGateway, payment: PendingPayment, now: datetime) -> ChargeResult | None:
    """What became of the payment; None while the customer still has to confirm it."""
    if payment.status == "pending":
        return gateway.outcome(payment.token, payment.amount, payment.currency, payment.idempotency_key)
    assert payment.reference is not None
    answered = gateway.status(payment.reference)
    if answered is not None:
        return answered
    started = payment.order_created_at
    if payment.order_id is not None and started is not None and now - started >= ORDER_CONFIRMATION:
        return gateway.cancel(payment.reference)  # the buyer left: the order fails, the account is free again
    return None  # a renewal's charge waits until its next attempt is due (the billing run decides)


def _count(done: Completed, report: ReconcileReport) -> None:
    by_order = {"placed": report.orders_placed, "order_failed": report.orders_failed, "mismatch": report.mismatches}
    by_payment = {"credited": report.credited, "failed": report.payments_failed, "waiting": report.waiting}
    if done.outcome in by_order and done.order_id is not None:
        by_order[done.outcome].append(done.order_id)
    elif done.outcome in by_payment:
        by_payment[done.outcome].append(done.payment_id)
    elif done.outcome == "paid":
        report.invoices_paid.append(done.invoice_id)
