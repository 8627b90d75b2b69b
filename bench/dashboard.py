"""Benchmark: the operator dashboard at 1,000,000 invoices on PostgreSQL (target: read under 200 ms).

A fresh database (``prorata_bench_dashboard_<pid>``, dropped afterwards) is seeded with COPY: ``--accounts`` accounts
(100,000) in USD and PLN, each with its owner and a Sold-To contact with a tax id, each buying a plan (Pro 1-9 or
Business 10-40 licenses, monthly; 30 % with Large Meetings 500) on a day from the 1st to the 20th of the first month
and renewed every month for ``--months`` months (12): one invoice for the purchase and one per renewal, 13 per
account, 1,300,000 in all. Besides: 5 % upgrade Pro to Business mid-period (a credit line and a charge line), 5 % add
licenses mid-period, 5 % cancel (their renewals stop), 3 % of renewals are paid on a second attempt after a failed
one, 0.3 % of accounts end overdue with five failed attempts, 0.5 % of renewals are partly refunded to the card (a
credit note and a refund), 0.2 % are voided; 20 % of accounts hold some credit. Then ANALYZE, as after any bulk load.

Timed: ``refresh_metrics`` (the whole history from the books), and ``read_dashboard`` for the default range (the
last 12 months) and one currency, read ``--reads`` times: median and p95, and the ratio of the median to the 200 ms
target. Then the operator console's pages as an operator's browser asks for them (the whole web application, signed
in, templates and charts included): the dashboard page, the account list's first and a deep keyset page, its search
by name, e-mail, tax id and code and its filters, and an account's page, each with its median and p95 and its ratio
to the same 200 ms; each search is checked to find the account it looks for. Checked against the seeder's own
bookkeeping (not the code under test): MRR, new MRR and churn of the last complete month and the money invoiced in
it for USD, the number of overdue accounts, and the invoice count.

Run: ``.venv/bin/python bench/dashboard.py [--accounts 100000] [--months 12] [--reads 30]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text

from billing_run import fresh_postgres  # the billing benchmark, beside this file
from prorata.adapters.db.bulk import insert_rows, insert_rows_returning_ids
from prorata.adapters.db.database import create_database_engine, migrate
from prorata.adapters.db.metrics import _money as money_sums
from prorata.adapters.db.metrics import read_dashboard, refresh_metrics
from prorata.adapters.db.schema import (
    accounts,
    contacts,
    credit_ledger,
    credit_notes,
    invoice_lines,
    invoices,
    payments,
    refunds,
    subscriptions,
    users,
)
from prorata.catalogs import default_catalog
from prorata.domain.dunning import DunningPolicy
from prorata.domain.metrics import months_from
from prorata.domain.periods import Interval

TARGET_MS = 200.0
CHUNK = 4_000  # accounts written per transaction
CATALOG = default_catalog()


def price(product: str, currency: str) -> int:
    return CATALOG.products[product].prices[(Interval.MONTH, currency)]


def month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def instant(month: date, day: int) -> datetime:
    return datetime(month.year, month.month, day, tzinfo=UTC)


@dataclass
class Expected:
    """The seeder's own bookkeeping of what the dashboard must show (per currency and month index)."""

    mrr: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    new: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    churn: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    invoiced: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    overdue: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    invoices: int = 0

    def account(self, currency: str, by_month: list[int]) -> None:
        """One account's MRR at each month's end, and its movements by the plain rule: 0 -> more is new (or a
        return), more -> 0 is churn."""
        before = 0
        for k, after in enumerate(by_month):
            self.mrr[(currency, k)] += after
            if before == 0 < after:
                self.new[(currency, k)] += after
            if after == 0 < before:
                self.churn[(currency, k)] += before
            before = after


