"""``prorata bill``, ``prorata clock show|advance`` and ``prorata reconcile``: the billing run and its rehearsal on a
simulation clock, and the repair of payments a crash left unfinished.

Each prints a few lines for people, or with ``--json`` one JSON object on standard output (money in minor units
beside its currency, instants ISO 8601 with their offset). The billing part of that object is the API's answer to
``POST /api/v1/operator/billing-runs``, field for field, so a script reads the run the same way from both.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import select

from prorata.adapters.db.clock import SystemClock, in_simulation, move_clock
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.schema import accounts, invoices
from prorata.bootstrap import App
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli import mail, metrics, status
from prorata.services.billing_runs import logged_run
from prorata.services.billing_window import check_until, parse_until
from prorata.services.outbox import SendReport
from prorata.services.reconcile import ReconcileReport, reconcile
from prorata.services.renew_due import (
    WAIT,
    BillingRunReport,
    RefusedAccount,
    RenewDue,
    UnattemptedInvoice,
    check_wait,
)
from prorata.services.simulation import advance

IN_ADVANCE = "--bill-in-advance"


def bill(app: App, args: argparse.Namespace) -> int:
    now = app.clock.now()
    until = parse_until(args.until) if args.until else now
    check_until(until, now=now, in_advance=args.bill_in_advance, asked_by=IN_ADVANCE)
    wait = check_wait(args.wait)
    report = run_billing(app, until, args.collectors, wait, actor="prorata bill")
    sent = mail.deliver(app)  # rules I4, I8: the run's receipts and dunning e-mails go out now
    metrics.refresh_quietly(app)  # the dashboard shows the run's invoices and payments
    names = Names.of(app, report)
    if args.json:
        _print_json({"until": until.isoformat(), "billing": billing_json(report, names), "emails": mail.as_json(sent)})
    else:
        print_report(report, names, app.dunning)
        mail.print_report(sent)
    return exit_status(report, sent)


def exit_status(report: BillingRunReport, sent: SendReport) -> int:
    return status.worst(status.DONE if report.complete else status.DONE_IN_PART, mail.exit_status(sent))


def run_billing(app: App, until: datetime, collectors: int | None = None, wait: float = WAIT, *, actor: str,
                quiet: bool = False) -> BillingRunReport:  # fmt: skip
    """A logged billing run; ``quiet``: no progress bar (a web process's console)."""
    if collectors is None:
        # a gateway answers in a few hundred milliseconds: several calls at once on PostgreSQL; SQLite has one
        # writer at a time anyway
        collectors = 8 if app.engine.dialect.name == "postgresql" else 1
    if collectors < 1:
        raise InvalidInput("bill.collectors", "collectors: at least 1", field="collectors")
    bar = ProgressBar("billing", io.StringIO() if quiet else sys.stderr)
    report = logged_run(
        RenewDue(until, collectors=collectors, wait=wait), actor=actor, log=app.billing_runs(), wall=SystemClock(),
        uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, dunning=app.dunning,
        progress=bar.update, tax=app.tax,
    )  # fmt: skip
    bar.close()
    return report


class ProgressBar:
    """``billing [##########----------]  1,200/2,400 accounts``, redrawn in place on a terminal; elsewhere (a log
    file, CI) a line at every tenth of the way, so the log stays readable."""

    WIDTH = 30

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = -1
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        text = f"{self.label} [{'#' * filled}{'-' * (self.WIDTH - filled)}] {done:,}/{total:,} accounts"
        if self.tty:
            print(f"\r{text}", end="", file=self.stream, flush=True)
            self.drawn = True
        elif (tenth := 10 * done // total if total else 10) > self.shown:
            self.shown = tenth
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.drawn:
            print(file=self.stream)


@dataclass(frozen=True, slots=True)
class Names:
    """The operator knows accounts by their code and invoices by their number; the report holds their ids."""

    accounts: dict[int, str]
    invoices: dict[int, str]

    @classmethod
    def of(cls, app: App, report: BillingRunReport) -> Names:
        account_ids = {a.account_id for a in (*report.refused, *report.not_renewed)}
        account_ids |= {i.account_id for i in report.not_attempted}
        invoice_ids = [i.invoice_id for i in report.not_attempted]
        if not account_ids:
            return cls({}, {})
        with app.engine.connect() as conn:
            codes = conn.execute(select(accounts.c.id, accounts.c.code).where(accounts.c.id.in_(account_ids)))
            numbers = conn.execute(
                select(invoices.c.id, invoices.c.series, invoices.c.year, invoices.c.number).where(
                    invoices.c.id.in_(invoice_ids), invoices.c.number.is_not(None)
                )
            )
            return cls(
                {int(account_id): str(code) for account_id, code in codes},
                {int(r.id): invoice_number_text(r.series, r.year, r.number) for r in numbers},
            )


def print_report(report: BillingRunReport, names: Names, dunning: DunningPolicy) -> None:
    print(f"accounts renewed: {report.accounts}")
    print(
        f"invoices: {len(report.invoices)}"
        + (f" ({report.invoices[0]} .. {report.invoices[-1]})" if report.invoices else "")
    )
    print(
        f"payments: {report.payments_succeeded} succeeded, {report.payments_failed} failed"
        + (f", {report.payments_waiting} waiting for the customer to confirm" if report.payments_waiting else "")
    )
    for label, ids in (
        ("overdue", report.accounts_overdue),
        ("re-enabled", report.accounts_reenabled),
        (f"cancelled after {dunning.cancel_after_overdue_days} days overdue", report.accounts_cancelled),  # rule I8
        ("told their free trial ends soon", report.trials_reminded),  # rule TR1
        ("waited for (held by another transaction, or an order being paid)", report.busy),
        ("renewed by another billing run", report.left_to_another_run),
    ):
        if ids:
            print(f"accounts {label}: {', '.join(map(str, ids))}")
    not_renewed = [*report.refused, *report.not_renewed]
    if not_renewed:
        print(f"accounts not renewed: {len(not_renewed)}")
        for refused in not_renewed:
            rule = f", rule {refused.rule}" if refused.rule else ""
            print(f"  {names.accounts.get(refused.account_id, '?')} (id {refused.account_id}): {refused.message} "
                  f"[{refused.code}{rule}]")  # fmt: skip
    if report.not_attempted:
        print(f"invoices not attempted: {len(report.not_attempted)}")
        for invoice in report.not_attempted:
            rule = f", rule {invoice.rule}" if invoice.rule else ""
            print(f"  {names.invoices.get(invoice.invoice_id, '?')} (id {invoice.invoice_id}) of "
                  f"{names.accounts.get(invoice.account_id, '?')} (id {invoice.account_id}): {invoice.message} "
                  f"[{invoice.code}{rule}]")  # fmt: skip


def billing_json(report: BillingRunReport, names: Names) -> dict[str, Any]:
    """The run as the API answers it (``BillingRunOut``), each account with its code and each invoice with its
    number as well."""
    return {
        "complete": report.complete,
        "accounts": report.accounts,
        "invoices": list(report.invoices),
        "subscriptions_renewed": report.subscriptions_renewed,
        "payments_succeeded": report.payments_succeeded,
        "payments_failed": report.payments_failed,
        "payments_waiting": report.payments_waiting,
        "accounts_overdue": list(report.accounts_overdue),
        "accounts_reenabled": list(report.accounts_reenabled),
        "accounts_cancelled": list(report.accounts_cancelled),
        "accounts_trial_reminded": list(report.trials_reminded),
        "accounts_busy": list(report.busy),
        "accounts_left_to_another_run": list(report.left_to_another_run),
        "accounts_refused": [_refused_json(refused, names) for refused in report.refused],
        "accounts_not_renewed": [_refused_json(account, names) for account in report.not_renewed],
        "invoices_not_attempted": [_unattempted_json(invoice, names) for invoice in report.not_attempted],
    }


def _refused_json(refused: RefusedAccount, names: Names) -> dict[str, Any]:
    return {
        "account_id": refused.account_id,
        "account_code": names.accounts.get(refused.account_id),
        "code": refused.code,
        "message": refused.message,
        "rule": refused.rule,
    }


def _unattempted_json(invoice: UnattemptedInvoice, names: Names) -> dict[str, Any]:
    return {
        "invoice_id": invoice.invoice_id,
        "invoice_number": names.invoices.get(invoice.invoice_id),
        "account_id": invoice.account_id,
        "account_code": names.accounts.get(invoice.account_id),
        "code": invoice.code,
        "message": invoice.message,
        "rule": invoice.rule,
    }


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def clock_show(app: App, args: argparse.Namespace) -> int:
    simulated = in_simulation(app.engine)
    if args.json:
        _print_json({"now": app.clock.now().isoformat(), "simulation": simulated})
    else:
        print(f"{app.clock.now().isoformat()} ({'simulation' if simulated else 'real'} clock)")
    return status.DONE


def clock_advance(app: App, args: argparse.Namespace) -> int:
    if args.days is not None and args.days < 1:
        raise InvalidInput("clock.days", "days: a whole number of days, 1 or more", field="days")
    wait = check_wait(args.wait)
    start = app.clock.now()
    target = start + timedelta(days=args.days) if args.days is not None else parse_until(args.to, field="to")
    if target <= start:
        move_clock(app.engine, target)  # refuses, naming why: not a simulation, or backwards
    total = advance_days(app, start, target, wait)
    sent = mail.deliver(app)  # the rehearsal's receipts and dunning e-mails, as a real billing run sends them
    metrics.refresh_quietly(app)
    names = Names.of(app, total)
    if args.json:
        _print_json({"now": app.clock.now().isoformat(), "simulation": True, "billing": billing_json(total, names),
                     "emails": mail.as_json(sent)})  # fmt: skip
    else:
        print(f"clock: {app.clock.now().isoformat()}")
        print_report(total, names, app.dunning)
        mail.print_report(sent)
    return exit_status(total, sent)


def advance_days(app: App, start: datetime, target: datetime, wait: float = WAIT, *,
                 quiet: bool = False) -> BillingRunReport:  # fmt: skip
    """The simulation clock moved to ``target`` a day at a time, each day billed and told in the runs' log (rule C7);
    the console's clock does the same."""

    def move(step: datetime) -> None:
        move_clock(app.engine, step)
        app.clock.refresh()

    return advance(start, target, move=move,
                   bill=lambda step: run_billing(app, step, wait=wait, actor="prorata clock advance",
                                                 quiet=quiet))  # fmt: skip


def reconcile_command(app: App, args: argparse.Namespace) -> int:
    if args.grace < 0:
        raise InvalidInput("reconcile.grace", "grace: seconds, 0 or more", field="grace")
    report = reconcile(uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax,
                       grace=timedelta(seconds=args.grace))  # fmt: skip
    if args.json:
        _print_json(reconcile_json(report))
    else:
        print(f"orders placed: {len(report.orders_placed)}, failed: {len(report.orders_failed)}")
        print(f"invoices paid: {len(report.invoices_paid)}, payments failed: {len(report.payments_failed)}")
        if report.credited:
            print(f"payments for invoices no longer owed, credited to the balance: {report.credited}")
        if report.refunds_settled:
            print(f"pending refunds settled: {report.refunds_settled}")
        if report.mismatches:
            print(f"orders that no longer price as quoted (see the audit trail): {report.mismatches}")
        if report.waiting:
            print(f"payments waiting for the customer to confirm them (3-D Secure): {report.waiting}")
        if report.unanswered:
            print(f"payments the gateway did not answer about, left pending for the next run: {report.unanswered}")
    return status.DONE_IN_PART if report.mismatches or report.unanswered else status.DONE


def reconcile_json(report: ReconcileReport) -> dict[str, Any]:
    return {
        "complete": not (report.mismatches or report.unanswered),
        "orders_placed": list(report.orders_placed),
        "orders_failed": list(report.orders_failed),
        "invoices_paid": list(report.invoices_paid),
        "payments_failed": list(report.payments_failed),
        "mismatches": list(report.mismatches),
        "credited": list(report.credited),
        "waiting": list(report.waiting),
        "unanswered": list(report.unanswered),
        "refunds_settled": list(report.refunds_settled),
    }
