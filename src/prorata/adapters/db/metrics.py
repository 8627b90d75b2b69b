"""The operator dashboard's figures: computed from the books by a refresh, read by the console in a few statements.

``domain/metrics.py`` defines every figure; this module feeds it and keeps what it computed.

- ``refresh_metrics(engine, catalog, now=...)`` (``prorata metrics refresh``; the worker runs it
  periodically and ``prorata bill`` after each billing run): streams the issued invoices' lines of every account,
  hands each account's subscriptions to the domain, sums the money of every month with one ``GROUP BY`` each, and
  replaces the rows of ``metric_months`` and ``metric_products`` (and ``metric_refreshes``: when, how long) in one
  transaction. MRR history needs every line: it is computed whole, never patched.
- ``read_dashboard(engine, currency=..., first_month=..., last_month=..., now=..., dunning=...)``: what the console
  shows, a
  ``Dashboard``: the kept figures of the months asked for, MRR by product at the range's end, and, read live, the
  dunning funnel and the overdue accounts (partial indexes on the open invoices and the overdue accounts keep these
  to the few rows concerned). At 1,000,000 invoices it reads in 4 ms (median; ``bench/dashboard.py``), where the
  money sums alone, read live, took 0.8 s and MRR needs every line: so the history is kept, with its instant.

Every amount is per currency, in minor units; nothing here adds two currencies.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, func, insert, literal, select, text

from prorata.adapters.db.database import READ_ONLY
from prorata.adapters.db.schema import (
    accounts,
    credit_ledger,
    discount_code_amounts,
    discount_codes,
    invoice_lines,
    invoices,
    metric_months,
    metric_products,
    metric_refreshes,
    payments,
    refunds,
    subscriptions,
)
from prorata.domain import metrics as m
from prorata.domain.catalog import Catalog, ProductKind
from prorata.domain.dunning import DunningPolicy
from prorata.domain.money import check_currency

REFRESH = "dashboard"
STREAM_ROWS = 20_000  # lines fetched at a time while refreshing: the refresh's memory stays one account's worth


# ------------------------------------------------------------------------------------------------ what is read


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One currency's figures for one month. Amounts are minor units of ``currency``; "at the month's end" is during
    its last moment (the month in progress: when the figures were computed). ``domain/metrics.py`` defines each."""

    currency: str
    month: date  # the first day of the month (UTC)
    complete: bool  # False for the month that was in progress when the figures were computed
    mrr: int  # MRR at the month's end
    new: int  # MRR movements of the month, each positive: new customers' MRR
    reactivation: int  # MRR of customers who had churned (or been voided) and came back
    expansion: int  # MRR gained by customers who kept paying: upgrades, licenses, add-ons
    contraction: int  # MRR lost by customers who kept paying: reductions, downgrades
    churn: int  # MRR of customers who stopped paying (cancelled, ended by dunning)
    customers: int  # accounts with MRR above 0 at the month's end
    new_customers: int
    reactivated_customers: int
    churned_customers: int
    subscriptions: int  # subscriptions with MRR above 0 at the month's end
    licenses: int  # licenses of plans at the month's end (add-ons' seats: ``ProductRow.quantity``)
    invoiced: int  # net of credit notes, tax excluded, by issue date
    tax: int  # the tax of the same documents
    collected: int  # payments received in the month, tax included (before refunds)
    refunded: int  # refunds sent back to cards in the month
    failed_payments: int  # payment attempts that failed in the month
    failed_amount: int  # what they tried to take
    cancelled_accounts: int  # accounts ended by dunning in the month (rule I8)
    credit_balance: int  # credit the accounts held at the month's end

    @property
    def net_new_mrr(self) -> int:
        """new + reactivation + expansion - contraction - churn = this month's MRR less the month before's."""
        return m.net_new_mrr(self.new, self.reactivation, self.expansion, self.contraction, self.churn)

    @property
    def net_collected(self) -> int:
        """Collected less refunded (``domain.metrics.collected``)."""
        return m.collected(self.collected, self.refunded)


@dataclass(frozen=True, slots=True)
class ProductRow:
    """MRR of one product (plan or add-on) in one currency at the end of ``Dashboard.products_month``."""

    currency: str
    product: str  # the catalog's product code
    mrr: int
    subscriptions: int
    quantity: int  # licenses of a plan, seats (or units) of an add-on


