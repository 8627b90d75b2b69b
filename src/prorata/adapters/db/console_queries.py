"""What the operator console reads besides the views the API shares (``queries.py``): the account list with its
search and filters, an account's credit ledger, its payments with every attempt, and its audit trail.

The account list pages by keyset (the newest accounts first, the next page after the last id shown), never by
offset, so the hundredth page costs what the first does at 100,000 accounts: one statement for the page's accounts
and one for their plans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, literal, or_, select

from prorata.adapters.db.bulk import among
from prorata.adapters.db.documents import parse_number
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.schema import accounts, audit_log, contacts, credit_ledger, invoices, payments, subscriptions
from prorata.adapters.db.schema import users as users_table

PAGE_SIZE = 50
STATUSES = ("active", "overdue", "cancelled")


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    code: str
    name: str
    status: str
    currency: str
    country: str
    managed_by_sales: bool
    created_at: datetime
    overdue_since: datetime | None
    plan: str | None = None  # the product code of its plan, when it has one
    licenses: int = 0


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """The list's search and filters; empty values filter nothing."""

    text: str = ""  # an account code, part of the company's name, a user's or contact's e-mail, or a tax id (NIP)
    plan: str = ""  # a plan's product code
    status: str = ""  # active, overdue or cancelled
    currency: str = ""
    overdue: bool = False  # only accounts with an open invoice past its due date


@dataclass(frozen=True, slots=True)
class AccountPage:
    rows: tuple[AccountRow, ...]
    next_after: int | None  # the id to continue after; None on the last page


_TAX_ID = re.compile(r"[^0-9A-Z]")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _normalised_tax_id(column: Any) -> Any:
    return func.replace(func.replace(func.replace(func.upper(column), " ", ""), "-", ""), ".", "")


def _matches(text: str) -> Any:
    """Rows whose code is the text, whose name holds it, one of whose users or contacts has it as e-mail, or whose
    Sold-To or Bill-To tax id is it (with or without the country's two letters, spaces and dashes)."""
    wanted = text.strip()
    email = wanted.lower()
    conditions = [func.lower(accounts.c.code) == email, accounts.c.name.ilike(_like(wanted), escape="\\")]
    if "@" in email:
        conditions.append(exists().where(users_table.c.account_id == accounts.c.id, users_table.c.email == email))
        conditions.append(exists().where(contacts.c.account_id == accounts.c.id, func.lower(contacts.c.email) == email))
    tax_id = _TAX_ID.sub("", wanted.upper())
    if len(tax_id) >= 5:
        stored = _normalised_tax_id(contacts.c.tax_id)
        same = [stored == tax_id]
        if tax_id[:2].isalpha():
            same.append(stored == tax_id[2:])
        else:
            same.append(stored.like(literal("__") + tax_id))
        conditions.append(exists().where(contacts.c.account_id == accounts.c.id, or_(*same)))
    return or_(*conditions)


def search_accounts(conn: Connection, wanted: AccountFilter, plans: Collection[str], now: datetime, *,
                    after: int | None = None, limit: int = PAGE_SIZE) -> AccountPage:  # fmt: skip
    """One page of the accounts that match, newest first; ``plans`` are the catalog's plan codes."""
    query = select(accounts.c.id, accounts.c.code, accounts.c.name, accounts.c.status, accounts.c.currency,
                   accounts.c.country, accounts.c.managed_by_sales, accounts.c.created_at,
                   accounts.c.overdue_since)  # fmt: skip
    if wanted.text.strip():
        query = query.where(_matches(wanted.text))
    if wanted.status:
        query = query.where(accounts.c.status == wanted.status)
    if wanted.currency:
        query = query.where(accounts.c.currency == wanted.currency.upper())
    if wanted.plan:
        query = query.where(exists().where(subscriptions.c.account_id == accounts.c.id,
                                           subscriptions.c.product == wanted.plan,
                                           subscriptions.c.status == "active"))  # fmt: skip
    if wanted.overdue:
        query = query.where(exists().where(invoices.c.account_id == accounts.c.id, invoices.c.status == "open",
                                           invoices.c.due_at < now))  # fmt: skip
    if after is not None:
        query = query.where(accounts.c.id < after)
    rows = conn.execute(query.order_by(accounts.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    held = _plans(conn, [int(r[0]) for r in rows], plans)
    found = tuple(
        AccountRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], *held.get(int(r[0]), (None, 0)))
        for r in rows
    )
    return AccountPage(found, int(rows[-1][0]) if more and rows else None)


