"""Invoice PDFs read back as text, on SQLite and PostgreSQL (rules I3, I5, T2, X5)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import invoices
from prorata.adapters.documents.pdf import render_pdf
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.domain.documents import InvoiceDocument
from prorata.domain.errors import ProrataError
from prorata.entrypoints.cli.main import main
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.invoice_documents import invoice_document
from tests.helpers import CATALOG
from tests.integration.shop import Shop

POLISH = "ąęłżźóśćń"
SOLD_TO = Contact("Łucja Świątek", "lucja@acme.pl", "ul. Żółta 5", "Gdańsk", "80-001", "PL",
                  company="Zażółć gęślą jaźń Sp. z o.o.", tax_id="1234563218")  # fmt: skip
BILL_TO = Contact("Jan Kowalski", "faktury@acme.pl", "ul. Długa 1", "Łódź", "90-001", "PL")
DE_COMPANY = Contact("Eva Braun", "eva@firma.de", "Hauptstr. 1", "Berlin", "10115", "DE", company="Firma GmbH",
                     tax_id="DE123456788")  # fmt: skip


def text_of(pdf: bytes) -> str:
    """Every page's text, with the no-break spaces of formatted amounts as plain spaces."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\xa0", " ")


def usd(minor: int) -> str:
    """An amount as the English invoice prints it, computed independently of the renderer (no floats)."""
    value = format(abs(Decimal(minor).scaleb(-2)), ",.2f")
    return f"-${value}" if minor < 0 else f"${value}"


def pln_style(minor: int) -> str:
    """The Polish form: space for thousands, comma for decimals, the code after."""
    whole, cents = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}{format(whole, ',').replace(',', ' ')},{cents:02d} USD"


def issued(engine: Engine) -> str:
    with engine.connect() as conn:
        row = conn.execute(select(invoices).order_by(invoices.c.id.desc()).limit(1)).mappings().one()
        return f"{row['series']}-{row['year']}-{row['number']:06d}"


def shop_with_an_upgrade(engine: Engine) -> tuple[Shop, InvoiceDocument]:
    """Pro x 3 bought on Nov 15, then Business x 10 on Nov 20: one invoice with a credit and a charge."""
    shop = Shop(engine)
    set_contacts(shop.account_id, SOLD_TO, BILL_TO, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert shop.order(ChangePlan("business", 10), key="k2").status == "placed"
    return shop, invoice_document(issued(engine), uow=shop.uow, catalog=CATALOG)


def test_the_polish_pdf_shows_parties_lines_with_proration_totals_and_polish_letters(engine: Engine) -> None:
    # rules I5, X5: read back from the PDF itself
    _, document = shop_with_an_upgrade(engine)
    credit, charge = document.lines
    text = text_of(render_pdf(document, "pl"))
    assert f"Faktura {document.number}" in text
    for letter in POLISH:
        assert letter in text
    assert "Zażółć gęślą jaźń Sp. z o.o." in text
    assert "Łódź" in text  # the Bill-To contact
    assert "Prorata Demo sp. z o.o." in text  # the seller
    flat = " ".join(text.split())  # a long description wraps onto a second line in its column
    assert f"Niewykorzystany czas: Dla profesjonalistów, 3 licencje, {credit.used} z {credit.whole} dni" in flat
    assert f"Dla firm: 10 licencji, {charge.used} z {charge.whole} dni" in text
    assert "Okres rozliczeniowy: 20 lis 2026 – 14 gru 2026" in text  # the last day included (the end is exclusive, C3)
    assert f"VAT 23 % od {pln_style(document.subtotal)}" in text
    for amount in (document.subtotal, document.tax, document.total, document.amount_due, charge.tax, credit.tax):
        assert pln_style(amount) in text
    assert "Odwrotne obciążenie" not in text


def test_the_english_pdf_shows_the_same_amounts_and_the_payment(engine: Engine) -> None:
    _, document = shop_with_an_upgrade(engine)
    text = text_of(render_pdf(document, "en"))
    assert f"Invoice {document.number}" in text
    assert "Unused time: Pro, 3 licenses" in text
    assert "Business: 10 licenses" in text
    assert f"Subtotal\n{usd(document.subtotal)}" in text or f"Subtotal {usd(document.subtotal)}" in text
    assert f"Total\n{usd(document.total)}" in text or f"Total {usd(document.total)}" in text
    (payment,) = document.payments
    assert f"Visa •••• 4242  {usd(payment.amount)}" in text
    assert payment.amount == document.total - document.credit_applied
    assert f"Amount due\n{usd(0)}" in text or f"Amount due {usd(0)}" in text  # paid: nothing is owed
    assert document.total == document.subtotal + document.tax == sum(li.amount + li.tax for li in document.lines)


def test_a_reverse_charged_invoice_carries_the_note_in_the_readers_language(engine: Engine) -> None:
    # rule T2
    shop = Shop(engine)
    set_contacts(shop.account_id, DE_COMPANY, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))
    document = invoice_document(issued(engine), uow=shop.uow, catalog=CATALOG)
    assert document.tax == 0
    assert "Reverse charge" in text_of(render_pdf(document, "en"))
    assert "Odwrotne obciążenie" in text_of(render_pdf(document, "pl"))