class Writer:
    """Rows of one chunk of accounts, with invoice numbers counted per series and year."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[str, int], int] = defaultdict(int)

    def number(self, series: str, year: int) -> int:
        self.numbers[(series, year)] += 1
        return self.numbers[(series, year)]


def seed(engine: Engine, n: int, months: int, first: date, rng: random.Random) -> Expected:
    expected = Expected()
    writer = Writer()
    for start in range(0, n, CHUNK):
        with engine.begin() as conn:
            seed_chunk(conn, writer, range(start, min(n, start + CHUNK)), months, first, rng, expected)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return expected


def seed_chunk(conn: Any, writer: Writer, indexes: range, months: int, first: date, rng: random.Random,
               expected: Expected) -> None:  # fmt: skip
    created = instant(first, 1) - timedelta(days=1)
    plans = []
    for i in indexes:
        currency = "USD" if i % 2 == 0 else "PLN"
        overdue = rng.random() < 0.003
        plans.append((i, currency, overdue))
    ids = insert_rows_returning_ids(conn, accounts, [
        {"code": f"d{i}", "name": f"Dashboard {i}", "currency": c, "time_zone": "UTC", "country": "US",
         "created_at": created, "status": "overdue" if o else "active"} for i, c, o in plans
    ])  # fmt: skip
    # who the console's search finds an account by: its owner's e-mail and its Sold-To tax id
    insert_rows(conn, users, [
        {"account_id": a, "email": f"owner{i}@d{i}.test", "name": f"Owner {i}", "role": "owner", "created_at": created}
        for a, (i, _c, _o) in zip(ids, plans, strict=True)
    ])  # fmt: skip
    insert_rows(conn, contacts, [
        {"account_id": a, "kind": "sold_to", "name": f"Owner {i}", "email": f"owner{i}@d{i}.test",
         "address_line1": f"{i} Bench Street", "city": "Warsaw", "postal_code": "00-001", "country": "PL",
         "tax_id": f"PL{1_000_000_000 + i}"} for a, (i, _c, _o) in zip(ids, plans, strict=True)
    ])  # fmt: skip
    subs: list[dict[str, Any]] = []
    owners: list[tuple[int, str, str, int, int, dict[str, Any]]] = []  # (account, currency, product, qty, day, spec)
    for account_id, (_, currency, overdue) in zip(ids, plans, strict=True):
        day = rng.randint(1, 20)
        plan = rng.choice(["pro", "business"])
        quantity = rng.randint(1, 9) if plan == "pro" else rng.randint(10, 40)
        roll = rng.random()
        event = "upgrade" if roll < 0.05 and plan == "pro" else "licenses" if roll < 0.10 else "cancel" if (
            roll < 0.15 and not overdue) else None  # fmt: skip
        at_month = rng.randint(1, months - 2)
        spec = {"event": event, "at": at_month, "overdue": overdue, "addon": rng.random() < 0.3}
        cancelled_after = at_month if event == "cancel" else None
        end_month = (cancelled_after if cancelled_after is not None else months) + 1
        ended = instant(month_add(first, end_month), day) if cancelled_after is not None else None
        subs.append({"account_id": account_id, "product": "business" if event == "upgrade" else plan,
                     "interval": "month", "quantity": quantity + (2 if event == "licenses" else 0) if event != "upgrade"
                     else max(quantity, 10), "anchor": instant(first, day), "period_start": instant(first, day),
                     "period_end": instant(month_add(first, months + 1), day), "created_at": instant(first, day),
                     "status": "ended" if ended else "active", "ended_at": ended})  # fmt: skip
        owners.append((account_id, currency, plan, quantity, day, spec))
        if spec["addon"]:
            subs.append({"account_id": account_id, "product": "large_meetings_500", "interval": "month",
                         "quantity": 1, "anchor": instant(first, day), "period_start": instant(first, day),
                         "period_end": instant(month_add(first, months + 1), day), "created_at": instant(first, day),
                         "status": "ended" if ended else "active", "ended_at": ended})  # fmt: skip
    sub_ids = insert_rows_returning_ids(conn, subscriptions, subs)
    sub_of: dict[tuple[int, str], int] = {}
    for sub_id, row in zip(sub_ids, subs, strict=True):
        sub_of[(row["account_id"], "addon" if row["product"] == "large_meetings_500" else "plan")] = sub_id
    heads: list[dict[str, Any]] = []
    bodies: list[list[dict[str, Any]]] = []  # lines of each invoice
    extras: list[dict[str, Any]] = []  # what follows each invoice: payments, credit notes
    ledger: list[dict[str, Any]] = []
    for account_id, currency, plan, quantity, day, spec in owners:
        product, held = plan, quantity
        cancelled_after = spec["at"] if spec["event"] == "cancel" else None
        last = cancelled_after if cancelled_after is not None else months
        by_month = [0] * (months + 1)
        for k in range(last + 1):
            start = instant(month_add(first, k), day)
            end = instant(month_add(first, k + 1), day)
            whole = (end - start).days
            lines = [("charge", product, held, price(product, currency), start, end)]
            if spec["addon"]:
                lines.append(("charge", "large_meetings_500", 1, price("large_meetings_500", currency), start, end))
            kind = "order" if k == 0 else "renewal"
            status = "paid"
            if spec["overdue"] and k == last:
                status = "open"
            # a voided or refunded renewal, never the one a change or a cancellation follows (the seeder's own
            # bookkeeping stays plain)
            plain = status == "paid" and 0 < k < last and not (spec["event"] and k == spec["at"])
            void = plain and rng.random() < 0.002
            refund = plain and not void and rng.random() < 0.005
            failed = 5 if status == "open" else 1 if (k > 0 and rng.random() < 0.03) else 0
            heads.append(head(account_id, currency, start, lines, whole, kind, status, void))
            bodies.append(body(lines, whole, account_id, sub_of))
            extras.append({"failed": failed, "void": void, "refund": refund})
            if not void:
                by_month[k] = sum(q * unit for _, _, q, unit, _, _ in lines)
            expected.invoiced[(currency, k)] += sum(amount(q, unit, s, e, whole) for _, _, q, unit, s, e in lines)
            if void:
                expected.invoiced[(currency, k)] -= sum(amount(q, u, s, e, whole) for _, _, q, u, s, e in lines)
            if refund:
                expected.invoiced[(currency, k)] -= amount(held, price(product, currency), start, end, whole)
            if spec["event"] in ("upgrade", "licenses") and k == spec["at"]:
                change = start + timedelta(days=5)
                if spec["event"] == "upgrade":
                    new_qty = max(held, 10)
                    unused = amount(held, price(product, currency), change, end, whole)
                    upgraded = ("charge", "business", new_qty, price("business", currency), change, end, None)
                    change_lines = [("credit", product, held, None, change, end, -unused), upgraded]
                    delta = new_qty * price("business", currency) - held * price(product, currency)
                    product, held = "business", new_qty
                else:
                    change_lines = [("charge", product, 2, price(product, currency), change, end, None)]
                    delta = 2 * price(product, currency)
                    held += 2
                by_month[k] += delta
                body_lines = []
                subtotal = 0
                for position, (line_kind, code, q, unit, s, e, fixed) in enumerate(change_lines, start=1):
                    value = fixed if fixed is not None else amount(q, unit, s, e, whole)
                    subtotal += value
                    body_lines.append(line_row(position, line_kind, code, q, unit, s, e, (e - s).days, whole, value,
                                               sub_of[(account_id, "plan")], start, end))  # fmt: skip
                heads.append(head(account_id, currency, change, [], whole, "order", "paid", False, subtotal))
                bodies.append(body_lines)
                extras.append({"failed": 0, "void": False, "refund": False})
                expected.invoiced[(currency, k)] += subtotal
        expected.account(currency, by_month)
        if spec["overdue"]:
            expected.overdue[currency] += 1
        if rng.random() < 0.2:
            ledger.append({"account_id": account_id, "amount": rng.randint(100, 50_000), "currency": currency,
                           "reason": "bench", "created_at": instant(first, 1)})  # fmt: skip
    for row in heads:
        year = row["issued_at"].year
        row["year"] = year
        row["number"] = writer.number("INV", year)
    invoice_ids = insert_rows_returning_ids(conn, invoices, heads)
    expected.invoices += len(invoice_ids)
    line_rows = [{**line, "invoice_id": invoice_id} for invoice_id, lines in zip(invoice_ids, bodies, strict=True)
                 for line in lines]  # fmt: skip
    insert_rows(conn, invoice_lines, line_rows)
    payment_rows: list[dict[str, Any]] = []
    notes: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    for invoice_id, row, extra, lines in zip(invoice_ids, heads, extras, bodies, strict=True):
        issued = row["issued_at"]
        if row["total"] <= 0:
            continue
        for attempt in range(1, extra["failed"] + 1):
            payment_rows.append(payment(row, invoice_id, "failed", attempt, issued + timedelta(days=attempt)))
        if row["status"] in ("paid", "void"):
            payment_rows.append(payment(row, invoice_id, "succeeded", extra["failed"] + 1,
                                        issued + timedelta(days=extra["failed"])))  # fmt: skip
            if extra["void"] or extra["refund"]:
                notes.append((invoice_id, row, extra, lines[0]))
    payment_ids = insert_rows_returning_ids(conn, payments, payment_rows)
    paid_by = {p["invoice_id"]: pid for pid, p in zip(payment_ids, payment_rows, strict=True)
               if p["status"] == "succeeded"}  # fmt: skip
    note_heads, note_lines, note_rows, refund_rows = [], [], [], []
    for invoice_id, row, extra, first_line in notes:
        at = row["issued_at"] + timedelta(days=3)
        lines = [first_line] if extra["refund"] else None
        value = first_line["amount"] if extra["refund"] else row["subtotal"]
        note_heads.append({"account_id": row["account_id"], "series": "CN", "year": at.year,
                           "number": writer.number("CN", at.year), "status": "paid", "currency": row["currency"],
                           "subtotal": -value, "total": -value, "amount_due": 0, "issued_at": at, "due_at": at,
                           "paid_at": at, "created_at": at})  # fmt: skip
        note_lines.append(lines)
        note_rows.append((invoice_id, extra["void"], value, at, row))
    note_ids = insert_rows_returning_ids(conn, invoices, note_heads)
    expected.invoices += len(note_ids)
    cn_lines: list[dict[str, Any]] = []
    cn_rows: list[dict[str, Any]] = []
    for note_id, (invoice_id, void, value, at, row) in zip(note_ids, note_rows, strict=True):
        cn_lines.append({**line_row(1, "credit", "pro", 1, None, at, at + timedelta(days=1), 1, 1, -value, None,
                                    None, None), "invoice_id": note_id})  # fmt: skip
        cn_rows.append({"invoice_id": note_id, "corrects_id": invoice_id, "positions": "[1]", "void": void,
                        "reason": "bench", "created_at": at})  # fmt: skip
        if not void:
            refund_rows.append({"account_id": row["account_id"], "credit_note_id": note_id, "invoice_id": invoice_id,
                                "payment_id": paid_by[invoice_id], "amount": value, "currency": row["currency"],
                                "status": "succeeded", "gateway": "sandbox", "idempotency_key": f"refund-{note_id}-1",
                                "requested_by": "operator", "created_at": at, "settled_at": at})  # fmt: skip
    insert_rows(conn, invoice_lines, cn_lines)
    insert_rows(conn, credit_notes, cn_rows)
    insert_rows(conn, refunds, refund_rows)
    void_ids = [invoice_id for invoice_id, void, _, _, _ in note_rows if void]
    if void_ids:
        conn.execute(invoices.update().where(invoices.c.id.in_(void_ids)).values(status="void", amount_due=0))
    insert_rows(conn, credit_ledger, ledger)
    for account_id, _, _, _, day, spec in owners:
        if spec["overdue"]:  # after the five attempts of the current month's renewal (days 0, 1, 3, 5, 7)
            since = instant(month_add(first, months), day) + timedelta(days=7)
            conn.execute(accounts.update().where(accounts.c.id == account_id).values(overdue_since=since))


def amount(quantity: int, unit: int, start: datetime, end: datetime, whole: int) -> int:
    """Rule C4 apart from the code under test: quantity x unit x days / whole days, half up."""
    numerator = quantity * unit * (end - start).days
    return (2 * numerator + whole) // (2 * whole)


def line_row(position: int, kind: str, product: str, quantity: int, unit: int | None, start: datetime,
             end: datetime, used: int, whole: int, value: int, sub_id: int | None, whole_start: datetime | None,
             whole_end: datetime | None) -> dict[str, Any]:  # fmt: skip
    return {"position": position, "kind": kind, "subscription_id": sub_id, "product": product, "description": "bench",
            "quantity": quantity, "unit_amount": unit, "period_start": start, "period_end": end, "used": used,
            "whole": whole, "amount": value, "basis": -value if kind == "credit" else None,
            "whole_start": whole_start, "whole_end": whole_end}  # fmt: skip


def body(lines: list[tuple[str, str, int, int, datetime, datetime]], whole: int, account_id: int,
         sub_of: dict[tuple[int, str], int]) -> list[dict[str, Any]]:  # fmt: skip
    return [
        line_row(position, kind, product, q, unit, s, e, (e - s).days, whole, amount(q, unit, s, e, whole),
                 sub_of[(account_id, "addon" if product == "large_meetings_500" else "plan")], s, e)
        for position, (kind, product, q, unit, s, e) in enumerate(lines, start=1)
    ]  # fmt: skip


def head(account_id: int, currency: str, issued: datetime, lines: list[tuple[str, str, int, int, datetime, datetime]],
         whole: int, kind: str, status: str, void: bool, subtotal: int | None = None) -> dict[str, Any]:  # fmt: skip
    if subtotal is None:
        subtotal = sum(amount(q, unit, s, e, whole) for _, _, q, unit, s, e in lines)
    return {"account_id": account_id, "series": "INV", "status": status, "currency": currency, "subtotal": subtotal,
            "total": subtotal, "amount_due": subtotal if status == "open" else 0, "issued_at": issued,
            "due_at": issued, "paid_at": issued if status == "paid" else None, "created_at": issued,
            "billing_date": issued if kind == "renewal" else None}  # fmt: skip


def payment(row: dict[str, Any], invoice_id: int, status: str, attempt: int, at: datetime) -> dict[str, Any]:
    return {"account_id": row["account_id"], "invoice_id": invoice_id, "amount": row["total"],
            "currency": row["currency"], "status": status, "gateway": "sandbox",
            "idempotency_key": f"invoice-{invoice_id}-attempt-{attempt}", "attempt": attempt, "created_at": at,
            "settled_at": at, "failure_code": "card_declined" if status == "failed" else None}  # fmt: skip


def console_pages(url: str, reads: int, n: int) -> bool:
    """The console's pages through the web application, signed in as an operator: time each, check each search."""
    import re

    from fastapi.testclient import TestClient

    from prorata.bootstrap import build
    from prorata.entrypoints.web import create_app
    from prorata.services.operators import CreateOperator, create_operator

    app = build(url)
    password = "bench operator password 2026"
    create_operator(CreateOperator("bench@operator.test", "Bench", password), uow=app.uow, hasher=app.hasher,
                    now=datetime.now(UTC))  # fmt: skip
    client = TestClient(create_app(app))
    page = client.get("/operator/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    client.post("/operator/signin", data={"csrf": csrf.group(1), "email": "bench@operator.test", "password": password})
    target = n * 7 // 10  # an account among the older ones: its id is found below
    with app.engine.connect() as conn:
        target_id = int(conn.execute(select(accounts.c.id).where(accounts.c.code == f"d{target}")).scalar_one())
        middle = int(conn.execute(select(func.max(accounts.c.id))).scalar_one()) // 2
    wanted = f'href="/operator/accounts/{target_id}"'
    asks = [
        ("dashboard page, 12 months, USD", "/operator/?currency=USD", None),
        ("accounts, first page", "/operator/accounts", None),
        ("accounts, a page in the middle", f"/operator/accounts?after={middle}", None),
        ("search by company name", f"/operator/accounts?q=Dashboard+{target}", wanted),
        ("search by e-mail", f"/operator/accounts?q=owner{target}%40d{target}.test", wanted),
        ("search by NIP", f"/operator/accounts?q={1_000_000_000 + target}", wanted),
        ("search by code", f"/operator/accounts?q=d{target}", wanted),
        ("filter: Business, USD", "/operator/accounts?plan=business&currency=USD", None),
        ("filter: invoices past due", "/operator/accounts?overdue=1", None),
        ("an account's page (13 invoices)", f"/operator/accounts/{target_id}", None),
    ]
    ok = True
    for name, path, expect in asks:
        timings = []
        for _ in range(max(5, reads // 3)):
            started = time.perf_counter()
            answer = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        found = answer.status_code == 200 and (expect is None or expect in answer.text)
        ok = ok and found
        median = statistics.median(timings)
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        print(f"console: {name}: median {median:.1f} ms, p95 {p95:.1f} ms (ratio {median / TARGET_MS:.3f})"
              f"{'' if found else ' WRONG: ' + str(answer.status_code)}", flush=True)  # fmt: skip
    client.close()
    app.close()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12, help="renewals after the first purchase (at least 3)")
    parser.add_argument("--reads", type=int, default=30, help="dashboard reads timed")
    parser.add_argument("--seed", type=int, default=20261210)
    args = parser.parse_args()
    if args.months < 3 or args.accounts < 10:
        parser.error("at least 10 accounts and 3 months")
    today = datetime.now(UTC).date()
    first = month_add(date(today.year, today.month, 1), -args.months)
    current = month_add(first, args.months)
    now = instant(current, 26)  # every renewal and change of the current month (days 1-25) is made
    with fresh_postgres("prorata_bench_dashboard") as url:
        engine = create_database_engine(url, pool_size=2)
        migrate(engine)
        started = time.perf_counter()
        expected = seed(engine, args.accounts, args.months, first, random.Random(args.seed))
        seeded = time.perf_counter() - started
        with engine.connect() as conn:
            count = int(conn.execute(select(func.count()).select_from(invoices)).scalar_one())
            lines = int(conn.execute(select(func.count()).select_from(invoice_lines)).scalar_one())
        print(
            f"seeded {count:,} invoices ({lines:,} lines) of {args.accounts:,} accounts in {seeded:.0f} s", flush=True
        )
        started = time.perf_counter()
        report = refresh_metrics(engine, CATALOG, now=now)
        refresh_s = time.perf_counter() - started
        print(f"refresh: {refresh_s:.1f} s ({report.lines:,} lines of {report.accounts:,} accounts, "
              f"{report.rows} month rows)", flush=True)  # fmt: skip
        range_first, range_last = month_add(current, -11), current
        live = []  # what reading live would cost at the least: only the money sums, no MRR (which needs every line)
        for _ in range(3):
            with engine.connect() as conn:
                started = time.perf_counter()
                money_sums(conn, months_from(range_first, range_last), now)
                live.append((time.perf_counter() - started) * 1000)
        print(f"live aggregates instead (the money sums of 12 months alone, no MRR): median "
              f"{statistics.median(live):.0f} ms", flush=True)  # fmt: skip
        timings = []
        board = None
        for _ in range(args.reads):
            started = time.perf_counter()
            board = read_dashboard(engine, currency="USD", first_month=range_first,
                                   last_month=range_last, now=now, dunning=DunningPolicy())  # fmt: skip
            timings.append((time.perf_counter() - started) * 1000)
        all_currencies = []
        for _ in range(max(5, args.reads // 3)):
            started = time.perf_counter()
            read_dashboard(engine, currency=None, first_month=range_first, last_month=range_last,
                           now=now, dunning=DunningPolicy())  # fmt: skip
            all_currencies.append((time.perf_counter() - started) * 1000)
        pages = console_pages(url, args.reads, args.accounts)
        engine.dispose()
    assert board is not None
    timings.sort()
    median = statistics.median(timings)
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    print(f"dashboard read, 12 months, USD: median {median:.1f} ms, p95 {p95:.1f} ms over {len(timings)} reads "
          f"(target {TARGET_MS:.0f} ms, ratio {median / TARGET_MS:.3f}); all currencies: median "
          f"{statistics.median(all_currencies):.1f} ms", flush=True)  # fmt: skip
    rows = {row.month: row for row in board.series("USD")}
    k = args.months - 1  # the last complete month
    month = month_add(first, k)
    row = rows[month]
    checks = {
        "MRR": (row.mrr, expected.mrr[("USD", k)]),
        "new and returning MRR": (row.new + row.reactivation, expected.new[("USD", k)]),
        "churn": (row.churn, expected.churn[("USD", k)]),
        "invoiced": (row.invoiced, expected.invoiced[("USD", k)]),
        "overdue accounts": (sum(o.accounts for o in board.overdue), expected.overdue["USD"]),
        "invoices": (count, expected.invoices),
    }
    ok = all(a == b for a, b in checks.values()) and row.mrr > 0 and row.churn > 0 and pages
    shown = ", ".join(f"{name} {a:,}" + ("" if a == b else f" (expected {b:,})") for name, (a, b) in checks.items())
    print(f"checked, USD {month:%Y-%m}: {shown}: {'ok' if ok else 'WRONG'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
