"""``prorata invoices pdf|void|export NUMBER``: an issued invoice as a file, or corrected by a credit note."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prorata.adapters.documents.pdf import render_pdf
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.domain.money import Money
from prorata.entrypoints.cli import refunds
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from prorata.services.invoice_documents import corrected_document, exchange_rate_of, invoice_document


def add_commands(
    actions: argparse._SubParsersAction[Any],
    database: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """``invoices pdf|void|credit|export NUMBER``, each with its own options."""

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = database(actions.add_parser(name, help=help_text))
        parser.add_argument("number", help="the invoice's number, e.g. INV-2026-000001")
        return parser

    pdf = command("pdf", "print an invoice or credit note as PDF")
    pdf.add_argument("--language", default="en", help="en (default) or pl")
    pdf.add_argument("--output", help="the file to write (default: standard output)")
    for name, help_text in (("void", "void an invoice with a credit note"),
                            ("credit", "credit some lines of an invoice with a credit note")):  # fmt: skip
        parser = command(name, help_text)
        parser.add_argument("--reason", default="", help="why, kept with the credit note")
        parser.add_argument("--refund", choices=["credit_balance", "original_method"], default="credit_balance",
                            help="where what a paid invoice gives back goes: the credit balance (default), or the "
                            "original payment method through the gateway (rules R1, R2)")  # fmt: skip
        parser.add_argument("--requested-by", choices=["customer", "operator"], default="operator",
                            help="who asked for it (default operator)")  # fmt: skip
        parser.add_argument("--override", metavar="REASON",
                            help="rule R1: refund to the payment method after 30 days of the invoice, for this reason "
                            "(kept and audited)")  # fmt: skip
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "credit":
            parser.add_argument("--lines", required=True, help="the positions of the lines to credit, e.g. 1,3")
    export = command("export", "export an invoice or credit note as a KSeF FA(3) e-invoice")
    export.add_argument("--format", choices=["ksef"], default="ksef", help="ksef: FA(3) XML (the default)")
    export.add_argument("--output", help="the file to write (default: standard output)")


def run(app: App, args: argparse.Namespace) -> int:
    if args.action == "pdf":
        document = invoice_document(args.number, uow=app.uow, catalog=app.catalog, tax=app.tax)
        return _write(render_pdf(document, args.language), args.output)
    if args.action == "export":
        # imported here: the KSeF client's generated models take more than half a second to import, which every
        # other command would pay before reading its arguments
        from prorata.adapters.documents.ksef import fa3_xml_of

        document = invoice_document(args.number, uow=app.uow, catalog=app.catalog, tax=app.tax)
        original = corrected_document(document, uow=app.uow, catalog=app.catalog, tax=app.tax)
        return _write(fa3_xml_of(document, original, exchange_rate_of(document, uow=app.uow)), args.output)
    if args.action in ("void", "credit"):
        lines = None
        if args.action == "credit":
            try:
                lines = tuple(int(part) for part in (args.lines or "").split(",") if part.strip())
            except ValueError:
                raise InvalidInput("credit_note.lines", "lines: line positions as numbers, e.g. 1,3",
                                   field="lines") from None  # fmt: skip
        command = CreditInvoice(args.number, "operator", args.reason, lines, refund=args.refund,
                                requested_by=args.requested_by, override_reason=args.override)  # fmt: skip
        result = credit_invoice(command, uow=app.uow, clock=app.clock, gateway=app.gateway)
        if args.json:
            print(json.dumps({
                "number": result.number, "corrects": result.corrects, "total": result.total,
                "to_balance": result.to_balance, "invoice_status": result.invoice_status,
                "invoice_amount_due": result.invoice_amount_due, "currency": result.currency,
                "refund": None if result.refund is None else refunds.as_dict(result.refund),
            }, ensure_ascii=False, indent=2))  # fmt: skip
            return 0
        total, back = Money(result.total, result.currency), Money(result.to_balance, result.currency)
        print(
            f"{result.number} corrects {result.corrects}: {total}, to the credit balance {back}, "
            f"{result.corrects} is now {result.invoice_status}"
        )
        if result.refund is not None:
            print(refunds.line(result.refund))
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
