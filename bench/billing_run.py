"""Benchmark: one billing day on PostgreSQL, and the ``seat-month-3`` workload for comparing billing systems.

Default workload: ``--accounts`` accounts (20,000) with a plan and add-ons (about 5 subscriptions each, 100,000 in
all: Pro/Business/Business Plus, monthly and yearly, USD and PLN, some with a credit balance, 10 % with a card that
declines) are written straight into a fresh database, all due on one billing day. Timed: the invoicing stage of
``renew_due`` (renew, invoice, number, book credit) and, separately, the collection stage (sandbox gateway). Printed:
subscriptions renewed per second, SQL round trips per invoice, peak memory (max RSS), and as the ceiling the time of
one set-based INSERT ... SELECT writing as many invoice rows.

``--workload seat-month-3`` runs the fixed workload of ``shared/bench/seat-month-3.md`` and prints its one JSON
line (N customers, 49.00 base + 10.00 per seat monthly, seats drawn with the given seed; bills Jan 15 prorated to
Feb 1, then Feb 1 and Mar 1). Database from PEER_DB_HOST/PORT/USER/NAME (or --database), N, seed and year from
BENCH_N, BENCH_SEED, BENCH_YEAR. The workload's 19 % tax comes from each customer's Sold-To contact in Germany.

``--workload invoicing`` prints the invoicing stage's rows, each on a fresh database: 100,000 subscriptions in one
process (target 10,000 renewed/s) and in two (18,000/s), and 1,000,000 in one (measured): renewed per second and its
ratio to the target, the CPU the billing runs used, round trips per invoice, resident memory at the start and at the
peak (flat: bounded by the batch, not by the accounts), the seeding's time; each row checks one invoice per account,
totals equal to the charges seeded and gap-free numbers (``--accounts``/``--processes`` for one row of your own).

Run: ``.venv/bin/python bench/billing_run.py [--accounts 2000]`` or ``... --workload seat-month-3``. A fresh
database named prorata_bench_<pid> is created on the local PostgreSQL (user postgres) unless --database is given.
A database given (``--database`` or PEER_DB_*) must hold no accounts: the benchmark writes its own and bills every
account due, so on a demo or production database it would bill real customers. Such a database is refused before
anything is written to it (not even a migration).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event, func, insert, inspect, select, text

from prorata import __version__
from prorata.adapters.db.accounts import create_account
from prorata.adapters.db.bulk import insert_rows, insert_rows_returning_ids
from prorata.adapters.db.database import create_database_engine, migrate, shown
from prorata.adapters.db.entitlements import entitlements_reader
from prorata.adapters.db.schema import (
    accounts,
    contacts,
    credit_ledger,
    invoices,
    payment_methods,
    payments,
    subscription_charges,
    subscriptions,
)
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.catalogs import default_catalog
from prorata.domain.cart import AddAddon, ChangePlan
from prorata.domain.catalog import Catalog, parse_catalog
from prorata.domain.dunning import DunningPolicy
from prorata.domain.periods import Interval, boundary
from prorata.services.place_order import PlaceOrder, place_order
from prorata.services.renew_due import BillingRunReport, collect_due, invoice_due

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class RoundTrips:
    """Counts the SQL statements an engine sends (each one a round trip to the server)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


class DatabaseInUse(SystemExit):
    """The database given already holds accounts: exit status 1, the reason on standard error."""


def refuse_a_database_in_use(
    url: str, bench: str = "bench/billing_run.py", writes: str = "seeds its own accounts and bills every account due"
) -> None:
    """Refuse a database that holds accounts: a benchmark that ``writes`` what it measures would mix them in."""
    engine = create_database_engine(url)
    try:
        if not inspect(engine).has_table(accounts.name):
            return
        with engine.connect() as conn:
            held = int(conn.execute(select(func.count()).select_from(accounts)).scalar_one())
        name = shown(engine)
    finally:
        engine.dispose()
    if held:
        raise DatabaseInUse(
            f"{bench}: the database {name} holds {held} {'account' if held == 1 else 'accounts'}; the benchmark "
            f"{writes}, so it runs only on a new, empty database (or, without --database, on one it creates)"
        )


