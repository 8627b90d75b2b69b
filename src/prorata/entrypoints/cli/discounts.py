"""``prorata discounts create|list|show|retire|apply|remove``: discount codes (rules DC1, DC2), through the use cases
the API calls (``services/discounts.py``).

- ``create CODE (--percent 20 | --amount USD=500 ...) --duration once|repeating|forever [--periods N]
  [--products p1,p2] [--expires DATE] [--max-redemptions N]``: a new code; its terms never change.
- ``list``: every code, newest first; ``show CODE``: one with its redemptions; ``retire CODE``: no new redemptions.
- ``apply ACCOUNT CODE``: the account redeems the code from its next billing date (rule DC1);
  ``remove ACCOUNT``: its discount is taken away, charges from now on are at full price.

Each takes ``--json`` and then prints the API's object (``GET /api/v1/discount-codes/{code}`` ...).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from prorata.adapters.db.discount_store import account_discount_row
from prorata.adapters.db.queries import known_account
from prorata.adapters.db.schema import accounts
from prorata.bootstrap import App
from prorata.domain.discounts import Duration, percent_points
from prorata.domain.engine import OPERATOR
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli import status
from prorata.entrypoints.discount_document import as_json, code_fields, held_fields, redemption_fields, terms_text
from prorata.services import discounts
from prorata.services.billing_window import parse_until
from prorata.services.discount_ports import StoredCode
from prorata.services.discounts import CreateDiscountCode, RedeemDiscount

ACTOR = "prorata discounts"
SPANS = {"once": "for one billing period", "forever": "for ever"}
Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json_flag: Decorate) -> None:
    parser = commands.add_parser("discounts", help="discount codes: create, list, show, retire, apply, remove (DC2)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,show,retire,apply,remove}")

    create = as_json_flag(database(actions.add_parser(
        "create", help="create a code: a percentage or fixed amounts, for some products or the whole order",
        description="Create a discount code (rule DC2). Its terms never change once created; retire it to stop new "
        "redemptions. Codes are never reused.",
    )))  # fmt: skip
    create.add_argument("code", metavar="CODE", help="3-32 letters, digits, '-' or '_' (read in capitals)")
    terms = create.add_mutually_exclusive_group(required=True)
    terms.add_argument("--percent", help='a percentage off, "20" or "12.5" (0.01 to 100)')
    terms.add_argument("--amount", nargs="+", action="extend", metavar="CUR=MINOR",
                       help="a fixed amount off each license per billing period, in minor units per currency: "
                       "--amount USD=500 PLN=2000 (an account in another currency cannot redeem it)")  # fmt: skip
    create.add_argument("--duration", required=True, choices=[d.value for d in Duration],
                        help="once: one billing period; repeating: --periods of them; forever")  # fmt: skip
    create.add_argument("--periods", type=int, help="for repeating: how many billing periods (1-120)")
    create.add_argument("--products", help="the products it discounts, by code: pro,business (default: the whole "
                        "order)")  # fmt: skip
    create.add_argument("--expires", metavar="DATE", help="redeemable before this date (YYYY-MM-DD, its midnight UTC) "
                        "or instant with offset (default: no expiry)")  # fmt: skip
    create.add_argument("--max-redemptions", type=int, metavar="N", help="how many accounts may redeem it")

    as_json_flag(database(actions.add_parser("list", help="every code, newest first, with how often it was redeemed")))
    show = as_json_flag(database(actions.add_parser("show", help="a code with its redemptions")))
    show.add_argument("code", metavar="CODE")
    retire = as_json_flag(database(actions.add_parser(
        "retire", help="no new redemptions; discounts already redeemed run their course")))  # fmt: skip
    retire.add_argument("code", metavar="CODE")
    apply = as_json_flag(database(actions.add_parser(
        "apply", help="the account redeems the code from its next billing date (rule DC1)")))  # fmt: skip
    apply.add_argument("account", metavar="ACCOUNT", help="the account's code")
    apply.add_argument("code", metavar="CODE")
    remove = as_json_flag(database(actions.add_parser(
        "remove", help="take the account's discount away: charges from now on are at full price")))  # fmt: skip
    remove.add_argument("account", metavar="ACCOUNT", help="the account's code")


def run(app: App, args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[App, argparse.Namespace], int]] = {
        "create": _create, "list": _list, "show": _show, "retire": _retire, "apply": _apply, "remove": _remove,
    }  # fmt: skip
    return handlers[args.action](app, args)


def _amounts(given: list[str] | None) -> dict[str, int] | None:
    """``USD=500 PLN=2000`` as minor units by currency, or a refusal naming the one that is not written so."""
    if given is None:
        return None
    amounts: dict[str, int] = {}
    for item in given:
        currency, _, text = item.partition("=")
        currency = currency.strip().upper()
        if not text.strip().isdigit() or not text.strip().isascii() or currency in amounts:
            why = "is given twice" if currency in amounts else "is not CUR=MINOR_UNITS, e.g. USD=500"
            raise InvalidInput("discount.amount", f"amounts: {item!r} {why}", rule="DC2", field="amounts")
        amounts[currency] = int(text)
    return amounts


def _create(app: App, args: argparse.Namespace) -> int:
    command = CreateDiscountCode(
        code=args.code, duration=args.duration, actor=ACTOR, periods=args.periods,
        percent=None if args.percent is None else percent_points(args.percent), amounts=_amounts(args.amount),
        products=tuple(p.strip() for p in (args.products or "").split(",") if p.strip()),
        expires_at=None if args.expires is None else parse_until(args.expires, field="expires"),
        max_redemptions=args.max_redemptions,
    )  # fmt: skip
    stored = discounts.create_discount_code(command, uow=app.uow, clock=app.clock, catalog=app.catalog)
    return _print_code(args, stored, "created")


def _retire(app: App, args: argparse.Namespace) -> int:
    return _print_code(args, discounts.retire_discount_code(args.code, ACTOR, uow=app.uow, clock=app.clock), "retired")


def _print_code(args: argparse.Namespace, stored: StoredCode, done: str) -> int:
    fields = code_fields(stored)
    print(json.dumps(as_json(fields), ensure_ascii=False, indent=2) if args.json else f"{_line(fields)} ({done})")
    return status.DONE


def _line(fields: dict[str, Any]) -> str:
    span = SPANS.get(fields["duration"]) or f"for {fields['periods']} billing periods"
    limit = f"/{fields['max_redemptions']}" if fields["max_redemptions"] is not None else ""
    expiry = f", expires {fields['expires_at'].isoformat()}" if fields["expires_at"] is not None else ""
    state = "" if fields["active"] else ", retired"
    terms = terms_text(fields["percent"], fields["amounts"], fields["products"])
    return f"{fields['code']}: {terms} {span}; redeemed {fields['redeemed']}{limit}{expiry}{state}"


def _list(app: App, args: argparse.Namespace) -> int:
    found = [code_fields(stored) for stored in discounts.list_codes(uow=app.uow)]
    if args.json:
        print(json.dumps({"discount_codes": [as_json(f) for f in found]}, ensure_ascii=False, indent=2))
        return status.DONE
    for fields in found:
        print(_line(fields))
    return status.DONE


def _show(app: App, args: argparse.Namespace) -> int:
    stored, redemptions = discounts.code_with_redemptions(args.code, uow=app.uow)
    fields = {**code_fields(stored), "redemptions": [redemption_fields(r) for r in redemptions]}
    if args.json:
        print(json.dumps(as_json(fields), ensure_ascii=False, indent=2))
        return status.DONE
    print(_line(fields))
    for r in fields["redemptions"]:
        until = r["ends_at"].isoformat() if r["ends_at"] is not None else "for ever"
        order = f", with order {r['order_id']}" if r["order_id"] is not None else ""
        print(f"  {r['account_code']:<24}{r['status']:<9}from {r['starts_at'].isoformat()} until {until}{order}")
    return status.DONE


def _apply(app: App, args: argparse.Namespace) -> int:
    with app.engine.connect() as conn:
        account_id = known_account(conn, args.account)
    command = RedeemDiscount(account_id, args.code, ACTOR, OPERATOR)
    discounts.redeem_discount(command, uow=app.uow, clock=app.clock, catalog=app.catalog)
    fields = _held(app, account_id)
    if args.json:
        print(json.dumps({"account": args.account, "discount": as_json(fields)}, ensure_ascii=False, indent=2))
        return status.DONE
    until = fields["ends_at"].isoformat() if fields["ends_at"] is not None else "for ever"
    print(f"{args.account}: {fields['code']} applies from {fields['starts_at'].isoformat()} until {until}")
    return status.DONE


def _held(app: App, account_id: int) -> dict[str, Any]:
    with app.engine.connect() as conn:
        held = account_discount_row(conn, account_id)
        currency = conn.execute(select(accounts.c.currency).where(accounts.c.id == account_id)).scalar_one()
    assert held is not None  # just redeemed
    return held_fields(held, currency, app.clock.now())


def _remove(app: App, args: argparse.Namespace) -> int:
    with app.engine.connect() as conn:
        account_id = known_account(conn, args.account)
    removed = discounts.remove_discount(account_id, ACTOR, uow=app.uow, clock=app.clock)
    if args.json:
        print(json.dumps({"account": args.account, "removed": removed}, ensure_ascii=False, indent=2))
    else:
        print(f"{args.account}: discount {removed} removed; charges from now on are at full price")
    return status.DONE
