"""``prorata vat list|recheck``: EU VAT numbers as the VIES registry answered for them (rule T2).

- ``list [--status valid|invalid|provisional] [--json]``: the numbers checked, newest first, with what the registry
  said (the name and address it gives, or why it did not answer).
- ``recheck``: ask the registry again now about the provisional numbers whose time has come (the worker does this
  every ``--vat-every`` seconds); one it says is not registered is told to ``PRORATA_OPERATOR_EMAIL``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from prorata.adapters.db.vat_store import vat_check_rows
from prorata.bootstrap import App
from prorata.entrypoints.cli import status
from prorata.entrypoints.cli.worker import recheck_vat_numbers

Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    vat = commands.add_parser("vat", help="EU VAT numbers as the VIES registry answered for them")
    actions = vat.add_subparsers(dest="action", required=True, metavar="{list,recheck}")
    listing = as_json(database(actions.add_parser("list", help="the numbers checked, newest first")))
    listing.add_argument("--status", choices=["valid", "invalid", "provisional"])
    database(actions.add_parser("recheck", help="ask the registry again about the provisional numbers due"))


def run(app: App, args: argparse.Namespace) -> int:
    if args.action == "recheck":
        done = recheck_vat_numbers(app)
        print(f"{len(done.valid)} registered, {len(done.invalid)} not registered, {len(done.still_unknown)} still "
              "without an answer")  # fmt: skip
        return status.DONE_IN_PART if done.invalid else status.DONE
    with app.engine.connect() as conn:
        rows = vat_check_rows(conn, args.status)
    shown = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()} for row in rows]
    if args.json:
        print(json.dumps({"vat_numbers": shown}, ensure_ascii=False, indent=2))
        return status.DONE
    for row in shown:
        said = row["name"] or row["error"] or ""
        print(f"{row['number']:<18}{row['status']:<13}{row['checked_at']:<34}{said}")
    return status.DONE