@dataclass(frozen=True, slots=True)
class FunnelStage:
    """Open invoices (amount due above 0) of one currency whose payment attempts failed ``failed_attempts`` times,
    now: 0 (first attempt to come) ... the dunning schedule's attempts (every attempt failed: the account is
    overdue, rule I8)."""

    currency: str
    failed_attempts: int
    invoices: int
    amount_due: int


@dataclass(frozen=True, slots=True)
class OverdueTotal:
    """Overdue accounts of one currency now, and what their open invoices still owe."""

    currency: str
    accounts: int
    amount_due: int


@dataclass(frozen=True, slots=True)
class OverdueAccount:
    """One overdue account (rule I6), now."""

    account_id: int
    code: str
    name: str
    currency: str
    overdue_since: datetime
    cancels_at: datetime  # when dunning ends its subscriptions unless it pays (rule I8, the installation's schedule)
    open_invoices: int
    amount_due: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the operator console's dashboard shows, for one range of months and one currency or all.

    Nothing here adds two currencies: every row names its currency; a page shows one currency at a time (the
    selector lists ``currencies``) or a table per currency. Amounts are integer minor units of their row's
    currency (format them with ``domain.money.Money``). ``definitions`` is the legend, each figure's definition.

    Two kinds of figures: those kept by the last refresh, as the books stood at ``computed_at`` (``months``,
    ``products``; None and empty when no refresh has run: show "run `prorata metrics refresh`"), and those read live at
    ``read_at`` (``funnel``, ``overdue``, ``overdue_accounts``).
    """

    currency: str | None  # the currency asked for; None: every currency
    currencies: tuple[str, ...]  # every currency with figures, sorted (the selector's choices)
    first_month: date
    last_month: date
    months: tuple[MonthRow, ...]  # by currency, then month; months after ``computed_at``'s are not there
    products_month: date | None  # the month whose end ``products`` is taken at: the range's last measured month
    products: tuple[ProductRow, ...]  # by currency, then MRR (largest first)
    funnel: tuple[FunnelStage, ...]  # by currency, then failed attempts
    overdue: tuple[OverdueTotal, ...]  # by currency
    overdue_accounts: tuple[OverdueAccount, ...]  # the longest overdue first, at most ``overdue_limit``
    computed_at: datetime | None  # when the kept figures were computed
    refresh_milliseconds: int | None  # how long that refresh took
    read_at: datetime  # when the live figures were read
    definitions: Mapping[str, str] = field(default_factory=lambda: dict(m.DEFINITIONS))

    def series(self, currency: str) -> tuple[MonthRow, ...]:
        """The months of one currency, oldest first."""
        return tuple(row for row in self.months if row.currency == currency)


_FIGURES = [f.name for f in fields(MonthRow) if f.name not in ("currency", "month", "complete")]


# ------------------------------------------------------------------------------------------------ reading


def read_dashboard(
    source: Engine | Connection,
    *,
    currency: str | None,
    first_month: date,
    last_month: date,
    now: datetime,
    dunning: DunningPolicy,
    overdue_limit: int = 20,
) -> Dashboard:
    """The dashboard for the months ``first_month`` to ``last_month`` (any day of each; at most 240 months) and one
    ``currency`` (None: all); the funnel's stages and the cancellation dates follow ``dunning`` (rule I8). Bad input
    is refused with a ``ProrataError`` naming the field (rule X4)."""
    first, last = m.check_months(first_month, last_month)
    if currency is not None:
        currency = check_currency(currency.strip().upper() if isinstance(currency, str) else currency)
    if isinstance(source, Engine):
        with source.connect().execution_options(**{READ_ONLY: True}) as conn, conn.begin():
            return _read(conn, currency, first, last, now, overdue_limit, dunning)
    return _read(source, currency, first, last, now, overdue_limit, dunning)


def _read(conn: Connection, currency: str | None, first: date, last: date, now: datetime, limit: int,
          dunning: DunningPolicy) -> Dashboard:  # fmt: skip
    refresh = conn.execute(select(metric_refreshes).where(metric_refreshes.c.name == REFRESH)).mappings().first()
    computed_at = refresh["computed_at"] if refresh else None
    only = (lambda column: column == currency) if currency is not None else (lambda column: literal(True))
    rows = conn.execute(
        select(metric_months)
        .where(metric_months.c.month.between(first, last), only(metric_months.c.currency))
        .order_by(metric_months.c.currency, metric_months.c.month)
    ).mappings()
    in_progress = m.month_of(computed_at) if computed_at is not None else None
    months = tuple(
        MonthRow(r["currency"], r["month"], r["month"] != in_progress, *(int(r[name]) for name in _FIGURES))
        for r in rows
    )
    measured = [row.month for row in months]
    products_month = max(measured) if measured else None
    products: tuple[ProductRow, ...] = ()
    if products_month is not None:
        found = conn.execute(
            select(metric_products)
            .where(metric_products.c.month == products_month, only(metric_products.c.currency))
            .order_by(metric_products.c.currency, metric_products.c.mrr.desc(), metric_products.c.product)
        )
        products = tuple(ProductRow(r.currency, r.product, r.mrr, r.subscriptions, r.quantity) for r in found)
    funnel = _funnel(conn, currency, dunning)
    overdue, overdue_accounts = _overdue(conn, currency, max(0, min(int(limit), 1000)), dunning)
    known = {row.currency for row in months} | {s.currency for s in funnel} | {o.currency for o in overdue}
    if currency is None:
        known |= set(conn.execute(select(metric_months.c.currency).distinct()).scalars())
    return Dashboard(
        currency, tuple(sorted(known)), first, last, months, products_month, products, funnel, overdue,
        overdue_accounts, computed_at, refresh["milliseconds"] if refresh else None, now,
    )  # fmt: skip


def _failed_attempts() -> ColumnElement[int]:
    return (
        select(func.count())
        # rule BM1: an attempt's backup charge after its declined primary is not another failed attempt
        .where(
            payments.c.invoice_id == invoices.c.id,
            payments.c.status.in_(m.FAILED_STATUSES),
            payments.c.backup.is_(False),
        )
        .scalar_subquery()
    )


def _funnel(conn: Connection, currency: str | None, dunning: DunningPolicy) -> tuple[FunnelStage, ...]:
    """``domain.metrics.dunning_stage`` of every open invoice, now, through the open invoices' partial index."""
    open_invoices = select(invoices.c.currency, invoices.c.amount_due, _failed_attempts().label("failed")).where(
        invoices.c.status == "open", invoices.c.amount_due > 0
    )
    if currency is not None:
        open_invoices = open_invoices.where(invoices.c.currency == currency)
    inner = open_invoices.subquery()
    grouped = conn.execute(
        select(inner.c.currency, inner.c.failed, func.count(), func.sum(inner.c.amount_due)).group_by(
            inner.c.currency, inner.c.failed
        )
    )
    stages: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for row_currency, failed, count, amount in grouped:
        entry = stages[(row_currency, m.dunning_stage(int(failed), dunning))]
        entry[0] += int(count)
        entry[1] += int(amount)
    return tuple(FunnelStage(c, stage, n, amount) for (c, stage), (n, amount) in sorted(stages.items()))


