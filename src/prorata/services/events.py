"""What each change tells the vendor's product: the events a use case records in its transaction.

The types, and the object each one carries (as the API returns it once the change is committed):

- ``order.placed``, ``order.failed`` (order); ``invoice.issued``, ``invoice.paid``, ``invoice.payment_failed``,
  ``invoice.voided`` (invoice); ``credit_note.issued`` (the credit note, an invoice object of kind credit_note);
  ``refund.succeeded`` (refund);
- ``subscription.created``, ``subscription.updated`` (product, quantity or billing cycle changed now),
  ``subscription.renewed`` (a new period began), ``subscription.scheduled_change`` (a change waits for the term end,
  rules L3, P5, D1), ``subscription.canceled`` (it ended), ``subscription.reactivated`` (a cancellation was withdrawn,
  D1) (subscription); these are read off the account before and after the change, so every path that changes
  subscriptions tells the same story;
- ``license.assigned``, ``license.unassigned`` (the user, with what it holds now; rule U1);
- ``account.overdue``, ``account.restored``, ``account.ended`` (account; rules I6, I8);
- ``payment_method.added``, ``payment_method.removed``, ``payment_method.updated`` (its role changed: it became or
  stopped being the default or the backup, rule BM1) (payment method);
- ``entitlements.updated`` (the account's entitlements), written by the unit of work whenever the entitlements that
  the events of a transaction could change differ from the ones last told.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from prorata.domain.account import Account
from prorata.services.ports import Renewed, UnitOfWork

TYPES = (
    "order.placed", "order.failed",
    "invoice.issued", "invoice.paid", "invoice.payment_failed", "invoice.voided",
    "credit_note.issued", "refund.succeeded",
    "subscription.created", "subscription.updated", "subscription.renewed", "subscription.scheduled_change",
    "subscription.canceled", "subscription.reactivated",
    "license.assigned", "license.unassigned",
    "account.overdue", "account.restored", "account.ended",
    "payment_method.added", "payment_method.removed", "payment_method.updated",
    "entitlements.updated",
)  # fmt: skip


def subscription_changes(before: Account | None, after: Account) -> list[tuple[str, str]]:
    """The subscription events between two states of one account, as (type, subscription id), in the order of the
    subscriptions. A subscription id that is not a number (one the engine created, not yet stored) is left to the
    caller, which knows its stored id."""
    old = {s.id: s for s in before.subscriptions} if before is not None else {}
    new = {s.id: s for s in after.subscriptions}
    found: list[tuple[str, str]] = []
    for sub_id, now in new.items():
        was = old.get(sub_id)
        if was is None:
            found.append(("subscription.created", sub_id))
            continue
        if now.period.start > was.period.start:
            found.append(("subscription.renewed", sub_id))
        elif (now.product, now.interval, now.quantity) != (was.product, was.interval, was.quantity):
            found.append(("subscription.updated", sub_id))
        if was.cancelling and not now.cancelling and now.period == was.period:
            found.append(("subscription.reactivated", sub_id))
        elif now.pending != was.pending and now.pending:
            found.append(("subscription.scheduled_change", sub_id))
    found.extend(("subscription.canceled", sub_id) for sub_id in old if sub_id not in new)
    return found


def record_subscription_changes(
    tx: UnitOfWork, account_id: int, before: Account | None, after: Account, at: datetime
) -> None:
    for kind, sub_id in subscription_changes(before, after):
        tx.record_event(kind, account_id, "subscription", sub_id, at)


def order_placed(
    tx: UnitOfWork, account_id: int, order_id: int, invoice_id: int | None, before: Account, at: datetime,
    after: Account,
) -> None:  # fmt: skip
    """A paid (or free) order took effect (rule K8): the order, its invoice issued and paid, what it changed from
    ``before`` to ``after`` (the account as the order left it, ``SettledOrder.account``)."""
    tx.record_event("order.placed", account_id, "order", order_id, at)
    if invoice_id is not None:
        tx.record_event("invoice.issued", account_id, "invoice", invoice_id, at)
        tx.record_event("invoice.paid", account_id, "invoice", invoice_id, at)
    record_subscription_changes(tx, account_id, before, after, at)


def renewals(
    tx: UnitOfWork, renewed: Sequence[Renewed], numbers: Sequence[tuple[str | None, ...]], at: datetime
) -> None:
    """Rules C7, I1: each renewed account's subscriptions, and its renewal invoices (paid at once when the credit
    balance covered them)."""
    for r, issued in zip(renewed, numbers, strict=True):
        after = r.renewals[-1].account if r.renewals else r.before
        for kind, sub_id in subscription_changes(r.before, after):
            if sub_id.isdigit():  # one the renewal created is told by what replaced it (its product change)
                tx.record_event(kind, r.account_id, "subscription", sub_id, at)
        for renewal, number in zip(r.renewals, issued, strict=True):
            if number is not None:
                tx.record_event("invoice.issued", r.account_id, "invoice", number, at)
                if renewal.amount_due == 0:
                    tx.record_event("invoice.paid", r.account_id, "invoice", number, at)


def order_failed(tx: UnitOfWork, account_id: int, order_id: int, at: datetime) -> None:
    tx.record_event("order.failed", account_id, "order", order_id, at)


def invoices(tx: UnitOfWork, kind: str, account_id: int, invoice_ids: Iterable[int], at: datetime) -> None:
    for invoice_id in invoice_ids:
        tx.record_event(kind, account_id, "invoice", invoice_id, at)


def account(tx: UnitOfWork, kind: str, account_id: int, at: datetime) -> None:
    tx.record_event(kind, account_id, "account", account_id, at)