@contextmanager
def bench_database(url: str | None) -> Iterator[str]:
    if url:
        refuse_a_database_in_use(url)
        yield url
        return
    with fresh_postgres("prorata_bench") as fresh:
        yield fresh


@contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database for one benchmark run, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield ADMIN.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def max_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------------ default workload


def uow_of(engine: Engine, catalog: Catalog) -> Callable[[], SqlUnitOfWork]:
    """Units of work wired as the application wires them: events and entitlements are written with each change."""
    reader = entitlements_reader(catalog, DunningPolicy())
    return lambda: SqlUnitOfWork(engine, catalog.granularity, entitlements=reader)


SEED_CHUNK = 5_000  # accounts written per transaction while seeding: the seeding's memory stays small too


def seed(engine: Engine, catalog: Catalog, n: int, day: datetime, rng: random.Random) -> int:
    """Write n accounts whose subscriptions all end on ``day``; returns the number of subscriptions. Written a
    chunk of accounts per transaction with COPY (``insert_rows``), so that a million subscriptions seed in minutes."""
    gateway = SandboxGateway()
    good, _ = gateway.tokenize_card("4242424242424242", 12, 2035, day.date())
    bad, _ = gateway.tokenize_card("4000000000000002", 12, 2035, day.date())
    addons = ["large_meetings_500", "large_meetings_1000", "webinar_500", "webinar_1000", "cloud_recording_1tb",
              "cloud_recording_3tb"]  # fmt: skip
    written = 0
    for chunk in range(0, n, SEED_CHUNK):
        with engine.begin() as conn:
            rows = [
                {"code": f"b{i}", "name": f"Bench {i}", "currency": rng.choice(["USD", "PLN"]), "time_zone": "UTC",
                 "country": "US", "created_at": day - timedelta(days=400)}
                for i in range(chunk, min(n, chunk + SEED_CHUNK))
            ]  # fmt: skip
            # the accounts written here, and only those
            ids = list(zip(insert_rows_returning_ids(conn, accounts, rows), (r["currency"] for r in rows), strict=True))
            insert_rows(
                conn,
                payment_methods,
                [{"account_id": a, "kind": "card", "gateway": "sandbox", "token": bad if rng.random() < 0.1 else good,
                  "brand": "visa", "last4": "4242", "is_default": True, "created_at": day} for a, _ in ids],
            )  # fmt: skip
            credit = [
                {"account_id": a, "amount": rng.randint(1, 50_000), "currency": c, "reason": "bench", "created_at": day}
                for a, c in ids
                if rng.random() < 0.2
            ]
            insert_rows(conn, credit_ledger, credit)
            sub_rows, charge_rows = [], []
            for account_id, currency in ids:
                interval = Interval.YEAR if rng.random() < 0.3 else Interval.MONTH
                plan = rng.choice(["pro", "business", "business_plus"])
                licenses = rng.randint(1, 9) if plan == "pro" else rng.randint(10, 40)
                start = boundary(day, -1, interval.months, UTC)
                chosen = [(plan, licenses)] + [
                    (code, 1 if code.startswith("cloud") else rng.randint(1, min(licenses, 5)))
                    for code in rng.sample(addons, 4)
                ]
                for code, quantity in chosen:
                    amount = quantity * catalog.products[code].prices[(interval, currency)]
                    sub_rows.append(
                        {"account_id": account_id, "product": code, "interval": interval.value, "quantity": quantity,
                         "anchor": start, "period_start": start, "period_end": day, "created_at": start}
                    )  # fmt: skip
                    charge_rows.append(amount)
            inserted = insert_rows_returning_ids(conn, subscriptions, sub_rows)
            insert_rows(
                conn,
                subscription_charges,
                [{"subscription_id": s, "amount": a, "service_start": r["period_start"], "service_end": day}
                 for s, a, r in zip(inserted, charge_rows, sub_rows, strict=True)],
            )  # fmt: skip
            written += len(inserted)
    # as after any bulk load (and as autovacuum would do soon after): the planner's statistics of the tables just
    # filled, without which it takes 100,000 rows for a few hundred and scans where it should look up
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return written


