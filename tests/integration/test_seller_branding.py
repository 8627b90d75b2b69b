"""The seller's branding on documents and billing e-mails, on SQLite and PostgreSQL (rules I2, I4, I5, X5): the
configured seller's name, address, tax ID, bank account and footer in the document's language are read back from the
PDF's text, its logo from the PDF's images, and each issued document keeps the seller it was issued by."""

from __future__ import annotations

import email
import io
from dataclasses import replace
from email import policy
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import invoices, sellers
from prorata.adapters.db.sellers import SellerVersions
from prorata.adapters.documents.pdf import render_pdf
from prorata.adapters.mail.files import FileMailer
from prorata.catalogs import load_tax_rules
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.domain.tax import TaxRules
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.credit_notes import CreditInvoice, credit_invoice
from prorata.services.invoice_documents import invoice_document
from prorata.services.outbox import send_outbox
from tests.branding import (
    ADDRESS,
    BANK,
    FOOTER_EN,
    FOOTER_PL,
    IBAN,
    LOGO_SIZE,
    NAME,
    SWIFT,
    TAX_ID,
    image,
    seller_toml,
    write_config,
)
from tests.helpers import CATALOG
from tests.integration.shop import Shop
from tests.races import together

SOLD_TO = Contact("Łucja Świątek", "lucja@acme.pl", "ul. Żółta 5", "Gdańsk", "80-001", "PL", tax_id="1234563218")


def text_of(pdf: bytes) -> str:
    """Every page's text, one space between words (a long footer wraps, amounts carry no-break spaces)."""
    return " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def latest(engine: Engine) -> str:
    with engine.connect() as conn:
        row = conn.execute(select(invoices).order_by(invoices.c.id.desc()).limit(1)).mappings().one()
    return f"{row['series']}-{row['year']}-{row['number']:06d}"


@pytest.fixture
def branded(tmp_path: Path) -> TaxRules:
    """The operator's tax configuration with the whole branding, its logo a PNG beside it."""
    return load_tax_rules(write_config(tmp_path / "config", logo=image("PNG")))


def test_the_pdf_shows_the_configured_seller_bank_account_and_the_footer_of_its_language(
    engine: Engine, branded: TaxRules
) -> None:
    # rules I5, X5: read back from the PDF itself, in each language
    shop = Shop(engine, seller=branded.seller)
    set_contacts(shop.account_id, SOLD_TO, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))
    document = invoice_document(latest(engine), uow=shop.uow, catalog=CATALOG, tax=branded)

    polish, english = text_of(render_pdf(document, "pl")), text_of(render_pdf(document, "en"))

    for text in (polish, english):
        assert NAME in text
        assert all(line in text for line in ADDRESS)
        assert TAX_ID in text
        assert f"IBAN: {IBAN}" in text
        assert f"SWIFT/BIC: {SWIFT}" in text
        assert BANK in text
    assert "Rachunek bankowy" in polish
    assert "Bank account" in english
    assert (FOOTER_PL in polish, FOOTER_EN in polish) == (True, False)
    assert (FOOTER_EN in english, FOOTER_PL in english) == (True, False)


def test_the_pdf_embeds_the_logo_when_one_is_configured_and_no_image_otherwise(
    engine: Engine, branded: TaxRules, tmp_path: Path
) -> None:
    shop = Shop(engine, seller=branded.seller)
    shop.order(ChangePlan("pro", 3))
    without = load_tax_rules(write_config(tmp_path / "plain", seller_toml(logo=None)))

    logo_pages = PdfReader(io.BytesIO(render_pdf(invoice_document(latest(engine), uow=shop.uow, catalog=CATALOG,
                                                                  tax=branded), "en"))).pages  # fmt: skip
    plain_pages = PdfReader(io.BytesIO(render_pdf(invoice_document(latest(engine), uow=shop.uow, catalog=CATALOG,
                                                                   tax=without), "en"))).pages  # fmt: skip

    (embedded,) = logo_pages[0].images
    assert embedded.image is not None
    assert embedded.image.size == LOGO_SIZE  # the configured picture, drawn smaller but embedded whole
    assert [list(page.images) for page in plain_pages] == [[]]


