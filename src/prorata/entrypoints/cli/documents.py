"""``prorata invoices pdf|void|export NUMBER``: an issued invoice as a file, or corrected by a credit note."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prorata.adapters.documents.pdf import render_pdf
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.domain.money import Money
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from prorata.services.invoice_documents import invoice_document

ACTIONS = ("pdf", "void", "credit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("number", nargs="?", help="the invoice's number, e.g. INV-2026-000001 (pdf, void, export)")
    parser.add_argument("--language", default="en", help="pdf: en (default) or pl")
    parser.add_argument("--output", help="pdf, export: the file to write (default: standard output)")
    parser.add_argument("--lines", help="credit: the positions of the lines to credit, e.g. 1,3")
    parser.add_argument("--reason", default="", help="void, credit: why, kept with the credit note")


def run(app: App, args: argparse.Namespace) -> int:
    if not args.number:
        raise InvalidInput("invoice.number_missing", f"number: `invoices {args.action}` needs an invoice number",
                           field="number")  # fmt: skip
    if args.action == "pdf":
        document = invoice_document(args.number, uow=app.uow, catalog=app.catalog, tax=app.tax)
        return _write(render_pdf(document, args.language), args.output)
    if args.action in ("void", "credit"):
        lines = None
        if args.action == "credit":
            try:
                lines = tuple(int(part) for part in (args.lines or "").split(",") if part.strip())
            except ValueError:
                raise InvalidInput("credit_note.lines", "lines: line positions as numbers, e.g. 1,3",
                                   field="lines") from None  # fmt: skip
        result = credit_invoice(CreditInvoice(args.number, "operator", args.reason, lines), uow=app.uow,
                                clock=app.clock)  # fmt: skip
        total, back = Money(result.total, result.currency), Money(result.to_balance, result.currency)
        print(
            f"{result.number} corrects {result.corrects}: {total}, to the credit balance {back}, "
            f"{result.corrects} is now {result.invoice_status}"
        )
        return 0
    raise InvalidInput("invoices.action", f"action: unknown action {args.action!r}", field="action")


def _write(data: bytes, output: str | None) -> int:
    if output is None or output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(output).write_bytes(data)
        print(f"{output}: {len(data):,} bytes")
    return 0