def rss_now_mib() -> float:
    """The process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _invoicing_process(url: str, day: datetime) -> tuple[int, int, float, float, float, float]:
    """One billing run's invoicing stage in its own process; returns subscriptions renewed, round trips, the growth
    of the process's peak memory while it ran (MiB), its resident memory when it began and at its peak, and the
    CPU seconds it used (on a shared machine the figure that does not depend on what else runs)."""
    gc.collect()
    cpu = time.process_time()
    before = max_rss_mib()
    start = rss_now_mib()
    catalog = default_catalog()
    engine = create_database_engine(url, pool_size=2)
    trips = RoundTrips(engine)
    report = BillingRunReport()
    invoice_due(day, uow_of(engine, catalog), Clock(day), catalog, report)
    engine.dispose()
    return (report.subscriptions_renewed, trips.count, max_rss_mib() - before, start, max_rss_mib(),
            time.process_time() - cpu)  # fmt: skip


def default_workload(args: argparse.Namespace) -> None:
    catalog = default_catalog()
    day = datetime(args.year, 3, 1, tzinfo=UTC)
    rng = random.Random(args.seed)
    with bench_database(args.database) as url:
        engine = create_database_engine(url, pool_size=5)
        migrate(engine)
        seeded = time.perf_counter()
        subs = seed(engine, catalog, args.accounts, day, rng)
        seed_seconds = time.perf_counter() - seeded
        clock = Clock(day)
        report = BillingRunReport()

        uow = uow_of(engine, catalog)

        started = time.perf_counter()
        # the invoicing stage runs in processes of its own, so that their peak memory is the billing run's alone
        # (not the seeding's); with several, the billing runs share the day (FOR UPDATE SKIP LOCKED), as
        # `prorata bill` started N times would
        engine.dispose()  # no pooled connection crosses the fork
        with multiprocessing.get_context("fork").Pool(args.processes) as pool:
            parts = pool.starmap(_invoicing_process, [(url, day)] * args.processes)
        report.subscriptions_renewed = sum(part[0] for part in parts)
        invoicing_trips = sum(part[1] for part in parts)
        invoicing_rss = max(part[2] for part in parts)
        invoicing = time.perf_counter() - started
        collection = measure_collection(engine, uow, clock, SandboxGateway(), report, args.collectors)
        collecting = collection["seconds"]
        with engine.begin() as conn:
            made = conn.execute(select(func.count()).select_from(invoices).where(invoices.c.billing_date == day))
            invoices_made = int(made.scalar_one())
            conn.execute(text("CREATE TEMP TABLE ceiling (LIKE invoices INCLUDING DEFAULTS)"))
            started = time.perf_counter()
            conn.execute(
                text(
                    "INSERT INTO ceiling (id, account_id, billing_date, series, year, number, status, currency, "
                    "subtotal, tax, total, credit_applied, amount_due, issued_at, created_at) "
                    "SELECT a.id, a.id, :day, 'INV', 2099, row_number() over (), 'open', a.currency, s.total, 0, "
                    "s.total, 0, s.total, :day, :day FROM accounts a JOIN (SELECT account_id, sum(quantity * 100) "
                    "AS total FROM subscriptions GROUP BY account_id) s ON s.account_id = a.id"
                ),
                {"day": day},
            )
            ceiling = time.perf_counter() - started
        engine.dispose()
    figures = {
        "accounts": args.accounts,
        "subscriptions": subs,
        "invoicing_processes": args.processes,
        "seed_seconds": round(seed_seconds, 2),
        "invoicing_seconds": round(invoicing, 2),
        "subscriptions_renewed_per_s": round(report.subscriptions_renewed / invoicing, 1),
        "invoices": invoices_made,
        "round_trips_per_invoice": round(invoicing_trips / max(invoices_made, 1), 3),
        "collection_seconds": round(collecting, 2),
        "payments_per_s": round((report.payments_succeeded + report.payments_failed) / collecting, 1),
        "payments": {"succeeded": report.payments_succeeded, "failed": report.payments_failed},
        "set_based_ceiling_seconds": round(ceiling, 3),
        "set_based_rows_per_s": round(invoices_made / ceiling, 1) if ceiling else None,
        "peak_rss_mib": {
            "invoicing_process": round(max_rss_mib(resource.RUSAGE_CHILDREN), 1),
            "invoicing_growth": round(invoicing_rss, 1),
            "seeding_and_collection": round(max_rss_mib(), 1),
        },
        "target_ratio": round(report.subscriptions_renewed / invoicing / 5000, 3),
        "collection_sandbox": collection,
    }
    if args.gateway_latency_ms:
        figures["collection_slow_gateway"] = slow_gateway_collection(args, catalog, day)
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print_collection_rows(figures, args.gateway_latency_ms)


# ------------------------------------------------------------------------------------------------ collection

COLLECTION_TARGET = 1000  # payments per second with the sandbox gateway
SLOW_COLLECTION_TARGET = 200  # payments per second with a gateway that takes 300 ms per call
GOOD_CARD = "4242424242424242"  # the card ``seed`` gives the accounts that pay; the others' card declines


def measure_collection(
    engine: Engine, uow: Callable[[], SqlUnitOfWork], clock: Clock, gateway: SandboxGateway,
    report: BillingRunReport, collectors: int,
) -> dict[str, Any]:  # fmt: skip
    """Time the collection stage of the day billed and check it against the books: every open invoice of an
    account whose card pays is paid, by exactly what it owed; every other one failed once; nothing left over."""
    good, _ = SandboxGateway().tokenize_card(GOOD_CARD, 12, 2035, clock.now().date())
    due = (
        select(func.count(), func.coalesce(func.sum(invoices.c.amount_due), 0))
        .select_from(invoices.join(payment_methods, payment_methods.c.account_id == invoices.c.account_id))
        .where(invoices.c.status == "open", invoices.c.amount_due > 0, payment_methods.c.is_default.is_(True))
    )
    with engine.connect() as conn:
        paying, owed = conn.execute(due.where(payment_methods.c.token == good)).one()
        declining, _ = conn.execute(due.where(payment_methods.c.token != good)).one()
    trips = RoundTrips(engine)
    started = time.perf_counter()
    collect_due(uow, clock, gateway, report, dunning=DunningPolicy(), workers=collectors)
    seconds = time.perf_counter() - started
    attempts = payments.c.idempotency_key.like("invoice-%-attempt-%")
    with engine.connect() as conn:
        taken, paid = conn.execute(
            select(func.coalesce(func.sum(payments.c.amount), 0), func.count(func.distinct(invoices.c.id)))
            .select_from(payments.join(invoices, invoices.c.id == payments.c.invoice_id))
            .where(attempts, payments.c.status == "succeeded", invoices.c.status == "paid", invoices.c.amount_due == 0)
        ).one()
        failed = conn.execute(select(func.count()).where(attempts, payments.c.status == "failed")).scalar_one()
    done = report.payments_succeeded + report.payments_failed
    books = (report.payments_succeeded, report.payments_failed, int(taken), int(paid), int(failed))
    return {
        "collectors": collectors,
        "payments": done,
        "seconds": round(seconds, 2),
        "payments_per_s": round(done / seconds, 1) if seconds else None,
        "statements_per_payment": round(trips.count / max(done, 1), 2),
        "collected": int(taken),
        "books_ok": books == (paying, declining, owed, paying, declining) and not report.not_attempted,
    }


def slow_gateway_collection(args: argparse.Namespace, catalog: Catalog, day: datetime) -> dict[str, Any]:
    """The collection stage again, on a day of its own (a fresh database, ``--slow-accounts`` accounts billed
    first), against the sandbox gateway taking ``--gateway-latency-ms`` per call."""
    with fresh_postgres("prorata_bench_slow") as url:
        engine = create_database_engine(url, pool_size=args.collectors + 2)
        migrate(engine)
        seed(engine, catalog, args.slow_accounts, day, random.Random(args.seed + 1))
        uow = uow_of(engine, catalog)
        clock = Clock(day)
        invoice_due(day, uow, clock, catalog, BillingRunReport())
        gateway = SandboxGateway(args.gateway_latency_ms)
        figures = measure_collection(engine, uow, clock, gateway, BillingRunReport(), args.collectors)
        engine.dispose()
    return {"gateway_latency_ms": args.gateway_latency_ms, **figures}


def print_collection_rows(figures: dict[str, Any], latency_ms: int) -> None:
    """The issue's rows: payments per second and their ratio to the target, and whether the books agree."""
    rows = [("collection, sandbox gateway", figures["collection_sandbox"], COLLECTION_TARGET)]
    if "collection_slow_gateway" in figures:
        rows.append((f"collection, gateway {latency_ms} ms per call", figures["collection_slow_gateway"],
                     SLOW_COLLECTION_TARGET))  # fmt: skip
    for name, row, target in rows:
        rate = row["payments_per_s"] or 0.0
        books = "ok" if row["books_ok"] else "WRONG"
        print(f"{name:40} {rate:10.1f} payments/s  target {target:,}/s  ratio {rate / target:.2f}  "
              f"statements/payment {row['statements_per_payment']}  books {books}")  # fmt: skip


