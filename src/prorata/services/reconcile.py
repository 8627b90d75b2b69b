"""Repair what a crash left between the gateway and the database (rules K8, X3).

A payment still ``pending`` means the process stopped after the intent was written and before the outcome was:
the gateway is asked again with the same idempotency key (it answers the first outcome and never charges twice),
and the order or the invoice is then completed exactly as it would have been. So no money is taken without an
invoice and no invoice is paid without money. An order is re-priced at the instant it was placed, on the account as
it stood (a pending order keeps other orders and renewals off the account), and must come to the same amount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from prorata.domain.catalog import Catalog
from prorata.domain.engine import quote
from prorata.domain.payments import ChargeResult
from prorata.domain.tax import TaxRules
from prorata.services import notifications
from prorata.services.place_order import cart_from_json
from prorata.services.ports import Clock, PaymentGateway, PendingPayment, UnitOfWork
from prorata.services.refunds import reconcile_refunds
from prorata.services.settlement import settle
from prorata.services.taxation import tax_decision


@dataclass(slots=True)
class ReconcileReport:
    orders_placed: list[int] = field(default_factory=list)
    orders_failed: list[int] = field(default_factory=list)
    invoices_paid: list[int] = field(default_factory=list)
    payments_failed: list[int] = field(default_factory=list)
    mismatches: list[int] = field(default_factory=list)
    credited: list[int] = field(default_factory=list)  # payments for invoices no longer owed: to the balance
    refunds_settled: list[int] = field(default_factory=list)  # pending refunds the gateway has answered now


# A payment younger than this is most likely being settled by the process that made it; reconciliation leaves it
GRACE = timedelta(minutes=2)


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
    with uow() as tx:
        pending = tx.pending_payments(created_before=clock.now() - grace)
    for payment in pending:
        result = gateway.outcome(payment.token, payment.amount, payment.currency, payment.idempotency_key)
        if payment.order_id is None:
            _settle_invoice(payment, result, uow, clock, report)
        else:
            _settle_order(payment, result, uow, clock, catalog, tax, report)
    # rules R2, X3: refunds left pending are asked again with the same key (services/refunds.py)
    report.refunds_settled = reconcile_refunds(uow=uow, clock=clock, gateway=gateway, grace=grace)
    return report


def _settle_invoice(
    payment: PendingPayment, result: ChargeResult, uow: Callable[[], UnitOfWork], clock: Clock, report: ReconcileReport
) -> None:
    with uow() as tx:
        settled = settle(tx, payment.account_id, payment.invoice_id, payment.id, result, clock.now(),
                         actor="reconcile")  # fmt: skip
    if settled.already:
        return
    if settled.paid:
        report.invoices_paid.append(payment.invoice_id)
    elif settled.status == "credited":
        report.credited.append(payment.id)
    else:
        report.payments_failed.append(payment.id)


def _settle_order(
    payment: PendingPayment,
    result: ChargeResult,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None,
    report: ReconcileReport,
) -> None:
    assert payment.order_id is not None
    assert payment.order_cart is not None
    assert payment.order_created_at is not None
    now = clock.now()
    with uow() as tx:
        tx.lock_account(payment.account_id)
        if tx.lock_payment(payment.id).status != "pending":
            return  # the process that placed the order settled it meanwhile
        tx.settle_payment(payment.id, result, now)
        if not result.succeeded:
            tx.fail_order(payment.order_id, payment.invoice_id, result.failure_code or "payment_failed", now)
            report.orders_failed.append(payment.order_id)
            return
        account = tx.load_account(payment.account_id, lock=True)
        rate = tax_decision(tx, payment.account_id, tax)
        priced = quote(account, catalog, payment.order_created_at, cart_from_json(payment.order_cart), tax=rate)
        if priced.amount_due != payment.order_amount_due:
            # money was taken for an order that can no longer be applied as quoted: an operator must look
            report.mismatches.append(payment.order_id)
            detail = {"order": payment.order_id, "quoted": payment.order_amount_due, "now": priced.amount_due}
            tx.audit(payment.account_id, "reconcile", "order.mismatch", detail, now)
            return
        tx.apply_order(payment.account_id, payment.order_id, payment.invoice_id, priced, now)
        notifications.order_placed(tx, payment.account_id, payment.invoice_id, priced, now)
        report.orders_placed.append(payment.order_id)
