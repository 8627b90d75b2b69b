"""What the billing run reads and writes (rules C7, I1, I2, I6, I8, A8): due accounts claimed a batch at a time,
renewals written in a few statements per batch, collection and dunning. A part of ``SqlUnitOfWork``, kept apart
because it is written for thousands of accounts at a time where the rest of the unit of work serves one.

Who holds an account. On PostgreSQL a billing run claims each account it renews twice: a transaction-level advisory
lock keyed by the account id (``pg_try_advisory_xact_lock(id)``, never waited for), then the account row (``FOR
UPDATE``). Another run that cannot take the advisory lock knows a billing run is renewing the account and leaves it
to that run; an account whose advisory lock it takes but whose row is locked is held by something else (an order,
a payment, a customer's renewal on access, an operator's session), which the run waits for, a bounded time. The
single-bigint advisory key space is the billing runs' alone: nothing else in Prorata takes advisory locks (and the
two-int key space does not overlap it). SQLite has one writer at a time: a transaction that began holds every account.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, insert, select, text, type_coerce, update
from sqlalchemy.exc import OperationalError

from prorata.adapters.db import outbox
from prorata.adapters.db.accounts import as_stored, load_accounts, save_many_subscriptions
from prorata.adapters.db.bulk import among, array_text, insert_rows, insert_rows_returning_ids
from prorata.adapters.db.documents import snapshot_parties
from prorata.adapters.db.event_objects import invoice_object
from prorata.adapters.db.invoice_rows import INVOICE_SERIES, line_rows, tax_columns
from prorata.adapters.db.numbering import invoice_number_text, take_invoice_numbers
from prorata.adapters.db.queries import written_invoice_view
from prorata.adapters.db.schema import (
    accounts,
    audit_log,
    credit_ledger,
    invoice_lines,
    invoices,
    orders,
    payments,
    pending_changes,
    subscriptions,
)
from prorata.adapters.db.seal import seal_documents
from prorata.adapters.db.sellers import kept_seller
from prorata.adapters.db.terms_store import terms_of_accounts
from prorata.adapters.db.types import UTCDateTime
from prorata.domain.account import Account
from prorata.domain.payments import ChargeResult
from prorata.domain.periods import Granularity
from prorata.services.ports import AccountClaim, CollectibleInvoice, DueBatch, Renewed

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired


class BillingRunStore:
    """The billing run's part of the unit of work; ``SqlUnitOfWork`` provides the connection and granularity."""

    granularity: Granularity

    # provided by the events part of the unit of work (``EventStore``)
    hold_account: Callable[[int, Account], None]
    hold_object: Callable[[str, int | str, Mapping[str, Any]], None]
    forget_held: Callable[[int | None], None]

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def issue_year(self, at: datetime) -> int:
        raise NotImplementedError

    def seller_id(self, now: datetime) -> int | None:
        raise NotImplementedError

    def _due(self, until: datetime) -> Select[int]:
        return (
            select(subscriptions.c.account_id)
            .where(subscriptions.c.status == "active", subscriptions.c.period_end <= until)
            .group_by(subscriptions.c.account_id)
        )

    def count_accounts_due(self, until: datetime) -> int:
        return int(self.conn.execute(select(func.count()).select_from(self._due(until).subquery())).scalar_one())

    def claim_due_accounts(self, until: datetime, after_id: int, limit: int) -> DueBatch:
        """The next ``limit`` accounts due after ``after_id``, locked and loaded in a few queries. Accounts are not
        waited for here: those another billing run holds are left to it (``taken``), those another transaction
        holds (``held``) or with an order being paid for (``busy``) are for the run to come back to. The accounts
        are read after the locks, so an account renewed a moment ago is seen renewed."""
        due = [
            int(r[0])
            for r in self.conn.execute(
                self._due(until)
                .having(subscriptions.c.account_id > after_id)
                .order_by(subscriptions.c.account_id)
                .limit(limit)
            )
        ]
        if not due:
            return DueBatch(0, {}, (), ())
        ours = self._claim_as_billing_run(due)
        claimed = load_accounts(self.conn, ours, self.granularity, lock=True, skip_locked=True)
        taken = tuple(account_id for account_id in due if account_id not in ours)
        held = tuple(account_id for account_id in ours if account_id not in claimed)
        busy = self._with_pending_orders(list(claimed))
        for account_id in busy:
            del claimed[account_id]
        return DueBatch(due[-1], claimed, busy, taken, held)

    def _claim_as_billing_run(self, account_ids: Sequence[int]) -> list[int]:
        """The accounts this transaction claims as a billing run (see the module's docstring); the others are
        claimed by another run. SQLite: all of them (one writer at a time)."""
        if self.conn.dialect.name != "postgresql":
            return list(account_ids)
        rows = self.conn.execute(
            text("SELECT id FROM unnest(CAST(:ids AS BIGINT[])) AS due(id) WHERE pg_try_advisory_xact_lock(id)"),
            {"ids": array_text(account_ids)},
        )
        return sorted(int(r[0]) for r in rows)

    def _with_pending_orders(self, account_ids: list[int]) -> tuple[int, ...]:
        if not account_ids:
            return ()
        rows = self.conn.execute(
            select(orders.c.account_id)
            .where(among(self.conn, orders.c.account_id, account_ids), orders.c.status == "pending")
            .distinct()
        )
        return tuple(sorted(int(r[0]) for r in rows))

    def renewal_due(self, account_id: int, until: datetime) -> bool:
        found = self.conn.execute(
            select(subscriptions.c.id)
            .where(
                subscriptions.c.account_id == account_id,
                subscriptions.c.status == "active",
                subscriptions.c.period_end <= until,
            )
            .limit(1)
        ).first()
        return found is not None

    def claim_account(self, account_id: int, until: datetime, *, wait: float | None, billing_run: bool) -> AccountClaim:
        if billing_run and not self._claim_as_billing_run([account_id]):
            return AccountClaim("taken")
        if wait is not None and not self.lock_account_within(account_id, wait):
            return AccountClaim("held")
        account = load_accounts(self.conn, [account_id], self.granularity, lock=True).get(account_id)
        if account is None or not any(s.period.end <= until for s in account.subscriptions):
            return AccountClaim("not_due")
        if self._with_pending_orders([account_id]):
            return AccountClaim("busy")
        return AccountClaim("claimed", account)

    def lock_account_within(self, account_id: int, seconds: float) -> bool:
        """PostgreSQL: the row at once when it is free (one statement), else waited for under a ``lock_timeout``
        in a savepoint, so that an expired wait leaves the transaction usable. SQLite: the transaction already
        holds the database's write lock. (An account that does not exist is held by nobody: True.)"""
        query = select(accounts.c.id).where(accounts.c.id == account_id)
        if self.conn.dialect.name != "postgresql":
            return True
        if self.conn.execute(query.with_for_update(skip_locked=True)).first() is not None:
            return True
        limit = f"{max(1, int(seconds * 1000))}ms"  # 0 would mean no limit at all
        previous = self.conn.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
        try:
            with self.conn.begin_nested():
                self.conn.execute(text("SELECT set_config('lock_timeout', :limit, true)"), {"limit": limit})
                self.conn.execute(query.with_for_update())
                self.conn.execute(text("SELECT set_config('lock_timeout', :limit, true)"), {"limit": previous})
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                return False  # the savepoint's rollback undid the setting too
            raise
        return True

    def save_renewals(
        self, renewed: Sequence[Renewed], now: datetime, actor: str = "billing run"
    ) -> list[tuple[str | None, ...]]:
        """Rules C7, I1, I2: a batch of renewals in a few statements whatever its size: the subscriptions in their
        new periods, one invoice per account and billing date where anything is charged (numbered in one take from
        the counter, as late as possible since that row stays locked until the commit), the credit they used and
        added, and an audit entry each, naming ``actor`` (the billing run, or who touched the account)."""
        if not renewed:
            return []
        final = [(r.account_id, r.before, r.renewals[-1].account if r.renewals else r.before) for r in renewed]
        new_ids = save_many_subscriptions(self.conn, final, now)
        for (account_id, _, after), ids in zip(final, new_ids, strict=True):
            self.hold_account(account_id, as_stored(after, ids))  # what the events tell: not read again
        billed = [(r.account_id, quote, ids) for r, ids in zip(renewed, new_ids, strict=True) for quote in r.renewals]
        charged = [item for item in billed if item[1].lines]
        year = self.issue_year(now)
        seller_id = self.seller_id(now) if charged else None  # rule I2: the seller the batch's invoices name
        # rule NT1: an account on terms is invoiced due that many days later, and never charged by collection
        on_terms = terms_of_accounts(self.conn, [account_id for account_id, _, _ in charged])
        first = take_invoice_numbers(self.conn, INVOICE_SERIES, year, len(charged)) if charged else 0
        numbers: dict[int, int] = {}  # position in ``billed`` -> invoice number
        invoice_rows: list[dict[str, object]] = []
        for position, (account_id, quote, _) in enumerate(billed):
            if not quote.lines:
                continue
            numbers[position] = first + len(invoice_rows)
            paid = quote.amount_due == 0
            terms = None if paid else on_terms.get(account_id)
            invoice_rows.append(
                {
                    "account_id": account_id,
                    "order_id": None,
                    "billing_date": quote.at,
                    "series": INVOICE_SERIES,
                    "year": year,
                    "number": numbers[position],
                    "status": "paid" if paid else "open",
                    "currency": quote.currency,
                    "subtotal": quote.subtotal,
                    "tax": quote.tax,
                    "total": quote.total,
                    "credit_applied": quote.credit_used,
                    "amount_due": quote.amount_due,
                    "issued_at": now,
                    "due_at": now if terms is None else now + timedelta(days=terms),
                    "terms_days": terms,
                    "paid_at": now if paid else None,
                    "created_at": now,
                    **tax_columns(quote),
                    **kept_seller(seller_id),
                }
            )
        invoice_ids: list[int] = []
        if invoice_rows:
            invoice_ids = insert_rows_returning_ids(self.conn, invoices, invoice_rows)
            snapshot_parties(self.conn, invoice_ids)  # rule I2
        new_lines: list[dict[str, object]] = []
        ledger_rows: list[dict[str, object]] = []
        audit_rows: list[dict[str, object]] = []
        paid_at_once: list[tuple[int, int]] = []
        ids_by_position = dict(zip(sorted(numbers), invoice_ids, strict=True))
        for position, (account_id, quote, ids) in enumerate(billed):
            invoice_id = ids_by_position.get(position)
            number = None if invoice_id is None else invoice_number_text(INVOICE_SERIES, year, numbers[position])
            detail = {"billing_date": quote.at.isoformat(), "invoice": number, "total": quote.total}
            audit_rows.append(
                {"account_id": account_id, "actor": actor, "action": "renewed",
                 "detail": json.dumps(detail, sort_keys=True), "at": now}
            )  # fmt: skip
            if invoice_id is None:
                continue
            lines = line_rows(invoice_id, quote, ids)
            new_lines.extend(lines)
            written = written_invoice_view(invoice_id, invoice_rows[numbers[position] - first], lines)
            self.hold_object("invoice", written.number, invoice_object(written))
            if quote.amount_due == 0:
                paid_at_once.append((account_id, invoice_id))
            for amount, reason in ((-quote.credit_used, "applied_to_invoice"), (quote.credit_added, "unused_time")):
                if amount:
                    ledger_rows.append(
                        {"account_id": account_id, "amount": amount, "currency": quote.currency, "reason": reason,
                         "invoice_id": invoice_id, "created_at": now}
                    )  # fmt: skip
        for table, rows in ((invoice_lines, new_lines), (credit_ledger, ledger_rows), (audit_log, audit_rows)):
            insert_rows(self.conn, table, rows)
        seal_documents(self.conn, invoice_ids)  # rule I2: the batch's invoices as issued, in one statement
        # rule I4: a renewal paid entirely from the credit balance is paid like any other, and says so
        outbox.enqueue_receipts(self.conn, paid_at_once, now)
        answers: list[tuple[str | None, ...]] = []
        position = 0
        for r in renewed:
            answers.append(
                tuple(
                    invoice_number_text(INVOICE_SERIES, year, numbers[p]) if p in numbers else None
                    for p in range(position, position + len(r.renewals))
                )
            )
            position += len(r.renewals)
        return answers

    def collectible_invoices(self) -> list[CollectibleInvoice]:
        """The open invoices with something due, each with the attempts the run has made of it. The dunning schedule
        counts the run's own attempts (keyed ``invoice-<id>-attempt-<n>``), failed or waiting for the customer to
        confirm them (3-D Secure), not a customer's payments that failed
        (keyed ``<request key>:invoice-<id>``): a customer trying another card does not bring the lock closer,
        nor take the account out of the schedule. An attempt whose primary was declined and whose backup method was
        then charged (rule BM1, keyed ``invoice-<id>-attempt-<n>-backup``) is one attempt; its backup's charge
        waiting for the customer is the attempt waiting."""
        failed = (
            select(
                payments.c.invoice_id,
                func.count(case((payments.c.backup.is_(False), 1))).label("failed"),
                type_coerce(
                    func.max(case((payments.c.status == "action_required", payments.c.created_at))), UTCDateTime
                ).label("waiting"),
            )
            .where(
                payments.c.status.in_(("failed", "action_required")),
                payments.c.idempotency_key.like("invoice-%-attempt-%"),
                payments.c.idempotency_key.not_like("%:%"),
            )
            .group_by(payments.c.invoice_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(
                invoices.c.id,
                invoices.c.account_id,
                invoices.c.amount_due,
                invoices.c.currency,
                invoices.c.issued_at,
                func.coalesce(failed.c.failed, 0),
                failed.c.waiting,
            )
            .select_from(invoices.outerjoin(failed, failed.c.invoice_id == invoices.c.id))
            # rule NT1: an invoice issued on terms is paid by bank transfer; no card is ever charged for it
            .where(invoices.c.status == "open", invoices.c.amount_due > 0, invoices.c.terms_days.is_(None))
            .order_by(invoices.c.id)
        )
        return [CollectibleInvoice(int(r[0]), int(r[1]), int(r[2]), r[3], r[4], int(r[5]), r[6]) for r in rows]

    def record_failed_attempt(self, invoice: CollectibleInvoice, key: str, result: ChargeResult, now: datetime) -> None:
        """An attempt that could not reach a gateway (no payment method) counts like a declined one (rule I8)."""
        self.conn.execute(
            insert(payments).values(
                account_id=invoice.account_id,
                invoice_id=invoice.id,
                amount=invoice.amount_due,
                currency=invoice.currency,
                status="failed",
                gateway="none",
                gateway_reference=result.reference,
                idempotency_key=key,
                failure_code=result.failure_code,
                created_at=now,
                settled_at=now,
            )
        )

    def mark_overdue(self, account_id: int, now: datetime) -> bool:
        changed = self.conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.status == "active")
            .values(status="overdue", overdue_since=now)
        )
        return bool(changed.rowcount)

    def active_accounts(self, account_ids: Collection[int]) -> set[int]:
        wanted = sorted(set(account_ids))
        if not wanted:
            return set()
        found = self.conn.execute(
            select(accounts.c.id).where(among(self.conn, accounts.c.id, wanted), accounts.c.status == "active")
        )
        return {int(account_id) for account_id in found.scalars()}

    def overdue_accounts(self) -> list[tuple[int, datetime]]:
        rows = self.conn.execute(
            select(accounts.c.id, accounts.c.overdue_since)
            .where(accounts.c.status == "overdue")
            .order_by(accounts.c.id)
        )
        return [(int(r[0]), r[1]) for r in rows]

    def overdue_since(self, account_id: int) -> datetime | None:
        row = self.conn.execute(
            select(accounts.c.overdue_since).where(accounts.c.id == account_id, accounts.c.status == "overdue")
        ).first()
        return row[0] if row is not None else None

    def cancel_account(self, account_id: int, now: datetime) -> int:
        """Rule I8: once overdue for the dunning schedule's days every subscription ends; the open invoices stay open
        (they are owed)."""
        active = select(subscriptions.c.id).where(
            subscriptions.c.account_id == account_id, subscriptions.c.status == "active"
        )
        ids = [int(r[0]) for r in self.conn.execute(active)]
        self.forget_held(account_id)
        if ids:
            self.conn.execute(pending_changes.delete().where(pending_changes.c.subscription_id.in_(ids)))
            self.conn.execute(
                update(subscriptions).where(subscriptions.c.id.in_(ids)).values(status="ended", ended_at=now)
            )
        self.conn.execute(update(accounts).where(accounts.c.id == account_id).values(status="cancelled"))
        return len(ids)

    def clear_overdue_if_paid(self, account_id: int) -> bool:
        """Rule I6: paying the last open invoice re-enables the account at once."""
        still_open = self.conn.execute(
            select(invoices.c.id)
            .where(and_(invoices.c.account_id == account_id, invoices.c.status == "open", invoices.c.amount_due > 0))
            .limit(1)
        ).first()
        if still_open is not None:
            return False
        changed = self.conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.status == "overdue")
            .values(status="active", overdue_since=None)
        )
        return bool(changed.rowcount)
