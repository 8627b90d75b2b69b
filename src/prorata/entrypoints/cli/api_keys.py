"""``prorata apikey create|list|revoke``: the REST API's keys, through the use cases the operator's API routes call
(``services/api_keys.py``); each change is an audit line (actor ``prorata apikey``).

- ``create --account CODE | --operator [--name NAME] [--read-only]``: prints the key once, on standard output (only
  its hash is kept), and what it is on standard error.
- ``list [--account CODE] [--json]``: every key, oldest first: prefix, name, scope, account, created, last used (to
  the minute) and revoked; never a secret.
- ``revoke PREFIX``: the key is refused from its next request on, by every running server.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prorata.bootstrap import App
from prorata.entrypoints.cli import status
from prorata.services.api_keys import (
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from prorata.services.ports import ApiKeyRecord

ACTOR = "prorata apikey"
Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    apikey = commands.add_parser("apikey", help="make, list and revoke REST API keys")
    actions = apikey.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
    create = database(actions.add_parser("create", help="make a key (printed once; only its hash is kept)"))
    owner = create.add_mutually_exclusive_group(required=True)
    owner.add_argument("--account", help="the code of the account the key belongs to")
    owner.add_argument("--operator", action="store_true", help="an operator key: every account and operator routes")
    create.add_argument("--name", help="a name to tell the key apart (default: the account or 'operator')")
    create.add_argument("--read-only", action="store_true",
                        help="a key that may only read (and quote): every change is refused to it")  # fmt: skip
    listing = as_json(database(actions.add_parser(
        "list", help="the keys: prefix, name, scope, account, created, last used, revoked")))  # fmt: skip
    listing.add_argument("--account", help="only this account's keys (its code)")
    revoke = database(actions.add_parser("revoke", help="revoke a key: refused from its next request on"))
    revoke.add_argument("prefix", help="the key's prefix, as `apikey list` shows it (prk_<prefix>_...)")


def run(app: App, args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[App, argparse.Namespace], int]] = {
        "create": _create, "list": _list, "revoke": _revoke,
    }  # fmt: skip
    return handlers[args.action](app, args)


def _create(app: App, args: argparse.Namespace) -> int:
    command = CreateApiKey(account_code=args.account, name=args.name,
                           scope="read_only" if args.read_only else "full", actor=ACTOR)  # fmt: skip
    made = create_api_key(command, uow=app.uow, clock=app.clock)
    print(made.secret)  # only now: the database keeps its hash
    owner = "the operator" if made.key.account_code is None else made.key.account_code
    print(f"key {made.key.prefix} ({made.key.name}, {made.key.scope}) for {owner}", file=sys.stderr)
    return status.DONE


def _list(app: App, args: argparse.Namespace) -> int:
    keys = list_api_keys(ListApiKeys(account_code=args.account), uow=app.uow)
    if args.json:
        print(json.dumps({"api_keys": [_row(key) for key in keys]}, ensure_ascii=False, indent=2))
        return status.DONE
    print(f"{'prefix':<14}{'scope':<11}{'account':<20}{'created':<18}{'last used':<18}{'revoked':<18}name")
    for key in keys:
        print(f"{key.prefix:<14}{key.scope:<11}{key.account_code or '(operator)':<20}{_minute(key.created_at):<18}"
              f"{_minute(key.last_used_at):<18}{_minute(key.revoked_at):<18}{key.name}")  # fmt: skip
    return status.DONE


def _revoke(app: App, args: argparse.Namespace) -> int:
    key = revoke_api_key(RevokeApiKey(args.prefix, actor=ACTOR), uow=app.uow, clock=app.clock)
    print(f"key {key.prefix} ({key.name}) revoked")
    return status.DONE


def _row(key: ApiKeyRecord) -> dict[str, object]:
    def instant(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat()

    return {
        "prefix": key.prefix, "name": key.name, "scope": key.scope, "account": key.account_code,
        "created_at": instant(key.created_at), "last_used_at": instant(key.last_used_at),
        "revoked_at": instant(key.revoked_at),
    }  # fmt: skip


def _minute(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M")
