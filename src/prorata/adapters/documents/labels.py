"""The words documents print, in English and Polish, and how they print amounts, dates and invoice lines (rule X5).

A small table of its own for now; the portal's gettext catalogs can take it over once both live on one branch. The
Polish words follow the portal vocabulary (``faktura``, ``okres rozliczeniowy``, ``kredyt``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_currency

from prorata.domain.documents import DocumentLine, InvoiceDocument
from prorata.domain.errors import InvalidInput
from prorata.domain.money import currency_exponent
from prorata.domain.periods import Granularity

LANGUAGES = ("en", "pl")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "number": "Number",
        "issued": "Issue date",
        "due": "Due date",
        "currency": "Currency",
        "status": "Status",
        "seller": "Seller",
        "sold_to": "Sold-To",
        "bill_to": "Bill-To",
        "tax_id": "Tax ID",
        "line": "No.",
        "description": "Description",
        "service_period": "Service period",
        "quantity": "Qty",
        "unit_price": "Unit price",
        "net": "Net amount",
        "rate": "VAT rate",
        "tax": "VAT",
        "subtotal": "Subtotal",
        "tax_on": "VAT {rate} on {base}",
        "total": "Total",
        "credit_applied": "Credit applied",
        "amount_due": "Amount due",
        "payments": "Payments",
        "no_payments": "No payments yet.",
        "corrects": "Corrects invoice {number}",
        "reversal": "Reversal: {text}",
        "charge": "{name} x {quantity}, {share}",
        "credit": "Unused time on {name} x {quantity}, {share}",
        "days": "{used} of {whole} days",
        "seconds": "{used} of {whole} seconds",
        "open": "open",
        "paid": "paid",
        "void": "void",
        "draft": "draft",
        "page": "Page {page}",
    },
    "pl": {
        "invoice": "Faktura",
        "credit_note": "Faktura korygująca",
        "number": "Numer",
        "issued": "Data wystawienia",
        "due": "Termin płatności",
        "currency": "Waluta",
        "status": "Status",
        "seller": "Sprzedawca",
        "sold_to": "Dane kontaktowe nabywcy",
        "bill_to": "Kontakt do rozliczeń",
        "tax_id": "NIP / VAT",
        "line": "Lp.",
        "description": "Opis",
        "service_period": "Okres rozliczeniowy",
        "quantity": "Ilość",
        "unit_price": "Cena jedn.",
        "net": "Wartość netto",
        "rate": "Stawka VAT",
        "tax": "VAT",
        "subtotal": "Razem netto",
        "tax_on": "VAT {rate} od {base}",
        "total": "Razem brutto",
        "credit_applied": "Zaliczony kredyt (saldo konta)",
        "amount_due": "Do zapłaty",
        "payments": "Płatności",
        "no_payments": "Brak płatności.",
        "corrects": "Koryguje fakturę {number}",
        "reversal": "Korekta: {text}",
        "charge": "{name} x {quantity}, {share}",
        "credit": "Niewykorzystany okres: {name} x {quantity}, {share}",
        "days": "{used} z {whole} dni",
        "seconds": "{used} z {whole} sekund",
        "open": "otwarta",
        "paid": "opłacona",
        "void": "anulowana",
        "draft": "szkic",
        "page": "Strona {page}",
    },
}


def check_language(language: str, *, field: str = "language") -> str:
    if language not in LABELS:
        raise InvalidInput(
            "document.language",
            f"{field}: documents are printed in {', '.join(LANGUAGES)} (got {language!r})",
            rule="X5",
            field=field,
        )
    return language


def money(amount: int, currency: str, language: str) -> str:
    """``1234.5 PLN`` as ``1 234,50 zł`` (pl) or ``PLN 1,234.50`` (en): exact, from minor units, never a float."""
    value = Decimal(amount).scaleb(-currency_exponent(currency))
    return format_currency(value, currency, locale="pl_PL" if language == "pl" else "en_US")


def local_day(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).date().isoformat()


def service_period(line: DocumentLine, document: InvoiceDocument) -> str:
    """The period's first and last day in the account's time zone (the end of a period is exclusive, rule C3)."""
    start = local_day(line.period.start, document.time_zone)
    if document.granularity is Granularity.DAY:
        last = (line.period.end.astimezone(ZoneInfo(document.time_zone)) - timedelta(days=1)).date().isoformat()
        return start if last <= start else f"{start} – {last}"
    return f"{line.period.start.isoformat()} – {line.period.end.isoformat()}"


def line_text(line: DocumentLine, document: InvoiceDocument, language: str) -> str:
    """Rule I5: the charge or credit with its proration explained ("Business x 2, 16 of 30 days")."""
    words = LABELS[language]
    unit = "days" if document.granularity is Granularity.DAY else "seconds"
    share = words[unit].format(used=line.used, whole=line.whole)
    name = line.product_names.get(language) or line.product_names.get("en") or line.product
    if document.kind == "credit_note":  # rule I2: a reversal of the corrected invoice's line, which had the other kind
        original = "charge" if line.kind == "credit" else "credit"
        text = words[original].format(name=name, quantity=line.quantity, share=share)
        return words["reversal"].format(text=text)
    return words[line.kind].format(name=name, quantity=line.quantity, share=share)
