"""The operator's commands on an installation: ``init``, ``demo``, ``bill``, ``clock show|advance``,
``invoices list|pdf|void|credit|export``, ``refunds list|retry``, ``payment-methods list|backup|swap``,
``notice-addresses list|add|remove``, ``discounts ...``, ``reconcile``, ``verify``,
``apikey create|list|revoke``, ``operator create|list``, ``outbox send``, ``webhooks ...``, ``events list``,
``worker``, ``serve``.

Each opens the database named by ``--database`` or ``PRORATA_DATABASE_URL`` (default: the embedded SQLite file),
and first checks that it can be used: a database that is missing, cannot be reached or is not migrated, or a URL
Prorata does not run on, is one line on standard error and exit status 3 (``status.py``), never a traceback and
never an empty SQLite file left behind. ``init`` and ``demo`` create what is missing.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prorata.adapters.db.clock import in_simulation, start_simulation
from prorata.adapters.db.database import (
    DatabaseNotReady,
    check_ready,
    check_url,
    create_database_engine,
    migrate,
    shown,
)
from prorata.adapters.db.queries import invoice_views, known_account
from prorata.bootstrap import App, build, check_settings
from prorata.config import database_url
from prorata.domain.errors import InvalidInput
from prorata.domain.money import Money
from prorata.domain.periods import time_zone
from prorata.entrypoints.cli import (
    api_keys,
    bank,
    billing,
    billing_info,
    discounts,
    documents,
    exemptions,
    mail,
    metrics,
    operators,
    rates,
    refunds,
    status,
    trials,
    vat,
    verify,
    webhooks,
    worker,
)
from prorata.entrypoints.cli.demo import load_demo
from prorata.services.reconcile import GRACE
from prorata.services.renew_due import WAIT

Handler = Callable[[App, argparse.Namespace], int]


def _database(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--database", help="a database URL instead of PRORATA_DATABASE_URL")
    return parser


def _json(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--json", action="store_true", help="print one JSON object (documented in the README)")
    return parser


def _wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", type=float, default=WAIT, metavar="SECONDS",
        help="how long each stage of a billing run waits, in all, for accounts and invoices other transactions hold "
        "before it lists them as not done (default %(default)g)",
    )  # fmt: skip


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    init = _database(commands.add_parser("init", help="create or migrate the database"))
    init.add_argument("--simulation", action="store_true",
                      help="use a simulation clock (see `prorata clock`); only on a new, empty database")  # fmt: skip
    _database(commands.add_parser("demo", help="init with a simulation clock, then load the demo accounts"))

    bill = _json(_database(commands.add_parser("bill", help="renew what is due, collect, follow up unpaid invoices")))
    bill.add_argument("--until", help="bill what is due by this date (YYYY-MM-DD, midnight UTC) or instant with "
                      "offset; default: the installation's time")  # fmt: skip
    bill.add_argument("--bill-in-advance", action="store_true",
                      help="allow --until after the installation's time: renew periods before they end")  # fmt: skip
    bill.add_argument(
        "--collectors", type=int, help="batches of payments collected at once (default 8 on PostgreSQL, 1 on SQLite)"
    )
    _wait(bill)

    clock = commands.add_parser("clock", help="show or move the simulation clock")
    clock_actions = clock.add_subparsers(dest="action", required=True, metavar="{show,advance}")
    _json(_database(clock_actions.add_parser("show", help="the installation's time, and whether it is simulated")))
    advance = _json(_database(clock_actions.add_parser(
        "advance", help="(simulation only) move time forward a day at a time, billing each day")))  # fmt: skip
    target = advance.add_mutually_exclusive_group(required=True)
    target.add_argument("--days", type=int, help="advance by this many days")
    target.add_argument("--to", help="advance to this date (YYYY-MM-DD, midnight UTC) or instant with offset")
    _wait(advance)

    invoices_cmd = commands.add_parser("invoices", help="list, print, export or correct invoices")
    actions = invoices_cmd.add_subparsers(dest="action", required=True)
    listing = _json(_database(actions.add_parser("list", help="list an account's invoices")))
    listing.add_argument("--account", required=True, help="the account's code")
    documents.add_commands(actions, _database)

    refunds.add_commands(commands, _database, _json)
    billing_info.add_commands(commands, _database, _json)

    reconcile = _json(_database(commands.add_parser("reconcile", help="complete payments a crash left pending")))
    reconcile.add_argument(
        "--grace", type=float, default=GRACE.total_seconds(),
        help="leave payments younger than this many seconds to the process that made them (default %(default)s)",
    )  # fmt: skip

    verify.add_command(commands, _database, _json)
    metrics.add_commands(commands, _database, _json)

    api_keys.add_commands(commands, _database, _json)
    operators.add_commands(commands, _database, _json)
    exemptions.add_commands(commands, _database, _json)
    bank.add_commands(commands, _database, _json)
    rates.add_commands(commands, _database, _json)
    vat.add_commands(commands, _database, _json)
    trials.add_commands(commands, _database, _json)
    discounts.add_commands(commands, _database, _json)

    webhooks.add_commands(commands, _database, _json)
    worker.add_commands(commands, _database)

    outbox = commands.add_parser("outbox", help="the billing e-mails waiting to be sent")
    mail.add_commands(outbox.add_subparsers(dest="action", required=True, metavar="{send}"), _database)

    serve = _database(commands.add_parser("serve", help="serve the portal and the REST API"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.add_argument(
        "--mail-interval", type=float, default=5.0,
        help="seconds between rounds of the worker inside the server: webhooks and the e-mail outbox (0: off, when "
        "`prorata worker` runs apart)",
    )  # fmt: skip


CREATE = frozenset({"init", "demo"})  # the commands that may create the database and its tables


def run_command(args: argparse.Namespace) -> int:
    try:
        url = args.database or database_url()
        if args.command == "serve":
            return _serve(args, url)
        check_url(url, create=args.command in CREATE)
        app = build(url)
        try:
            check_ready(app.engine, migrated=args.command not in CREATE)
            return _handler(args)(app, args)
        finally:
            app.close()
    except DatabaseNotReady as error:
        return status.database_not_ready(str(error))


def _handler(args: argparse.Namespace) -> Handler:
    if args.command == "clock":
        return billing.clock_show if args.action == "show" else billing.clock_advance
    if args.command == "invoices":
        return _invoices if args.action == "list" else documents.run
    handlers: dict[str, Handler] = {
        "init": _init,
        "demo": _demo,
        "bill": billing.bill,
        "reconcile": billing.reconcile_command,
        "apikey": api_keys.run,
        "operator": operators.run,
        "exemptions": exemptions.run,
        "terms": bank.run,
        "bank-payments": bank.run,
        "rates": rates.run,
        "vat": vat.run,
        "trials": trials.run,
        "discounts": discounts.run,
        "outbox": mail.run,
        "verify": verify.run,
        "metrics": metrics.run,
        "refunds": refunds.run,
        "payment-methods": billing_info.run,
        "notice-addresses": billing_info.run,
        "webhooks": webhooks.run,
        "events": webhooks.run,
        "worker": worker.run,
    }
    return handlers[args.command]


def _init(app: App, args: argparse.Namespace) -> int:
    migrate(app.engine)
    if args.simulation:
        # refused on an installation that holds accounts on the real clock (rule X2), saying why
        start_simulation(app.engine, datetime.now(UTC).replace(microsecond=0))
    app.clock.refresh()
    print(f"database ready: {shown(app.engine)}")
    if in_simulation(app.engine):
        print(f"simulation clock: {app.clock.now().isoformat()}")
    return status.DONE


def _demo(app: App, args: argparse.Namespace) -> int:
    args.simulation = True
    _init(app, args)
    for line in load_demo(app):
        print(line)
    metrics.refresh_quietly(app)  # the console's dashboard has figures from the start
    return status.DONE


def _invoices(app: App, args: argparse.Namespace) -> int:
    """The account's issued invoices, oldest first, with the figures the API gives; an invoice that is not open
    owes nothing. Its date is the seller's (rule I2), as printed on the invoice."""
    with app.engine.connect() as conn:
        account = known_account(conn, args.account)
        views = sorted(invoice_views(conn, account), key=lambda view: (view.issued_at, view.id))
    zone = time_zone(app.tax.seller.time_zone)
    rows = [
        {
            "id": view.id, "number": view.number, "status": view.status, "currency": view.currency,
            "subtotal": view.subtotal, "tax": view.tax, "total": view.total, "credit_applied": view.credit_applied,
            "amount_due": view.amount_due if view.status == "open" else 0,
            "issue_date": view.issued_at.astimezone(zone).date().isoformat(),
            "issued_at": view.issued_at.isoformat(),
            "due_at": view.due_at.isoformat() if view.due_at else None,
            "paid_at": view.paid_at.isoformat() if view.paid_at else None,
        }
        for view in views
    ]  # fmt: skip
    if args.json:
        print(json.dumps({"account": args.account, "invoices": rows}, ensure_ascii=False, indent=2))
        return status.DONE
    print(f"{'number':<18}{'issued':<12}{'total':>16}  {'due':>16}  status")
    for view, row in zip(views, rows, strict=True):
        total, due = Money(view.total, view.currency), Money(int(row["amount_due"] or 0), view.currency)
        print(f"{view.number:<18}{row['issue_date']!s:<12}{total!s:>16}  {due!s:>16}  {view.status}")
    return status.DONE


def _serve(args: argparse.Namespace, url: str) -> int:
    import os

    if args.mail_interval < 0:
        raise InvalidInput("serve.mail_interval", "mail-interval: seconds, 0 or more (0: off)", field="mail_interval")
    check_settings()  # a setting that cannot be used is refused here, naming it, not by each worker once serving
    check_url(url)
    engine = create_database_engine(url)
    try:
        check_ready(engine)  # before a port is opened: a server on a database it cannot use answers only errors
    finally:
        engine.dispose()
    from prorata.entrypoints.cli.serve import serve  # uvicorn only for this command

    if args.database:  # every worker process builds its own App from the settings
        os.environ["PRORATA_DATABASE_URL"] = args.database
    print(f"Prorata on http://{args.host}:{args.port}/ (API: http://{args.host}:{args.port}/api/v1/docs)", flush=True)
    serve(args.host, args.port, args.workers, args.mail_interval)
    return status.DONE
