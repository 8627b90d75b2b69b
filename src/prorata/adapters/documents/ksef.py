"""Invoices and credit notes of a Polish seller as KSeF e-invoices: FA(3) XML, validated against the official schema.

The XML is built with the ``ksef-client`` package (its ``fa3`` extra), which ships the FA(3) schema files and
validates offline; every document is checked against the schema before it leaves here, and one that fails is
refused with the schema's own message. Sending to the KSeF service itself is not done: it needs the seller's
credentials and the government's network.

How Prorata's lines map: each line is one ``FaWiersz`` of quantity 1 whose net value (``P_11``) is the line's signed
amount and whose VAT (``P_11Vat``) is the line's tax, exactly as invoiced (rule T3); the proration is in the line's
text. Rates: the seller's domestic rates as their FA(3) codes, an EU consumer's own rate under the OSS procedure
(``XII``), an EU business's services as "np II" with the reverse-charge mark (rule T2), and services to buyers
outside the EU as "np I". A credit note is a correction invoice (``KOR``) of the invoice it corrects, with the reason
the operator gave (``PrzyczynaKorekty``) or, without one, a Polish default naming what it corrects.

A discount (rule DC2, "a line of its own on the invoice, before tax") is a ``FaWiersz`` of its own right after the
charge it discounts, with a negative ``P_11`` and ``P_11Vat`` (its own tax, rounded on its own amount, rule T3) and its
text ``Rabat SAVE20: ...``, as the PDF prints it; its reversal on a correction is positive. FA(3) also has ``P_10``, a
row's discount "o ile nie zostały one uwzględnione w cenie jednostkowej netto", but it is not used: it is a discount
per unit (``P_11 = P_8B x (P_9A - P_10)``, the ministry's example 4), folded into its charge's row with one net value
and one VAT, whereas the invoice has two lines, each with its tax rounded on its own amount (rule T3), and a discount
may cover only part of its charge's service period. A row of its own keeps the e-invoice line for line the invoice, so
that the per-rate sums ``P_13_x``/``P_14_x`` (and a foreign-currency invoice's VAT in PLN, ``P_14_xW``, each row
converted once) are the invoice's to the grosz; the schema accepts it, as it does the credit for unused time of an
upgrade.

Dates: the issue date (``P_1``, and a corrected invoice's ``DataWystFaKorygowanej``) is the seller's date, in the
seller's time zone (rule I2). The service periods are the account's (rule C3): the invoice carries the span of its
lines as ``OkresFa`` (``P_6_Od`` the first line's first day, ``P_6_Do`` the last day of the latest), and each line
its own period in its text, the last day included as on the PDF; when the lines end on different days, each also
carries its last day as ``P_6A`` (FA(3) fills ``P_6A`` only where the lines' dates differ).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ksef_client.documents.fa3 import (
    Address,
    Annotation,
    BasicInvoiceBuilder,
    CorrectionInvoiceBuilder,
    CorrectionType,
    InvoiceParty,
    PartyIdentifier,
    TaxCategory,
)
from ksef_client.documents.fa3.xml import FA3XmlValidationError, validate_fa3_xml_xsd

from prorata.adapters.documents.labels import line_text, service_period
from prorata.domain.documents import DocumentLine, InvoiceDocument, Party
from prorata.domain.errors import InvalidInput
from prorata.domain.exchange_rates import ExchangeRate
from prorata.domain.money import currency_exponent, major_units
from prorata.domain.periods import service_days, time_zone
from prorata.domain.seller import Seller

FA3_DECIMALS = 2  # TKwotowy: every FA(3) amount has at most two decimals
_DOMESTIC = {2300: TaxCategory.standard_23, 2200: TaxCategory.standard_22, 800: TaxCategory.reduced_8,
             700: TaxCategory.reduced_7, 500: TaxCategory.reduced_5}  # fmt: skip


class KsefSchemaError(InvalidInput):
    """An FA(3) document the official schema refuses; the message is the schema's."""


def validate_fa3(xml: bytes) -> None:
    """Refuse ``xml`` with the schema's message unless it is a valid FA(3) document."""
    try:
        validate_fa3_xml_xsd(xml)
    except FA3XmlValidationError as error:
        raise KsefSchemaError("ksef.schema", f"FA(3) schema: {error}", field="xml") from None


def issue_date(document: InvoiceDocument) -> date:
    """The document's issue date as KSeF counts it: the seller's date (rule I2)."""
    return document.issued_at.astimezone(time_zone(document.seller.time_zone)).date()


def correction_reason(document: InvoiceDocument) -> str:
    """``PrzyczynaKorekty``: the reason given to ``void``/``credit``, else a Polish default saying what was done."""
    if document.reason:
        return document.reason
    if document.voids:
        return f"Korekta do zera faktury {document.corrects}"
    return f"Korekta wybranych pozycji faktury {document.corrects}"


def _seller(seller: Seller) -> InvoiceParty:
    if seller.country != "PL" or not seller.tax_id:
        raise InvalidInput("ksef.seller_not_polish",
                           "seller: KSeF e-invoices are for a Polish seller with a NIP (tax configuration, [seller])",
                           field="seller")  # fmt: skip
    lines = [line for line in seller.address if line and line.lower() not in ("polska", "poland")]
    return InvoiceParty.polish_company(nip=seller.tax_id, name=seller.name,
                                       address=Address.polish(lines[0], ", ".join(lines[1:]) or None))  # fmt: skip


