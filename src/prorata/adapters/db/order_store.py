"""What placing an order stores (rules K3, K6, K8, I1, I2, X3): the order with its cart and quote, its draft invoice,
and, once paid, the order applied: the account's subscriptions, the invoice numbered and issued, the credit ledger.

A part of ``SqlUnitOfWork``, which provides the connection, the account reader and the seller's calendar.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, Select, String, and_, bindparam, exists, func, insert, select, update

from prorata.adapters.db.accounts import as_stored, save_subscriptions
from prorata.adapters.db.discount_store import apply_reserved, release_reserved
from prorata.adapters.db.documents import snapshot_parties
from prorata.adapters.db.event_objects import invoice_object, order_object
from prorata.adapters.db.invoice_rows import INVOICE_SERIES, line_rows, tax_columns
from prorata.adapters.db.numbering import invoice_number_text, next_invoice_number
from prorata.adapters.db.queries import PaymentView, tax_buyer, written_invoice_view
from prorata.adapters.db.schema import (
    accounts,
    contacts,
    credit_ledger,
    invoice_lines,
    invoices,
    orders,
    payment_methods,
)
from prorata.adapters.db.seal import seal_documents
from prorata.adapters.db.sellers import kept_seller
from prorata.domain.account import Account
from prorata.domain.errors import InvalidInput
from prorata.domain.invoice_lines import Quote
from prorata.services.ports import OrderContext, OrderRecord, PaymentMethodRecord, SettledOrder


def _order_context_query() -> Select[Any]:
    """The account's country and Sold-To contact, the order an idempotency key placed, whether an order is being
    paid for, and the default payment method: one row, one statement, built once (its parameters are bound)."""
    account_id = bindparam("account_id", type_=BigInteger)
    key = bindparam("idempotency_key", type_=String)
    earlier = select(orders.c.id).where(orders.c.account_id == account_id, orders.c.idempotency_key == key)
    pending = exists().where(orders.c.account_id == account_id, orders.c.status == "pending")
    newest_method = (
        select(func.max(payment_methods.c.id))
        .where(
            payment_methods.c.account_id == account_id,
            payment_methods.c.is_default.is_(True),
            payment_methods.c.removed_at.is_(None),
        )
        .scalar_subquery()
    )
    sold_to = and_(contacts.c.account_id == accounts.c.id, contacts.c.kind == "sold_to")
    return (
        select(
            accounts.c.country,
            contacts.c.country.label("sold_to_country"),
            contacts.c.tax_id,
            accounts.c.tax_exemption,
            earlier.scalar_subquery().label("earlier"),
            pending.label("pending"),
            payment_methods.c.id.label("method_id"),
            payment_methods.c.gateway,
            payment_methods.c.token,
        )
        .select_from(
            accounts.outerjoin(contacts, sold_to).outerjoin(payment_methods, payment_methods.c.id == newest_method)
        )
        .where(accounts.c.id == account_id)
    )


_ORDER_CONTEXT = _order_context_query()

# the subscriptions an order created, written on its invoice's lines once they exist (one executemany)
_LINK_LINES = (
    update(invoice_lines)
    .where(invoice_lines.c.invoice_id == bindparam("i"), invoice_lines.c.position == bindparam("p"))
    .values(subscription_id=bindparam("s"))
)


def _amounts(quote: Quote) -> dict[str, Any]:
    """An invoice's amounts as the order priced them."""
    return {"currency": quote.currency, "subtotal": quote.subtotal, "tax": quote.tax, "total": quote.total,
            "credit_applied": quote.credit_used, "amount_due": quote.amount_due}  # fmt: skip


def _issued_on_terms(year: int, number: int, now: datetime, days: int) -> dict[str, Any]:
    """Rule NT1: an invoice numbered and issued now, owed by bank transfer within ``days``; the amount due stays."""
    return {"series": INVOICE_SERIES, "year": year, "number": number, "status": "open", "issued_at": now,
            "due_at": now + timedelta(days=days), "paid_at": None, "terms_days": days}  # fmt: skip


def _issued_and_paid(year: int, number: int, now: datetime) -> dict[str, Any]:
    """Rules I2, K8: an invoice numbered, issued and paid now; nothing is owed any more."""
    return {"series": INVOICE_SERIES, "year": year, "number": number, "status": "paid", "issued_at": now,
            "due_at": now, "paid_at": now, "amount_due": 0}  # fmt: skip