def test_many_lines_continue_on_a_second_page_with_every_line_kept(engine: Engine) -> None:
    _shop, document = shop_with_an_upgrade(engine)
    many = replace(document, lines=document.lines * 30)
    reader = PdfReader(io.BytesIO(render_pdf(many, "en")))
    assert len(reader.pages) > 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert text.count("Business: 10 licenses") == 30
    assert "Page 2" in text


def test_an_unknown_language_or_number_is_refused_naming_the_field(engine: Engine) -> None:
    # rule X4
    shop, document = shop_with_an_upgrade(engine)
    with pytest.raises(ProrataError) as error:
        render_pdf(document, "de")
    assert error.value.field == "language"
    with pytest.raises(ProrataError) as error:
        invoice_document("INV-2026-999999", uow=shop.uow, catalog=CATALOG)
    assert error.value.field == "number"


def test_the_cli_writes_the_pdf_of_an_invoice(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database", database_url]) == 0
    out = capsys.readouterr().out
    number = out.split("demo-business: placed, invoice ")[1].split(",")[0]
    target = tmp_path / "invoice.pdf"
    assert main(["invoices", "pdf", number, "--language", "pl", "--output", str(target), "--database",
                 database_url]) == 0  # fmt: skip
    text = text_of(target.read_bytes())
    assert f"Faktura {number}" in text
    assert "Dla firm: 12 licencji" in text
    assert main(["invoices", "pdf", "INV-1999-000001", "--output", str(target), "--database", database_url]) == 1
    assert "number: there is no issued invoice" in capsys.readouterr().err


def test_added_licenses_print_their_own_line_with_the_unit_price(engine: Engine) -> None:
    # rules L2, I5: the added seats only, their list price, and the days they are charged for
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    shop.order(SetLicenses(5), key="k2")
    document = invoice_document(issued(engine), uow=shop.uow, catalog=CATALOG)
    (line,) = document.lines
    assert line.unit_amount is not None
    text = text_of(render_pdf(document, "en"))
    assert f"Pro: 2 licenses, {line.used} of {line.whole} days" in text
    assert usd(line.unit_amount) in text


def test_an_issued_invoice_keeps_the_contacts_it_was_issued_to_when_they_change(engine: Engine) -> None:
    # rule I2: an issued invoice is never edited, also not by a later change of address
    shop, before = shop_with_an_upgrade(engine)
    moved = replace(SOLD_TO, address_line1="ul. Nowa 9", city="Kraków", postal_code="30-001")
    set_contacts(shop.account_id, moved, BILL_TO, uow=shop.uow, clock=shop.clock)

    again = invoice_document(before.number, uow=shop.uow, catalog=CATALOG)
    shop.order(SetLicenses(11), key="k3")
    newest = invoice_document(issued(engine), uow=shop.uow, catalog=CATALOG)

    assert again.sold_to == before.sold_to
    assert before.sold_to is not None
    assert "80-001 Gdańsk" in before.sold_to.address
    assert newest.sold_to is not None
    assert "30-001 Kraków" in newest.sold_to.address  # the next invoice goes to the new address
    assert "Kraków" not in text_of(render_pdf(again, "pl"))
