"""Issued invoices as credit notes need them, and credit notes written (rules I2, T3).

A credit note is a row of ``invoices`` in the series ``CN`` with its own gap-free numbers, its reversing lines in
``invoice_lines``, and a ``credit_notes`` row naming the invoice it corrects and the lines it reverses. The corrected
invoice keeps its lines and totals; only its status and what remains due change. Credit given back is booked in the
credit ledger against the credit note.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from prorata.adapters.db.documents import parse_number, snapshot_parties
from prorata.adapters.db.invoice_rows import AMOUNT_PAID
from prorata.adapters.db.numbering import invoice_number_text, next_invoice_number
from prorata.adapters.db.schema import credit_ledger, credit_notes, invoice_lines, invoices, refunds
from prorata.adapters.db.seal import seal_documents
from prorata.adapters.db.sellers import kept_seller
from prorata.domain.credit_notes import CreditNote, IssuedInvoice, IssuedLine
from prorata.domain.periods import Period

CREDIT_NOTE_SERIES = "CN"


def _line(row: Row[Any]) -> IssuedLine:
    r = row._mapping
    return IssuedLine(r["position"], r["kind"], r["subscription_id"], r["product"], r["description"], r["quantity"],
                      r["unit_amount"], Period(r["period_start"], r["period_end"]), r["used"], r["whole"], r["amount"],
                      r["tax_rate"], r["tax"], r["discount_code"])  # fmt: skip


def load_issued_invoice(connection: Connection, number: str) -> IssuedInvoice | None:
    parsed = parse_number(number)
    if parsed is None:
        return None
    series, year, serial = parsed
    head = (
        connection.execute(
            select(invoices).where(invoices.c.series == series, invoices.c.year == year, invoices.c.number == serial)
        )
        .mappings()
        .first()
    )
    if head is None:
        return None
    rows = connection.execute(
        select(invoice_lines).where(invoice_lines.c.invoice_id == head["id"]).order_by(invoice_lines.c.position)
    )
    credited: set[int] = set()
    for (positions,) in connection.execute(select(credit_notes.c.positions).where(credit_notes.c.corrects_id ==
                                                                                  head["id"])):  # fmt: skip
        credited.update(json.loads(positions))
    return IssuedInvoice(
        int(head["id"]), int(head["account_id"]), invoice_number_text(series, year, serial), head["status"],
        head["currency"], head["total"], head["credit_applied"], head["amount_due"], tuple(_line(r) for r in rows),
        frozenset(credited), series == CREDIT_NOTE_SERIES, amount_paid(connection, int(head["id"])),
        returned_by_notes(connection, int(head["id"])) + refunded(connection, int(head["id"])), head["issued_at"],
        refunded(connection, int(head["id"])),
    )  # fmt: skip


def returned_by_notes(connection: Connection, invoice_id: int) -> int:
    """What the credit notes of an invoice gave back to the credit balance so far (refunds are ``refunded``)."""
    notes = select(credit_notes.c.invoice_id).where(credit_notes.c.corrects_id == invoice_id)
    total = connection.execute(
        select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
            credit_ledger.c.reason == "credit_note", credit_ledger.c.invoice_id.in_(notes)
        )
    ).scalar_one()
    return int(total)


# A refund holds its amount while it is pending, succeeded, or failed and not yet sent to the balance (rule R2)
REFUND_HOLDS = ("pending", "succeeded", "failed")


def refunded(connection: Connection, invoice_id: int) -> int:
    """What refunds of an invoice to its payment method took back, or hold (rule R2)."""
    total = connection.execute(
        select(func.coalesce(func.sum(refunds.c.amount), 0)).where(
            refunds.c.invoice_id == invoice_id, refunds.c.status.in_(REFUND_HOLDS)
        )
    ).scalar_one()
    return int(total)


def amount_paid(connection: Connection, invoice_id: int) -> int:
    """What payments paid for an invoice (money received beyond what it owed went to the credit balance)."""
    return int(connection.execute(select(AMOUNT_PAID).where(invoices.c.id == invoice_id)).scalar_one())


def write_credit_note(
    connection: Connection, note: CreditNote, reason: str, now: datetime, year: int, seller_id: int | None = None
) -> str:
    """The note numbered in ``year`` (the year of its issue date as the seller prints it, rule I2), issued by the
    seller kept as ``seller_id``."""
    invoice = note.corrects
    serial = next_invoice_number(connection, CREDIT_NOTE_SERIES, year)
    source = connection.execute(
        select(invoices.c.tax_country, invoices.c.reverse_charge).where(invoices.c.id == invoice.id)
    ).one()
    note_id = int(
        connection.execute(
            insert(invoices)
            .values(account_id=invoice.account_id, series=CREDIT_NOTE_SERIES, year=year, number=serial,
                    status="paid", currency=invoice.currency, subtotal=note.subtotal, tax=note.tax, total=note.total,
                    credit_applied=0, amount_due=0, issued_at=now, due_at=now, paid_at=now, created_at=now,
                    tax_country=source.tax_country, reverse_charge=source.reverse_charge, **kept_seller(seller_id))
            .returning(invoices.c.id)
        ).scalar_one()
    )  # fmt: skip
    snapshot_parties(connection, [note_id])  # rule I2: the contacts as they are when the note is issued
    connection.execute(
        insert(invoice_lines),
        [
            {"invoice_id": note_id, "position": line.position, "kind": line.kind,
             "subscription_id": line.subscription_id, "product": line.product, "description": line.description,
             "quantity": line.quantity, "unit_amount": line.unit_amount, "period_start": line.period.start,
             "period_end": line.period.end, "used": line.used, "whole": line.whole, "amount": line.amount,
             "basis": None, "tax_rate": line.tax_rate, "tax": line.tax, "discount_code": line.discount}
            for line in note.lines
        ],
    )  # fmt: skip
    connection.execute(
        insert(credit_notes).values(invoice_id=note_id, corrects_id=invoice.id, void=note.void, reason=reason,
                                    positions=json.dumps(list(note.reversed_positions)), created_at=now)
    )  # fmt: skip
    seal_documents(connection, [note_id])  # rule I2: the note as issued, with what it corrects
    changes: dict[str, object] = {"status": note.status_after, "amount_due": note.amount_due_after}
    if note.status_after == "paid" and invoice.status == "open":
        changes["paid_at"] = now
    connection.execute(update(invoices).where(invoices.c.id == invoice.id).values(**changes))
    if note.to_balance:
        connection.execute(
            insert(credit_ledger).values(account_id=invoice.account_id, amount=note.to_balance,
                                         currency=invoice.currency, reason="credit_note", invoice_id=note_id,
                                         created_at=now)
        )  # fmt: skip
    return invoice_number_text(CREDIT_NOTE_SERIES, year, serial)
