"""``prorata exemptions list|show|accept|reject``: tax exemption certificates (rule TE1).

- ``list [--json]``: the certificates waiting for a decision, oldest first.
- ``show --account CODE [--save FILE] [--json]``: the account's certificate and its state; ``--save`` writes the file
  as it was sent (its SHA-256 is printed to check it against).
- ``accept --account CODE --exemption ID [--reason TEXT]`` and ``reject --account CODE --exemption ID --reason
  TEXT``: the decision, through the use case the console and the API share; the certificate is named, so one that
  was replaced meanwhile is not decided unread.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prorata.adapters.db.exemption_store import ExemptionView, exemption_certificate, exemption_view, pending_exemptions
from prorata.adapters.db.queries import known_account
from prorata.bootstrap import App
from prorata.entrypoints.cli import status
from prorata.services.tax_exemption import DecideExemption, decide_exemption

ACTOR = "prorata exemptions"
Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    exemptions = commands.add_parser("exemptions", help="tax exemption certificates: list, show, accept, reject")
    actions = exemptions.add_subparsers(dest="action", required=True, metavar="{list,show,accept,reject}")
    as_json(database(actions.add_parser("list", help="the certificates waiting for a decision")))
    show = as_json(database(actions.add_parser("show", help="an account's certificate and its state")))
    show.add_argument("--account", required=True, help="the account's code")
    show.add_argument("--save", type=Path, help="write the certificate's file here, as it was sent")
    for name, helped in (("accept", "no tax from now on"), ("reject", "tax as before; the customer reads why")):
        decide = database(actions.add_parser(name, help=f"{name} the pending certificate: {helped}"))
        decide.add_argument("--account", required=True, help="the account's code")
        decide.add_argument("--exemption", type=int, required=True, help="the certificate's id (`exemptions list`)")
        decide.add_argument("--reason", required=name == "reject", default="",
                            help="why (required to reject; the customer reads it)")  # fmt: skip


def as_dict(view: ExemptionView) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(view).items()}


def run(app: App, args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list(app, args)
    with app.engine.connect() as conn:
        account_id = known_account(conn, args.account)
    if args.action == "show":
        return _show(app, args, account_id)
    command = DecideExemption(account_id, args.exemption, args.action == "accept", args.reason, ACTOR)
    decide_exemption(command, uow=app.uow, clock=app.clock)
    print(f"{args.account}: certificate {args.exemption} {'accepted' if command.accept else 'rejected'}")
    return status.DONE


def _list(app: App, args: argparse.Namespace) -> int:
    with app.engine.connect() as conn:
        waiting = pending_exemptions(conn)
    if args.json:
        print(json.dumps({"pending": [{**as_dict(v), "account_code": code} for v, code in waiting]}, indent=2))
        return status.DONE
    print(f"{'id':<8}{'account':<24}{'country':<9}{'sent':<28}file")
    for view, code in waiting:
        print(f"{view.id:<8}{code:<24}{view.country:<9}{view.sent_at.isoformat():<28}{view.filename}")
    return status.DONE


def _show(app: App, args: argparse.Namespace, account_id: int) -> int:
    with app.engine.connect() as conn:
        view = exemption_view(conn, account_id)
        file = None if view is None or args.save is None else exemption_certificate(conn, account_id, view.id)
    if view is None:
        print(json.dumps({"status": "none"}) if args.json else f"{args.account}: no certificate")
        return status.DONE
    if file is not None:
        args.save.write_bytes(file[2])
    if args.json:
        print(json.dumps(as_dict(view), indent=2))
        return status.DONE
    print(f"{args.account}: certificate {view.id}, {view.status}, {view.country}, {view.filename} ({view.size} B, "
          f"sha256 {view.sha256}), sent {view.sent_at.isoformat()} by {view.sent_by}"
          + (f", decided {view.decided_at.isoformat()} by {view.decided_by}" if view.decided_at else "")
          + (f": {view.reason}" if view.reason else ""))  # fmt: skip
    return status.DONE
