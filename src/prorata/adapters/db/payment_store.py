"""What paying stores (rules I3, I6, K7, X3, Y1-Y3): payment methods, payment intents and their outcomes, and the
locks that make every invoice paid at most once.

Paying follows one lock order everywhere: the account row first, then the invoices by id (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers). Inside those locks a caller sees whether an
invoice is still owed and whether a payment of it is in flight before it writes an intent. The partial unique index
``ux_payments_live_invoice`` (one pending or succeeded payment per invoice) holds the rule even against a caller
that skipped the check: its insert fails instead of charging twice.

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.documents import payment_method_text
from prorata.adapters.db.queries import PaymentView
from prorata.adapters.db.schema import (
    accounts,
    credit_ledger,
    gateway_customers,
    gateway_events,
    invoices,
    orders,
    payment_methods,
    payments,
)
from prorata.domain.cards import CardDetails
from prorata.domain.errors import RuleViolation
from prorata.domain.payments import ChargeResult
from prorata.services.ports import (
    PayableInvoice,
    PaymentMethodRecord,
    PaymentState,
    PendingPayment,
)

LIVE = ("pending", "action_required", "succeeded")
IN_FLIGHT = ("pending", "action_required")  # taken or being taken, outcome not known yet


class PaymentStore:
    """The paying part of the unit of work."""

    # provided by the events part of the unit of work (``EventStore``)
    hold_payment: Callable[[int, PaymentView], None]

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    # -------------------------------------------------------------------------------------------------- locks

    def lock_account(self, account_id: int, *, wait: bool = True) -> bool:
        """Lock the account row for this transaction, the first lock of every writer. False when the account does
        not exist, or (``wait=False``, PostgreSQL) when another transaction holds it."""
        query = select(accounts.c.id).where(accounts.c.id == account_id)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=not wait)
        return self.conn.execute(query).first() is not None

    def lock_invoices(self, account_id: int, invoice_ids: Sequence[int] | None) -> list[PayableInvoice]:
        """The account's issued invoices named by ``invoice_ids`` (None: every open one with something due), locked
        in id order after the account, each with what is still owed and whether a payment of it is in flight."""
        query = payable_invoices().where(invoices.c.account_id == account_id)
        if invoice_ids is None:
            query = query.where(invoices.c.status == "open", invoices.c.amount_due > 0)
        else:
            query = query.where(invoices.c.id.in_(list(invoice_ids)))
        return lock_payable(self.conn, query)

    def lock_payment(self, payment_id: int) -> PaymentState:
        """A payment as it stands, locked (taken after the account and its invoice)."""
        query = select(payments).where(payments.c.id == payment_id)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        r = self.conn.execute(query).mappings().one()
        return PaymentState(
            int(r["id"]), int(r["account_id"]), int(r["invoice_id"]), int(r["amount"]), r["currency"], r["status"],
            r["idempotency_key"], r["failure_code"],
        )  # fmt: skip

    # -------------------------------------------------------------------------------------------------- methods

    def default_payment_method(self, account_id: int) -> PaymentMethodRecord | None:
        row = self.conn.execute(
            select(payment_methods.c.id, payment_methods.c.gateway, payment_methods.c.token)
            .where(
                payment_methods.c.account_id == account_id,
                payment_methods.c.is_default.is_(True),
                payment_methods.c.removed_at.is_(None),
            )
            .order_by(payment_methods.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else PaymentMethodRecord(int(row.id), row.gateway, row.token)

    def add_payment_method(
        self, account_id: int, kind: str, gateway: str, token: str, card: CardDetails | None, paypal_email: str | None,
        now: datetime, billing_address: Mapping[str, str | None] | None = None,
    ) -> int:  # fmt: skip
        """The new method becomes the default (the one renewals charge)."""
        self.conn.execute(
            update(payment_methods).where(payment_methods.c.account_id == account_id).values(is_default=False)
        )
        return int(
            self.conn.execute(
                insert(payment_methods)
                .values(
                    account_id=account_id,
                    kind=kind,
                    gateway=gateway,
                    token=token,
                    brand=card.brand.value if card else None,
                    last4=card.last4 if card else None,
                    exp_month=card.exp_month if card else None,
                    exp_year=card.exp_year if card else None,
                    paypal_email=paypal_email,
                    is_default=True,
                    **{f"billing_{name}": value for name, value in (billing_address or {}).items()},
                    created_at=now,
                )
                .returning(payment_methods.c.id)
            ).scalar_one()
        )

    def remove_payment_method(self, account_id: int, payment_method_id: int, now: datetime) -> bool:
        """Remove a method; when it was the default, the backup becomes the default (rule BM1: the customer's own
        second choice), or else the newest remaining one. A removed backup leaves the account without one."""
        row = self.conn.execute(
            select(payment_methods.c.is_default).where(
                payment_methods.c.id == payment_method_id,
                payment_methods.c.account_id == account_id,
                payment_methods.c.removed_at.is_(None),
            )
        ).first()
        if row is None:
            return False
        self.conn.execute(
            update(payment_methods)
            .where(payment_methods.c.id == payment_method_id)
            .values(removed_at=now, is_default=False, is_backup=False)
        )
        if row.is_default:
            saved = payment_methods.c.account_id == account_id, payment_methods.c.removed_at.is_(None)
            backup = self.conn.execute(
                select(payment_methods.c.id).where(*saved, payment_methods.c.is_backup.is_(True))
            ).scalar_one_or_none()
            newest = backup or self.conn.execute(select(func.max(payment_methods.c.id)).where(*saved)).scalar_one()
            if newest is not None:
                self.conn.execute(
                    update(payment_methods).where(payment_methods.c.id == newest).values(is_default=True,
                                                                                         is_backup=False)
                )  # fmt: skip
        return True

    # -------------------------------------------------------------------------------------------------- payments

    def insert_payment_intent(
        self, account_id: int, invoice_id: int, method: PaymentMethodRecord, amount: int, currency: str, key: str,
        now: datetime,
    ) -> int:  # fmt: skip
        """The intent, written before the gateway is asked (rule X3); refused by the database if a payment of the
        invoice is already in flight or has paid it."""
        try:
            return self._insert_intent(account_id, invoice_id, method, amount, currency, key, now)
        except IntegrityError:
            # the index ux_payments_live_invoice: a caller reached here without the lock and its checks. The whole
            # transaction is given up (the refusal rolls it back), so no savepoint is needed on this hot path.
            raise RuleViolation(
                "invoice.payment_in_progress",
                f"invoice_ids: invoice {invoice_id} is being paid or is paid already",
                rule="X3",
                field="invoice_ids",
                invoice=invoice_id,
            ) from None

    def _insert_intent(
        self, account_id: int, invoice_id: int, method: PaymentMethodRecord, amount: int, currency: str, key: str,
        now: datetime,
    ) -> int:  # fmt: skip
        return int(
            self.conn.execute(
                insert(payments)
                .values(
                    account_id=account_id,
                    invoice_id=invoice_id,
                    payment_method_id=method.id,
                    amount=amount,
                    currency=currency,
                    status="pending",
                    gateway=method.gateway,
                    idempotency_key=key,
                    created_at=now,
                )
                .returning(payments.c.id)
            ).scalar_one()
        )

    def settle_payment(self, payment_id: int, result: ChargeResult, now: datetime, *, credited: bool = False) -> None:
        """The gateway's answer; ``credited``: it succeeded for an invoice no longer owed, so all of it went to the
        credit balance. A charge that waits for the customer's confirmation stays live (``action_required``)."""
        self.conn.execute(
            update(payments)
            .where(payments.c.id == payment_id)
            .values(status=_settled_status(result, credited), gateway_reference=result.reference,
                    failure_code=result.failure_code, settled_at=now)
        )  # fmt: skip

    def settle_pending_payment(self, payment_id: int, result: ChargeResult, now: datetime) -> bool:
        """``settle_payment`` for a payment still pending, in one statement that takes the payment's lock (after the
        account's): False, and nothing written, when another door (reconciliation) settled it first. The payment
        as settled is handed to the events (``hold_payment``): its invoice is told with it."""
        method = payment_methods.c
        of_payment = method.id == payments.c.payment_method_id
        row = self.conn.execute(
            update(payments)
            .where(payments.c.id == payment_id, payments.c.status == "pending")
            .values(status=_settled_status(result, False), gateway_reference=result.reference,
                    failure_code=result.failure_code, settled_at=now)
            .returning(payments.c.id, payments.c.invoice_id, payments.c.amount, payments.c.status,
                       payments.c.gateway, payments.c.failure_code, payments.c.created_at, payments.c.settled_at,
                       payments.c.backup, select(method.kind).where(of_payment).scalar_subquery(),
                       select(method.brand).where(of_payment).scalar_subquery(),
                       select(method.last4).where(of_payment).scalar_subquery())
        ).first()  # fmt: skip
        if row is None:
            return False
        if row[1] is not None:
            settled = PaymentView(int(row[0]), int(row[2]), row[3], row[4], row[5], row[6], row[7],
                                  payment_method_text(row[9], row[10], row[11]), bool(row[8]))  # fmt: skip
            self.hold_payment(int(row[1]), settled)
        return True

    def mark_invoice_paid(self, invoice_id: int, now: datetime) -> None:
        """Nothing is owed any more (rule I3)."""
        self.conn.execute(
            update(invoices)
            .where(invoices.c.id == invoice_id, invoices.c.status == "open")
            .values(status="paid", amount_due=0, paid_at=now)
        )

    def credit_excess(
        self, account_id: int, invoice_id: int, payment_id: int, amount: int, currency: str, now: datetime
    ) -> None:
        """Money received beyond what the invoice still owed goes to the credit balance, never unaccounted for."""
        self.conn.execute(
            insert(credit_ledger).values(account_id=account_id, amount=amount, currency=currency,
                                         reason="overpayment", invoice_id=invoice_id, payment_id=payment_id,
                                         created_at=now)
        )  # fmt: skip

    def payment_by_key(self, key: str) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(payments.c.id, payments.c.status).where(payments.c.idempotency_key == key)
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def payments_of_request(self, account_id: int, idempotency_key: str) -> list[PaymentState]:
        """The payments one pay request made (their keys are ``<request key>:invoice-<id>``), oldest first, so that
        the request asked again is answered as the first time (rule X3)."""
        prefix = idempotency_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":invoice-"
        rows = self.conn.execute(
            select(payments)
            .where(payments.c.account_id == account_id, payments.c.idempotency_key.like(prefix + "%", escape="\\"))
            .order_by(payments.c.id)
        ).mappings()
        return [
            PaymentState(
                int(r["id"]),
                int(r["account_id"]),
                int(r["invoice_id"]),
                int(r["amount"]),
                r["currency"],
                r["status"],
                r["idempotency_key"],
                r["failure_code"],
            )
            for r in rows
        ]

    def pending_payments(
        self, created_before: datetime | None = None, *, statuses: Sequence[str] = ("pending",)
    ) -> list[PendingPayment]:
        """Payments whose outcome was never recorded; with ``created_before``, only those made by then (a younger
        one is most likely still being settled by the process that made it). ``statuses`` may add
        ``action_required``: charges waiting for the customer."""
        return self._live_payments(payments.c.status.in_(list(statuses)), created_before)

    def live_payment(
        self, *, reference: str | None = None, key: str | None = None, payment_id: int | None = None
    ) -> PendingPayment | None:
        """The payment in flight (pending or waiting for the customer) with this gateway reference, key or id."""
        if payment_id is not None:
            where = payments.c.id == payment_id
        else:
            where = payments.c.gateway_reference == reference if reference else payments.c.idempotency_key == key
        found = self._live_payments(and_(where, payments.c.status.in_(IN_FLIGHT)), None)
        return found[0] if found else None

    def payment_of_reference(self, reference: str) -> tuple[int, int] | None:
        """(account, invoice) of the payment the gateway knows by ``reference``."""
        row = self.conn.execute(
            select(payments.c.account_id, payments.c.invoice_id).where(payments.c.gateway_reference == reference)
        ).first()
        return None if row is None else (int(row.account_id), int(row.invoice_id))

    def gateway_customer(self, account_id: int, gateway: str) -> str | None:
        return self.conn.execute(
            select(gateway_customers.c.customer).where(
                gateway_customers.c.account_id == account_id, gateway_customers.c.gateway == gateway
            )
        ).scalar_one_or_none()

    def save_gateway_customer(self, account_id: int, gateway: str, customer: str, now: datetime) -> str:
        upsert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        self.conn.execute(
            upsert(gateway_customers)
            .values(account_id=account_id, gateway=gateway, customer=customer, created_at=now)
            .on_conflict_do_nothing()
        )
        found = self.gateway_customer(account_id, gateway)
        assert found is not None
        return found

    def gateway_event_seen(self, gateway: str, event_id: str) -> bool:
        return (
            self.conn.execute(
                select(gateway_events.c.event_id).where(
                    gateway_events.c.gateway == gateway, gateway_events.c.event_id == event_id
                )
            ).first()
            is not None
        )

    def record_gateway_event(
        self, gateway: str, event_id: str, kind: str, object_id: str | None, outcome: str, now: datetime
    ) -> None:
        """Once per event id: a second delivery that raced this one past ``gateway_event_seen`` is not recorded
        twice (and what it did was idempotent)."""
        values = {"gateway": gateway, "event_id": event_id, "type": kind[:64], "object_id": object_id,
                  "received_at": now, "outcome": outcome}  # fmt: skip
        upsert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        self.conn.execute(upsert(gateway_events).values(**values).on_conflict_do_nothing())

    def _live_payments(self, where: ColumnElement[bool], created_before: datetime | None) -> list[PendingPayment]:
        query = (
            select(
                payments.c.id,
                payments.c.idempotency_key,
                payments.c.account_id,
                payments.c.invoice_id,
                payments.c.amount,
                payments.c.currency,
                payments.c.gateway_reference,
                payments.c.status,
                payment_methods.c.token,
                orders.c.id.label("order_id"),
                orders.c.cart,
                orders.c.created_at.label("order_created_at"),
                orders.c.quote,
            )
            .select_from(
                payments.outerjoin(payment_methods, payment_methods.c.id == payments.c.payment_method_id)
                .join(invoices, invoices.c.id == payments.c.invoice_id)
                .outerjoin(orders, orders.c.id == invoices.c.order_id)
            )
            .where(where)
            .order_by(payments.c.id)
        )
        if created_before is not None:
            query = query.where(payments.c.created_at <= created_before)
        return [
            PendingPayment(
                int(r["id"]),
                r["idempotency_key"],
                int(r["account_id"]),
                int(r["invoice_id"]),
                None if r["order_id"] is None else int(r["order_id"]),
                r["cart"],
                r["order_created_at"],
                None if r["quote"] is None else int(json.loads(r["quote"])["amount_due"]),
                int(r["amount"]),
                r["currency"],
                r["token"],
                r["gateway_reference"],
                r["status"],
            )
            for r in self.conn.execute(query).mappings()
        ]


