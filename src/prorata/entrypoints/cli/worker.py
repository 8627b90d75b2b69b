"""``prorata worker``: the background work of an installation, apart from the web processes and the billing run.

Each round it delivers the webhooks due, sends the e-mail outbox, and, every ``--collect-every`` seconds, charges the
open invoices whose payment attempt is due (the collection stage of the billing run, rules I6, I8), and every
``--metrics-every`` seconds computes the operator dashboard's figures again (``prorata metrics refresh``). Once in a
while it purges events past their retention. Any number of workers, on any hosts, share one PostgreSQL database with
the web processes and the billing runs: webhook lanes are claimed with SKIP LOCKED, e-mails with leases, and a payment
attempt by its account's lock and its attempt key (``invoice-<id>-attempt-<n>``), so nothing is done twice.

``prorata serve`` runs a worker thread of its own for the embedded default (webhooks and e-mail, no collection:
a web process stays quick to answer); ``prorata bill`` collects what it invoices.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prorata.adapters.db.clock import SystemClock
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli import mail, metrics, status
from prorata.services import vat_numbers, webhooks
from prorata.services.renew_due import BillingRunReport, collect_due
from prorata.services.webhook_ports import WebhookSender

Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
PURGE_EVERY = 600  # rounds
METRICS_EVERY = 900.0  # seconds between refreshes of the dashboard's figures, by default
VAT_EVERY = 600.0  # seconds between looks for provisional VAT numbers due to be asked again, by default
COLLECT_WAIT = 2.0  # seconds a worker waits for an account another transaction holds; the next round tries again


@dataclass(frozen=True, slots=True)
class Duties:
    """What a worker does besides webhooks and e-mail: collection every ``collect_every`` seconds (None: never),
    ``collectors`` payments at a time."""

    collect_every: float | None = None
    collectors: int = 1
    lease: float = webhooks.LEASE_SECONDS
    metrics_every: float | None = None  # seconds between refreshes of the dashboard's figures (None: never)
    vat_every: float | None = None  # seconds between re-checks of provisional VAT numbers (None: never)


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate) -> None:
    worker = database(commands.add_parser(
        "worker", help="deliver webhooks, send e-mail, collect the payments due and purge old events until stopped"
    ))  # fmt: skip
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between rounds when idle (default 1)")
    worker.add_argument("--once", action="store_true", help="one round, then stop")
    worker.add_argument("--lease", type=float, default=webhooks.LEASE_SECONDS,
                        help="seconds after which a delivery claimed by a worker that died is sent again "
                        "(default %(default)g)")  # fmt: skip
    worker.add_argument("--collect-every", type=float, default=60.0, metavar="SECONDS",
                        help="charge the invoices whose payment attempt is due this often, in seconds "
                        "(default 60; 0: never)")  # fmt: skip
    worker.add_argument(
        "--collectors", type=int, help="payments collected at the same time (default 8 on PostgreSQL, 1 on SQLite)"
    )
    worker.add_argument("--metrics-every", type=float, default=METRICS_EVERY, metavar="SECONDS",
                        help="compute the operator dashboard's figures again this often, in seconds "
                        "(default 900; 0: never)")  # fmt: skip
    worker.add_argument("--vat-every", type=float, default=VAT_EVERY, metavar="SECONDS",
                        help="ask the EU registry (VIES) again about VAT numbers it did not answer for, this often, "
                        "in seconds (default 600; 0: never)")  # fmt: skip


def run(app: App, args: argparse.Namespace) -> int:
    if args.collect_every < 0:
        raise InvalidInput("worker.collect_every", "collect-every: 0 or more seconds", field="collect-every")
    collectors = args.collectors if args.collectors is not None else 8 if app.engine.dialect.name == "postgresql" else 1
    if collectors < 1:
        raise InvalidInput("worker.collectors", "collectors: at least 1", field="collectors")
    if args.metrics_every < 0:
        raise InvalidInput("worker.metrics_every", "metrics-every: 0 or more seconds", field="metrics-every")
    if args.vat_every < 0:
        raise InvalidInput("worker.vat_every", "vat-every: 0 or more seconds", field="vat-every")
    duties = Duties(args.collect_every or None, collectors, args.lease, args.metrics_every or None,
                    args.vat_every or None)  # fmt: skip
    return work(app, interval=args.interval, once=args.once, duties=duties)


def work_round(app: App, sender: WebhookSender, *, purge: bool, duties: Duties = Duties(),
               collect: bool = False) -> webhooks.DeliveryReport:  # fmt: skip
    """One round of a worker: webhooks due, then (when asked) the payments due, then the e-mail outbox (which then
    holds the receipts and failure notices of those payments), then (when asked) old events."""
    app.clock.refresh()
    report = webhooks.deliver_webhooks(uow=app.uow, clock=app.clock, wall=SystemClock(), sender=sender,
                                       secrets=app.secrets, lease_seconds=duties.lease,
                                       operator_email=app.webhooks.operator_email)  # fmt: skip
    for endpoint in report.disabled:
        say(f"webhook endpoint {endpoint} disabled after failing for 3 days")
    if collect:
        collect_payments(app, duties.collectors)
    sent = mail.deliver(app)
    for message_id, why in sent.failed:
        say(f"e-mail {message_id} not sent: {why}")
    if purge:
        webhooks.purge_events(uow=app.uow, clock=app.clock, retention_days=app.webhooks.retention_days)
    return report


def collect_payments(app: App, collectors: int) -> BillingRunReport:
    """The billing run's collection stage on its own: every open invoice whose attempt is due is charged once."""
    collected = BillingRunReport()
    collect_due(app.uow, app.clock, app.gateway, collected, dunning=app.dunning, workers=collectors,
                wait=COLLECT_WAIT)  # fmt: skip
    made = collected.payments_succeeded + collected.payments_failed + collected.payments_waiting
    if made:
        say(f"collected {collected.payments_succeeded} payments, {collected.payments_failed} failed, "
            f"{collected.payments_waiting} waiting for the customer")  # fmt: skip
    for overdue in collected.accounts_overdue:
        say(f"account {overdue} overdue")
    return collected


