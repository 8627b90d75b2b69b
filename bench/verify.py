"""Benchmark: ``prorata verify`` on a large set of books, and whether billing writes go on while it reads.

The books are the billing-run benchmark's (``bench/billing_run.py``): its ``seed`` writes accounts with a plan and
four add-ons each (Pro/Business/Business Plus, monthly and yearly, USD and PLN, some with a credit balance), all due on
one billing day, and the real billing run (``invoice_due``) renews them: one invoice per account, five lines each,
sealed, numbered, the credit balance used first. That base is then repeated into the following years with set-based
SQL until ``--invoices`` invoices exist (each copy numbered in its own year, gap-free, its lines and parties copied,
then sealed by the database as at issue), since billing a million invoices one run at a time would take hours here.
The tables are analyzed then, as a database in service is.

Timed: one verification of every invariant, with a writer beside it that keeps opening write transactions on the
tables billing writes to (invoices, lines, ledger, counters; rolled back) and measures how long each takes. Printed:
rows of each table, seconds per check (all its parts) and in all, invoices and rows verified per second, the
writer's transactions (median, 99th percentile, slowest), and the violations found by code (the billing-run
benchmark seeds credit balances that no document explains, and accounts with nobody to e-mail: verify names them).

Run: ``.venv/bin/python bench/verify.py --invoices 100000`` (a fresh SQLite file in a temporary folder), or with
``--database postgresql://postgres@127.0.0.1:5432/NAME`` an existing, empty PostgreSQL database. ``--base`` sets the
accounts billed for real (default 20,000, or fewer when fewer invoices are asked for); ``--verify-only`` verifies
the books an earlier run left in ``--database``; ``--workers`` sets the connections that share the snapshot on
PostgreSQL (default 2).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

from billing_run import Clock, seed, uow_of  # the billing-run benchmark, beside this file
from prorata.adapters.db.database import create_database_engine, migrate
from prorata.adapters.db.seal import seal_all_issued
from prorata.adapters.db.verify import SqlBooks, SqlVerificationLog
from prorata.catalogs import default_catalog
from prorata.services.renew_due import BillingRunReport, invoice_due
from prorata.services.verify_books import VerifyBooks, verify_books

INVOICE_COLUMNS = ("account_id, order_id, billing_date, series, year, number, status, currency, subtotal, tax, "
                   "total, credit_applied, amount_due, issued_at, due_at, paid_at, created_at, tax_country, "
                   "reverse_charge")  # fmt: skip
LINE_COLUMNS = ("position, kind, subscription_id, product, description, quantity, unit_amount, period_start, "
                "period_end, used, whole, amount, basis, tax_rate, tax, whole_start, whole_end")  # fmt: skip
PARTY_COLUMNS = ("kind, name, company, email, phone, address_line1, address_line2, city, postal_code, region, "
                 "country, tax_id")  # fmt: skip
TABLES = ("accounts", "subscriptions", "invoices", "invoice_lines", "invoice_parties", "payments", "credit_ledger",
          "outbox", "license_assignments")  # fmt: skip


def bill_base(engine: Engine, accounts: int, day: datetime, rng: random.Random) -> float:
    catalog = default_catalog()
    seed(engine, catalog, accounts, day, rng)
    started = time.perf_counter()
    invoice_due(day, uow_of(engine, catalog), Clock(day), catalog, BillingRunReport())
    return time.perf_counter() - started


def repeat(engine: Engine, base_year: int, wanted: int) -> None:
    """Copies of the base year's invoices into the next years, until ``wanted`` invoices exist. A copy is an open
    invoice issued on the same day as its original (no credit used, its lines and parties as issued), in a series
    of its own year, and is sealed as a document is at issue."""
    with engine.begin() as conn:
        base = int(conn.execute(text("SELECT count(*) FROM invoices WHERE year = :y"), {"y": base_year}).scalar_one())
    made, offset = base, 0
    while made < wanted:
        offset += 1
        take = min(base, wanted - made)
        with engine.begin() as conn:
            params = {"y": base_year, "k": offset, "take": take}
            conn.execute(
                text(f"INSERT INTO invoices ({INVOICE_COLUMNS}) SELECT account_id, NULL, NULL, series, year + :k, "
                     "number, 'open', currency, subtotal, tax, total, 0, total, issued_at, due_at, NULL, created_at, "
                     "tax_country, reverse_charge FROM invoices WHERE year = :y AND number <= :take ORDER BY number"),
                params,
            )  # fmt: skip
            conn.execute(
                text(f"INSERT INTO invoice_lines (invoice_id, {LINE_COLUMNS}) SELECT n.id, "
                     + ", ".join(f"l.{c.strip()}" for c in LINE_COLUMNS.split(","))
                     + " FROM invoice_lines l JOIN invoices o ON o.id = l.invoice_id JOIN invoices n ON "
                     "n.series = o.series AND n.year = o.year + :k AND n.number = o.number "
                     "WHERE o.year = :y AND o.number <= :take"),
                params,
            )  # fmt: skip
            conn.execute(
                text(f"INSERT INTO invoice_parties (invoice_id, {PARTY_COLUMNS}) SELECT n.id, "
                     + ", ".join(f"p.{c.strip()}" for c in PARTY_COLUMNS.split(","))
                     + " FROM invoice_parties p JOIN invoices o ON o.id = p.invoice_id JOIN invoices n ON "
                     "n.series = o.series AND n.year = o.year + :k AND n.number = o.number "
                     "WHERE o.year = :y AND o.number <= :take"),
                params,
            )  # fmt: skip
            conn.execute(
                text("INSERT INTO invoice_counters (series, year, last_number) VALUES ('INV', :year, :take)"),
                {"year": base_year + offset, "take": take},
            )
            seal_all_issued(conn)
        made += take


def analyze(engine: Engine) -> None:
    """Table statistics, as a database in service has them (PostgreSQL's autovacuum, SQLite's ANALYZE)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


