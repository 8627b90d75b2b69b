"""The words documents print, in English and Polish, and how they print invoice lines and their service periods
(rules I5, X5).

The words come from the product's gettext catalogs, shared with the portal (``prorata.adapters.translations``);
amounts, dates and periods are written by ``prorata.services.formatting``, as the portal and the e-mails write them.
"""

from __future__ import annotations

from functools import cache

from prorata.adapters.translations import LANGUAGES, catalog
from prorata.domain.documents import DocumentLine, InvoiceDocument
from prorata.domain.errors import InvalidInput
from prorata.domain.periods import Granularity
from prorata.services.formatting import format_service_period

# The labels documents print, by key, as their English message ids; the Polish words are in the shared catalog
# (context ``document``) and follow the portal vocabulary (``faktura``, ``okres rozliczeniowy``, ``kredyt``).
ENGLISH: dict[str, str] = {
    "invoice": "Invoice",
    "credit_note": "Credit note",
    "number": "Number",
    "issued": "Issue date",
    "due": "Due date",
    "currency": "Currency",
    "account": "Account number",
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
    "bank_account": "Bank account",
    "vat_in_pln": "VAT {rate} in PLN: {amount}",
    "nbp_rate": "Converted at the National Bank of Poland's average rate of {date}, table {table}: {units} "
    "{currency} = {mid} PLN",
    "payment_reference": "Payment reference: {number}",
    "net_terms": "Payable by bank transfer; payment term in days: {days}",
    "corrects": "Corrects invoice {number}",
    "reason": "Reason for correction: {reason}",
    "reversal": "Reversal: {text}",
    "charge": "{name}: {quantity}, {share}",
    "credit": "Unused time: {name}, {quantity}, {share}",
    "discount": "Discount {code}: {name}, {quantity}, {share}",  # rule DC2: a line of its own, after its charge
    "days": "{used} of {whole} days",
    "seconds": "{used} of {whole} seconds",
    "open": "open",
    "paid": "paid",
    "void": "void",
    "draft": "draft",
    "page": "Page {page}",
}

# a seller that is not Polish names its tax by the generic word (rule T1): these replace the VAT labels
GENERIC_TAX: dict[str, str] = {"rate": "Tax rate", "tax": "Tax", "tax_on": "Tax {rate} on {base}"}


@cache
def words(language: str, seller_country: str = "PL") -> dict[str, str]:
    """Every label in ``language``, from the shared gettext catalog; a Polish seller's tax is VAT, another seller's
    the generic word (rule T1)."""
    translations = catalog(check_language(language))
    chosen = ENGLISH if seller_country.upper() == "PL" else {**ENGLISH, **GENERIC_TAX}
    return {key: translations.pgettext("document", english) for key, english in chosen.items()}


def counted(line: DocumentLine, language: str) -> str:
    """A line's quantity with its unit: ``5 licenses``, ``2 seats`` (``5 licencji``, ``2 miejsca``)."""
    return quantity_text(line.quantity, line.counted_as, language)


def quantity_text(quantity: int, counted_as: str, language: str) -> str:
    """``quantity`` with its unit (``counted_as``: ``license``, ``seat`` or none), as documents write it."""
    translations = catalog(check_language(language))
    if counted_as == "license":
        return translations.npgettext("document", "{count} license", "{count} licenses", quantity).format(
            count=quantity)  # fmt: skip
    if counted_as == "seat":
        return translations.npgettext("document", "{count} seat", "{count} seats", quantity).format(
            count=quantity)  # fmt: skip
    return str(quantity)


def check_language(language: str, *, field: str = "language") -> str:
    if language not in LANGUAGES:
        raise InvalidInput(
            "document.language",
            f"{field}: documents are printed in {', '.join(LANGUAGES)} (got {language!r})",
            rule="X5",
            field=field,
        )
    return language


def service_period(line: DocumentLine, document: InvoiceDocument, language: str) -> str:
    """The line's first and last day in the account's time zone, the last day included (rules C3, I5)."""
    return format_service_period(line.period, document.time_zone, document.granularity, language)


def line_text(line: DocumentLine, document: InvoiceDocument, language: str) -> str:
    """Rule I5: the charge or credit with its proration explained ("Business: 2 licenses, 16 of 30 days"); rule DC2:
    a discount with its code and the share of the period it covers ("Discount SAVE20: Business, 2 licenses, 16 of 30
    days")."""
    name = line.product_names.get(language) or line.product_names.get("en") or line.product
    return described(line.kind, name, counted(line, language), line.used, line.whole, document.granularity, language,
                     discount=line.discount_code or "", reversal=document.kind == "credit_note")  # fmt: skip


def described(
    kind: str,
    name: str,
    quantity: str,
    used: int,
    whole: int,
    granularity: Granularity,
    language: str,
    *,
    discount: str = "",
    reversal: bool = False,
) -> str:
    """A line's words from its fields: ``kind`` (charge, credit or discount), the product's ``name``, the
    ``quantity`` with its unit, the proration ``used`` of ``whole`` and a discount line's code (``discount``).
    ``reversal``: a credit note's line, which reverses the corrected invoice's line (rule I2): of the other kind for a
    charge or credit, a discount's own kind for a discount (the discount given back, as its charge is)."""
    labels = words(language)
    unit = "days" if granularity is Granularity.DAY else "seconds"
    share = labels[unit].format(used=used, whole=whole)
    original = kind
    if reversal and kind != "discount":
        original = "charge" if kind == "credit" else "credit"
    text = labels[original].format(name=name, quantity=quantity, share=share, code=discount)
    return labels["reversal"].format(text=text) if reversal else text
