"""Which billing e-mails an event writes to the outbox, in the event's own transaction (rules I4, I8, L3, L5).

The message is only recorded here (kind, invoice, a few facts); its words are chosen when it is sent
(``services/outbox.py``), in the language the outbox row was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prorata.domain.dunning import DunningPolicy
from prorata.domain.invoice_lines import Quote
from prorata.services.ports import UnitOfWork


def order_placed(tx: UnitOfWork, account_id: int, invoice_id: int | None, quote: Quote, now: datetime) -> None:
    """Rule I4: the confirmation, with the invoice attached; rules L3, P5, D1: what waits for the term end is
    confirmed with its date (and what the order withdrew); rule L5: licenses bought must be assigned."""
    if invoice_id is not None:
        tx.enqueue_mail(account_id, "order_confirmation", now, invoice_id=invoice_id,
                        data={"to_assign": sum(n for _, _, n in quote.to_assign),
                              "bought": [[code, n] for _, code, n in quote.to_assign]})  # fmt: skip
    changes = scheduled_changes(quote)
    if changes:
        tx.enqueue_mail(account_id, "reduction_scheduled", now, data={"changes": changes})


def scheduled_changes(quote: Quote) -> list[dict[str, object]]:
    """Rules L3, P5, D1, L6: what the order leaves waiting for the term end (a reduction, a downgrade, a
    cancellation) and what it withdrew, as the account holds it afterwards: a change the same order scheduled and
    then replaced is neither."""
    left = {(sub.id, pending) for sub in quote.account.subscriptions for pending in sub.pending}
    made = {(change.subscription, change.change) for change in quote.scheduled if change.action == "scheduled"}
    out: list[dict[str, object]] = []
    for change in quote.scheduled:
        pending = change.change
        if change.action == "scheduled" and (change.subscription, pending) not in left:
            continue  # replaced later in the same order
        if change.action == "withdrawn" and ((change.subscription, pending) in left or
                                             (change.subscription, pending) in made):  # fmt: skip
            continue  # taken back and given again, or made and taken back by this order: nothing to tell
        kind, quantity, target = pending.kind.value, pending.quantity, pending.product
        out.append({"action": change.action, "product": change.product, "kind": kind, "quantity": quantity,
                    "target": target, "effective": pending.effective})  # fmt: skip
    return out


def invoice_paid(tx: UnitOfWork, account_id: int, invoice_id: int, now: datetime) -> None:
    """A receipt, with the paid invoice attached."""
    tx.enqueue_mail(account_id, "receipt", now, invoice_id=invoice_id)


def invoices_paid(tx: UnitOfWork, paid: Sequence[tuple[int, int]], now: datetime) -> None:
    """A receipt for each (account, invoice) paid, written at once: ``invoice_paid`` for many."""
    tx.enqueue_mails([(account_id, "receipt", invoice_id, None) for account_id, invoice_id in paid], now)


def payment_failed(
    tx: UnitOfWork, account_id: int, invoice_id: int, attempt: int, retry: datetime | None, now: datetime
) -> None:
    """Rule I8: each failed attempt, with the date of the next one (or none: the account is now overdue)."""
    tx.enqueue_mail(account_id, "payment_failed", now, invoice_id=invoice_id,
                    data={"attempt": attempt, "retry": retry.isoformat() if retry else None})  # fmt: skip


def payments_failed(tx: UnitOfWork, failed: Sequence[tuple[int, int, int, datetime | None]], now: datetime) -> None:
    """``payment_failed`` for many (account, invoice, attempt, next attempt), written at once."""
    tx.enqueue_mails([(account_id, "payment_failed", invoice_id,
                       {"attempt": attempt, "retry": retry.isoformat() if retry else None})
                      for account_id, invoice_id, attempt, retry in failed], now)  # fmt: skip


def action_required(tx: UnitOfWork, account_id: int, invoice_id: int, payment_id: int, amount: int, currency: str,
                    now: datetime) -> None:  # fmt: skip
    """The bank asks the customer to confirm a charge (3-D Secure): a link to the portal page that completes it."""
    tx.enqueue_mail(account_id, "payment_action_required", now, invoice_id=invoice_id,
                    data={"payment": payment_id, "amount": amount, "currency": currency})  # fmt: skip


def overdue(tx: UnitOfWork, account_id: int, invoice_id: int, now: datetime, dunning: DunningPolicy, *,
            since: datetime | None = None) -> None:  # fmt: skip
    """Rules I6, I8: the account is overdue from ``since`` (default ``now``; rule NT1: an invoice on terms makes
    it overdue from its due date); the e-mail names the day its subscriptions end unless it pays, by the schedule
    in force when it became overdue."""
    tx.enqueue_mail(account_id, "overdue", now, invoice_id=invoice_id,
                    data={"days": dunning.cancel_after_overdue_days,
                          "cancels": dunning.cancels_at(since or now).isoformat()})  # fmt: skip


def cancelled(tx: UnitOfWork, account_id: int, now: datetime, dunning: DunningPolicy) -> None:
    """Rule I8: the account was overdue for the policy's days and its subscriptions have ended."""
    tx.enqueue_mail(account_id, "cancelled", now, data={"days": dunning.cancel_after_overdue_days})


def excess_credited(
    tx: UnitOfWork, account_id: int, invoice_id: int, amount: int, currency: str, now: datetime
) -> None:
    """A payment that arrived for an invoice no longer owed (voided or credited while it was in flight): the money is
    in the credit balance, and the customer is told so."""
    tx.enqueue_mail(account_id, "excess_credited", now, invoice_id=invoice_id,
                    data={"amount": amount, "currency": currency})  # fmt: skip


def refund_succeeded(
    tx: UnitOfWork, account_id: int, credit_note_id: int, amount: int, currency: str, method: str, now: datetime
) -> None:
    """Rules R2, I4: the money of a credit note is back on the customer's card (or PayPal); the note is attached."""
    tx.enqueue_mail(account_id, "refund_succeeded", now, invoice_id=credit_note_id,
                    data={"amount": amount, "currency": currency, "method": method})  # fmt: skip
