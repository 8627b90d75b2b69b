"""The operator's commands on an installation: ``init``, ``demo``, ``bill``, ``clock``, ``invoices``, ``reconcile``,
``apikey``.

Each opens the database named by ``--database`` or ``PRORATA_DATABASE_URL`` (default: the embedded SQLite file).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from sqlalchemy import select

from prorata.adapters.db.api_keys import create_api_key
from prorata.adapters.db.clock import in_simulation, move_clock, start_simulation
from prorata.adapters.db.database import migrate
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.queries import account_id_by_code
from prorata.adapters.db.schema import accounts, invoices
from prorata.bootstrap import App, build
from prorata.domain.errors import InvalidInput
from prorata.domain.money import Money
from prorata.domain.periods import parse_instant
from prorata.entrypoints.cli import documents, mail
from prorata.entrypoints.cli.demo import load_demo
from prorata.services.reconcile import reconcile
from prorata.services.renew_due import BillingRunReport, RenewDue, renew_due


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def database(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--database", help="a database URL instead of PRORATA_DATABASE_URL")
        return parser

    init = database(commands.add_parser("init", help="create or migrate the database"))
    init.add_argument("--simulation", action="store_true", help="use a simulation clock (see `prorata clock`)")
    database(commands.add_parser("demo", help="init with a simulation clock, then load the demo accounts"))
    bill = database(commands.add_parser("bill", help="renew what is due, collect, follow up unpaid invoices"))
    bill.add_argument("--until", help="bill everything due by this instant or date (default: now)")
    bill.add_argument(
        "--collectors", type=int, help="payments collected at the same time (default 8 on PostgreSQL, 1 on SQLite)"
    )
    clock = database(commands.add_parser("clock", help="show or move the simulation clock"))
    clock.add_argument("action", choices=["show", "advance"])
    clock.add_argument("--days", type=int, help="advance by this many days, then bill what became due")
    clock.add_argument("--to", help="advance to this date or instant, then bill what became due")
    invoices_cmd = commands.add_parser("invoices", help="list, print, export or correct invoices")
    actions = invoices_cmd.add_subparsers(dest="action", required=True)
    listing = database(actions.add_parser("list", help="list an account's invoices"))
    listing.add_argument("--account", required=True, help="the account's code")
    documents.add_commands(actions, database)
    database(commands.add_parser("reconcile", help="complete payments a crash left pending"))
    apikey = database(commands.add_parser("apikey", help="make a REST API key (printed once)"))
    apikey.add_argument("action", choices=["create"])
    owner = apikey.add_mutually_exclusive_group(required=True)
    owner.add_argument("--account", help="the code of the account the key belongs to")
    owner.add_argument("--operator", action="store_true", help="an operator key: every account and operator routes")
    apikey.add_argument("--name", help="a name to tell the key apart (default: the account or 'operator')")
    mail.add_arguments(database(commands.add_parser("outbox", help="send the billing e-mails waiting to be sent")))
    serve = database(commands.add_parser("serve", help="serve the portal and the REST API"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.add_argument(
        "--mail-interval", type=float, default=5.0, help="seconds between sends of the e-mail outbox (0: off)"
    )


COMMANDS = frozenset({"init", "demo", "bill", "clock", "invoices", "reconcile", "serve", "apikey", "outbox"})


def run_command(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    app = build(args.database)
    try:
        handler = {
            "init": _init,
            "demo": _demo,
            "bill": _bill,
            "clock": _clock,
            "invoices": _invoices,
            "reconcile": _reconcile,
            "apikey": _apikey,
            "outbox": mail.run,
        }[args.command]
        return handler(app, args)
    finally:
        app.close()


def _instant(text: str, *, field: str) -> datetime:
    """A date (midnight UTC) or an instant with an offset."""
    if len(text) == 10:
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput("time.not_a_datetime", f"{field}: {text!r} is not a date", field=field) from None
    return parse_instant(text, field=field)


def _init(app: App, args: argparse.Namespace) -> int:
    migrate(app.engine)
    if args.simulation and not in_simulation(app.engine):
        start_simulation(app.engine, datetime.now(UTC).replace(microsecond=0))
    app.clock.refresh()
    print(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")
    if in_simulation(app.engine):
        print(f"simulation clock: {app.clock.now().isoformat()}")
    return 0


def _demo(app: App, args: argparse.Namespace) -> int:
    args.simulation = True
    _init(app, args)
    for line in load_demo(app):
        print(line)
    return 0


def _bill(app: App, args: argparse.Namespace) -> int:
    until = _instant(args.until, field="until") if args.until else app.clock.now()
    _print_report(_run_billing(app, until, args.collectors))
    return mail.send(app)  # rules I4, I8: the run's receipts and dunning e-mails go out now


def _run_billing(app: App, until: datetime, collectors: int | None = None) -> BillingRunReport:
    bar = ProgressBar("billing", sys.stderr)
    if collectors is None:
        # a gateway answers in a few hundred milliseconds: several calls at once on PostgreSQL; SQLite has one
        # writer at a time anyway
        collectors = 8 if app.engine.dialect.name == "postgresql" else 1
    if collectors < 1:
        raise InvalidInput("bill.collectors", "collectors: at least 1", field="collectors")
    report = renew_due(
        RenewDue(until, collectors=collectors), uow=app.uow, clock=app.clock, gateway=app.gateway,
        catalog=app.catalog, progress=bar.update, tax=app.tax,
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


def _print_report(report: BillingRunReport) -> None:
    print(f"accounts renewed: {report.accounts}")
    print(
        f"invoices: {len(report.invoices)}"
        + (f" ({report.invoices[0]} .. {report.invoices[-1]})" if report.invoices else "")
    )
    print(f"payments: {report.payments_succeeded} succeeded, {report.payments_failed} failed")
    for label, ids in (
        ("overdue", report.accounts_overdue),
        ("re-enabled", report.accounts_reenabled),
        ("cancelled after 30 days overdue", report.accounts_cancelled),
        ("waiting for an order being paid", report.skipped_busy),
        ("renewed by another billing run", report.left_to_another_run),
    ):
        if ids:
            print(f"accounts {label}: {', '.join(map(str, ids))}")


def _clock(app: App, args: argparse.Namespace) -> int:
    if args.action == "show":
        mode = "simulation" if in_simulation(app.engine) else "real"
        print(f"{app.clock.now().isoformat()} ({mode} clock)")
        return 0
    if (args.days is None) == (args.to is None):
        raise InvalidInput("clock.target", "clock advance: give either --days or --to", field="days")
    target = app.clock.now() + timedelta(days=args.days) if args.days is not None else _instant(args.to, field="to")
    # a day at a time, so that renewals, retries and dunning happen on their own dates as they would in production
    total = BillingRunReport()
    step = app.clock.now()
    if target <= step:
        move_clock(app.engine, target)  # refuses, naming why: not a simulation, or backwards
    while step < target:
        step = min(step + timedelta(days=1), target)
        move_clock(app.engine, step)
        app.clock.refresh()
        _merge(total, _run_billing(app, step))
    print(f"clock: {app.clock.now().isoformat()}")
    _print_report(total)
    return mail.send(app)  # the rehearsal's receipts and dunning e-mails, as a real billing run sends them


def _merge(total: BillingRunReport, day: BillingRunReport) -> None:
    total.accounts += day.accounts
    total.invoices += day.invoices
    total.subscriptions_renewed += day.subscriptions_renewed
    total.payments_succeeded += day.payments_succeeded
    total.payments_failed += day.payments_failed
    total.accounts_overdue += day.accounts_overdue
    total.accounts_reenabled += day.accounts_reenabled
    total.accounts_cancelled += day.accounts_cancelled
    total.skipped_busy += day.skipped_busy
    total.left_to_another_run += day.left_to_another_run


def _invoices(app: App, args: argparse.Namespace) -> int:
    if args.action != "list":
        return documents.run(app, args)
    with app.engine.connect() as conn:
        account = conn.execute(select(accounts.c.id).where(accounts.c.code == args.account)).scalar_one_or_none()
        if account is None:
            raise InvalidInput("account.unknown", f"account: there is no account {args.account!r}", field="account")
        rows = conn.execute(
            select(invoices)
            .where(invoices.c.account_id == account, invoices.c.number.is_not(None))
            .order_by(invoices.c.year, invoices.c.number)
        ).mappings()
        print(f"{'number':<18}{'issued':<12}{'total':>16}  {'due':>16}  status")
        for row in rows:
            number = invoice_number_text(row["series"], row["year"], row["number"])
            total = Money(row["total"], row["currency"])
            due = Money(row["amount_due"], row["currency"]) if row["status"] == "open" else Money(0, row["currency"])
            issued = row["issued_at"].date().isoformat()
            print(f"{number:<18}{issued:<12}{total!s:>16}  {due!s:>16}  {row['status']}")
    return 0


def _reconcile(app: App, args: argparse.Namespace) -> int:
    report = reconcile(uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax)
    print(f"orders placed: {len(report.orders_placed)}, failed: {len(report.orders_failed)}")
    print(f"invoices paid: {len(report.invoices_paid)}, payments failed: {len(report.payments_failed)}")
    if report.mismatches:
        print(f"orders that no longer price as quoted (see the audit trail): {report.mismatches}")
        return 1
    return 0


def _apikey(app: App, args: argparse.Namespace) -> int:
    with app.engine.begin() as conn:
        account_id = None
        if args.account:
            account_id = account_id_by_code(conn, args.account)
            if account_id is None:
                raise InvalidInput("account.unknown", f"account: there is no account {args.account!r}", field="account")
        name = args.name or args.account or "operator"
        key, secret = create_api_key(conn, account_id=account_id, name=name, now=app.clock.now())
    print(secret)  # only now: the database keeps its hash
    print(f"key {key.prefix} ({name}) for {'the operator' if account_id is None else args.account}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import os

    from prorata.entrypoints.cli.serve import serve  # uvicorn only for this command

    if args.mail_interval < 0:
        raise InvalidInput("serve.mail_interval", "mail-interval: seconds, 0 or more (0: off)", field="mail_interval")
    if args.database:  # every worker process builds its own App from the settings
        os.environ["PRORATA_DATABASE_URL"] = args.database
    print(f"Prorata on http://{args.host}:{args.port}/ (API: http://{args.host}:{args.port}/api/v1/docs)", flush=True)
    serve(args.host, args.port, args.workers, args.mail_interval)
    return 0
