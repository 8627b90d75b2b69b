"""The unit of work on the database: one transaction, and what the use cases read and write in it.

It implements ``prorata.services.ports.UnitOfWork``: committed when its ``with`` block ends normally, rolled back
on any exception. Rows are locked account first (``load_account(lock=True)``), the order every writer follows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from prorata.adapters.db import outbox
from prorata.adapters.db.account_store import AccountStore
from prorata.adapters.db.accounts import (
    load_account,
    save_subscriptions,
)
from prorata.adapters.db.billing_run import BillingRunStore
from prorata.adapters.db.credit_notes import load_issued_invoice, write_credit_note
from prorata.adapters.db.documents import load_invoice_document, snapshot_parties
from prorata.adapters.db.invoice_rows import INVOICE_SERIES, line_rows, tax_columns
from prorata.adapters.db.numbering import invoice_number_text, next_invoice_number
from prorata.adapters.db.schema import (
    accounts,
    audit_log,
    contacts,
    credit_ledger,
    invoice_lines,
    invoices,
    license_assignments,
    orders,
    payment_methods,
    payments,
    subscriptions,
    users,
)
from prorata.domain.account import Account
from prorata.domain.cards import CardDetails
from prorata.domain.credit_notes import CreditNote, IssuedInvoice
from prorata.domain.documents import InvoiceDocument
from prorata.domain.invoice_lines import Quote
from prorata.domain.payments import ChargeResult
from prorata.domain.periods import Granularity
from prorata.domain.tax import TaxBuyer
from prorata.services.ports import (
    CollectibleInvoice,
    OrderRecord,
    OutboxMessage,
    PaymentMethodRecord,
    PendingPayment,
)


class SqlUnitOfWork(BillingRunStore, AccountStore):
    def __init__(self, engine: Engine, granularity: Granularity) -> None:
        self.engine = engine
        self.granularity = granularity
        self._connection: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("use the unit of work in a with block")
        return self._connection

    def __enter__(self) -> SqlUnitOfWork:
        self._connection = self.engine.connect()
        self._connection.begin()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        connection, self._connection = self.conn, None
        try:
            if kind is None:
                connection.commit()
            else:
                connection.rollback()
        finally:
            connection.close()

    # ------------------------------------------------------------------------------------------------ reading

    def load_account(self, account_id: int, *, lock: bool) -> Account:
        return load_account(self.conn, account_id, self.granularity, lock=lock)

    def find_order(self, account_id: int, idempotency_key: str) -> OrderRecord | None:
        row = self.conn.execute(
            select(orders.c.id).where(orders.c.account_id == account_id, orders.c.idempotency_key == idempotency_key)
        ).scalar_one_or_none()
        return None if row is None else self.order(int(row))

    def has_pending_order(self, account_id: int) -> bool:
        return (
            self.conn.execute(
                select(orders.c.id).where(orders.c.account_id == account_id, orders.c.status == "pending").limit(1)
            ).first()
            is not None
        )

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

    def order(self, order_id: int) -> OrderRecord:
        row = self.conn.execute(
            select(orders, invoices.c.id.label("invoice_id"), invoices.c.number, invoices.c.year, invoices.c.series,
                   invoices.c.amount_due)
            .select_from(orders.outerjoin(invoices, invoices.c.order_id == orders.c.id))
            .where(orders.c.id == order_id)
        ).mappings().one()  # fmt: skip
        number = invoice_number_text(row["series"], row["year"], row["number"]) if row["number"] is not None else None
        amount_due = int(json.loads(row["quote"])["amount_due"])
        return OrderRecord(
            int(row["id"]),
            row["request_hash"],
            row["status"],
            row["invoice_id"],
            number,
            amount_due,
            row["failure_code"],
        )

    # ------------------------------------------------------------------------------------------------ writing

    def insert_order(
        self,
        account_id: int,
        idempotency_key: str,
        request_hash: str,
        cart: str,
        quote: Quote,
        tos: tuple[str, int | None] | None,
        now: datetime,
    ) -> int:
        summary = {
            "amount_due": quote.amount_due,
            "subtotal": quote.subtotal,
            "credit_used": quote.credit_used,
            "credit_added": quote.credit_added,
            "valid_until": (quote.valid_until or quote.at).isoformat(),
            "lines": [[line.description, line.amount] for line in quote.lines],
        }
        return int(
            self.conn.execute(
                insert(orders)
                .values(
                    account_id=account_id,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    status="pending",
                    cart=cart,
                    quote=json.dumps(summary, sort_keys=True),
                    tos_version=tos[0] if tos else None,
                    tos_accepted_by=tos[1] if tos else None,
                    tos_accepted_at=now if tos else None,
                    created_at=now,
                )
                .returning(orders.c.id)
            ).scalar_one()
        )

    def insert_draft_invoice(
        self, account_id: int, order_id: int | None, quote: Quote, now: datetime, billing_date: datetime | None = None
    ) -> int:
        invoice_id = int(
            self.conn.execute(
                insert(invoices)
                .values(
                    account_id=account_id,
                    order_id=order_id,
                    billing_date=billing_date,
                    series=INVOICE_SERIES,
                    status="draft",
                    currency=quote.currency,
                    subtotal=quote.subtotal,
                    tax=quote.tax,
                    total=quote.total,
                    credit_applied=quote.credit_used,
                    amount_due=quote.amount_due,
                    created_at=now,
                    **tax_columns(quote),
                )
                .returning(invoices.c.id)
            ).scalar_one()
        )
        rows = line_rows(invoice_id, quote, {})
        if rows:
            self.conn.execute(insert(invoice_lines), rows)
        return invoice_id

    def insert_payment_intent(
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

    def settle_payment(self, payment_id: int, result: ChargeResult, now: datetime) -> None:
        self.conn.execute(
            update(payments)
            .where(payments.c.id == payment_id)
            .values(
                status="succeeded" if result.succeeded else "failed",
                gateway_reference=result.reference,
                failure_code=result.failure_code,
                settled_at=now,
            )
        )

    def apply_order(
        self, account_id: int, order_id: int, invoice_id: int | None, quote: Quote, now: datetime
    ) -> str | None:
        """Rule K8: the paid order takes effect: subscriptions, the invoice's number, the credit ledger."""
        before = self.load_account(account_id, lock=True)
        ids = save_subscriptions(self.conn, account_id, before, quote.account, now)
        self.conn.execute(update(orders).where(orders.c.id == order_id).values(status="placed"))
        if invoice_id is None:
            return None
        for position, line in enumerate(quote.lines, start=1):
            if not line.subscription.isdigit():  # a subscription this order created
                self.conn.execute(
                    update(invoice_lines)
                    .where(invoice_lines.c.invoice_id == invoice_id, invoice_lines.c.position == position)
                    .values(subscription_id=ids[line.subscription])
                )
        return self._finalize(account_id, invoice_id, quote, now, paid=True)

    def _finalize(self, account_id: int, invoice_id: int, quote: Quote, now: datetime, *, paid: bool) -> str:
        """Rule I2: the invoice takes its number now; the credit it used and the credit it added are booked."""
        year = now.year
        number = next_invoice_number(self.conn, INVOICE_SERIES, year)
        snapshot_parties(self.conn, [invoice_id])  # rule I2: the contacts as they are now, kept with it
        self.conn.execute(
            update(invoices)
            .where(invoices.c.id == invoice_id)
            .values(
                year=year,
                number=number,
                status="paid" if paid else "open",
                issued_at=now,
                due_at=now,
                paid_at=now if paid else None,
            )
        )
        for amount, reason in ((-quote.credit_used, "applied_to_invoice"), (quote.credit_added, "unused_time")):
            if amount:
                self.conn.execute(
                    insert(credit_ledger).values(
                        account_id=account_id,
                        amount=amount,
                        currency=quote.currency,
                        reason=reason,
                        invoice_id=invoice_id,
                        created_at=now,
                    )
                )
        return invoice_number_text(INVOICE_SERIES, year, number)

    def fail_order(self, order_id: int, invoice_id: int, failure_code: str, now: datetime) -> None:
        """Rule K8: nothing of the order takes effect. Its invoice stays a draft: never numbered, never issued, kept
        with its lines as the record of what was attempted."""
        self.conn.execute(
            update(orders).where(orders.c.id == order_id).values(status="failed", failure_code=failure_code)
        )

    def audit(
        self, account_id: int | None, actor: str, action: str, detail: Mapping[str, object], now: datetime
    ) -> None:
        self.conn.execute(
            insert(audit_log).values(
                account_id=account_id, actor=actor, action=action, detail=json.dumps(detail, sort_keys=True), at=now
            )
        )

    # ------------------------------------------------------------------------------------------- paying invoices

    def open_invoices(self, account_id: int, invoice_ids: tuple[int, ...] | None) -> list[CollectibleInvoice]:
        return [
            invoice
            for invoice in self.collectible_invoices()
            if invoice.account_id == account_id and (invoice_ids is None or invoice.id in invoice_ids)
        ]

    def payment_by_key(self, key: str) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(payments.c.id, payments.c.status).where(payments.c.idempotency_key == key)
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    # ------------------------------------------------------------------------------------------- assignments

    def subscription_owner(self, subscription_id: int) -> tuple[int, str, int, str] | None:
        row = self.conn.execute(
            select(
                subscriptions.c.account_id, subscriptions.c.product, subscriptions.c.quantity, subscriptions.c.status
            )
            .where(subscriptions.c.id == subscription_id)
            .with_for_update()
        ).first()
        return None if row is None else (int(row[0]), str(row[1]), int(row[2]), str(row[3]))

    def user_account(self, user_id: int) -> int | None:
        found = self.conn.execute(select(users.c.account_id).where(users.c.id == user_id)).scalar_one_or_none()
        return None if found is None else int(found)

    def assigned_users(self, subscription_id: int) -> set[int]:
        rows = self.conn.execute(
            select(license_assignments.c.user_id).where(license_assignments.c.subscription_id == subscription_id)
        )
        return {int(r[0]) for r in rows}

    def user_subscriptions(self, account_id: int, user_id: int) -> list[tuple[int, str]]:
        """The active subscriptions whose licenses or seats the user holds, with their products."""
        held = subscriptions.join(license_assignments, license_assignments.c.subscription_id == subscriptions.c.id)
        rows = self.conn.execute(
            select(subscriptions.c.id, subscriptions.c.product)
            .select_from(held)
            .where(
                subscriptions.c.account_id == account_id,
                subscriptions.c.status == "active",
                license_assignments.c.user_id == user_id,
            )
            .order_by(subscriptions.c.id)
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def assign(self, subscription_id: int, user_id: int, now: datetime) -> None:
        self.conn.execute(
            insert(license_assignments).values(subscription_id=subscription_id, user_id=user_id, assigned_at=now)
        )

    def unassign(self, subscription_id: int, user_id: int) -> None:
        self.conn.execute(
            license_assignments.delete().where(
                license_assignments.c.subscription_id == subscription_id, license_assignments.c.user_id == user_id
            )
        )

    def set_user_type(self, user_id: int, licensed: bool) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(type="licensed" if licensed else "basic"))

    # ------------------------------------------------------------------------------------------- reconciliation

    def pending_payments(self) -> list[PendingPayment]:
        rows = self.conn.execute(
            select(
                payments.c.id,
                payments.c.idempotency_key,
                payments.c.account_id,
                payments.c.invoice_id,
                payments.c.amount,
                payments.c.currency,
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
            .where(payments.c.status == "pending")
            .order_by(payments.c.id)
        ).mappings()
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
            )
            for r in rows
        ]

    # ------------------------------------------------------------------------------------------- billing information

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
        """Remove a method; when it was the default, the newest remaining one becomes the default."""
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
            .values(removed_at=now, is_default=False)
        )
        if row.is_default:
            newest = self.conn.execute(
                select(func.max(payment_methods.c.id)).where(
                    payment_methods.c.account_id == account_id, payment_methods.c.removed_at.is_(None)
                )
            ).scalar_one()
            if newest is not None:
                self.conn.execute(update(payment_methods).where(payment_methods.c.id == newest).values(is_default=True))
        return True

    def enqueue_mail(
        self, account_id: int, kind: str, now: datetime, *, invoice_id: int | None = None,
        data: Mapping[str, object] | None = None,
    ) -> None:  # fmt: skip
        outbox.enqueue(self.conn, account_id, kind, now, invoice_id=invoice_id, data=data)

    def claim_mail(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxMessage]:
        return outbox.claim(self.conn, now, lease_seconds, limit)

    def mark_mail_sent(self, message_id: int, now: datetime) -> None:
        outbox.mark_sent(self.conn, message_id, now)

    def issued_invoice(self, number: str) -> IssuedInvoice | None:
        return load_issued_invoice(self.conn, number)

    def issue_credit_note(self, note: CreditNote, reason: str, now: datetime) -> str:
        return write_credit_note(self.conn, note, reason, now)

    def invoice_document(self, number: str) -> InvoiceDocument | None:
        return load_invoice_document(self.conn, number, self.granularity)

    def tax_buyers(self, account_ids: Sequence[int]) -> dict[int, TaxBuyer]:
        """Rule T1: each account's Sold-To country and VAT number; without a Sold-To contact, the account's country
        (a consumer)."""
        rows = self.conn.execute(
            select(accounts.c.id, accounts.c.country, contacts.c.country, contacts.c.tax_id)
            .select_from(
                accounts.outerjoin(contacts, and_(contacts.c.account_id == accounts.c.id, contacts.c.kind == "sold_to"))
            )
            .where(accounts.c.id.in_(list(account_ids)))
        )
        return {
            int(account_id): TaxBuyer(sold_to_country, tax_id or None) if sold_to_country else TaxBuyer(country)
            for account_id, country, sold_to_country, tax_id in rows
        }

    def set_contact(self, account_id: int, kind: str, fields: Mapping[str, str | None]) -> None:
        self.conn.execute(contacts.delete().where(contacts.c.account_id == account_id, contacts.c.kind == kind))
        self.conn.execute(insert(contacts).values(account_id=account_id, kind=kind, **fields))
