"""``prorata invoices pdf|void|export NUMBER``: an issued invoice as a file, or corrected by a credit note."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prorata.adapters.documents.pdf import render_pdf
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.services.invoice_documents import invoice_document

ACTIONS = ("pdf",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("number", nargs="?", help="the invoice's number, e.g. INV-2026-000001 (pdf, void, export)")
    parser.add_argument("--language", default="en", help="pdf: en (default) or pl")
    parser.add_argument("--output", help="pdf, export: the file to write (default: standard output)")


def run(app: App, args: argparse.Namespace) -> int:
    if not args.number:
        raise InvalidInput("invoice.number_missing", f"number: `invoices {args.action}` needs an invoice number",
                           field="number")  # fmt: skip
    if args.action == "pdf":
        document = invoice_document(args.number, uow=app.uow, catalog=app.catalog, tax=app.tax)
        return _write(render_pdf(document, args.language), args.output)
    raise InvalidInput("invoices.action", f"action: unknown action {args.action!r}", field="action")


def _write(data: bytes, output: str | None) -> int:
    if output is None or output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(output).write_bytes(data)
        print(f"{output}: {len(data):,} bytes")
    return 0