def _settled_status(result: ChargeResult, credited: bool) -> str:
    if result.action_required:
        return "action_required"
    return ("credited" if credited else "succeeded") if result.succeeded else "failed"


def payable_invoices() -> Select[Any]:
    """The issued invoices as paying sees them, in id order (the order their locks are taken in)."""
    return (
        select(invoices.c.id, invoices.c.account_id, invoices.c.status, invoices.c.amount_due, invoices.c.currency,
               invoices.c.issued_at)
        .where(invoices.c.status != "draft")
        .order_by(invoices.c.id)
    )  # fmt: skip


def lock_payable(connection: Connection, query: Select[Any]) -> list[PayableInvoice]:
    """The invoices ``query`` selects, locked, each with what is still owed and whether a payment of it is in flight:
    read after the locks are held, in a statement of its own, so that it sees every payment committed before them."""
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    rows = connection.execute(query).all()
    flying = {
        int(i)
        for i in connection.execute(
            select(payments.c.invoice_id).where(
                payments.c.invoice_id.in_([r.id for r in rows]), payments.c.status.in_(IN_FLIGHT)
            )
        ).scalars()
    }
    return [
        PayableInvoice(
            int(r.id), int(r.account_id), r.status, int(r.amount_due), r.currency, r.issued_at, int(r.id) in flying
        )
        for r in rows
    ]
