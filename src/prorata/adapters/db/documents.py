"""Issued invoices read back as documents (rules I2, I3, I5): the invoice, the contacts kept with it when it was
issued (``snapshot_parties``), its lines and payments.

Product names are left for the caller, who holds the catalog. The seller is the one kept with the document when it was
issued (``sellers.py``); a document issued before sellers were kept has none, and the caller gives it the configured
one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from prorata.adapters.db.bulk import among
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.schema import (
    accounts,
    bank_payments,
    contacts,
    credit_notes,
    invoice_lines,
    invoice_parties,
    invoices,
    payment_methods,
    payments,
    sellers,
)
from prorata.adapters.db.sellers import seller_from
from prorata.domain.documents import DocumentLine, DocumentPayment, InvoiceDocument, Party
from prorata.domain.periods import Granularity, Period
from prorata.domain.seller import Seller

_NUMBER = re.compile(r"^(?P<series>[A-Z]+)-(?P<year>\d{4})-(?P<number>\d{1,9})$")


_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover",
           "jcb": "JCB"}  # fmt: skip


def payment_method_text(kind: str | None, brand: str | None, last4: str | None) -> str:
    """How a payment's method is shown: ``Visa •••• 4242``, ``PayPal``; empty when none was charged."""
    if kind == "paypal":
        return "PayPal"
    if kind == "card":
        return f"{_BRANDS.get(brand or '', brand or '')} •••• {last4}"
    return ""


def parse_number(text: str) -> tuple[str, int, int] | None:
    """``INV-2026-000001`` -> ``("INV", 2026, 1)``; None when it is not a document number."""
    found = _NUMBER.match(text.strip().upper())
    if found is None:
        return None
    return found["series"], int(found["year"]), int(found["number"])


def _party(row: object) -> Party:
    r = row._mapping  # type: ignore[attr-defined]
    city = " ".join(part for part in (r["postal_code"], r["city"]) if part)
    address = tuple(part for part in (r["address_line1"], r["address_line2"], city, r["region"]) if part)
    return Party(r["name"], r["email"], address, r["country"], r["company"], r["tax_id"])


def _line(row: Row[Any]) -> DocumentLine:
    r = row._mapping
    period = Period(r["period_start"], r["period_end"])
    return DocumentLine(r["kind"], r["product"], {}, r["quantity"], r["unit_amount"], period, r["used"], r["whole"],
                        r["amount"], r["tax_rate"], r["tax"], r["description"],
                        discount_code=r["discount_code"])  # fmt: skip


def load_invoice_document(connection: Connection, number: str, granularity: Granularity) -> InvoiceDocument | None:
    parsed = parse_number(number)
    if parsed is None:
        return None
    series, year, serial = parsed
    head = (
        connection.execute(
            select(
                invoices,
                accounts.c.time_zone,
                accounts.c.code.label("account_code"),
                sellers.c.identity.label("seller_identity"),
            )
            .join(accounts, accounts.c.id == invoices.c.account_id)
            .outerjoin(sellers, sellers.c.id == invoices.c.seller_id)
            .where(invoices.c.series == series, invoices.c.year == year, invoices.c.number == serial)
        )
        .mappings()
        .first()
    )
    if head is None:
        return None
    parties = {
        row.kind: _party(row)
        for row in connection.execute(select(invoice_parties).where(invoice_parties.c.invoice_id == head["id"]))
    }
    rows = connection.execute(
        select(invoice_lines).where(invoice_lines.c.invoice_id == head["id"]).order_by(invoice_lines.c.position)
    )
    lines = tuple(_line(row) for row in rows)
    paid = connection.execute(
        select(payments.c.settled_at, payments.c.amount, payment_methods.c.brand, payment_methods.c.last4,
               payment_methods.c.kind)
        .select_from(payments.outerjoin(payment_methods, payment_methods.c.id == payments.c.payment_method_id))
        .where(payments.c.invoice_id == head["id"], payments.c.status == "succeeded")
        .order_by(payments.c.id)
    )  # fmt: skip
    # rule NT1: the bank transfers recorded for it, after the card payments
    transfers = connection.execute(
        select(bank_payments.c.recorded_at, bank_payments.c.amount, bank_payments.c.bank_reference)
        .where(bank_payments.c.invoice_id == head["id"])
        .order_by(bank_payments.c.id)
    ).all()
    corrected = connection.execute(
        select(invoices.c.series, invoices.c.year, invoices.c.number, credit_notes.c.reason, credit_notes.c.void)
        .join(credit_notes, credit_notes.c.corrects_id == invoices.c.id)
        .where(credit_notes.c.invoice_id == head["id"])
    ).first()
    return InvoiceDocument(
        number=invoice_number_text(series, year, serial),
        kind="credit_note" if series == "CN" else "invoice",
        status=head["status"],
        issued_at=head["issued_at"],
        due_at=head["due_at"] or head["issued_at"],
        currency=head["currency"],
        seller=seller_from(head["seller_identity"]) if head["seller_identity"] else Seller(""),
        sold_to=parties.get("sold_to"),
        bill_to=parties.get("bill_to"),
        lines=lines,
        subtotal=head["subtotal"],
        tax=head["tax"],
        total=head["total"],
        credit_applied=head["credit_applied"],
        amount_due=head["amount_due"],
        time_zone=head["time_zone"],
        account_code=head["account_code"],
        granularity=granularity,
        payments=tuple(
            DocumentPayment(
                r.settled_at,
                r.amount,
                payment_method_text(r.kind, r.brand, r.last4),
            )
            for r in paid
        )
        + tuple(DocumentPayment(r.recorded_at, r.amount, r.bank_reference) for r in transfers),
        reverse_charge=bool(head["reverse_charge"]),
        account_id=int(head["account_id"]),
        corrects=None if corrected is None else invoice_number_text(corrected.series, corrected.year, corrected.number),
        reason="" if corrected is None else corrected.reason.strip(),
        voids=corrected is not None and bool(corrected.void),
        terms_days=head["terms_days"],
    )


def snapshot_parties(connection: Connection, invoice_ids: Sequence[int]) -> None:
    """Rule I2: keep the account's Sold-To and Bill-To contacts with each invoice being issued, in one statement."""
    if not invoice_ids:
        return
    fields = [column.name for column in contacts.c if column.name not in ("id", "account_id")]
    current = (
        select(invoices.c.id, *(contacts.c[name] for name in fields))
        .join(contacts, contacts.c.account_id == invoices.c.account_id)
        .where(among(connection, invoices.c.id, invoice_ids))
    )
    connection.execute(insert(invoice_parties).from_select(["invoice_id", *fields], current))
