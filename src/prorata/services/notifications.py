"""Which billing e-mails an event writes to the outbox, in the event's own transaction (rules I4, I8, L3, L5).

The message is only recorded here (kind, invoice, a few facts); its words are chosen when it is sent
(``services/outbox.py``), in the language the outbox row was given.
"""

from __future__ import annotations

from datetime import datetime

from prorata.domain.account import PendingKind
from prorata.domain.invoice_lines import Quote
from prorata.services.ports import UnitOfWork


def order_placed(tx: UnitOfWork, account_id: int, invoice_id: int | None, quote: Quote, now: datetime) -> None:
    """Rule I4: the confirmation, with the invoice attached; rule L3: a reduction waiting for the term end is
    confirmed with its date; rule L5: licenses bought must be assigned."""
    if invoice_id is not None:
        tx.enqueue_mail(account_id, "order_confirmation", now, invoice_id=invoice_id,
                        data={"to_assign": sum(n for _, _, n in quote.to_assign)})  # fmt: skip
    waiting = [
        {"product": change.product, "change": change.change.describe(), "effective": change.change.effective}
        for change in quote.scheduled
        if change.action == "scheduled" and change.change.kind in (PendingKind.QUANTITY, PendingKind.PRODUCT)
    ]
    if waiting:
        tx.enqueue_mail(account_id, "reduction_scheduled", now, data={"changes": waiting})


def invoice_paid(tx: UnitOfWork, account_id: int, invoice_id: int, now: datetime) -> None:
    """A receipt, with the paid invoice attached."""
    tx.enqueue_mail(account_id, "receipt", now, invoice_id=invoice_id)


def payment_failed(
    tx: UnitOfWork, account_id: int, invoice_id: int, attempt: int, retry: datetime | None, now: datetime
) -> None:
    """Rule I8: each failed attempt, with the date of the next one (or none: the account is now overdue)."""
    tx.enqueue_mail(account_id, "payment_failed", now, invoice_id=invoice_id,
                    data={"attempt": attempt, "retry": retry.isoformat() if retry else None})  # fmt: skip


def overdue(tx: UnitOfWork, account_id: int, invoice_id: int, now: datetime) -> None:
    tx.enqueue_mail(account_id, "overdue", now, invoice_id=invoice_id)  # rules I6, I8


def cancelled(tx: UnitOfWork, account_id: int, now: datetime) -> None:
    tx.enqueue_mail(account_id, "cancelled", now)  # rule I8: 30 days overdue


def excess_credited(
    tx: UnitOfWork, account_id: int, invoice_id: int, amount: int, currency: str, now: datetime
) -> None:
    """A payment that arrived for an invoice no longer owed (voided or credited while it was in flight): the money is
    in the credit balance, and the customer is told so."""
    tx.enqueue_mail(account_id, "excess_credited", now, invoice_id=invoice_id,
                    data={"amount": amount, "currency": currency})  # fmt: skip