def _buyer(party: Party | None) -> InvoiceParty:
    if party is None:
        return InvoiceParty(name="—", identifier=PartyIdentifier.none())
    name = party.company or party.name
    line1, line2 = party.address[0], ", ".join(party.address[1:]) or None
    if party.country == "PL":
        identifier = PartyIdentifier.polish_nip(party.tax_id) if party.tax_id else PartyIdentifier.none()
        return InvoiceParty(name=name, identifier=identifier, address=Address.polish(line1, line2))
    address = Address.foreign(party.country, line1, line2)
    if party.tax_id and party.tax_id[:2].isalpha():  # an EU VAT number, stored with its prefix (rule T2)
        return InvoiceParty(name=name, identifier=PartyIdentifier.eu_vat(party.tax_id[:2], party.tax_id[2:]),
                            address=address)  # fmt: skip
    identifier = PartyIdentifier.foreign(party.tax_id, country_code=party.country) if party.tax_id else (
        PartyIdentifier.none())  # fmt: skip
    return InvoiceParty(name=name, identifier=identifier, address=address)


def _category(line: DocumentLine, document: InvoiceDocument) -> TaxCategory:
    country = document.sold_to.country if document.sold_to is not None else document.seller.country
    if document.reverse_charge:
        return TaxCategory.service_article_100()  # np II: services to an EU business, taxed by the buyer
    if country == document.seller.country and line.tax_rate in _DOMESTIC:
        return _DOMESTIC[line.tax_rate]()
    if line.tax_rate:
        return TaxCategory.xii(Decimal(line.tax_rate).scaleb(-2))  # an EU consumer's rate, OSS procedure
    return TaxCategory.outside_country()  # np I: services to a buyer outside the EU


def fa3_xml(
    document: InvoiceDocument, corrected_issued_on: date | None = None, rate: ExchangeRate | None = None
) -> bytes:
    """The document as FA(3) XML, validated against the schema. A credit note needs the corrected invoice's date; a
    foreign-currency document with Polish VAT, the bank's rate (``KursWaluty`` on each taxed line, and the VAT in
    PLN per rate as ``P_14_xW``; ``services.invoice_documents.exchange_rate_of``)."""
    cur = document.currency
    if currency_exponent(cur) > FA3_DECIMALS:
        raise InvalidInput("ksef.currency", f"currency: FA(3) amounts have at most {FA3_DECIMALS} decimals and "
                           f"{cur} has {currency_exponent(cur)}; this document cannot be a KSeF e-invoice",
                           field="currency")  # fmt: skip
    builder: BasicInvoiceBuilder | CorrectionInvoiceBuilder
    if document.kind == "credit_note":
        if document.corrects is None or corrected_issued_on is None:
            raise InvalidInput("ksef.correction", "number: a credit note needs the invoice it corrects",
                               field="number")  # fmt: skip
        builder = CorrectionInvoiceBuilder(invoice_number=document.number).corrects_invoice(
            number=document.corrects, issue_date=corrected_issued_on, reason=correction_reason(document),
            correction_type=CorrectionType.TAX_BASE_OR_TAX,
        )  # fmt: skip
    else:
        builder = BasicInvoiceBuilder(invoice_number=document.number)
    builder.issued_on(issue_date(document)).currency(cur)
    builder.seller(_seller(document.seller)).buyer(_buyer(document.sold_to))
    zone = time_zone(document.time_zone)
    days = [service_days(line.period, zone, document.granularity) for line in document.lines]
    if days:  # rule C3: the span the invoice's services cover, last day included
        builder.period(min(first for first, _ in days), max(last for _, last in days))
    per_line = len({last for _, last in days}) > 1
    if document.reverse_charge:
        builder.annotations(Annotation.reverse_charge())
    for line, (_, last) in zip(document.lines, days, strict=True):
        net, tax = major_units(line.amount, cur), major_units(line.tax, cur)
        text = f"{line_text(line, document, 'pl')} ({service_period(line, document, 'pl')})"
        converted: dict[str, Any] = {} if rate is None or not line.tax else {"currency_rate": rate.mid / rate.units}
        builder.add_service_line(text, quantity=1, unit_net_price=abs(net), net_amount=net, vat_amount=tax,
                                 gross_amount=net + tax, tax=_category(line, document),
                                 service_date=last if per_line else None, **converted)  # fmt: skip
    try:
        xml = builder.to_xml(validate=False, xsd_validate=False)
    except (FA3XmlValidationError, ValueError) as error:
        raise KsefSchemaError("ksef.schema", f"FA(3): {error}", field="xml") from None
    validate_fa3(xml)
    return xml


def fa3_xml_of(document: InvoiceDocument, original: InvoiceDocument | None, rate: ExchangeRate | None = None) -> bytes:
    """``fa3_xml`` with, for a credit note, the corrected invoice's issue date as KSeF counts it (the seller's)."""
    return fa3_xml(document, None if original is None else issue_date(original), rate)