class BackendCpu:
    """The CPU time the database server spent for this process's connections (PostgreSQL on this machine: each
    connection is a server process, whose time is in /proc). On a shared machine the wall time says how busy the
    others were; the CPU time says what the verification costs."""

    def __init__(self, engine: Engine) -> None:
        self.pids: list[int] = []
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.pids.append(int(cursor.fetchone()[0]))
        cursor.close()
        dbapi_connection.rollback()  # leave the connection as it came: outside a transaction

    def seconds(self) -> float | None:
        if not self.pids:
            return None
        ticks = 0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None  # not a local server, or the process is gone
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}


class Writer(threading.Thread):
    """Write transactions on the tables billing writes to, one after the other while the verification runs, each
    rolled back: how long the slowest one waited shows whether the verification held a lock a writer needs."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                with self.engine.connect() as conn:
                    transaction = conn.begin()
                    invoice = conn.execute(text("SELECT max(id) FROM invoices")).scalar_one()
                    conn.execute(text("UPDATE invoices SET amount_due = amount_due WHERE id = :id"), {"id": invoice})
                    conn.execute(text("UPDATE invoice_lines SET tax = tax WHERE invoice_id = :id"), {"id": invoice})
                    conn.execute(text("UPDATE invoice_counters SET last_number = last_number WHERE series = 'INV'"))
                    conn.execute(text("INSERT INTO credit_ledger (account_id, amount, currency, reason, invoice_id, "
                                      "created_at) SELECT account_id, 1, currency, 'unused_time', id, issued_at "
                                      "FROM invoices WHERE id = :id"), {"id": invoice})  # fmt: skip
                    transaction.rollback()
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.05)
        except BaseException as error:  # reported, not swallowed
            self.failure = error


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000, help="invoices in the books (default 100,000)")
    parser.add_argument("--base", type=int, default=20_000, help="accounts billed for real (default 20,000)")
    parser.add_argument("--database", help="an existing, empty database URL (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--workers", type=int, help="connections sharing the snapshot (default: 2 on PostgreSQL)")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.add_argument(
        "--verify-only", action="store_true", help="the database already holds books (an earlier run's): verify only"
    )
    args = parser.parse_args()
    day = datetime(2026, 3, 1, tzinfo=UTC)
    folder = tempfile.TemporaryDirectory(prefix="prorata-verify-bench-")
    url = args.database or f"sqlite:///{Path(folder.name) / 'books.sqlite3'}"
    engine = create_database_engine(url)
    migrate(engine)
    started = time.perf_counter()
    billing = 0.0
    if not args.verify_only:
        billing = bill_base(engine, min(args.base, args.invoices), day, random.Random(args.seed))
        repeat(engine, day.year, args.invoices)
    analyze(engine)
    seeding = time.perf_counter() - started
    rows = counts(engine)
    catalog = default_catalog()
    verifier = create_database_engine(url)  # its own connections, so that their CPU time is the verification's
    backends = BackendCpu(verifier)
    writer = Writer(engine)
    writer.start()
    own = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    result = verify_books(VerifyBooks(actor="bench"), books=lambda: SqlBooks(verifier, catalog, workers=args.workers),
                          log=SqlVerificationLog(engine), clock=Clock(day + timedelta(hours=1)))  # fmt: skip
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = backends.seconds()
    verifier.dispose()
    writer.stop.set()
    writer.join(30)
    engine.dispose()
    folder.cleanup()
    verified = sum(rows[t] for t in ("invoices", "invoice_lines", "invoice_parties", "payments", "credit_ledger"))
    figures = {
        "database": engine.dialect.name,
        "rows": rows,
        "seeding_seconds": round(seeding, 1),
        "base_billing_seconds": round(billing, 1),
        "verify_seconds": round(seconds, 2),
        "cpu_seconds": {
            "database": None if server_cpu is None else round(server_cpu, 1),
            # this process: the checks' Python and the writer thread beside them
            "python": round(after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime, 1),
        },
        "load_average": [round(load, 1) for load in os.getloadavg()],
        "workers": SqlBooks(engine, catalog, workers=args.workers).workers,
        "invoices_per_s": round(rows["invoices"] / seconds, 1),
        "rows_per_s": round(verified / seconds, 1),
        "checks_seconds": {check.code: check.seconds for check in result.checks},
        "writer": {
            "transactions": len(writer.latencies),
            "median_ms": round(1000 * statistics.median(writer.latencies or [0.0]), 1),
            "p99_ms": round(1000 * sorted(writer.latencies or [0.0])[int(0.99 * (len(writer.latencies) - 1))], 1),
            "slowest_ms": round(1000 * max(writer.latencies, default=0.0), 1),
            "failure": None if writer.failure is None else repr(writer.failure),
        },
        "violations": dict(result.counts),
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    for key, value in figures.items():
        print(f"{key:22} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
