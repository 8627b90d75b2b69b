"""``prorata trials list|remind``: free trials (rule TR1).

- ``list [--active] [--json]``: the trials accounts started, ending soonest first, with when the owner was reminded
  (``--active``: only those not ended yet by the installation's clock).
- ``remind``: e-mail the owners of trials that end within 3 days, as the billing run does (``prorata bill``); each
  trial's reminder is written once, however often or concurrently this runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from prorata.adapters.db.trial_store import trial_rows
from prorata.bootstrap import App
from prorata.entrypoints.cli import status
from prorata.services import trials

Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    parser = commands.add_parser("trials", help="free trials: list them, or send the reminders due (rule TR1)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="{list,remind}")
    listing = as_json(database(actions.add_parser("list", help="the trials, ending soonest first")))
    listing.add_argument("--active", action="store_true", help="only the trials not ended yet")
    database(actions.add_parser("remind", help="e-mail the owners of trials that end within 3 days"))


def run(app: App, args: argparse.Namespace) -> int:
    if args.action == "remind":
        reminded = trials.remind_ending(app.uow, app.clock, app.catalog)
        print(f"{len(reminded)} trial reminders written to the outbox")
        return status.DONE
    with app.engine.connect() as conn:
        rows = trial_rows(conn, app.clock.now() if args.active else None)
    shown = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()} for row in rows]
    if args.json:
        print(json.dumps({"trials": shown}, ensure_ascii=False, indent=2))
        return status.DONE
    for row in shown:
        told = f"reminded {row['reminded_at']}" if row["reminded_at"] else "not reminded"
        print(f"{row['account']:<24}{row['product']:<16}{row['started_at']:<27}{row['ends_at']:<27}{told}")
    return status.DONE
