"""What the billing run's collection stores for many invoices at once (rules I3, I6, I8, X3).

The same locks and checks as paying one invoice (``payment_store``), taken for a batch in a few statements: the
accounts first, in id order, then their invoices in id order, then the payments. Claiming takes only the accounts
nobody holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so
a batch never waits behind a customer's payment; the caller attempts the others one at a time. The intents of a batch
are one multi-row INSERT, still held to the unique indexes that make every attempt and every live payment unique.

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.outbox import Mail, enqueue_many
from prorata.adapters.db.payment_store import lock_payable, payable_invoices
from prorata.adapters.db.schema import accounts, invoices, payment_methods, payments
from prorata.domain.errors import RuleViolation
from prorata.domain.payments import ChargeResult
from prorata.services.ports import Intent, PayableInvoice, PaymentMethodRecord, PaymentState


class CollectionStore:
    """The batch part of paying; ``SqlUnitOfWork`` provides the connection."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def lock_accounts_of(self, account_ids: Collection[int], *, wait: bool) -> dict[int, str]:
        """Lock the accounts in id order; their status (active, overdue...) by id. ``wait=False`` (PostgreSQL): the
        accounts another transaction holds are skipped, and missing from the answer."""
        if not account_ids:
            return {}
        query = select(accounts.c.id, accounts.c.status).where(accounts.c.id.in_(sorted(account_ids)))
        if self.conn.dialect.name == "postgresql":
            query = query.order_by(accounts.c.id).with_for_update(skip_locked=not wait)
        return {int(r.id): str(r.status) for r in self.conn.execute(query)}

    def lock_invoices_of(self, invoice_ids: Collection[int]) -> dict[int, PayableInvoice]:
        """The invoices, locked in id order after their accounts, each with what is still owed and whether a payment
        of it is in flight (read after the locks are held, so that it sees every payment committed before them)."""
        if not invoice_ids:
            return {}
        found = lock_payable(self.conn, payable_invoices().where(invoices.c.id.in_(sorted(invoice_ids))))
        return {invoice.id: invoice for invoice in found}

    def keys_used(self, keys: Collection[str]) -> set[str]:
        """The idempotency keys among ``keys`` that a payment already carries."""
        if not keys:
            return set()
        found = self.conn.execute(select(payments.c.idempotency_key).where(payments.c.idempotency_key.in_(list(keys))))
        return {str(k) for k in found.scalars()}

    def default_payment_methods(self, account_ids: Collection[int]) -> dict[int, PaymentMethodRecord]:
        """Each account's default payment method (the newest default, as ``default_payment_method`` reads it)."""
        if not account_ids:
            return {}
        rows = self.conn.execute(
            select(payment_methods.c.account_id, payment_methods.c.id, payment_methods.c.gateway,
                   payment_methods.c.token)
            .where(
                payment_methods.c.account_id.in_(sorted(account_ids)),
                payment_methods.c.is_default.is_(True),
                payment_methods.c.removed_at.is_(None),
            )
            .order_by(payment_methods.c.id)
        )  # fmt: skip
        return {int(r.account_id): PaymentMethodRecord(int(r.id), r.gateway, r.token) for r in rows}

    def insert_payment_intents(self, intents: Sequence[Intent], now: datetime) -> list[int]:
        """The intents of a batch in one statement, their ids in the order given; refused as a whole (the caller's
        transaction rolls back) if one of them would make a second live payment or reuse a key."""
        if not intents:
            return []
        try:
            ids = self.conn.execute(
                insert(payments).returning(payments.c.id, sort_by_parameter_order=True),
                [{"account_id": i.account_id, "invoice_id": i.invoice_id, "payment_method_id": i.method.id,
                  "amount": i.amount, "currency": i.currency, "status": "pending", "gateway": i.method.gateway,
                  "idempotency_key": i.key, "backup": i.backup, "created_at": now} for i in intents],
            ).scalars().all()  # fmt: skip
        except IntegrityError:
            raise RuleViolation(
                "invoice.payment_in_progress",
                "invoice_ids: an invoice of the batch is being paid or is paid already",
                rule="X3",
                field="invoice_ids",
            ) from None
        return [int(i) for i in ids]

    def lock_payments(self, payment_ids: Collection[int]) -> dict[int, PaymentState]:
        """The payments as they stand, locked in id order (after their accounts and invoices)."""
        if not payment_ids:
            return {}
        query = select(payments).where(payments.c.id.in_(sorted(payment_ids))).order_by(payments.c.id)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return {
            int(r["id"]): PaymentState(
                int(r["id"]),
                int(r["account_id"]),
                int(r["invoice_id"]),
                int(r["amount"]),
                r["currency"],
                r["status"],
                r["idempotency_key"],
                r["failure_code"],
            )
            for r in self.conn.execute(query).mappings()
        }

    def record_answers(self, answers: Sequence[tuple[int, ChargeResult]], now: datetime) -> None:
        """The gateway's final answer for each of these pending payments, taken in full or declined
        (``settle_payment`` for many)."""
        if answers:
            self.conn.execute(
                update(payments)
                .where(payments.c.id == bindparam("payment"))
                .values(status=bindparam("status"), gateway_reference=bindparam("reference"),
                        failure_code=bindparam("failure"), settled_at=now),
                [{"payment": payment_id, "status": "succeeded" if result.succeeded else "failed",
                  "reference": result.reference, "failure": result.failure_code} for payment_id, result in answers],
            )  # fmt: skip

    def mark_invoices_paid(self, invoice_ids: Collection[int], now: datetime) -> None:
        """Nothing is owed on these any more (rule I3): ``mark_invoice_paid`` for many."""
        if invoice_ids:
            self.conn.execute(
                update(invoices)
                .where(invoices.c.id.in_(sorted(invoice_ids)), invoices.c.status == "open")
                .values(status="paid", amount_due=0, paid_at=now)
            )

    def enqueue_mails(self, mails: Sequence[Mail], now: datetime) -> None:
        """E-mails (account, kind, invoice, data) to the outbox, each addressed as ``outbox.enqueue`` addresses one."""
        enqueue_many(self.conn, mails, now)
