"""Why a credit note was issued, on its PDF and as ``PrzyczynaKorekty`` in KSeF, on SQLite and PostgreSQL (rule I2).

The reason given to ``prorata invoices void|credit --reason`` is kept with the credit note; without one, the PDF
prints nothing extra and the e-invoice says in Polish what the correction does.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from prorata.adapters.documents.ksef import fa3_xml_of
from prorata.adapters.documents.pdf import render_pdf
from prorata.domain.cart import ChangePlan
from prorata.entrypoints.cli.main import main
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.credit_notes import credit_lines, void_invoice
from prorata.services.invoice_documents import invoice_document
from tests.helpers import CATALOG
from tests.integration.shop import Shop

NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
SOLD_TO = Contact("Anna Nowak", "anna@acme.pl", "ul. Długa 1", "Gdańsk", "80-001", "PL", tax_id="1234563218")
REASON = "Klient zrezygnował z usługi przed jej rozpoczęciem"


def text_of(pdf: bytes) -> str:
    return " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def reason_in_ksef(xml: bytes) -> str | None:
    return ElementTree.fromstring(xml).findtext("fa:Fa/fa:PrzyczynaKorekty", namespaces=NS)


def upgraded(engine: Engine) -> tuple[Shop, str]:
    """Pro x 3, then Business x 10 five days later: an invoice with a credit line (1) and a charge (2)."""
    shop = Shop(engine)
    set_contacts(shop.account_id, SOLD_TO, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = shop.clock.at.replace(day=20)
    shop.order(ChangePlan("business", 10), key="k2")
    return shop, "INV-2026-000002"


def test_the_reason_given_is_printed_on_the_credit_note_and_sent_as_the_reason_for_correction(engine: Engine) -> None:
    shop, number = upgraded(engine)
    note = void_invoice(number, actor="operator", reason=f"  {REASON} ", uow=shop.uow, clock=shop.clock)
    document = invoice_document(note.number, uow=shop.uow, catalog=CATALOG)
    original = invoice_document(number, uow=shop.uow, catalog=CATALOG)

    assert document.reason == REASON
    assert f"Przyczyna korekty: {REASON}" in text_of(render_pdf(document, "pl"))
    assert f"Reason for correction: {REASON}" in text_of(render_pdf(document, "en"))
    assert reason_in_ksef(fa3_xml_of(document, original)) == REASON


def test_without_a_reason_the_pdf_prints_nothing_extra_and_ksef_says_what_the_correction_does(engine: Engine) -> None:
    shop, number = upgraded(engine)
    original = invoice_document(number, uow=shop.uow, catalog=CATALOG)
    partly = credit_lines(number, [2], actor="operator", uow=shop.uow, clock=shop.clock)
    rest = void_invoice(number, actor="operator", reason="   ", uow=shop.uow, clock=shop.clock)

    for note, expected in ((partly.number, f"Korekta wybranych pozycji faktury {number}"),
                           (rest.number, f"Korekta do zera faktury {number}")):  # fmt: skip
        document = invoice_document(note, uow=shop.uow, catalog=CATALOG)
        assert document.reason == ""
        for language in ("pl", "en"):
            text = text_of(render_pdf(document, language))
            assert f"{number}" in text  # the invoice it corrects is named, as before
            assert "Przyczyna korekty" not in text
            assert "Reason for correction" not in text
        assert reason_in_ksef(fa3_xml_of(document, original)) == expected


def test_an_invoice_carries_no_reason(engine: Engine) -> None:
    shop, number = upgraded(engine)
    document = invoice_document(number, uow=shop.uow, catalog=CATALOG)
    assert (document.reason, document.voids) == ("", False)
    assert "Reason for correction" not in text_of(render_pdf(document, "en"))


def test_the_cli_keeps_the_reason_and_prints_it_on_the_pdf_and_in_the_e_invoice(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database", database_url]) == 0
    number = capsys.readouterr().out.split("demo-business: placed, invoice ")[1].split(",")[0]
    assert main(["invoices", "void", number, "--reason", REASON, "--database", database_url]) == 0
    credit_note = capsys.readouterr().out.split(" corrects ")[0]
    pdf, xml = tmp_path / "note.pdf", tmp_path / "note.xml"
    assert main(["invoices", "pdf", credit_note, "--language", "pl", "--output", str(pdf), "--database",
                 database_url]) == 0  # fmt: skip
    assert main(["invoices", "export", credit_note, "--output", str(xml), "--database", database_url]) == 0
    assert f"Przyczyna korekty: {REASON}" in text_of(pdf.read_bytes())
    assert reason_in_ksef(xml.read_bytes()) == REASON
