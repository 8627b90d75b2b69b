"""The backup method's charge in a renewal's payment attempt (rule BM1), as the billing run's collection makes it.

When the gateway declines the charge of an attempt on the default (primary) method (``domain/backup_method.falls_back``
says which failures are declines) and the account has a backup method, the same transaction that records the
primary's failure writes the backup's intent, for what the invoice still owes, keyed after the attempt
(``invoice-<id>-attempt-<n>-backup``). So:

- the primary's decline and the backup's intent are committed together, under the account's and the invoice's
  locks: a crash between them leaves the backup's charge pending, which reconciliation asks the gateway about with
  the same key, and never a decline with no backup tried nor two backups;
- a retried or concurrent collection finds the attempt made (its key is used) and the invoice with a payment in flight,
  and charges nothing; the database's indexes (one live payment per invoice, unique keys) hold that even so;
- the backup's answer is the attempt's: paid, or declined (the customer is e-mailed, and after the last attempt the
  account is overdue, rules I6, I8), or waiting for the customer (3-D Secure). A declined backup never falls back.

The dunning schedule counts attempts, not charges: the two charges of one attempt are one attempt
(``adapters/db/billing_run.collectible_invoices``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from prorata.domain.backup_method import backup_key, falls_back
from prorata.domain.payments import ChargeResult
from prorata.services.ports import Intent, PaymentMethodRecord, UnitOfWork


@dataclass(frozen=True, slots=True)
class Declined:
    """A renewal's charge on the primary method that the gateway declined, settled as failed in this transaction."""

    account_id: int
    invoice_id: int
    key: str  # the attempt's key, which the primary's charge carried
    attempt: int
    failure_code: str | None
    amount_due: int  # what the invoice still owes, read under its lock
    currency: str


def begin_backups(
    tx: UnitOfWork, declined: Sequence[Declined], backups: Mapping[int, PaymentMethodRecord], now: datetime, *,
    actor: str = "billing run",
) -> dict[int, tuple[Intent, int]]:  # fmt: skip
    """The backup's intent of each declined charge whose account has a backup method (``backups``, read in this
    transaction), written pending in one statement: invoice id -> (intent, payment id)."""
    intents = [
        Intent(d.account_id, d.invoice_id, backups[d.account_id], d.amount_due, d.currency, backup_key(d.key),
               backup=True)
        for d in declined
        if d.account_id in backups and d.amount_due > 0
    ]  # fmt: skip
    if not intents:
        return {}
    ids = tx.insert_payment_intents(intents, now)
    by_invoice = {d.invoice_id: d for d in declined}
    tx.audit_many([(i.account_id, "payment.backup_attempted", {"invoice": i.invoice_id, "attempt":
                    by_invoice[i.invoice_id].attempt, "declined": by_invoice[i.invoice_id].failure_code,
                    "payment": payment_id}) for i, payment_id in zip(intents, ids, strict=True)],
                  actor, now)  # fmt: skip
    return {intent.invoice_id: (intent, payment_id) for intent, payment_id in zip(intents, ids, strict=True)}


def begin_backup(
    tx: UnitOfWork, account_id: int, invoice_id: int, key: str, attempt: int, result: ChargeResult, now: datetime
) -> tuple[Intent, int] | None:
    """``begin_backups`` for one primary charge that ``settle`` has just recorded as failed in this transaction
    (under the account's and the invoice's locks): the backup's intent and payment id, or None when the failure is
    not a decline, the account has no backup method, or nothing is owed any more."""
    if not falls_back(result):
        return None
    backups = tx.backup_payment_methods((account_id,))
    if account_id not in backups:
        return None
    locked = tx.lock_invoices(account_id, (invoice_id,))
    if not locked or not locked[0].owed or locked[0].in_flight:
        return None
    invoice = locked[0]
    begun = begin_backups(tx, [Declined(account_id, invoice_id, key, attempt, result.failure_code, invoice.amount_due,
                                        invoice.currency)], backups, now)  # fmt: skip
    return begun.get(invoice_id)