def work(
    app: App, *, interval: float = 1.0, once: bool = False, stop: threading.Event | None = None,
    duties: Duties = Duties(),
) -> int:  # fmt: skip
    """Rounds until stopped (SIGTERM or Ctrl-C, or ``stop``); a round that fails is reported and the next one tried."""
    stop = stop or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sender = app.webhook_sender()
    rounds = 0
    collected_at: float | None = None
    refreshed_at: float | None = None
    checked_at: float | None = None
    try:
        while True:
            started = time.monotonic()
            collect = duties.collect_every is not None and (
                collected_at is None or started - collected_at >= duties.collect_every
            )
            try:
                work_round(app, sender, purge=rounds % PURGE_EVERY == 0, duties=duties, collect=collect)
            except Exception as error:  # a database or mail server that is down: try again at the next round
                say(f"{type(error).__name__}: {error}")
            if collect:
                collected_at = started
            if duties.metrics_every is not None and (
                refreshed_at is None or started - refreshed_at >= duties.metrics_every
            ):
                refreshed_at = started
                try:
                    metrics.refresh(app)
                except Exception as error:  # the next period tries again
                    say(f"dashboard figures not refreshed: {type(error).__name__}: {error}")
            if duties.vat_every is not None and (checked_at is None or started - checked_at >= duties.vat_every):
                checked_at = started
                try:
                    recheck_vat_numbers(app)
                except Exception as error:  # the next period tries again
                    say(f"VAT numbers not checked again: {type(error).__name__}: {error}")
            rounds += 1
            if once or stop.wait(interval):
                return status.DONE
    except KeyboardInterrupt:
        return status.DONE
    finally:
        sender.close()
        if previous is not None:  # the process's own handler again, for a caller that goes on
            signal.signal(signal.SIGTERM, previous)


def recheck_vat_numbers(app: App) -> vat_numbers.Recheck:
    """The provisional VAT numbers due, asked of the registry again (rule T2); those it refuses are told."""
    done = vat_numbers.recheck(registry=app.vat_registry, uow=app.uow, clock=app.clock,
                               operator_email=app.webhooks.operator_email)  # fmt: skip
    for number in done.invalid:
        say(f"VAT number {number} is not registered in VIES (the operator is told)")
    return done


def say(line: str) -> None:
    print(f"prorata worker: {line}", file=sys.stderr, flush=True)
