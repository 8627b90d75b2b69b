"""``prorata refunds list|retry``: refunds of credit notes to the original payment method (rules R1, R2).

``prorata invoices void|credit NUMBER --refund original_method`` makes them (``documents.py``); here the operator sees
them and retries a failed one, or sends it to the credit balance instead.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from prorata.adapters.db.queries import known_account
from prorata.adapters.db.refund_store import refund_views
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.domain.money import Money
from prorata.services.ports import RefundRecord
from prorata.services.refunds import retry_refund

Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    refunds = commands.add_parser("refunds", help="refunds of credit notes to the original payment method")
    actions = refunds.add_subparsers(dest="action", required=True, metavar="{list,retry}")
    listing = as_json(database(actions.add_parser("list", help="list refunds, newest first")))
    listing.add_argument("--account", help="only this account's (its code)")
    retry = as_json(database(actions.add_parser("retry", help="try a failed refund again, or send it to the balance")))
    retry.add_argument("id", type=int, help="the refund's id (see `prorata refunds list`)")
    retry.add_argument("--to", choices=["original_method", "credit_balance"], default="original_method",
                       help="original_method: a new attempt at the gateway (default); credit_balance: the amount to "
                       "the account's credit balance instead")  # fmt: skip


def as_dict(refund: RefundRecord) -> dict[str, Any]:
    return {
        "id": refund.id, "account_id": refund.account_id, "credit_note": refund.credit_note,
        "invoice": refund.invoice, "amount": refund.amount, "currency": refund.currency, "status": refund.status,
        "method": refund.method, "gateway": refund.gateway, "gateway_reference": refund.gateway_reference,
        "failure_code": refund.failure_code, "attempt": refund.attempt, "requested_by": refund.requested_by,
        "override_reason": refund.override_reason, "created_at": refund.created_at.isoformat(),
        "settled_at": refund.settled_at.isoformat() if refund.settled_at else None,
    }  # fmt: skip


def line(refund: RefundRecord) -> str:
    failure = f" ({refund.failure_code})" if refund.failure_code else ""
    return (
        f"refund {refund.id}: {refund.credit_note} corrects {refund.invoice}, {Money(refund.amount, refund.currency)} "
        f"to {refund.method or refund.gateway}, {refund.status}{failure}, attempt {refund.attempt}"
    )


def run(app: App, args: argparse.Namespace) -> int:
    if args.action == "list":
        account = None
        if args.account:
            with app.engine.connect() as conn:
                account = known_account(conn, args.account)
        with app.engine.connect() as conn:
            found = refund_views(conn, account_id=account)
        if args.json:
            print(json.dumps({"refunds": [as_dict(r) for r in found]}, ensure_ascii=False, indent=2))
        else:
            for refund in found:
                print(line(refund))
        return 0
    if args.action == "retry":
        after = retry_refund(args.id, to=args.to, actor="operator", uow=app.uow, clock=app.clock, gateway=app.gateway)
        print(json.dumps(as_dict(after), ensure_ascii=False, indent=2) if args.json else line(after))
        return 0
    raise InvalidInput("refunds.action", f"action: unknown action {args.action!r}", field="action")
