"""``prorata rates import|list|held``: the National Bank of Poland's average exchange rates.

- ``import FILE...``: the bank's table A files (the XML of a table, or the JSON of its web API), all in one
  transaction; a rate already stored is kept when the file agrees, and the whole import is refused when it does not.
- ``list [--currency EUR] [--json]``: the newest rates stored.
- ``held [--since DATE] [--json]``: the issued documents in another currency with Polish VAT whose rate is not
  imported yet (their e-invoice waits for it), with the table each needs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.rates import import_rates, rate_on, stored_rates
from prorata.adapters.db.schema import invoices
from prorata.adapters.rates.nbp import MAX_FILE_BYTES, parse_table_file
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.periods import time_zone
from prorata.entrypoints.cli import status

Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    rates = commands.add_parser("rates", help="the National Bank of Poland's exchange rates (VAT in PLN)")
    actions = rates.add_subparsers(dest="action", required=True, metavar="{import,list,held}")
    imported = database(actions.add_parser("import", help="import the bank's table A files (XML or its API's JSON)"))
    imported.add_argument("files", nargs="+", type=Path, metavar="FILE")
    listing = as_json(database(actions.add_parser("list", help="the newest rates stored")))
    listing.add_argument("--currency", help="one currency, e.g. EUR")
    held = as_json(database(actions.add_parser("held", help="documents whose VAT in PLN waits for a rate")))
    held.add_argument("--since", type=date.fromisoformat, help="issued on or after this day (default: 90 days ago)")


def run(app: App, args: argparse.Namespace) -> int:
    if args.action == "import":
        return _import(app, args)
    if args.action == "list":
        return _list(app, args)
    return _held(app, args)


def _import(app: App, args: argparse.Namespace) -> int:
    found = []
    for path in args.files:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InvalidInput("rates.file", f"{path}: larger than {MAX_FILE_BYTES} bytes", field="file")
            content = path.read_bytes()
        except OSError as error:
            raise InvalidInput("rates.file", f"{path}: cannot be read ({error.strerror})", field="file") from None
        found.extend(parse_table_file(content, str(path)))
    with app.engine.begin() as conn:
        done = import_rates(conn, found, datetime.now(UTC))
    span = f" ({done.first.isoformat()} to {done.last.isoformat()})" if done.first and done.last else ""
    print(f"{done.added} rates imported, {done.unchanged} already stored{span}")
    return status.DONE


def _list(app: App, args: argparse.Namespace) -> int:
    with app.engine.connect() as conn:
        rows = stored_rates(conn, args.currency)
    out = [{"currency": r.currency, "date": r.table_date.isoformat(), "table": r.table_number, "mid": str(r.mid),
            "units": r.units} for r in rows]  # fmt: skip
    if args.json:
        print(json.dumps({"rates": out}, indent=2))
        return status.DONE
    for row in out:
        print(f"{row['date']}  {row['table']:<18}{row['units']} {row['currency']} = {row['mid']} PLN")
    return status.DONE


def _held(app: App, args: argparse.Namespace) -> int:
    seller = app.tax.seller
    since = args.since or (app.clock.now().date() - timedelta(days=90))
    zone = time_zone(seller.time_zone)
    held = []
    if seller.country == "PL":
        with app.engine.connect() as conn:
            rows = conn.execute(
                select(invoices.c.series, invoices.c.year, invoices.c.number, invoices.c.currency,
                       invoices.c.issued_at)
                .where(invoices.c.number.is_not(None), invoices.c.currency != "PLN", invoices.c.tax != 0,
                       invoices.c.tax_country == "PL",
                       invoices.c.issued_at >= datetime.combine(since, datetime.min.time(), zone))
                .order_by(invoices.c.issued_at)
            ).all()  # fmt: skip
            for row in rows:
                issued_on = row.issued_at.astimezone(zone).date()
                try:
                    rate_on(conn, row.currency, issued_on)
                except RuleViolation as missing:
                    held.append({"number": invoice_number_text(row.series, row.year, row.number),
                                 "currency": row.currency, "issued_on": issued_on.isoformat(),
                                 "rate_of": missing.data["wanted"]})  # fmt: skip
    if args.json:
        print(json.dumps({"held": held}, indent=2))
    else:
        for item in held:
            print(f"{item['number']}  {item['currency']} issued {item['issued_on']}: needs the rate of "
                  f"{item['rate_of']} or the bank's table before it")  # fmt: skip
        print(f"{len(held)} documents wait for a rate")
    return status.DONE_IN_PART if held else status.DONE
