"""The unit of work on the database: one transaction, and what the use cases read and write in it.

It implements ``prorata.services.ports.UnitOfWork``: committed when its ``with`` block ends normally, rolled back
on any exception. Rows are locked account first (``load_account(lock=True)``, ``lock_account``), the order every
writer follows. What it stores is kept in one module per subject, each a part of this class: accounts and their
users (``account_store``), people who sign in (``identity_store``), the console's operators (``operator_store``),
orders (``order_store``), payments (``payment_store``), the backup payment method (``backup_store``), extra notice
addresses (``notice_store``), refunds to the payment method (``refund_store``), license assignments
(``license_store``), the billing run (``billing_run``), API keys (``api_keys``), discount codes
(``discount_store``) and events with their webhook
deliveries (``event_store``, written just before the commit); documents, credit notes and the e-mail outbox have
modules of their own that this class calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from types import TracebackType

from sqlalchemy import Connection, Engine, and_, insert, select

from prorata.adapters.db import outbox
from prorata.adapters.db.account_store import AccountStore
from prorata.adapters.db.accounts import load_account
from prorata.adapters.db.api_keys import ApiKeyStore
from prorata.adapters.db.backup_store import BackupStore
from prorata.adapters.db.billing_run import BillingRunStore
from prorata.adapters.db.collection_store import CollectionStore
from prorata.adapters.db.credit_notes import load_issued_invoice, write_credit_note
from prorata.adapters.db.discount_store import DiscountStore
from prorata.adapters.db.documents import load_invoice_document
from prorata.adapters.db.event_store import EntitlementsReader, EventStore
from prorata.adapters.db.exemption_store import ExemptionStore
from prorata.adapters.db.express_store import ExpressStore
from prorata.adapters.db.identity_store import IdentityStore
from prorata.adapters.db.license_store import LicenseStore
from prorata.adapters.db.notice_store import NoticeStore
from prorata.adapters.db.operator_store import OperatorStore
from prorata.adapters.db.order_store import OrderStore
from prorata.adapters.db.payment_store import PaymentStore
from prorata.adapters.db.queries import tax_buyer
from prorata.adapters.db.rates import rate_on
from prorata.adapters.db.refund_store import RefundStore
from prorata.adapters.db.schema import accounts, audit_log, contacts
from prorata.adapters.db.sellers import SellerVersions
from prorata.adapters.db.terms_store import TermsStore
from prorata.adapters.db.trial_store import TrialStore
from prorata.adapters.db.vat_store import VatStore
from prorata.adapters.db.webhook_store import WebhookStore
from prorata.domain.account import Account
from prorata.domain.credit_notes import CreditNote, IssuedInvoice
from prorata.domain.documents import InvoiceDocument
from prorata.domain.exchange_rates import ExchangeRate
from prorata.domain.periods import Granularity, local_date, time_zone
from prorata.domain.tax import TaxBuyer
from prorata.services.ports import OutboxMessage


class SqlUnitOfWork(
    AccountStore, IdentityStore, OrderStore, PaymentStore, RefundStore, LicenseStore, BillingRunStore, ApiKeyStore,
    EventStore, WebhookStore, CollectionStore, OperatorStore, BackupStore, NoticeStore, ExpressStore, ExemptionStore,
    VatStore, TrialStore, TermsStore, DiscountStore,
):  # fmt: skip
    def __init__(
        self,
        engine: Engine,
        granularity: Granularity,
        seller_time_zone: str = "UTC",
        *,
        entitlements: EntitlementsReader | None = None,
        sellers: SellerVersions | None = None,
    ) -> None:
        """``entitlements`` reads an account's entitlements (``adapters.db.entitlements``, bound to the catalog):
        without it, no ``entitlements.updated`` event is written (tools that only read, benchmarks of the engine).
        ``sellers``: the configured seller, kept with each document issued (rule I2); without it documents keep
        none and name the configured seller when they are read."""
        self.engine = engine
        self.granularity = granularity
        self.seller_time_zone = time_zone(seller_time_zone)
        self.entitlements = entitlements
        self.sellers = sellers
        self._seller_written: int | None = None
        self._connection: Connection | None = None
        self.reset_events()

    @property
    def conn(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("use the unit of work in a with block")
        return self._connection

    def __enter__(self) -> SqlUnitOfWork:
        self._connection = self.engine.connect()
        self._connection.begin()
        self.reset_events()
        self._seller_written = None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        connection = self.conn
        try:
            if kind is None:
                self.flush_events()  # the events are written in the transaction they tell of; failing, it rolls back
                connection.commit()
                if self.sellers is not None and self._seller_written is not None:
                    self.sellers.kept(self._seller_written)
            else:
                connection.rollback()
        finally:
            self._connection = None
            self.reset_events()
            connection.close()

    def issue_year(self, at: datetime) -> int:
        """Rule I2: the year of a number is the year of the issue date as printed, the seller's date."""
        return local_date(at, self.seller_time_zone).year

    def seller_id(self, now: datetime) -> int | None:
        """Rule I2: the kept seller a document issued in this transaction names (None without ``sellers``)."""
        if self.sellers is None:
            return None
        seller_id, written = self.sellers.id_in(self.conn, now)
        if written:
            self._seller_written = seller_id
        return seller_id

    def load_account(self, account_id: int, *, lock: bool) -> Account:
        return load_account(self.conn, account_id, self.granularity, lock=lock)

    def audit(
        self, account_id: int | None, actor: str, action: str, detail: Mapping[str, object], now: datetime
    ) -> None:
        self.conn.execute(
            insert(audit_log).values(
                account_id=account_id, actor=actor, action=action, detail=json.dumps(detail, sort_keys=True), at=now
            )
        )

    def audit_many(
        self, entries: Sequence[tuple[int | None, str, Mapping[str, object]]], actor: str, now: datetime
    ) -> None:
        if entries:
            self.conn.execute(
                insert(audit_log),
                [{"account_id": account_id, "actor": actor, "action": action,
                  "detail": json.dumps(detail, sort_keys=True), "at": now} for account_id, action, detail in entries],
            )  # fmt: skip

    # ------------------------------------------------------------------------------------------- e-mail

    def enqueue_mail(
        self, account_id: int, kind: str, now: datetime, *, invoice_id: int | None = None,
        data: Mapping[str, object] | None = None,
    ) -> None:  # fmt: skip
        outbox.enqueue(self.conn, account_id, kind, now, invoice_id=invoice_id, data=data)

    def claim_mail(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxMessage]:
        return outbox.claim(self.conn, now, lease_seconds, limit)

    def mark_mail_sent(self, message_id: int, now: datetime, data: Mapping[str, object] | None = None) -> None:
        outbox.mark_sent(self.conn, message_id, now, data)

    # ------------------------------------------------------------------------------------------- documents

    def issued_invoice(self, number: str) -> IssuedInvoice | None:
        return load_issued_invoice(self.conn, number)

    def issue_credit_note(self, note: CreditNote, reason: str, now: datetime) -> str:
        return write_credit_note(self.conn, note, reason, now, self.issue_year(now), self.seller_id(now))

    def invoice_document(self, number: str) -> InvoiceDocument | None:
        return load_invoice_document(self.conn, number, self.granularity)

    def exchange_rate(self, currency: str, issued_on: date) -> ExchangeRate:
        return rate_on(self.conn, currency, issued_on)

    # ------------------------------------------------------------------------------------------- tax and contacts

    def tax_buyers(self, account_ids: Sequence[int]) -> dict[int, TaxBuyer]:
        """Rule T1: each account's Sold-To country and VAT number; without a Sold-To contact, the account's country
        (a consumer)."""
        rows = self.conn.execute(
            select(accounts.c.id, accounts.c.country, contacts.c.country, contacts.c.tax_id, accounts.c.tax_exemption)
            .select_from(
                accounts.outerjoin(contacts, and_(contacts.c.account_id == accounts.c.id, contacts.c.kind == "sold_to"))
            )
            .where(accounts.c.id.in_(list(account_ids)))
        )
        return {
            int(account_id): tax_buyer(country, sold_to_country, tax_id, exemption)
            for account_id, country, sold_to_country, tax_id, exemption in rows
        }

    def set_contact(self, account_id: int, kind: str, fields: Mapping[str, str | None]) -> None:
        self.conn.execute(contacts.delete().where(contacts.c.account_id == account_id, contacts.c.kind == kind))
        self.conn.execute(insert(contacts).values(account_id=account_id, kind=kind, **fields))
