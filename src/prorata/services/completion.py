"""Completing a payment whose answer comes after the request that made it (rules K8, X3, I3, I6).

Three doors lead here, and each completes the payment exactly as the request would have, once:

- reconciliation, which asks the gateway about a payment a crash left pending;
- the gateway's webhook (``payment_intent.succeeded`` / ``payment_failed``);
- the customer, who confirmed on the portal a charge the bank asked them to confirm (3-D Secure).

Whoever comes first settles it under the account's lock; the others find it settled and change nothing. A payment of
an order applies the order if it succeeded, re-priced at the instant the order was placed (a pending order keeps
other orders and renewals off the account, so the price must be the same; if it is not, an operator is asked to
look), or fails the order. A payment of an invoice pays it (``settlement.settle``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.catalog import Catalog
from prorata.domain.engine import quote
from prorata.domain.payments import ChargeResult
from prorata.domain.tax import TaxRules
from prorata.services import events, notifications
from prorata.services.place_order import cart_from_json
from prorata.services.ports import Clock, PendingPayment, UnitOfWork
from prorata.services.settlement import IN_FLIGHT, settle
from prorata.services.taxation import tax_decision


@dataclass(frozen=True, slots=True)
class Completed:
    """What completing did: ``outcome`` is placed, order_failed, paid, failed, credited, waiting (the customer has
    not confirmed yet), already (someone else completed it first) or mismatch (an operator must look)."""

    outcome: str
    payment_id: int
    invoice_id: int
    order_id: int | None = None
    reenabled: bool = False


def complete(
    payment: PendingPayment,
    result: ChargeResult,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None,
    actor: str,
) -> Completed:
    if payment.order_id is None:
        with uow() as tx:
            settled = settle(tx, payment.account_id, payment.invoice_id, payment.id, result, clock.now(), actor=actor)
        if settled.already:
            outcome = "waiting" if settled.status == "action_required" else "already"
        else:
            outcome = {"succeeded": "paid", "action_required": "waiting"}.get(settled.status, settled.status)
        return Completed(outcome, payment.id, payment.invoice_id, reenabled=settled.reenabled)
    return _complete_order(payment, result, uow=uow, clock=clock, catalog=catalog, tax=tax, actor=actor)


def _complete_order(
    payment: PendingPayment,
    result: ChargeResult,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    catalog: Catalog,
    tax: TaxRules | None,
    actor: str,
) -> Completed:
    assert payment.order_id is not None
    assert payment.order_cart is not None
    assert payment.order_created_at is not None
    done = Completed("already", payment.id, payment.invoice_id, payment.order_id)
    now = clock.now()
    with uow() as tx:
        tx.lock_account(payment.account_id)
        status = tx.lock_payment(payment.id).status
        if status not in IN_FLIGHT:
            return done  # the process that placed the order, or another door, settled it meanwhile
        if result.action_required:
            if status == "pending":
                tx.settle_payment(payment.id, result, now)
                tx.audit(payment.account_id, actor, "payment.action_required",
                         {"order": payment.order_id, "payment": payment.id}, now)  # fmt: skip
            return Completed("waiting", payment.id, payment.invoice_id, payment.order_id)
        tx.settle_payment(payment.id, result, now)
        if not result.succeeded:
            code = result.failure_code or "payment_failed"
            tx.fail_order(payment.order_id, payment.invoice_id, code, now)
            events.order_failed(tx, payment.account_id, payment.order_id, now)
            tx.audit(payment.account_id, actor, "order.failed", {"order": payment.order_id, "failure": code}, now)
            return Completed("order_failed", payment.id, payment.invoice_id, payment.order_id)
        account = tx.load_account(payment.account_id, lock=True)
        rate = tax_decision(tx, payment.account_id, tax)
        redeem = tx.reserved_discount(payment.order_id)  # rule DC1: the code entered with the order
        priced = quote(account, catalog, payment.order_created_at, cart_from_json(payment.order_cart), tax=rate,
                       redeem=redeem)  # fmt: skip
        if priced.amount_due != payment.order_amount_due:
            # money was taken for an order that can no longer be applied as quoted: an operator must look
            detail = {"order": payment.order_id, "quoted": payment.order_amount_due, "now": priced.amount_due}
            tx.audit(payment.account_id, actor, "order.mismatch", detail, now)
            return Completed("mismatch", payment.id, payment.invoice_id, payment.order_id)
        applied = tx.apply_order(payment.account_id, payment.order_id, payment.invoice_id, priced, now, before=account)
        notifications.order_placed(tx, payment.account_id, payment.invoice_id, priced, now)
        events.order_placed(tx, payment.account_id, payment.order_id, payment.invoice_id, account, now,
                            after=applied.account)  # fmt: skip
        tx.audit(payment.account_id, actor, "order.placed",
                 {"order": payment.order_id, "invoice": applied.invoice_number}, now)  # fmt: skip
    return Completed("placed", payment.id, payment.invoice_id, payment.order_id)