def _owed() -> ColumnElement[int]:
    return (
        select(func.coalesce(func.sum(invoices.c.amount_due), 0))
        .where(invoices.c.account_id == accounts.c.id, invoices.c.status == "open")
        .scalar_subquery()
    )


def _open_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .where(invoices.c.account_id == accounts.c.id, invoices.c.status == "open", invoices.c.amount_due > 0)
        .scalar_subquery()
    )


def _overdue(conn: Connection, currency: str | None, limit: int, dunning: DunningPolicy) -> tuple[
        tuple[OverdueTotal, ...], tuple[OverdueAccount, ...]]:  # fmt: skip
    """The overdue accounts now, through their partial index: totals per currency, and the longest overdue."""
    where = [accounts.c.status == "overdue"]
    if currency is not None:
        where.append(accounts.c.currency == currency)
    inner = select(accounts.c.currency, _owed().label("owed")).where(*where).subquery()
    totals = tuple(
        OverdueTotal(c, int(n), int(owed))
        for c, n, owed in conn.execute(
            select(inner.c.currency, func.count(), func.coalesce(func.sum(inner.c.owed), 0))
            .group_by(inner.c.currency)
            .order_by(inner.c.currency)
        )
    )
    listed = conn.execute(
        select(accounts.c.id, accounts.c.code, accounts.c.name, accounts.c.currency, accounts.c.overdue_since,
               _open_count().label("open_invoices"), _owed().label("owed"))
        .where(*where, accounts.c.overdue_since.is_not(None))
        .order_by(accounts.c.overdue_since, accounts.c.id)
        .limit(limit)
    )  # fmt: skip
    return totals, tuple(
        OverdueAccount(int(r.id), r.code, r.name, r.currency, r.overdue_since, dunning.cancels_at(r.overdue_since),
                       int(r.open_invoices), int(r.owed))
        for r in listed
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------ refreshing


@dataclass(frozen=True, slots=True)
class RefreshReport:
    computed_at: datetime
    milliseconds: int
    first_month: date | None
    last_month: date | None
    accounts: int  # accounts with recurring lines
    lines: int  # lines read
    rows: int  # month rows written


def _month_key(conn: Connection, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of an instant, in UTC, in each database's words (PostgreSQL sessions are in UTC, ``database.py``;
    SQLite holds instants as UTC text)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7)


