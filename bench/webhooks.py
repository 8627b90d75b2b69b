"""Benchmark: outgoing webhooks, from the queue to a receiver on 127.0.0.1, on SQLite or PostgreSQL.

The database is fresh: a SQLite file in a temporary folder (the default), with ``--postgresql`` a database made for the
run on the local server (user postgres) and dropped afterwards, or ``--database URL``, which must hold no accounts
(refused before anything is written: the benchmark writes its own). One endpoint is registered (through the use case,
private addresses allowed for 127.0.0.0/8) at the benchmark receiver (``bench/webhook_receiver.py``, a process of its
own that answers 204 at once and keeps every request's ``webhook-id``, account and arrival time), and ``--accounts``
accounts are made.

Events are written through the unit of work (``record_event``, as use cases record them: each event with its
deliveries, in the transaction that commits it), ``--batch`` events per transaction for the throughput figures; no
orders are placed, so the figures are the delivery path's alone. The events go round the accounts (event i to account
i mod A), so every account's lane has its share in order.

Measured:

1. throughput of one ``deliver_webhooks`` in this process (16 lanes side by side, the defaults): ``--events`` events
   delivered, per second;
2. throughput of ``--workers`` ``prorata worker`` processes sharing the queue: the workers are started and idle, then
   ``--events`` more events are committed in one transaction; from that commit to the last arrival, per second;
3. the delay from a change to its delivery, with those workers running (``--interval`` seconds between idle rounds):
   one event per transaction, ``--rate`` a second for ``--seconds``, each commit's time taken in this process and
   each arrival's in the receiver's; p50, p99 and the slowest.

Checked afterwards, or the benchmark fails: every event arrived exactly once (as many distinct ``webhook-id`` as
events, no repeat, none unknown), every delivery is ``delivered`` after one attempt, each account's events arrived in
the order they were written, and the workers stopped on SIGTERM with exit status 0. Throughput is compared with the
target of 500 events per second on two cores.

Run: ``.venv/bin/python bench/webhooks.py [--postgresql | --database URL] [--events 5000] [--accounts 50]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, select

from billing_run import fresh_postgres  # the billing benchmark, beside this file
from billing_run import refuse_a_database_in_use as refuse
from prorata.adapters.db.accounts import create_account
from prorata.adapters.db.clock import SystemClock
from prorata.adapters.db.database import create_database_engine, migrate
from prorata.adapters.db.schema import events, webhook_attempts, webhook_deliveries
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.adapters.webhooks.secrets import DerivedSecrets
from prorata.adapters.webhooks.sender import WebhookSender, check_url
from prorata.catalogs import default_catalog
from prorata.services.webhooks import EndpointIn, create_endpoint, deliver_webhooks
from webhook_receiver import Arrival, BenchReceiver, start  # the benchmark receiver, beside this file

PRIVATE = ("127.0.0.0/8",)
KEY = "bench installation key, not a secret"
TARGET = 500.0  # events delivered per second on two cores


def refuse_a_database_in_use(url: str) -> None:
    refuse(url, "bench/webhooks.py", "writes its own accounts, events and endpoint")


@contextmanager
def bench_database(url: str | None, postgresql: bool) -> Iterator[str]:
    if url:
        refuse_a_database_in_use(url)
        yield url
        return
    if not postgresql:
        with tempfile.TemporaryDirectory(prefix="prorata-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'webhooks.sqlite3'}"
        return
    with fresh_postgres("prorata_bench_webhooks") as fresh:
        yield fresh


class Bench:
    def __init__(self, url: str, accounts_wanted: int) -> None:
        self.url = url
        self.engine = create_database_engine(url, pool_size=20)
        migrate(self.engine)
        self.catalog = default_catalog()
        self.clock = SystemClock()
        self.secrets = DerivedSecrets(KEY.encode())
        now = self.clock.now()
        with self.engine.begin() as conn:
            self.accounts = [
                create_account(conn, code=f"wh{i}", name=f"Webhooks {i}", currency="USD", time_zone="UTC",
                               country="US", now=now)
                for i in range(accounts_wanted)
            ]  # fmt: skip
        self.written = 0

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.catalog.granularity)

    def register(self, url: str) -> int:
        endpoint, _secret = create_endpoint(EndpointIn(url, description="bench receiver"), actor="bench",
                                            uow=self.uow, clock=self.clock, secrets=self.secrets,
                                            check_url=lambda u: check_url(u, PRIVATE))  # fmt: skip
        return endpoint.id

    def write(self, count: int) -> float:
        """``count`` events, one transaction; the time of its commit (time.time())."""
        with self.uow() as tx:
            for _ in range(count):
                n = self.written
                self.written += 1
                account = self.accounts[n % len(self.accounts)]
                data = {"id": f"inv_{n}", "object": "invoice", "account_id": account, "number": f"INV-2026-{n:06d}",
                        "status": "paid", "currency": "USD", "total": 4900 + n % 1000, "amount_due": 0,
                        "lines": [{"product": "pro", "description": "Pro, monthly", "quantity": 1 + n % 9,
                                   "unit_amount": 4900, "period_start": "2026-11-01T00:00:00Z",
                                   "period_end": "2026-12-01T00:00:00Z"}]}  # fmt: skip
                tx.record_event("invoice.paid", account, "invoice", f"inv_{n}", self.clock.now(), data)
        return time.time()

    def write_in_batches(self, count: int, batch: int) -> None:
        for first in range(0, count, batch):
            self.write(min(batch, count - first))


def workers(url: str, count: int, interval: float, folder: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PRORATA_DATABASE_URL": url, "PRORATA_WEBHOOK_ALLOW_PRIVATE": ",".join(PRIVATE),
           "PRORATA_SECRET_KEY": KEY, "PRORATA_MAIL_DIR": str(folder / "mail")}  # fmt: skip
    command = [sys.executable, "-m", "prorata", "worker", "--interval", str(interval)]
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(count)]


def stop(processes: list[subprocess.Popen[bytes]]) -> list[str]:
    """SIGTERM to each; what went wrong (an exit status but 0, anything on standard error)."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    problems = []
    for process in processes:
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        if process.returncode != 0 or err:
            problems.append(f"worker {process.pid} exited {process.returncode}: {err.decode()[-500:]!r}")
    return problems