def test_the_footer_is_on_every_page_of_a_long_document(engine: Engine, branded: TaxRules) -> None:
    shop = Shop(engine, seller=branded.seller)
    shop.order(ChangePlan("pro", 3))
    document = invoice_document(latest(engine), uow=shop.uow, catalog=CATALOG, tax=branded)
    long = replace(document, lines=document.lines * 40)

    pages = PdfReader(io.BytesIO(render_pdf(long, "pl"))).pages

    assert len(pages) > 1
    assert all(FOOTER_PL in " ".join(page.extract_text().split()) for page in pages)


def test_an_issued_document_keeps_the_seller_it_was_issued_by_when_the_configuration_changes(
    engine: Engine, branded: TaxRules, tmp_path: Path
) -> None:
    # rule I2: an issued invoice is never edited, also not by a new name or bank account in the configuration
    before = Shop(engine, code="before")  # issued while no seller was kept: it names the configured one
    before.order(ChangePlan("pro", 1))
    first_number = latest(engine)
    shop = Shop(engine, seller=branded.seller)
    shop.order(ChangePlan("pro", 3))
    issued_number = latest(engine)
    renamed = load_tax_rules(write_config(tmp_path / "renamed", seller_toml(
        iban="DE89 3704 0044 0532 0130 00").replace(NAME, "Acme Billing GmbH"), logo=image()))  # fmt: skip

    shop.sellers = SellerVersions(renamed.seller)
    shop.clock.at = shop.clock.at.replace(hour=11)
    shop.order(SetLicenses(5), key="more")
    newest_number = latest(engine)
    credit_invoice(CreditInvoice(issued_number, "operator", "wrong address"), uow=shop.uow, clock=shop.clock)
    note_number = latest(engine)

    issued = text_of(render_pdf(invoice_document(issued_number, uow=shop.uow, catalog=CATALOG, tax=renamed), "en"))
    newest = text_of(render_pdf(invoice_document(newest_number, uow=shop.uow, catalog=CATALOG, tax=renamed), "en"))
    note = text_of(render_pdf(invoice_document(note_number, uow=shop.uow, catalog=CATALOG, tax=renamed), "en"))
    first = invoice_document(first_number, uow=shop.uow, catalog=CATALOG, tax=renamed)

    assert (NAME in issued, "Acme Billing GmbH" in issued, IBAN in issued) == (True, False, True)
    assert ("Acme Billing GmbH" in newest, "DE89 3704 0044 0532 0130 00" in newest, IBAN in newest) == (
        True, True, False)  # fmt: skip
    assert "Acme Billing GmbH" in note  # a credit note is issued by the seller of its own day
    assert first.seller == renamed.seller
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sellers)).scalar_one() == 2


def test_documents_issued_at_once_with_a_new_seller_keep_one_row_of_it(engine: Engine, branded: TaxRules) -> None:
    # two orders of two accounts released together, each the first to issue with this seller: one row, both name it
    shops = [Shop(engine, code=code, seller=branded.seller) for code in ("alpha", "beta")]
    shops[1].sellers = shops[0].sellers  # one process, as the application keeps one per process

    results = together([lambda shop=shop: shop.order(ChangePlan("pro", 2)) for shop in shops])

    assert [result.status for result in results] == ["placed", "placed"], results
    with engine.connect() as conn:
        rows = conn.execute(select(sellers.c.id)).scalars().all()
        named = conn.execute(select(invoices.c.seller_id)).scalars().all()
    assert len(rows) == 1
    assert named == [rows[0], rows[0]]


def test_billing_e_mails_carry_the_sellers_name_and_footer_in_the_readers_language(
    engine: Engine, branded: TaxRules, tmp_path: Path
) -> None:
    # rules I4, X5: the Polish Sold-To contact reads the Polish footer; the sender shows the seller's name
    shop = Shop(engine, seller=branded.seller)
    set_contacts(shop.account_id, SOLD_TO, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))

    send_outbox(uow=shop.uow, clock=shop.clock, mailer=FileMailer(tmp_path / "mail"), render=render_pdf,
                catalog=CATALOG, sender="billing@acme.example", tax=branded)  # fmt: skip

    (file,) = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(file.read_bytes(), policy=policy.default)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert str(message["From"]) == f'"{NAME}" <billing@acme.example>'
    assert body.rstrip().endswith(f"-- \n{NAME}\n{FOOTER_PL}")
    assert FOOTER_EN not in body