def _month_of_key(key: str) -> date:
    return date(int(key[:4]), int(key[5:7]), 1)


def refresh_metrics(engine: Engine, catalog: Catalog, *, now: datetime) -> RefreshReport:
    """Compute every kept figure from the books as they stand at ``now`` and replace the kept ones with them.

    The ``catalog`` says which products are plans (their licenses are counted) and which are one-month products
    (rule A8: not recurring, never MRR); a product it no longer holds counts as a recurring add-on. Read in one
    snapshot (PostgreSQL: REPEATABLE READ), written in one transaction."""
    plans = frozenset(code for code, product in catalog.products.items() if product.is_plan)
    one_time = frozenset(code for code, p in catalog.products.items() if p.kind is ProductKind.ONE_TIME_MONTH)
    started = time.perf_counter()
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as conn, conn.begin():
        first = _first_month(conn)
        months = m.months_from(first, m.month_of(now)) if first is not None else []
        at = m.instants(months, now)
        rollup = m.Rollup(at)
        accounts_seen, lines = _feed(conn, rollup, plans, one_time)
        money = _money(conn, months, now)
    figures: dict[tuple[str, date], dict[str, int]] = {}
    currencies = {c for c, _ in rollup.figures} | {c for c, _ in money}
    measured = months[: len(at) - 1]
    for currency in currencies:
        for index, month in enumerate(measured):
            row = dict.fromkeys(_FIGURES, 0)
            kept = rollup.figures.get((currency, index))
            if kept is not None:
                row.update({f.name: getattr(kept, f.name) for f in fields(kept)})
            row.update(money.get((currency, month), {}))
            figures[(currency, month)] = row
    product_rows = [
        {"currency": currency, "month": measured[index], "product": product, "mrr": mrr, "subscriptions": subs,
         "quantity": quantity}
        for (currency, index, product), (mrr, subs, quantity) in sorted(rollup.products.items())
    ]  # fmt: skip
    month_rows = [{"currency": c, "month": month, **row} for (c, month), row in sorted(figures.items())]
    milliseconds = round((time.perf_counter() - started) * 1000)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # two workers refreshing at once: the second waits, then replaces what the first wrote (its DELETE, a
            # statement begun after the wait, sees those rows), instead of inserting beside them (SQLite has one
            # writer at a time anyway)
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('prorata.metrics.refresh'))"))
        conn.execute(delete(metric_products))
        conn.execute(delete(metric_months))
        conn.execute(delete(metric_refreshes).where(metric_refreshes.c.name == REFRESH))
        for chunk in _chunks(month_rows):
            conn.execute(insert(metric_months), chunk)
        for chunk in _chunks(product_rows):
            conn.execute(insert(metric_products), chunk)
        conn.execute(insert(metric_refreshes).values(
            name=REFRESH, computed_at=now, milliseconds=milliseconds, first_month=measured[0] if measured else None,
            last_month=measured[-1] if measured else None))  # fmt: skip
    return RefreshReport(now, milliseconds, measured[0] if measured else None, measured[-1] if measured else None,
                         accounts_seen, lines, len(month_rows))  # fmt: skip


