"""A bank statement in ISO 20022 CAMT.053 (``BkToCstmrStmt``): the credit entries it lists, for rule NT1's import.

Parsed with the standard library's ElementTree from bytes, nothing read from a file here. A statement with a
document type declaration or an entity is refused before parsing: a bank's statement has neither, and an entity is
the way an XML file makes a parser expand a few bytes into gigabytes or read a local file. Every namespace version
of camt.053 (``camt.053.001.02`` ... ``.08``) has the same element names, so elements are matched by local name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from prorata.domain.errors import InvalidInput
from prorata.domain.money import check_currency, currency_exponent

MAX_STATEMENT_BYTES = 5 * 1024 * 1024
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One credit entry: money received."""

    bank_reference: str
    amount: int  # minor units
    currency: str
    booked_on: date
    remittance: str  # the transfer's title (unstructured remittance information), as the payer wrote it


def _refuse(problem: str) -> InvalidInput:
    return InvalidInput("bank_statement.invalid", f"statement: {problem}", rule="NT1", field="statement")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, *path: str) -> ET.Element | None:
    found: ET.Element | None = element
    for name in path:
        if found is None:
            return None
        found = next((child for child in found if _local(child.tag) == name), None)
    return found


def _text(element: ET.Element, *path: str) -> str:
    found = _find(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _all(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element.iter() if _local(e.tag) == name]


def parse_camt053(data: bytes) -> list[StatementEntry]:
    """The statement's credit entries (``CdtDbtInd`` CRDT, status booked), in the order listed; refused as a whole,
    naming what is wrong, when it is not a CAMT.053 statement this reads."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise _refuse(f"at most {MAX_STATEMENT_BYTES // (1024 * 1024)} MB")
    if _DECLARATION.search(data):
        raise _refuse("a document type declaration or entity is not accepted in a bank statement")
    try:
        # no DOCTYPE or ENTITY is left to expand (checked above)
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise _refuse(f"not well-formed XML ({error})") from None
    statements = _all(root, "Stmt")
    if _local(root.tag) != "Document" or not _all(root, "BkToCstmrStmt") or not statements:
        raise _refuse("not a CAMT.053 bank-to-customer statement (Document/BkToCstmrStmt/Stmt)")
    entries: list[StatementEntry] = []
    for statement in statements:
        for entry in (e for e in statement if _local(e.tag) == "Ntry"):
            if _text(entry, "CdtDbtInd") != "CRDT":
                continue  # money paid out is not a customer's payment
            status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
            if status and status != "BOOK":
                continue  # pending or informational: not money received yet
            entries.append(_entry(entry, len(entries) + 1))
    return entries


def _entry(entry: ET.Element, position: int) -> StatementEntry:
    amount_element = _find(entry, "Amt")
    if amount_element is None:
        raise _refuse(f"entry {position} has no Amt")
    try:
        currency = check_currency((amount_element.get("Ccy") or "").upper(), field="statement")
    except InvalidInput:
        raise _refuse(f"entry {position}: Amt has no known currency (Ccy)") from None
    try:
        value = Decimal((amount_element.text or "").strip())
    except InvalidOperation:
        raise _refuse(f"entry {position}: {amount_element.text!r} is not an amount") from None
    minor = value.scaleb(currency_exponent(currency))
    if not value.is_finite() or value <= 0 or minor != minor.to_integral_value():
        raise _refuse(f"entry {position}: {value} is not a positive amount in {currency}")
    details = _find(entry, "NtryDtls", "TxDtls")
    reference = (
        (_text(details, "Refs", "AcctSvcrRef") if details is not None else "")
        or _text(entry, "AcctSvcrRef")
        or _text(entry, "NtryRef")
    )
    if not reference:
        raise _refuse(f"entry {position} has no bank reference (AcctSvcrRef or NtryRef)")
    booked = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")[:10]
    try:
        booked_on = date.fromisoformat(booked)
    except ValueError:
        raise _refuse(f"entry {position}: booking date {booked!r} is not a date") from None
    remittance = " ".join(
        (e.text or "").strip() for e in (_all(details, "Ustrd") + _all(details, "Ref") if details is not None else [])
    )
    return StatementEntry(reference, int(minor), currency, booked_on, remittance)
