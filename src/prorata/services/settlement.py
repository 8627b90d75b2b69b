"""Paying an invoice at most once, from every door (rules I3, I6, K7, X3).

Every path that pays an invoice (the customer in the portal or the API, the billing run's collection, reconciliation)
goes through here in two steps around the gateway call, which runs outside any transaction:

1. ``begin_payment``, in the caller's transaction: the account is locked, then the invoice (one lock order
   everywhere); inside those locks the invoice must still be owed and have no payment in flight, and only then is
   the intent written, for the amount owed now. The database's unique index on live payments holds the rule too.
2. ``settle``, in a transaction of its own (or later, when the gateway answers by webhook or the customer confirms a
   charge the bank asked them to, 3-D Secure): the account and the invoice are locked again and the payment read under
   its lock; a payment settled already (by a concurrent reconciliation, say) is left as it is. A success pays what
   the invoice still owes; whatever the gateway took beyond that (the invoice was voided or credited while the charge
   was in flight) is never silent: it goes to the credit balance with a ledger entry, an audit line and an e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prorata.domain.errors import RuleViolation
from prorata.domain.payments import ChargeResult
from prorata.services import events, notifications
from prorata.services.ports import PayableInvoice, PaymentMethodRecord, UnitOfWork


def in_flight(invoice_id: int) -> RuleViolation:
    return RuleViolation(
        "invoice.payment_in_progress",
        f"invoice_ids: invoice {invoice_id} is being paid right now; wait a moment and look again",
        rule="X3",
        field="invoice_ids",
        invoice=invoice_id,
    )


def begin_payment(tx: UnitOfWork, invoice: PayableInvoice, method: PaymentMethodRecord, key: str, now: datetime) -> int:
    """The intent for what ``invoice`` owes now; ``invoice`` was read by ``lock_invoices`` in this transaction."""
    if invoice.in_flight:
        raise in_flight(invoice.id)
    if not invoice.owed:
        raise RuleViolation(
            "invoice.not_open",
            f"invoice_ids: invoice {invoice.id} is {invoice.status}; nothing is owed on it",
            rule="I3",
            field="invoice_ids",
            invoice=invoice.id,
        )
    return tx.insert_payment_intent(invoice.account_id, invoice.id, method, invoice.amount_due, invoice.currency,
                                    key, now)  # fmt: skip


# a payment taken or being taken whose outcome is not recorded yet: pending (the gateway is being asked) or
# action_required (the gateway waits for the customer to confirm it, 3-D Secure)
IN_FLIGHT = ("pending", "action_required")


@dataclass(frozen=True, slots=True)
class Settlement:
    status: str  # succeeded, failed, credited, action_required: the payment's status after settling
    paid: bool = False  # this payment paid the invoice
    excess: int = 0  # taken beyond what the invoice owed, now in the credit balance
    reenabled: bool = False  # rule I6: the account was overdue and owes nothing now
    already: bool = False  # someone else settled it first; nothing was changed here


def settle(
    tx: UnitOfWork, account_id: int, invoice_id: int, payment_id: int, result: ChargeResult, now: datetime, *,
    actor: str,
) -> Settlement:  # fmt: skip
    """Record the gateway's answer for one invoice payment (see the module's docstring)."""
    tx.lock_account(account_id)
    locked = tx.lock_invoices(account_id, (invoice_id,))
    payment = tx.lock_payment(payment_id)
    if payment.status not in IN_FLIGHT:
        return Settlement(payment.status, already=True)
    if result.action_required:
        if payment.status == "action_required":
            return Settlement(payment.status, already=True)  # still waiting; the customer was told already
        tx.settle_payment(payment_id, result, now)
        notifications.action_required(tx, account_id, invoice_id, payment_id, payment.amount, payment.currency, now)
        tx.audit(account_id, actor, "payment.action_required", {"invoice": invoice_id, "payment": payment_id}, now)
        return Settlement("action_required")
    if not result.succeeded:
        tx.settle_payment(payment_id, result, now)
        tx.record_event("invoice.payment_failed", account_id, "invoice", invoice_id, now)
        return Settlement("failed")
    owed = locked[0].amount_due if locked and locked[0].owed else 0
    applied = min(owed, payment.amount)
    excess = payment.amount - applied
    tx.settle_payment(payment_id, result, now, credited=applied == 0)
    if applied:
        # what is owed can only have gone down since the intent: the payment covers it whole
        tx.mark_invoice_paid(invoice_id, now)
        notifications.invoice_paid(tx, account_id, invoice_id, now)
        tx.record_event("invoice.paid", account_id, "invoice", invoice_id, now)
    if excess:
        tx.credit_excess(account_id, invoice_id, payment_id, excess, payment.currency, now)
        tx.audit(account_id, actor, "payment.excess_credited",
                 {"invoice": invoice_id, "payment": payment_id, "received": payment.amount, "owed": owed,
                  "credited": excess}, now)  # fmt: skip
        notifications.excess_credited(tx, account_id, invoice_id, excess, payment.currency, now)
    reenabled = bool(applied) and tx.clear_overdue_if_paid(account_id)
    if reenabled:
        events.account(tx, "account.restored", account_id, now)  # rule I6
    return Settlement("succeeded" if applied else "credited", paid=bool(applied), excess=excess, reenabled=reenabled)