def _chunks(rows: Sequence[dict[str, Any]], size: int = 1000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


def _recurring() -> list[ColumnElement[bool]]:
    """The lines that make MRR: of issued invoices (not credit notes), not void (``domain.metrics``)."""
    return [invoices.c.series == m.INVOICE_SERIES, invoices.c.status.in_(m.RECURRING_STATUSES),
            invoice_lines.c.subscription_id.is_not(None)]  # fmt: skip


def _first_month(conn: Connection) -> date | None:
    """The month of the earliest service period or issue date in the books."""
    line_start = conn.execute(
        select(func.min(invoice_lines.c.period_start)).select_from(
            invoice_lines.join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
        ).where(*_recurring())
    ).scalar_one()  # fmt: skip
    issued = conn.execute(select(func.min(invoices.c.issued_at))).scalar_one()
    found = [value for value in (line_start, issued) if value is not None]
    return m.month_of(min(found)) if found else None


def _discount_terms(conn: Connection) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Rule DC2: the terms of every discount code, read once (a code's terms never change once created), so that the
    MRR of a discounted subscription is net of them (``domain.metrics``): ``{code: percent}`` and ``{(code,
    currency): fixed amount off}``."""
    percents = {
        str(code): int(percent)
        for code, percent in conn.execute(
            select(discount_codes.c.code, discount_codes.c.percent).where(discount_codes.c.percent.is_not(None))
        )
    }
    amounts = {
        (str(code), str(currency)): int(amount)
        for code, currency, amount in conn.execute(
            select(discount_codes.c.code, discount_code_amounts.c.currency, discount_code_amounts.c.amount).join(
                discount_code_amounts, discount_code_amounts.c.code_id == discount_codes.c.id
            )
        )
    }
    return percents, amounts


def _feed(conn: Connection, rollup: m.Rollup, plans: frozenset[str], one_time: frozenset[str]) -> tuple[int, int]:
    """Every recurring line, an account at a time, to ``domain.metrics``: the subscriptions' blocks, the account's
    series, added to ``rollup``. Returns (accounts, lines)."""
    percents, amounts = _discount_terms(conn)
    query = (
        select(invoices.c.account_id, invoices.c.currency, invoice_lines.c.subscription_id, invoice_lines.c.kind,
               invoice_lines.c.product, invoice_lines.c.quantity, invoice_lines.c.unit_amount,
               invoice_lines.c.period_start, invoice_lines.c.period_end, invoice_lines.c.whole_start,
               invoice_lines.c.whole_end, subscriptions.c.interval, subscriptions.c.ended_at,
               invoice_lines.c.discount_code)
        .select_from(invoice_lines.join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
                     .join(subscriptions, subscriptions.c.id == invoice_lines.c.subscription_id))
        .where(*_recurring())
        .order_by(invoices.c.account_id, invoice_lines.c.subscription_id, invoices.c.id, invoice_lines.c.position)
    )  # fmt: skip
    if one_time:
        query = query.where(invoice_lines.c.product.not_in(sorted(one_time)))
    at = rollup.at
    accounts_seen = lines = 0
    account: int | None = None
    currency = ""
    subscription: int | None = None
    ended: datetime | None = None
    held: list[m.RecurringLine] = []
    blocks: list[list[m.Block]] = []
    result = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(query)
    for (account_id, row_currency, sub_id, kind, product, quantity, unit, start, end, whole_start, whole_end,
         interval, ended_at, code) in result:  # fmt: skip
        lines += 1
        if sub_id != subscription or account_id != account:
            if held:
                blocks.append(m.recurring_blocks(held, ended))
                held = []
            subscription, ended = sub_id, ended_at
        if account_id != account:
            if account is not None:
                rollup.add(m.account_series(currency, blocks, at, plans))
                accounts_seen += 1
            account, currency, blocks = account_id, row_currency, []
        months = m.interval_months(whole_start, whole_end, 12 if interval == "year" else 1)
        if code is None:
            held.append(m.RecurringLine(kind, product, quantity, unit, start, end, months))
        else:  # rule DC2: a discount line, with its code's terms in the invoice's currency
            percent = percents.get(code)
            off = amounts.get((code, row_currency)) if percent is None else None
            held.append(m.RecurringLine(kind, product, quantity, unit, start, end, months, percent, off))
    if held:
        blocks.append(m.recurring_blocks(held, ended))
    if account is not None:
        rollup.add(m.account_series(currency, blocks, at, plans))
        accounts_seen += 1
    return accounts_seen, lines


def _money(conn: Connection, months: Sequence[date], now: datetime) -> dict[tuple[str, date], dict[str, int]]:
    """The money figures of every currency and month: one GROUP BY each over the documents, payments, refunds,
    failed attempts, the credit ledger and the accounts dunning cancelled."""
    out: dict[tuple[str, date], dict[str, int]] = defaultdict(dict)
    covered = set(months)

    def add(currency: str, key: str | date, name: str, amount: int) -> None:
        month = key if isinstance(key, date) else _month_of_key(key)
        if month in covered:
            entry = out[(currency, month)]
            entry[name] = entry.get(name, 0) + int(amount)

    issued = _month_key(conn, invoices.c.issued_at)
    documents: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for currency, key, series, subtotal, tax in conn.execute(
        select(invoices.c.currency, issued, invoices.c.series, func.sum(invoices.c.subtotal), func.sum(invoices.c.tax))
        .where(invoices.c.status.in_(m.ISSUED_STATUSES), invoices.c.issued_at.is_not(None))
        .group_by(invoices.c.currency, issued, invoices.c.series)
    ):  # fmt: skip
        part = "credit_notes" if series == m.CREDIT_NOTE_SERIES else "invoices"
        documents[(currency, key)][part] += int(subtotal)
        documents[(currency, key)]["tax"] += int(tax)
    for (currency, key), parts in documents.items():
        add(currency, key, "invoiced", m.invoiced(parts["invoices"], parts["credit_notes"]))
        add(currency, key, "tax", parts["tax"])
    settled = _month_key(conn, payments.c.settled_at)
    for currency, key, amount in conn.execute(
        select(payments.c.currency, settled, func.sum(payments.c.amount))
        .where(payments.c.status.in_(m.RECEIVED_STATUSES), payments.c.settled_at.is_not(None))
        .group_by(payments.c.currency, settled)
    ):
        add(currency, key, "collected", amount)
    refunded = _month_key(conn, refunds.c.settled_at)
    for currency, key, amount in conn.execute(
        select(refunds.c.currency, refunded, func.sum(refunds.c.amount))
        .where(refunds.c.status.in_(m.REFUNDED_STATUSES), refunds.c.settled_at.is_not(None))
        .group_by(refunds.c.currency, refunded)
    ):
        add(currency, key, "refunded", amount)
    answered = _month_key(conn, func.coalesce(payments.c.settled_at, payments.c.created_at))
    for currency, key, count, amount in conn.execute(
        select(payments.c.currency, answered, func.count(), func.sum(payments.c.amount))
        .where(payments.c.status.in_(m.FAILED_STATUSES))
        .group_by(payments.c.currency, answered)
    ):
        add(currency, key, "failed_payments", count)
        add(currency, key, "failed_amount", amount)
    written = _month_key(conn, credit_ledger.c.created_at)
    ledger: dict[str, dict[date, int]] = defaultdict(dict)
    for currency, key, amount in conn.execute(
        select(credit_ledger.c.currency, written, func.sum(credit_ledger.c.amount))
        .where(credit_ledger.c.created_at <= now)
        .group_by(credit_ledger.c.currency, written)
    ):
        ledger[currency][_month_of_key(key)] = int(amount)
    for currency, by_month in ledger.items():  # the balance at each month's end: every entry written before it
        before = sum(amount for month, amount in by_month.items() if months and month < months[0])
        for month in months:
            before += by_month.get(month, 0)
            add(currency, month, "credit_balance", m.credit_balance(before))
    ended = (
        select(accounts.c.currency, func.max(subscriptions.c.ended_at).label("ended"))
        .select_from(accounts.join(subscriptions, and_(subscriptions.c.account_id == accounts.c.id)))
        .where(accounts.c.status == "cancelled")
        .group_by(accounts.c.id, accounts.c.currency)
    )
    for currency, ended_at in conn.execute(ended):
        if ended_at is not None:
            add(currency, m.month_of(ended_at), "cancelled_accounts", 1)
    return out
