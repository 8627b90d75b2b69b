"""``prorata metrics refresh [--json]``: the operator dashboard's figures computed again from the books.

The dashboard reads figures kept per currency and month (``adapters/db/metrics.py``): this command recomputes them
from every issued invoice, payment, refund and credit entry, as the installation's clock stands. ``prorata worker``
runs it every ``--metrics-every`` seconds and ``prorata bill`` after each billing run; the dashboard shows when the
figures it shows were computed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from prorata.adapters.db.metrics import RefreshReport, refresh_metrics
from prorata.bootstrap import App
from prorata.entrypoints.cli import status

Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    metrics = commands.add_parser("metrics", help="the operator dashboard's figures")
    actions = metrics.add_subparsers(dest="action", required=True, metavar="{refresh}")
    as_json(database(actions.add_parser("refresh", help="compute the dashboard's figures again from the books")))


def refresh(app: App) -> RefreshReport:
    """The figures as the books stand at the installation's time (a simulation clock's, where one runs)."""
    app.clock.refresh()
    return refresh_metrics(app.engine, app.catalog, now=app.clock.now())


def refresh_quietly(app: App) -> None:
    """After a billing run: a refresh that fails is said on standard error; what the run did stands."""
    try:
        refresh(app)
    except Exception as error:  # the run is committed; the figures are refreshed next time
        print(f"prorata: the dashboard's figures were not refreshed: {type(error).__name__}: {error}",
              file=sys.stderr)  # fmt: skip


def run(app: App, args: argparse.Namespace) -> int:
    report = refresh(app)
    if args.json:
        print(json.dumps({
            "computed_at": report.computed_at.isoformat(), "milliseconds": report.milliseconds,
            "first_month": report.first_month.isoformat() if report.first_month else None,
            "last_month": report.last_month.isoformat() if report.last_month else None,
            "accounts": report.accounts, "lines": report.lines, "rows": report.rows,
        }, indent=2))  # fmt: skip
        return status.DONE
    months = f"{report.first_month:%Y-%m} to {report.last_month:%Y-%m}" if report.first_month else "no invoice yet"
    print(f"dashboard figures computed at {report.computed_at.isoformat()} in {report.milliseconds} ms: {months}, "
          f"{report.accounts} accounts, {report.lines} invoice lines")  # fmt: skip
    return status.DONE
