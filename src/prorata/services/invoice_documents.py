"""An issued invoice or credit note as a document, ready for a renderer (rules I3, I5, T2).

The database gives what was issued, with the seller as it was when the document was issued (rule I2); the catalog
gives the products' names in each language, the tax configuration the reverse-charge note, the seller's logo, and the
seller of a document issued before the seller was kept with each (its ``seller`` has no country).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from prorata.catalogs import default_tax_rules
from prorata.domain.catalog import Catalog, Product, Unit
from prorata.domain.documents import InvoiceDocument
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.exchange_rates import ExchangeRate
from prorata.domain.periods import time_zone
from prorata.domain.tax import TaxRules
from prorata.services.ports import UnitOfWork


def complete(document: InvoiceDocument, catalog: Catalog, tax: TaxRules | None) -> InvoiceDocument:
    """``document`` with the seller (kept with it, or the configured one), the logo, the reverse-charge note and the
    products' names filled in."""
    rules = tax if tax is not None else default_tax_rules()
    seller = document.seller if document.seller.country else rules.seller
    lines = tuple(
        replace(line, product_names=catalog.products[line.product].names, counted_as=counted_as(catalog.products[
            line.product])) if line.product in catalog.products else replace(line, product_names={})
        for line in document.lines
    )  # fmt: skip
    return replace(document, seller=seller, lines=lines, reverse_charge_notes=rules.reverse_charge_note,
                   logo=rules.logo)  # fmt: skip


def counted_as(product: Product) -> str:
    """What a line's quantity counts: a plan's licenses, a per-user add-on's seats, or nothing (per account)."""
    if product.is_plan:
        return "license"
    return "seat" if product.unit is Unit.PER_USER else ""


def invoice_document(
    number: str, *, uow: Callable[[], UnitOfWork], catalog: Catalog, tax: TaxRules | None = None
) -> InvoiceDocument:
    with uow() as tx:
        document = tx.invoice_document(number)
    if document is None:
        raise InvalidInput("invoice.unknown", f"number: there is no issued invoice {number!r}", rule="I3",
                           field="number")  # fmt: skip
    completed = complete(document, catalog, tax)
    try:
        rate = exchange_rate_of(completed, uow=uow)
    except RuleViolation:
        rate = None  # the PDF shows the VAT in PLN once the rate is imported; the e-invoice waits for it
    return replace(completed, exchange_rate=rate) if rate is not None else completed


def corrected_document(
    document: InvoiceDocument, *, uow: Callable[[], UnitOfWork], catalog: Catalog, tax: TaxRules | None = None
) -> InvoiceDocument | None:
    """For a credit note, the invoice it corrects (an e-invoice names its number and date); None for an invoice."""
    if document.corrects is None:
        return None
    return invoice_document(document.corrects, uow=uow, catalog=catalog, tax=tax)


def exchange_rate_of(document: InvoiceDocument, *, uow: Callable[[], UnitOfWork]) -> ExchangeRate | None:
    """The bank's rate a Polish seller's foreign-currency document shows its VAT in PLN at (VAT act, art. 31a):
    that of the last working day before its issue date, the seller's date (rule I2). None when no VAT is to be
    converted (no Polish VAT on it: a buyer elsewhere pays none, or their own country's under OSS); refused
    (``rates.missing``) while the rate is not imported, so the document waits for it."""
    buyer = document.sold_to.country if document.sold_to is not None else document.seller.country
    domestic = document.seller.country == "PL" and buyer == "PL"
    if not domestic or document.currency == "PLN" or not any(line.tax for line in document.lines):
        return None
    issued_on = document.issued_at.astimezone(time_zone(document.seller.time_zone)).date()
    with uow() as tx:
        return tx.exchange_rate(document.currency, issued_on)