def _plans(conn: Connection, ids: Sequence[int], plans: Collection[str]) -> dict[int, tuple[str, int]]:
    if not ids or not plans:
        return {}
    rows = conn.execute(
        select(subscriptions.c.account_id, subscriptions.c.product, subscriptions.c.quantity).where(
            among(conn, subscriptions.c.account_id, ids), subscriptions.c.status == "active",
            subscriptions.c.product.in_(sorted(plans)),
        )
    ).all()  # fmt: skip
    return {int(r[0]): (r[1], int(r[2])) for r in rows}


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    at: datetime
    amount: int  # signed minor units: credit in, used out
    currency: str
    reason: str
    invoice_number: str | None
    balance: int  # the balance after this entry


def ledger(conn: Connection, account_id: int) -> list[LedgerEntry]:
    """The account's credit ledger, newest first, each entry with the balance it left."""
    rows = conn.execute(
        select(credit_ledger.c.created_at, credit_ledger.c.amount, credit_ledger.c.currency, credit_ledger.c.reason,
               invoices.c.series, invoices.c.year, invoices.c.number)
        .outerjoin(invoices, invoices.c.id == credit_ledger.c.invoice_id)
        .where(credit_ledger.c.account_id == account_id)
        .order_by(credit_ledger.c.id)
    ).all()  # fmt: skip
    entries: list[LedgerEntry] = []
    balance = 0
    for r in rows:
        balance += int(r[1])
        number = invoice_number_text(r[4], r[5], r[6]) if r[6] is not None else None
        entries.append(LedgerEntry(r[0], int(r[1]), r[2], r[3], number, balance))
    return entries[::-1]


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    invoice_number: str
    amount: int
    currency: str
    status: str
    attempt: int
    gateway: str
    failure_code: str | None
    created_at: datetime
    settled_at: datetime | None
    backup: bool = False  # rule BM1: charged to the backup method after the default one was declined


def payment_rows(conn: Connection, account_id: int) -> list[PaymentRow]:
    """Every payment attempt of the account, newest first: one row per attempt, failed ones included (an attempt
    whose default method was declined and whose backup was charged is two rows, rule BM1)."""
    rows = conn.execute(
        select(payments.c.id, invoices.c.series, invoices.c.year, invoices.c.number, payments.c.amount,
               payments.c.currency, payments.c.status, payments.c.attempt, payments.c.gateway,
               payments.c.failure_code, payments.c.created_at, payments.c.settled_at, payments.c.backup)
        .join(invoices, invoices.c.id == payments.c.invoice_id)
        .where(payments.c.account_id == account_id)
        .order_by(payments.c.id.desc())
    ).all()  # fmt: skip
    return [PaymentRow(int(r[0]), invoice_number_text(r[1], r[2], r[3]), int(r[4]), r[5], r[6], int(r[7]), r[8],
                       r[9], r[10], r[11], bool(r[12])) for r in rows]  # fmt: skip


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


def audit_trail(conn: Connection, account_id: int, limit: int = 200) -> list[AuditEntry]:
    """The account's audit trail, newest first, as a timeline."""
    rows = conn.execute(
        select(audit_log.c.at, audit_log.c.actor, audit_log.c.action, audit_log.c.detail)
        .where(audit_log.c.account_id == account_id)
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    ).all()
    return [AuditEntry(r[0], r[1], r[2], _detail(r[3])) for r in rows]


def _detail(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def overdue_total(conn: Connection, account_id: int, now: datetime) -> int:
    """What the account owes on invoices past their due date."""
    found = conn.execute(
        select(func.coalesce(func.sum(invoices.c.amount_due), 0)).where(
            and_(invoices.c.account_id == account_id, invoices.c.status == "open", invoices.c.due_at < now)
        )
    ).scalar_one()
    return int(found)


@dataclass(frozen=True, slots=True)
class ProductUse:
    """Where a catalog product is used now: the subscriptions holding it and their accounts and quantity."""

    product: str
    subscriptions: int
    accounts: int
    quantity: int


def product_use(conn: Connection) -> dict[str, ProductUse]:
    """Every product held by an active subscription, with how much of it (one statement, grouped)."""
    rows = conn.execute(
        select(subscriptions.c.product, func.count(), func.count(subscriptions.c.account_id.distinct()),
               func.coalesce(func.sum(subscriptions.c.quantity), 0))
        .where(subscriptions.c.status == "active")
        .group_by(subscriptions.c.product)
    ).all()  # fmt: skip
    return {r[0]: ProductUse(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows}


def invoice_id_by_number(conn: Connection, account_id: int, number: str) -> int | None:
    """The id of the account's issued document of this number (None: not a number, or not this account's)."""
    parsed = parse_number(number)
    if parsed is None:
        return None
    series, year, serial = parsed
    found = conn.execute(
        select(invoices.c.id).where(invoices.c.account_id == account_id, invoices.c.series == series,
                                    invoices.c.year == year, invoices.c.number == serial)
    ).scalar_one_or_none()  # fmt: skip
    return None if found is None else int(found)