# ------------------------------------------------------------------------------------------------ the invoicing rows

# (accounts, processes, subscriptions renewed per second asked for): the rows
ROWS = ((20_000, 1, 10_000.0), (20_000, 2, 18_000.0), (200_000, 1, None))


def invoicing_row(accounts_wanted: int, processes: int, target: float | None, year: int, seed_value: int) -> None:
    """One row: a fresh database seeded with ``accounts_wanted`` accounts, its invoicing stage run by ``processes``
    billing runs at once, the figures printed with their ratio to ``target``, the results checked: one invoice per
    account, totals equal to the charges seeded, numbers gap-free."""
    catalog = default_catalog()
    day = datetime(year, 3, 1, tzinfo=UTC)
    with fresh_postgres("prorata_bench") as url:
        engine = create_database_engine(url, pool_size=2)
        migrate(engine)
        seeded = time.perf_counter()
        subs = seed(engine, catalog, accounts_wanted, day, random.Random(seed_value))
        seed_seconds = time.perf_counter() - seeded
        with engine.connect() as conn:
            charged = int(conn.execute(select(func.sum(subscription_charges.c.amount))).scalar_one())
        engine.dispose()
        gc.collect()
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            parts = pool.starmap(_invoicing_process, [(url, day)] * processes)
        seconds = time.perf_counter() - started
        engine = create_database_engine(url, pool_size=1)
        with engine.connect() as conn:
            count, billed, total, first, last = conn.execute(
                select(func.count(), func.count(invoices.c.account_id.distinct()), func.sum(invoices.c.total),
                       func.min(invoices.c.number), func.max(invoices.c.number))
                .where(invoices.c.billing_date == day)
            ).one()  # fmt: skip
        engine.dispose()
    renewed = sum(part[0] for part in parts)
    ok = (count, billed, int(total), first, last, renewed) == (accounts_wanted, accounts_wanted, charged, 1,
                                                                accounts_wanted, subs)  # fmt: skip
    rate = renewed / seconds
    print(
        f"{subs:>9,} subscriptions, {processes} process{'es' if processes > 1 else '  '}: "
        f"{rate:>8,.0f} renewed/s in {seconds:7.1f} s"
        + (f" (target {target:,.0f}/s, ratio {rate / target:.2f})" if target else " (target: measured)")
        + f"; billing run CPU {sum(p[5] for p in parts):.1f} s ({renewed / sum(p[5] for p in parts):,.0f} renewed"
        + " per CPU s)"
        + f"; round trips/invoice {sum(p[1] for p in parts) / max(count, 1):.3f}"
        + f"; RSS MiB start {max(p[3] for p in parts):.0f}, peak {max(p[4] for p in parts):.0f}"
        + f"; seeded in {seed_seconds:.1f} s; checked: {'ok' if ok else 'WRONG'}",
        flush=True,
    )
    if not ok:
        raise SystemExit(f"invoicing results wrong: {(count, billed, total, first, last, renewed)} for {charged}")


