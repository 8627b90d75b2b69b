"""``prorata terms show|set|off`` and ``prorata bank-payments record|import``: invoice terms and bank transfers
(rule NT1), through the use cases the console and the API share.

- ``terms show --account CODE [--json]``: the account's net terms (or "card") and its bank payments.
- ``terms set --account CODE [--days N]``: on terms, Net 30 unless ``--days`` says otherwise (1 to 120); refused
  when the account's recurring charges a month are under ``PRORATA_TERMS_THRESHOLDS`` in its currency.
- ``terms off --account CODE``: back to paying by card.
- ``bank-payments record --invoice NUMBER --amount 65.97 --currency USD --date YYYY-MM-DD --reference REF``: a
  transfer booked against the invoice once per bank reference (the same again is answered as recorded already).
- ``bank-payments import FILE [--json]``: a CAMT.053 statement; each entry matched, already recorded or unmatched.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from prorata.adapters.db.queries import account_id_by_code
from prorata.adapters.db.terms_store import bank_payments_of, terms_of
from prorata.bootstrap import App
from prorata.domain.bank_statement import MAX_STATEMENT_BYTES, parse_camt053
from prorata.domain.errors import InvalidInput
from prorata.domain.money import currency_exponent
from prorata.domain.payment_terms import DEFAULT_TERMS_DAYS
from prorata.entrypoints.cli import status
from prorata.services.bank_payments import RecordBankPayment, import_statement, record_bank_payment
from prorata.services.payment_terms import SetPaymentTerms, set_payment_terms

ACTOR = "prorata bank"
Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    terms = commands.add_parser("terms", help="invoice terms (rule NT1): show, set, off")
    actions = terms.add_subparsers(dest="action", required=True, metavar="{show,set,off}")
    show = as_json(database(actions.add_parser("show", help="the account's terms and bank payments")))
    put = database(actions.add_parser("set", help=f"pay by invoice with net terms (Net {DEFAULT_TERMS_DAYS})"))
    put.add_argument("--days", type=int, default=DEFAULT_TERMS_DAYS, help="net terms in days (default %(default)s)")
    off = database(actions.add_parser("off", help="back to paying by card"))
    for parser in (show, put, off):
        parser.add_argument("--account", required=True, help="the account's code")
    bank = commands.add_parser("bank-payments", help="bank transfers for invoices on terms (rule NT1)")
    doing = bank.add_subparsers(dest="action", required=True, metavar="{record,import}")
    record = as_json(database(doing.add_parser("record", help="a transfer against an invoice number")))
    record.add_argument("--invoice", required=True, help="the invoice number, e.g. INV-2026-000012")
    record.add_argument("--amount", required=True, help="the amount received, e.g. 65.97")
    record.add_argument("--currency", required=True, help="its currency, e.g. USD")
    record.add_argument("--date", required=True, help="the day the bank booked it, YYYY-MM-DD")
    record.add_argument("--reference", required=True, help="the bank's reference of the transfer")
    statement = as_json(database(doing.add_parser("import", help="a CAMT.053 bank statement (XML)")))
    statement.add_argument("file", type=Path, help="the statement file")


def run(app: App, args: argparse.Namespace) -> int:
    if args.command == "terms":
        return _terms(app, args)
    if args.action == "record":
        return _record(app, args)
    return _import(app, args)


def _account(app: App, code: str) -> int:
    with app.engine.connect() as conn:
        found = account_id_by_code(conn, code)
    if found is None:
        raise InvalidInput("account.unknown", f"account: there is no account {code!r}", field="account")
    return found


def _terms(app: App, args: argparse.Namespace) -> int:
    account_id = _account(app, args.account)
    if args.action != "show":
        days = args.days if args.action == "set" else None
        set_payment_terms(SetPaymentTerms(account_id, days, ACTOR), uow=app.uow, clock=app.clock,
                          catalog=app.catalog, thresholds=app.terms_thresholds)  # fmt: skip
    with app.engine.connect() as conn:
        days, paid = terms_of(conn, account_id), bank_payments_of(conn, account_id)
    if getattr(args, "json", False):
        print(json.dumps({"account": args.account, "terms_days": days,
                          "bank_payments": [_plain(asdict(p)) for p in paid]}, indent=2))  # fmt: skip
        return status.DONE
    print(f"{args.account}: " + (f"invoice terms, Net {days}" if days else "pays by card"))
    for p in paid:
        print(f"  {p.received_on}  {p.invoice_number}  {p.amount} {p.currency} (applied {p.applied}, to credit "
              f"{p.excess})  {p.bank_reference}")  # fmt: skip
    return status.DONE


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


def _minor(amount: str, currency: str) -> int:
    """``65.97`` USD -> 6597: at most the currency's minor digits, refused otherwise (never rounded)."""
    exponent = currency_exponent(currency.upper(), field="currency")
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    minor = value.scaleb(exponent) if value.is_finite() else value
    if not minor.is_finite() or minor <= 0 or minor != minor.to_integral_value():
        raise InvalidInput("bank_payment.amount", f"amount: {amount!r} is not a positive amount in {currency.upper()}",
                           rule="NT1", field="amount")  # fmt: skip
    return int(minor)


def _record(app: App, args: argparse.Namespace) -> int:
    try:
        received = date.fromisoformat(args.date)
    except ValueError:
        raise InvalidInput("bank_payment.received_on", f"date: {args.date!r} is not a date (YYYY-MM-DD)",
                           rule="NT1", field="date") from None  # fmt: skip
    command = RecordBankPayment(args.invoice, _minor(args.amount, args.currency), args.currency, received,
                                args.reference, ACTOR)  # fmt: skip
    done = record_bank_payment(command, uow=app.uow, clock=app.clock)
    p = done.payment
    if args.json:
        print(json.dumps({**_plain(asdict(p)), "replayed": done.replayed}, indent=2))
        return status.DONE
    said = "recorded already" if done.replayed else "recorded"
    print(f"{p.bank_reference}: {said} for {p.invoice_number}: {p.amount} {p.currency}, applied {p.applied}, "
          f"to the credit balance {p.excess}")  # fmt: skip
    return status.DONE


def _import(app: App, args: argparse.Namespace) -> int:
    try:
        size = args.file.stat().st_size
        if size > MAX_STATEMENT_BYTES:
            raise InvalidInput("bank_statement.invalid", "statement: at most 5 MB", rule="NT1", field="statement")
        data = args.file.read_bytes()
    except OSError as error:
        raise InvalidInput("bank_statement.unreadable", f"file: {error.strerror}", rule="NT1", field="file") from None
    report = import_statement(parse_camt053(data), actor=ACTOR, uow=app.uow, clock=app.clock)
    if args.json:
        print(json.dumps({"entries": [{**_plain(asdict(e.entry)), "outcome": e.outcome,
                                       "invoice_number": e.invoice_number, "reason": e.reason}
                                      for e in report.entries]}, indent=2))  # fmt: skip
        return status.DONE
    for e in report.entries:
        print(f"{e.outcome:<10}{e.entry.bank_reference:<28}{e.entry.amount:>12} {e.entry.currency}  "
              f"{e.invoice_number or '-'}  {e.reason}")  # fmt: skip
    print(f"matched {len(report.of('matched'))}, already recorded {len(report.of('already'))}, "
          f"unmatched {len(report.of('unmatched'))}")  # fmt: skip
    return status.DONE
