"""What the billing run's collection stores for many invoices at once (rules I3, I6, I8, X3).

The same locks and checks as paying one invoice (``payment_store``), taken for a batch in a few statements: the
accounts first, in id order, then their invoices in id order, then the payments. Claiming takes only the accounts
nobody holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so
a batch never waits behind a customer's payment; the caller attempts the others one at a time. The intents of a batch
are one multi-row INSERT, still held to the unique indexes that make every attempt and every live payment unique.

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.outbox import OWNER_TOO
from prorata.adapters.db.payment_store import IN_FLIGHT
from prorata.adapters.db.schema import accounts, contacts, invoices, outbox, payment_methods, payments, users
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
        query = (
            select(invoices.c.id, invoices.c.account_id, invoices.c.status, invoices.c.amount_due, invoices.c.currency,
                   invoices.c.issued_at)
            .where(invoices.c.id.in_(sorted(invoice_ids)), invoices.c.status != "draft")
            .order_by(invoices.c.id)
        )  # fmt: skip
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = self.conn.execute(query).all()
        flying = {
            int(i)
            for i in self.conn.execute(
                select(payments.c.invoice_id).where(
                    payments.c.invoice_id.in_([r.id for r in rows]), payments.c.status.in_(IN_FLIGHT)
                )
            ).scalars()
        }
        return {
            int(r.id): PayableInvoice(
                int(r.id), int(r.account_id), r.status, int(r.amount_due), r.currency, r.issued_at, int(r.id) in flying
            )
            for r in rows
        }

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
                  "idempotency_key": i.key, "created_at": now} for i in intents],
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

    def enqueue_mails(self, mails: Sequence[tuple[int, str, int | None, Mapping[str, object] | None]],
                      now: datetime) -> None:  # fmt: skip
        """E-mails (account, kind, invoice, data) to the outbox, addressed as ``outbox.enqueue`` addresses each:
        the account's contacts, Sold-To first (and its owner for dunning, or when it has no contact), in the Sold-To
        contact's language; an account with nobody to write to gets none."""
        if not mails:
            return
        wanted = sorted({account_id for account_id, _, _, _ in mails})
        people: dict[int, list[tuple[str, str, str | None]]] = {a: [] for a in wanted}
        for c in self.conn.execute(
            select(contacts.c.account_id, contacts.c.kind, contacts.c.email, contacts.c.country)
            .where(contacts.c.account_id.in_(wanted))
            .order_by(contacts.c.account_id, contacts.c.kind.desc(), contacts.c.id)  # sold_to first
        ):
            people[int(c.account_id)].append((c.kind, c.email, c.country))
        needs_owner = [a for a in wanted if not people[a] or any(m[0] == a and m[1] in OWNER_TOO for m in mails)]
        owners: dict[int, str] = {}
        if needs_owner:
            for r in self.conn.execute(
                select(users.c.account_id, users.c.email)
                .where(users.c.account_id.in_(needs_owner), users.c.role == "owner")
                .order_by(users.c.account_id, users.c.id)
            ):
                owners.setdefault(int(r.account_id), r.email)
        rows = []
        for account_id, kind, invoice_id, data in mails:
            recipients = [email for _, email, _ in people[account_id]]
            country = next((c for k, _, c in people[account_id] if k == "sold_to"), None)
            if (kind in OWNER_TOO or not recipients) and owners.get(account_id):
                recipients.append(owners[account_id])
            unique = list(dict.fromkeys(address.strip().lower() for address in recipients if address))
            if not unique:
                continue
            rows.append({"account_id": account_id, "invoice_id": invoice_id, "kind": kind,
                         "language": "pl" if country == "PL" else "en", "recipients": json.dumps(unique),
                         "data": json.dumps(dict(data or {}), sort_keys=True, default=str),
                         "message_id": f"<{uuid.uuid4().hex}@outbox.prorata>", "created_at": now})  # fmt: skip
        if rows:
            self.conn.execute(insert(outbox), rows)