def wait_for(receiver: BenchReceiver, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while receiver.count() < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/webhooks.py: {receiver.count()} of {count} webhooks arrived in {timeout:g} s")
        time.sleep(0.05)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def check(engine: Engine, arrivals: list[Arrival]) -> list[str]:
    """Every event arrived once, delivered after one attempt, each account's in the order written."""
    with engine.connect() as conn:
        written = conn.execute(select(events.c.public_id, events.c.account_id).order_by(events.c.id)).all()
        statuses = dict(
            conn.execute(select(webhook_deliveries.c.status, func.count()).group_by(webhook_deliveries.c.status)).all()
        )
        attempts = int(conn.execute(select(func.count()).select_from(webhook_attempts)).scalar_one())
    problems = []
    ids = [a.message_id for a in arrivals]
    if len(set(ids)) != len(written) or set(ids) != {public_id for public_id, _ in written}:
        problems.append(f"{len(set(ids))} distinct webhook-ids arrived for {len(written)} events")
    if len(ids) != len(set(ids)):
        problems.append(f"{len(ids) - len(set(ids))} repeats arrived")
    if statuses != {"delivered": len(written)}:
        problems.append(f"deliveries by status {statuses}, {len(written)} events")
    if attempts != len(written):
        problems.append(f"{attempts} attempts for {len(written)} deliveries")
    expected: dict[int, list[str]] = defaultdict(list)
    for public_id, account in written:
        expected[int(account)].append(public_id)
    arrived: dict[int | None, list[str]] = defaultdict(list)
    for arrival in arrivals:
        arrived[arrival.account_id].append(arrival.message_id)
    out_of_order = [account for account, wanted in expected.items() if arrived.get(account) != wanted]
    if out_of_order:
        problems.append(f"{len(out_of_order)} accounts' events arrived out of the order written (e.g. account "
                        f"{out_of_order[0]})")  # fmt: skip
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database", help="an empty database to use (refused if it holds accounts)")
    where.add_argument("--postgresql", action="store_true", help="a fresh database on the local PostgreSQL")
    parser.add_argument("--events", type=int, default=5000, help="events per throughput figure (default 5000)")
    parser.add_argument("--accounts", type=int, default=50, help="accounts the events go round (default 50)")
    parser.add_argument("--batch", type=int, default=500, help="events per transaction when seeding (default 500)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes sharing the queue (default 2)")
    parser.add_argument("--interval", type=float, default=0.05, help="workers' idle pause in seconds (default 0.05)")
    parser.add_argument("--rate", type=float, default=50, help="changes per second for the delay (default 50)")
    parser.add_argument("--seconds", type=float, default=10, help="how long changes are made (default 10)")
    options = parser.parse_args()

    with bench_database(options.database, options.postgresql) as url, start() as receiver:
        bench = Bench(url, options.accounts)
        bench.register(receiver.url)
        dialect = bench.engine.dialect.name
        with bench.engine.connect() as conn:
            version = conn.exec_driver_sql("select sqlite_version()" if dialect == "sqlite" else "show server_version")
            server = f"{dialect} {version.scalar_one()}"
        print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}; "
              f"database: {server}; receiver in its own process")  # fmt: skip
        print(f"events: written through the unit of work (record_event, {options.batch} per transaction when "
              f"seeding, one per transaction for the delay), no orders; {options.accounts} accounts, one "
              "endpoint")  # fmt: skip

        # 1. one deliver_webhooks in this process
        bench.write_in_batches(options.events, options.batch)
        with WebhookSender(allow_private=PRIVATE) as sender:
            started = time.perf_counter()
            report = deliver_webhooks(uow=bench.uow, clock=bench.clock, wall=bench.clock, sender=sender,
                                      secrets=bench.secrets)  # fmt: skip
            one = time.perf_counter() - started
        if report.delivered != options.events or report.failed or report.given_up:
            raise SystemExit(f"bench/webhooks.py: deliver_webhooks reported {report}")
        one_rate = options.events / one
        print(f"1 deliver_webhooks (this process): {options.events} events in {one:.2f} s, {one_rate:,.0f}/s, "
              f"{one_rate / TARGET:.2f}x the target of {TARGET:,.0f}/s")  # fmt: skip

        with tempfile.TemporaryDirectory(prefix="prorata-bench-workers-") as folder:
            running = workers(url, options.workers, options.interval, Path(folder))
            problems: list[str] = []
            try:
                time.sleep(3)  # the workers started and idle
                # 2. the workers sharing the queue: one commit of many events, timed to the last arrival
                before = receiver.count()
                committed = bench.write(options.events)
                wait_for(receiver, before + options.events, 300)
                last = max(a.at for a in receiver.arrivals()[before:])
                many = last - committed
                many_rate = options.events / many
                print(f"{options.workers} prorata worker processes: {options.events} events committed at once, all "
                      f"arrived {many:.2f} s after the commit, {many_rate:,.0f}/s, {many_rate / TARGET:.2f}x the "
                      f"target")  # fmt: skip

                # 3. the delay from a change to its delivery
                before = receiver.count()
                changes = int(options.rate * options.seconds)
                commits: list[float] = []
                began = time.monotonic()
                for n in range(changes):
                    time.sleep(max(0.0, began + n / options.rate - time.monotonic()))
                    commits.append(bench.write(1))
                wait_for(receiver, before + changes, 120)
            finally:
                problems += stop(running)
        arrivals = receiver.arrivals()
        with bench.engine.connect() as conn:
            latest = conn.execute(select(events.c.public_id).order_by(events.c.id.desc()).limit(changes)).scalars()
            committed_at = dict(zip(reversed(list(latest)), commits, strict=True))
        delays = [(a.at - committed_at[a.message_id]) * 1000 for a in arrivals if a.message_id in committed_at]
        print(f"delay from commit to arrival, {changes} changes at {options.rate:g}/s with {options.workers} workers "
              f"idling {options.interval:g} s between rounds: p50 {statistics.median(delays):.0f} ms, p99 "
              f"{percentile(delays, 99):.0f} ms, slowest {max(delays):.0f} ms")  # fmt: skip

        problems += check(bench.engine, arrivals)
        bench.engine.dispose()
    if problems:
        raise SystemExit("bench/webhooks.py: " + "; ".join(problems))
    total = options.events * 2 + changes
    print(f"checked: {total} events each arrived once ({total} distinct webhook-ids, no repeat), every delivery "
          "delivered after one attempt, each account's events in the order written, workers stopped with status "
          "0")  # fmt: skip


if __name__ == "__main__":
    main()