class OrderStore:
    """The ordering part of the unit of work."""

    # provided by the events part of the unit of work (``EventStore``)
    hold_account: Callable[[int, Account], None]
    hold_object: Callable[[str, int | str, Mapping[str, Any]], None]
    held_payment: Callable[[int], PaymentView | None]

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def load_account(self, account_id: int, *, lock: bool) -> Account:
        raise NotImplementedError

    def issue_year(self, at: datetime) -> int:
        raise NotImplementedError

    def seller_id(self, now: datetime) -> int | None:
        raise NotImplementedError

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

    def order_context(self, account_id: int, idempotency_key: str) -> OrderContext:
        """Read after the account's lock is held, so that it sees every order committed before it."""
        row = self.conn.execute(
            _ORDER_CONTEXT,
            {"account_id": account_id, "idempotency_key": idempotency_key},
        ).first()
        if row is None:
            raise InvalidInput("account.unknown", f"account: there is no account {account_id}", field="account")
        buyer = tax_buyer(row.country, row.sold_to_country, row.tax_id, row.tax_exemption)
        method = None if row.method_id is None else PaymentMethodRecord(int(row.method_id), row.gateway, row.token)
        earlier = None if row.earlier is None else self.order(int(row.earlier))
        return OrderContext(earlier, bool(row.pending), buyer, method)

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

    def insert_order(
        self,
        account_id: int,
        idempotency_key: str,
        request_hash: str,
        cart: str,
        quote: Quote,
        tos: tuple[str, int | None] | None,
        now: datetime,
        status: str = "pending",
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
                    status=status,
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

    def place_settled_order(
        self,
        account_id: int,
        idempotency_key: str,
        request_hash: str,
        cart: str,
        quote: Quote,
        tos: tuple[str, int | None] | None,
        before: Account,
        now: datetime,
        terms_days: int | None = None,
    ) -> SettledOrder:
        """Rule K8: an order with nothing to charge takes effect at once, in the caller's transaction, holding the
        account's lock (``before`` is the account as read under it): the order is written placed, the
        subscriptions it leaves, and its invoice issued and paid, numbered (rule I2), with its lines naming the
        subscriptions just written. What ``insert_order``, ``insert_draft_invoice`` and ``apply_order`` write in
        turn for a paid order, without writing a draft first. With ``terms_days`` (rule NT1: the account pays by
        bank transfer) the invoice is issued open, due that many days later, for the amount the order owes."""
        order_id = self.insert_order(account_id, idempotency_key, request_hash, cart, quote, tos, now, "placed")
        ids = save_subscriptions(self.conn, account_id, before, quote.account, now)
        after = as_stored(quote.account, ids)
        self.hold_account(account_id, after)  # what the events tell: not read again at the commit
        if not quote.lines:  # a change scheduled for the term end: no invoice
            self.hold_object("order", order_id, order_object(order_id, "placed", now, None, None))
            return SettledOrder(order_id, None, None, after)
        year = self.issue_year(now)
        number = next_invoice_number(self.conn, INVOICE_SERIES, year)
        state = (
            _issued_and_paid(year, number, now)
            if terms_days is None
            else _issued_on_terms(year, number, now, terms_days)
        )
        invoice_id, values, lines = self._insert_invoice(account_id, order_id, quote, now, None, state, ids)
        snapshot_parties(self.conn, [invoice_id])  # rule I2: the contacts as they are now, kept with it
        seal_documents(self.conn, [invoice_id])  # rule I2: what was issued, as it was issued
        self._book_credit(account_id, invoice_id, quote, now)
        text = invoice_number_text(INVOICE_SERIES, year, number)
        # what the events tell, as written: not read again at the commit
        self.hold_object("invoice", invoice_id, invoice_object(written_invoice_view(invoice_id, values, lines)))
        self.hold_object(
            "order",
            order_id,
            order_object(order_id, "placed", now, None, (invoice_id, text, quote.total, quote.currency)),
        )
        return SettledOrder(order_id, invoice_id, text, after)

    def insert_draft_invoice(
        self, account_id: int, order_id: int | None, quote: Quote, now: datetime, billing_date: datetime | None = None
    ) -> int:
        return self._insert_invoice(account_id, order_id, quote, now, billing_date, {"status": "draft"}, {})[0]

    def _insert_invoice(
        self,
        account_id: int,
        order_id: int | None,
        quote: Quote,
        now: datetime,
        billing_date: datetime | None,
        state: dict[str, object],
        new_ids: dict[str, int],
    ) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        """The invoice's id, and its row and lines as written."""
        values: dict[str, Any] = {
            "account_id": account_id,
            "order_id": order_id,
            "billing_date": billing_date,
            "series": INVOICE_SERIES,
            **_amounts(quote),
            "created_at": now,
            **tax_columns(quote),
            **kept_seller(self.seller_id(now)),  # rule I2: the seller the invoice names, kept with it
            **state,
        }
        invoice_id = int(self.conn.execute(insert(invoices).values(**values).returning(invoices.c.id)).scalar_one())
        rows = line_rows(invoice_id, quote, new_ids)
        if rows:
            self.conn.execute(insert(invoice_lines), rows)
        return invoice_id, values, rows

    def apply_order(
        self, account_id: int, order_id: int, invoice_id: int | None, quote: Quote, now: datetime,
        before: Account | None = None,
    ) -> SettledOrder:  # fmt: skip
        """Rule K8: the paid order takes effect: subscriptions, the invoice's number, the credit ledger. ``before``:
        the account as the caller read it in this transaction, holding its lock (read again when not given). Returns
        the invoice's number and the account as the order left it."""
        if before is None:
            before = self.load_account(account_id, lock=True)
        ids = save_subscriptions(self.conn, account_id, before, quote.account, now)
        after = as_stored(quote.account, ids)
        self.hold_account(account_id, after)  # what the events tell: not read again at the commit
        if quote.account.discount is not None and quote.account.discount != before.discount:
            apply_reserved(self.conn, order_id)  # rule DC1: the code entered with the order is the account's now
        created_at, failure_code = self.conn.execute(
            update(orders).where(orders.c.id == order_id).values(status="placed")
            .returning(orders.c.created_at, orders.c.failure_code)
        ).one()  # fmt: skip
        if invoice_id is None:
            self.hold_object("order", order_id, order_object(order_id, "placed", created_at, failure_code, None))
            return SettledOrder(order_id, None, None, after)
        created = [
            {"i": invoice_id, "p": position, "s": ids[line.subscription]}
            for position, line in enumerate(quote.lines, start=1)
            if not line.subscription.isdigit()  # a subscription this order created
        ]
        if created:
            self.conn.execute(_LINK_LINES, created)
        issued = self._finalize(account_id, invoice_id, quote, now)
        number = invoice_number_text(INVOICE_SERIES, issued["year"], issued["number"])
        invoiced = (invoice_id, number, quote.total, quote.currency)
        self.hold_object("order", order_id, order_object(order_id, "placed", created_at, failure_code, invoiced))
        payment = self.held_payment(invoice_id)
        if payment is not None and payment.status == "succeeded":
            # the invoice as it now stands, paid by the payment this transaction settled: told without a read
            view = written_invoice_view(invoice_id, {**_amounts(quote), **issued}, line_rows(invoice_id, quote, ids))
            paid = replace(view, amount_paid=payment.amount, payments=(payment,))
            self.hold_object("invoice", invoice_id, invoice_object(paid))
        return SettledOrder(order_id, invoice_id, number, after)

    def _finalize(self, account_id: int, invoice_id: int, quote: Quote, now: datetime) -> dict[str, Any]:
        """Rules I2, K8: the paid order's invoice takes its number now and is issued paid; the credit it used and the
        credit it added are booked. Returns what was written of its state."""
        year = self.issue_year(now)
        issued = _issued_and_paid(year, next_invoice_number(self.conn, INVOICE_SERIES, year), now)
        snapshot_parties(self.conn, [invoice_id])  # rule I2: the contacts as they are now, kept with it
        self.conn.execute(update(invoices).where(invoices.c.id == invoice_id).values(**issued))
        seal_documents(self.conn, [invoice_id])  # rule I2: what was issued, as it was issued
        self._book_credit(account_id, invoice_id, quote, now)
        return issued

    def _book_credit(self, account_id: int, invoice_id: int, quote: Quote, now: datetime) -> None:
        """The credit the invoice used and the credit the order added, in the ledger."""
        booked = [
            {"account_id": account_id, "amount": amount, "currency": quote.currency, "reason": reason,
             "invoice_id": invoice_id, "created_at": now}
            for amount, reason in ((-quote.credit_used, "applied_to_invoice"), (quote.credit_added, "unused_time"))
            if amount
        ]  # fmt: skip
        if booked:
            self.conn.execute(insert(credit_ledger), booked)

    def fail_order(self, order_id: int, invoice_id: int, failure_code: str, now: datetime) -> None:
        """Rule K8: nothing of the order takes effect. Its invoice stays a draft: never numbered, never issued, kept
        with its lines as the record of what was attempted."""
        self.conn.execute(
            update(orders).where(orders.c.id == order_id).values(status="failed", failure_code=failure_code)
        )
        release_reserved(self.conn, order_id)  # a code entered with it is given back (rule DC2's limit)