def invoicing_rows(args: argparse.Namespace) -> None:
    """The issue's rows, each on a fresh database, or one row of ``--accounts`` and ``--processes``."""
    given = "--accounts" in sys.argv or "--processes" in sys.argv
    rows = ((args.accounts, args.processes, None),) if given else ROWS
    rows = tuple(row for row in rows if args.up_to is None or row[0] <= args.up_to)
    for accounts_wanted, processes, target in rows:
        invoicing_row(accounts_wanted, processes, target, args.year, args.seed_value)


# ------------------------------------------------------------------------------------------------ seat-month-3

SEAT_CATALOG = {
    "catalog": {"name": "seat-month-3"},
    "products": {
        "seats": {"kind": "plan", "name": "Seat plan", "rank": 1, "prices": {"month": {"USD": "10.00"}}},
        "base": {"kind": "addon", "name": "Base fee", "unit": "per_account", "prices": {"month": {"USD": "49.00"}}},
    },
}


TAX_BASIS_POINTS = 1900  # the workload's 19 %: Germany's standard rate in the default tax configuration


def half_up(numerator: int, denominator: int) -> int:
    """Rounding computed here, apart from the code under test: exact integers, halves up."""
    return (2 * numerator + denominator) // (2 * denominator)


def german_consumers(conn: Connection, ids: list[int]) -> None:
    """Each account's Sold-To and Bill-To: a consumer in Berlin, so that every invoice carries 19 % VAT (rules T1,
    T3)."""
    conn.execute(
        insert(contacts),
        [{"account_id": a, "kind": kind, "name": f"Customer {a}", "email": f"c{a}@example.test",
          "address_line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
         for a in ids for kind in ("sold_to", "bill_to")],
    )  # fmt: skip


def seat_month_3(args: argparse.Namespace) -> None:
    n = int(os.environ.get("BENCH_N", args.n))
    seed_value = int(os.environ.get("BENCH_SEED", args.seed_value))
    year = int(os.environ.get("BENCH_YEAR", args.year))
    rng = random.Random(seed_value)
    seats = [rng.randint(1, 20) for _ in range(n)]
    catalog = parse_catalog(SEAT_CATALOG, source="seat-month-3")
    peer = os.environ.get("PEER_DB_HOST")
    url = args.database or (
        f"postgresql://{os.environ.get('PEER_DB_USER', 'postgres')}@{peer}:{os.environ.get('PEER_DB_PORT', '5432')}"
        f"/{os.environ['PEER_DB_NAME']}"
        if peer
        else None
    )
    dates = [datetime(year, 1, 15, tzinfo=UTC), datetime(year, 2, 1, tzinfo=UTC), datetime(year, 3, 1, tzinfo=UTC)]

    def taxed(*amounts: int) -> int:  # rule T3, apart from the code under test: 19 % on each rounded line
        return sum(amount + half_up(amount * TAX_BASIS_POINTS, 10_000) for amount in amounts)

    expected = [
        [taxed(half_up(s * 1000 * 17, 31), half_up(4900 * 17, 31)) for s in seats],
        [taxed(s * 1000, 4900) for s in seats],
        [taxed(s * 1000, 4900) for s in seats],
    ]
    with bench_database(url) as db:
        engine = create_database_engine(db, pool_size=2)
        migrate(engine)
        clock = Clock(dates[0])
        with engine.begin() as conn:
            ids = [
                create_account(
                    conn,
                    code=f"c{i}",
                    name=f"Customer {i}",
                    currency="USD",
                    time_zone="UTC",
                    country="US",
                    now=dates[0],
                )
                for i in range(n)
            ]
            # every customer a consumer in Germany: 19 % VAT on every invoice (rules T1, T3)
            german_consumers(conn, ids)
            # prepaid, so that no payment happens in the timed part: every invoice is settled from the balance
            conn.execute(
                insert(credit_ledger),
                [{"account_id": a, "amount": 10**9, "currency": "USD", "reason": "prepaid", "created_at": dates[0]}
                 for a in ids],
            )  # fmt: skip
        trips = RoundTrips(engine)

        uow = uow_of(engine, catalog)

        gateway = SandboxGateway()
        cycles = []
        for index, day in enumerate(dates):
            clock.at = day
            before = trips.count
            started = time.perf_counter()
            if index == 0:
                for account_id, count in zip(ids, seats, strict=True):
                    place_order(
                        PlaceOrder(account_id, (ChangePlan("seats", count, billing_day=1), AddAddon("base")),
                                   f"start-{account_id}", actor="bench", terms_version="bench", terms_accepted=True),
                        uow=uow, clock=clock, gateway=gateway, catalog=catalog,
                    )  # fmt: skip
            else:
                invoice_due(day, uow, clock, catalog, BillingRunReport())
            seconds = time.perf_counter() - started
            queries = trips.count - before
            with engine.connect() as conn:
                rows = conn.execute(
                    select(invoices.c.account_id, invoices.c.total)
                    .where(invoices.c.issued_at == day, invoices.c.number.is_not(None))
                    .order_by(invoices.c.account_id)
                ).all()
                lines = conn.execute(
                    text("SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
                         "WHERE i.issued_at = :day"), {"day": day}
                ).scalar_one()  # fmt: skip
            cycles.append(
                {
                    "billing_date": day.date().isoformat(),
                    "invoices": len(rows),
                    "lines": int(lines),
                    "seconds": round(seconds, 3),
                    "invoices_per_s": round(len(rows) / seconds, 1),
                    "queries": queries,
                    "queries_per_invoice": round(queries / max(len(rows), 1), 2),
                    "_totals": [int(total) for _, total in rows],
                }
            )
        with engine.connect() as conn:
            numbers = conn.execute(select(invoices.c.number).where(invoices.c.year == year)).scalars().all()
        engine.dispose()
    ok = all(c.pop("_totals") == exp for c, exp in zip(cycles, expected, strict=True))
    ok = ok and sorted(numbers) == list(range(1, len(numbers) + 1))
    total_seconds = sum(c["seconds"] for c in cycles)
    total_invoices = sum(c["invoices"] for c in cycles)
    print(
        json.dumps(
            {
                "product": "prorata",
                "version": __version__,
                "workload": "seat-month-3",
                "db": "postgresql",
                "n": n,
                "seed": seed_value,
                "seats_sum": sum(seats),
                "tax": "19 % on every invoice (German consumers, rules T1, T3)",
                "cycles": cycles,
                "billing": {
                    "invoices": total_invoices,
                    "lines": sum(c["lines"] for c in cycles),
                    "seconds": round(total_seconds, 3),
                    "invoices_per_s": round(total_invoices / total_seconds, 1),
                    "queries_per_invoice": round(sum(c["queries"] for c in cycles) / max(total_invoices, 1), 2),
                },
                "peak_rss_mib": round(max_rss_mib(), 1),
                "correctness": {"ok": ok, "grand_total": sum(sum(e) for e in expected)},
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workload", choices=["default", "seat-month-3", "invoicing"], default="default")
    parser.add_argument(
        "--accounts", type=int, default=20_000, help="default workload: accounts (5 subscriptions each)"
    )
    parser.add_argument("--n", type=int, default=1000, help="seat-month-3: customers (BENCH_N)")
    parser.add_argument("--seed", dest="seed_value", type=int, default=20261127, help="random seed (BENCH_SEED)")
    parser.add_argument("--year", type=int, default=2025, help="billing year (BENCH_YEAR)")
    parser.add_argument("--database", help="an existing database URL instead of a fresh one")
    parser.add_argument("--json", action="store_true", help="default workload: one JSON line")
    parser.add_argument("--processes", type=int, default=1, help="default workload: billing runs in parallel")
    parser.add_argument("--collectors", type=int, default=8, help="default workload: batches collected at once")
    parser.add_argument(
        "--gateway-latency-ms", type=int, default=300,
        help="default workload: the collection again with a gateway this slow per call (0: not measured)",
    )  # fmt: skip
    parser.add_argument(
        "--slow-accounts", type=int, default=3000, help="default workload: accounts billed for the slow gateway"
    )
    parser.add_argument("--up-to", type=int, metavar="ACCOUNTS",
                        help="invoicing workload: only the rows of at most this many accounts")  # fmt: skip
    args = parser.parse_args()
    args.seed = args.seed_value
    if args.workload == "seat-month-3":
        seat_month_3(args)
    elif args.workload == "invoicing":
        invoicing_rows(args)
    else:
        default_workload(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
