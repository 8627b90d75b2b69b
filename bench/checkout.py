"""Benchmark: checkout, order -> invoice -> payment -> e-mail, one order at a time on PostgreSQL.

The orders are ``seat-month-3``'s first cycle (``bench/billing_run.py --workload seat-month-3``): N customers in
Germany (19 % VAT) each order the seat plan (seats drawn with the seed) and the 49.00 base add-on on Jan 15, billed
prorated to Feb 1, through ``services.place_order.place_order`` as the portal and the API place them. Two carts:

- ``prepaid``: the workload itself; each customer has a credit balance that pays the order, so the order, its
  invoice (numbered, paid), the subscriptions, the events, the audit line and the confirmation e-mail are written in
  one transaction;
- ``card``: the same orders paid by card through the sandbox gateway, a transaction on either side of the charge
  (the intent, then the answer); every tenth card is declined, and its order fails with nothing applied.

Printed, one row each: orders per second and SQL statements per order (counted with SQLAlchemy's
``before_cursor_execute``), each with its ratio to the target (400 orders/s, 8 statements). Checked, apart from the
code under test: every invoice's total and every charge, computed here from the seats; one confirmation e-mail per
placed order; invoice numbers gap-free; a declined order failed, unnumbered, with no subscription.

Run: ``.venv/bin/python bench/checkout.py [--n 1000] [--profile]``. A fresh database named
prorata_bench_checkout_<pid> is created on the local PostgreSQL (user postgres) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from billing_run import (  # the billing benchmark, beside this file
    SEAT_CATALOG,
    TAX_BASIS_POINTS,
    Clock,
    RoundTrips,
    fresh_postgres,
    german_consumers,
    half_up,
    uow_of,
)
from prorata.adapters.db.accounts import create_account
from prorata.adapters.db.database import create_database_engine, migrate
from prorata.adapters.db.schema import (
    credit_ledger,
    invoices,
    orders,
    outbox,
    payment_methods,
    payments,
    subscriptions,
)
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.cart import AddAddon, ChangePlan
from prorata.domain.catalog import parse_catalog
from prorata.services.place_order import PlaceOrder, place_order

TARGET_RATE = 400  # orders per second
TARGET_STATEMENTS = 8  # per order
DAY = datetime(2025, 1, 15, tzinfo=UTC)


def expected_total(seats: int) -> int:
    """Jan 15 to Feb 1 of 31 days: 17/31 of each monthly price, each line rounded, then 19 % on each (rule T3)."""
    lines = (half_up(seats * 1000 * 17, 31), half_up(4900 * 17, 31))
    return sum(amount + half_up(amount * TAX_BASIS_POINTS, 10_000) for amount in lines)


def run(cart: str, n: int, seed: int, profile: bool) -> dict[str, object]:
    rng = random.Random(seed)
    seats = [rng.randint(1, 20) for _ in range(n)]
    catalog = parse_catalog(SEAT_CATALOG, source="seat-month-3")
    with fresh_postgres(f"prorata_bench_checkout_{cart}") as db:
        engine = create_database_engine(db, pool_size=2)
        migrate(engine)
        with engine.begin() as conn:
            ids = [
                create_account(conn, code=f"c{i}", name=f"Customer {i}", currency="USD", time_zone="UTC",
                               country="US", now=DAY)
                for i in range(n)
            ]  # fmt: skip
            german_consumers(conn, ids)
            if cart == "prepaid":
                conn.execute(
                    insert(credit_ledger),
                    [{"account_id": a, "amount": 10**9, "currency": "USD", "reason": "prepaid", "created_at": DAY}
                     for a in ids],
                )  # fmt: skip
            else:
                conn.execute(
                    insert(payment_methods),
                    [{"account_id": a, "kind": "card", "gateway": "sandbox", "brand": "visa", "last4": "4242",
                      "token": f"tok_sandbox_{'card_declined' if i % 10 == 9 else 'succeeded'}_{a}",
                      "is_default": True, "created_at": DAY}
                     for i, a in enumerate(ids)],
                )  # fmt: skip
        declined = {a for i, a in enumerate(ids) if cart == "card" and i % 10 == 9}
        trips = RoundTrips(engine)
        uow = uow_of(engine, catalog)
        clock = Clock(DAY)
        gateway = SandboxGateway()
        profiler = cProfile.Profile() if profile else None
        answers = []
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for account_id, count in zip(ids, seats, strict=True):
            answers.append(
                place_order(
                    PlaceOrder(account_id, (ChangePlan("seats", count, billing_day=1), AddAddon("base")),
                               f"start-{account_id}", actor="bench", terms_version="bench", terms_accepted=True),
                    uow=uow, clock=clock, gateway=gateway, catalog=catalog,
                )
            )  # fmt: skip
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
        statements = trips.count
        with engine.connect() as conn:
            totals = dict(conn.execute(select(invoices.c.account_id, invoices.c.total)).all())
            numbered = dict(
                conn.execute(
                    select(invoices.c.account_id, invoices.c.number).where(invoices.c.number.is_not(None))
                ).all()
            )
            charged = dict(
                conn.execute(
                    select(payments.c.account_id, payments.c.amount).where(payments.c.status == "succeeded")
                ).all()
            )
            statuses = dict(conn.execute(select(orders.c.account_id, orders.c.status)).all())
            mails = dict(
                conn.execute(
                    select(outbox.c.account_id, func.count())
                    .where(outbox.c.kind == "order_confirmation")
                    .group_by(outbox.c.account_id)
                ).all()
            )
            with_subscriptions = set(conn.execute(select(subscriptions.c.account_id).distinct()).scalars())
        engine.dispose()
    placed = [a for a in ids if a not in declined]
    want = {a: expected_total(s) for a, s in zip(ids, seats, strict=True)}
    ok = {
        "totals": all(totals.get(a) == want[a] for a in ids),
        "answers": all(
            r.status == ("failed" if a in declined else "placed") and r.amount_due == (want[a] if cart == "card" else 0)
            for a, r in zip(ids, answers, strict=True)
        ),
        "charged": charged == ({a: want[a] for a in placed} if cart == "card" else {}),
        "placed": all(statuses[a] == "placed" for a in placed) and all(statuses[a] == "failed" for a in declined),
        "mails": mails == dict.fromkeys(placed, 1),
        "numbers": sorted(numbered.values()) == list(range(1, len(placed) + 1)) and set(numbered) == set(placed),
        "declined_untouched": not (declined & with_subscriptions) and with_subscriptions == set(placed),
    }
    out: dict[str, object] = {
        "cart": cart,
        "orders": n,
        "declined": len(declined),
        "seconds": round(seconds, 3),
        "orders_per_s": round(n / seconds, 1),
        "statements_per_order": round(statements / n, 2),
        "money": {"invoiced": sum(want.values()), "charged": sum(charged.values())},
        "ok": all(ok.values()),
        "checks": ok,
    }
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
        out["profile"] = text.getvalue()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="customers, one order each")
    parser.add_argument("--seed", type=int, default=20261127, help="random seed of the seats (BENCH_SEED)")
    parser.add_argument("--cart", choices=["prepaid", "card", "both"], default="both")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top lines (slows the run)")
    parser.add_argument("--json", action="store_true", help="one JSON line per cart")
    args = parser.parse_args()
    carts = ["prepaid", "card"] if args.cart == "both" else [args.cart]
    ok = True
    for cart in carts:
        row = run(cart, args.n, args.seed, args.profile)
        ok = ok and bool(row["ok"])
        profile = row.pop("profile", None)
        if args.json:
            print(json.dumps(row))
        else:
            rate, per = float(row["orders_per_s"]), float(row["statements_per_order"])  # type: ignore[arg-type]
            print(
                f"checkout: order -> invoice -> payment -> e-mail ({cart}, {row['orders']} orders): "
                f"{rate:.1f} orders/s ({rate / TARGET_RATE:.2f}x of {TARGET_RATE}/s), "
                f"{per:.2f} statements per order ({TARGET_STATEMENTS / per:.2f}x of <= {TARGET_STATEMENTS}), "
                f"money {'ok' if row['ok'] else 'WRONG'}: {json.dumps(row['money'])}"
            )
            if not row["ok"]:
                print(f"  failed checks: {[k for k, v in row['checks'].items() if not v]}")  # type: ignore[attr-defined]
        if profile:
            print(profile)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
