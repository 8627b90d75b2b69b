"""``prorata payment-methods`` and ``prorata notice-addresses``: an account's backup payment method (rule BM1) and its
extra notice addresses (rule N1), for an operator acting for the customer.

- ``payment-methods list --account CODE``: the saved methods, each with its role (default, backup).
- ``payment-methods backup --account CODE (--method ID | --clear)``: a saved method other than the default becomes
  the backup, or the account has none.
- ``payment-methods swap --account CODE --method ID``: the backup ``ID`` becomes the default and the default the backup
  (naming the default changes nothing, so running it twice does not swap back).
- ``notice-addresses list|add|remove --account CODE [EMAIL]``: the addresses that receive new-invoice e-mails.

Each change goes through the portal's and the API's use case, audited as ``prorata`` (``--json``: the state after it).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from prorata.adapters.db.notice_store import notice_addresses_of
from prorata.adapters.db.queries import PaymentMethodView, known_account, payment_method_views
from prorata.bootstrap import App
from prorata.entrypoints.cli import status
from prorata.services.backup_method import SetBackupMethod, SwapWithBackup, set_backup_method, swap_with_backup
from prorata.services.notice_addresses import (
    MAX_NOTICE_ADDRESSES,
    AddNoticeAddress,
    RemoveNoticeAddress,
    add_notice_address,
    remove_notice_address,
)

ACTOR = "prorata"
Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    methods = commands.add_parser("payment-methods", help="an account's payment methods and its backup (rule BM1)")
    actions = methods.add_subparsers(dest="action", required=True, metavar="{list,backup,swap}")
    _account(as_json(database(actions.add_parser("list", help="the saved methods, each with its role"))))
    backup = _account(as_json(database(actions.add_parser(
        "backup", help="make a saved method the backup, charged only when a renewal's charge on the default one is "
        "declined; or have none"))))  # fmt: skip
    which = backup.add_mutually_exclusive_group(required=True)
    which.add_argument("--method", type=int, help="the saved method's id (see `prorata payment-methods list`)")
    which.add_argument("--clear", action="store_true", help="the account has no backup method")
    swap = _account(as_json(database(actions.add_parser("swap", help="swap the backup with the default method"))))
    swap.add_argument("--method", type=int, required=True, help="the backup method's id, which becomes the default")

    notices = commands.add_parser("notice-addresses", help="addresses that receive new-invoice e-mails (rule N1)")
    notice_actions = notices.add_subparsers(dest="action", required=True, metavar="{list,add,remove}")
    _account(as_json(database(notice_actions.add_parser("list", help="the account's extra notice addresses"))))
    for name, text in (("add", f"add one (at most {MAX_NOTICE_ADDRESSES})"), ("remove", "remove one")):
        parser = _account(as_json(database(notice_actions.add_parser(name, help=text))))
        parser.add_argument("email", help="the e-mail address")


def _account(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--account", required=True, help="the account's code")
    return parser


def run(app: App, args: argparse.Namespace) -> int:
    with app.engine.connect() as conn:
        account = known_account(conn, args.account)
    if args.command == "notice-addresses":
        return _notices(app, args, account)
    if args.action == "backup":
        set_backup_method(SetBackupMethod(account, None if args.clear else args.method, actor=ACTOR), uow=app.uow,
                          clock=app.clock)  # fmt: skip
    elif args.action == "swap":
        swap_with_backup(SwapWithBackup(account, args.method, actor=ACTOR), uow=app.uow, clock=app.clock)
    with app.engine.connect() as conn:
        views = payment_method_views(conn, account)
    if args.json:
        shown = [{**asdict(view), "label": view.label} for view in views]
        print(json.dumps({"account": args.account, "payment_methods": shown}, ensure_ascii=False, indent=2))
        return status.DONE
    for view in views:
        print(_line(view))
    if not views:
        print(f"{args.account} has no payment method")
    return status.DONE


def _line(view: PaymentMethodView) -> str:
    expiry = f", {view.exp_month:02d}/{view.exp_year}" if view.kind == "card" and view.exp_month else ""
    role = ", default" if view.is_default else ", backup" if view.is_backup else ""
    return f"method {view.id}: {view.label}{expiry}{role}"


def _notices(app: App, args: argparse.Namespace, account: int) -> int:
    if args.action == "add":
        add_notice_address(AddNoticeAddress(account, args.email, actor=ACTOR), uow=app.uow, clock=app.clock)
    elif args.action == "remove":
        remove_notice_address(RemoveNoticeAddress(account, args.email, actor=ACTOR), uow=app.uow, clock=app.clock)
    with app.engine.connect() as conn:
        found = notice_addresses_of(conn, (account,))[account]
    if args.json:
        print(json.dumps({"account": args.account, "addresses": found, "limit": MAX_NOTICE_ADDRESSES},
                         ensure_ascii=False, indent=2))  # fmt: skip
        return status.DONE
    for email in found:
        print(email)
    if not found:
        print(f"{args.account} has no extra notice address")
    return status.DONE
