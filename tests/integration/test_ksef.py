"""KSeF FA(3) e-invoices of a Polish seller, validated against the official schema (rules I2, I5, T1-T3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import invoices
from prorata.adapters.documents.ksef import KsefSchemaError, fa3_xml, validate_fa3
from prorata.domain.cart import ChangePlan
from prorata.domain.errors import ProrataError
from prorata.domain.seller import Seller
from prorata.entrypoints.cli.main import main
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.credit_notes import void_invoice
from prorata.services.invoice_documents import invoice_document
from tests.helpers import CATALOG
from tests.integration.shop import Shop

NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
BUYERS = {
    "pl_business": Contact("Anna Nowak", "anna@acme.pl", "ul. Żółta 5", "Gdańsk", "80-001", "PL",
                           company="Zażółć gęślą jaźń Sp. z o.o.", tax_id="1234563218"),
    "de_business": Contact("Eva Braun", "eva@firma.de", "Hauptstr. 1", "Berlin", "10115", "DE", company="Firma GmbH",
                           tax_id="DE123456788"),
    "de_consumer": Contact("Eva Braun", "eva@example.de", "Hauptstr. 1", "Berlin", "10115", "DE"),
    "us_business": Contact("John Doe", "john@example.com", "1 Main St", "New York", "10001", "US",
                           company="Example Inc.", tax_id="12-3456789"),
}  # fmt: skip


def numbers(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(invoices.c.series, invoices.c.year, invoices.c.number).order_by(invoices.c.id))
        return [f"{s}-{y}-{n:06d}" for s, y, n in rows]


def upgraded(engine: Engine, buyer: Contact) -> Shop:
    """Pro x 3, then Business x 10 five days later: an invoice with a credit line and a charge."""
    shop = Shop(engine)
    set_contacts(shop.account_id, buyer, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    shop.order(ChangePlan("business", 10), key="k2")
    return shop


@pytest.mark.parametrize("buyer", sorted(BUYERS))
def test_every_invoice_and_credit_note_exports_as_fa3_xml_that_the_schema_accepts(engine: Engine, buyer: str) -> None:
    # rules I5, T1-T3: the lines' net and VAT are the invoice's to the grosz
    shop = upgraded(engine, BUYERS[buyer])
    void_invoice(numbers(engine)[-1], actor="operator", uow=shop.uow, clock=shop.clock)
    first, upgrade, note = numbers(engine)
    for number in (first, upgrade):
        document = invoice_document(number, uow=shop.uow, catalog=CATALOG)
        xml = fa3_xml(document)
        validate_fa3(xml)  # again, on its own: the exported bytes are what was validated
        fa = ElementTree.fromstring(xml).find("fa:Fa", NS)
        assert fa is not None
        assert fa.findtext("fa:P_2", namespaces=NS) == number
        assert fa.findtext("fa:RodzajFaktury", namespaces=NS) == "VAT"
        rows = fa.findall("fa:FaWiersz", NS)
        assert [r.findtext("fa:P_11", namespaces=NS) for r in rows] == [
            f"{line.amount / 100:.2f}" for line in document.lines
        ]
        assert fa.findtext("fa:P_15", namespaces=NS) == f"{document.total / 100:.2f}"
    corrected = invoice_document(upgrade, uow=shop.uow, catalog=CATALOG)
    xml = fa3_xml(invoice_document(note, uow=shop.uow, catalog=CATALOG), corrected.issued_at.date())
    fa = ElementTree.fromstring(xml).find("fa:Fa", NS)
    assert fa is not None
    assert fa.findtext("fa:RodzajFaktury", namespaces=NS) == "KOR"
    assert upgrade in ElementTree.tostring(fa, encoding="unicode")


def test_rates_map_to_their_fa3_codes(engine: Engine) -> None:
    # rules T1, T2: 23 % at home, np II reverse-charged for an EU business, the buyer's rate under OSS, np I abroad
    expected = {"pl_business": "23", "de_business": "np II", "de_consumer": None, "us_business": "np I"}
    for buyer, code in expected.items():
        shop = Shop(engine, code=buyer.replace("_", "-"))
        set_contacts(shop.account_id, BUYERS[buyer], None, uow=shop.uow, clock=shop.clock)
        shop.order(ChangePlan("pro", 3), key=buyer)
        xml = fa3_xml(invoice_document(numbers(engine)[-1], uow=shop.uow, catalog=CATALOG))
        row = ElementTree.fromstring(xml).find("fa:Fa/fa:FaWiersz", NS)
        assert row is not None
        if code is None:
            assert row.findtext("fa:P_12_XII", namespaces=NS) == "19"
        else:
            assert row.findtext("fa:P_12", namespaces=NS) == code


def test_a_broken_document_is_refused_with_the_schemas_message(engine: Engine) -> None:
    shop = upgraded(engine, BUYERS["pl_business"])
    xml = fa3_xml(invoice_document(numbers(engine)[-1], uow=shop.uow, catalog=CATALOG))
    broken = xml.replace(b"<P_2>", b"<P_2X>").replace(b"</P_2>", b"</P_2X>")
    with pytest.raises(KsefSchemaError) as error:
        validate_fa3(broken)
    assert error.value.field == "xml"
    assert "P_2X" in error.value.message  # the schema names the element it does not expect
    with pytest.raises(KsefSchemaError):
        validate_fa3(xml.replace(b"<KodWaluty>USD</KodWaluty>", b"<KodWaluty>XYZ</KodWaluty>"))


def test_a_seller_outside_poland_is_refused(engine: Engine) -> None:
    shop = upgraded(engine, BUYERS["pl_business"])
    document = invoice_document(numbers(engine)[-1], uow=shop.uow, catalog=CATALOG)
    with pytest.raises(ProrataError) as error:
        fa3_xml(replace(document, seller=Seller("DE", "Firma GmbH", ("Hauptstr. 1",), "DE123456788")))
    assert (error.value.code, error.value.field) == ("ksef.seller_not_polish", "seller")


def test_the_cli_exports_an_invoice_as_fa3(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database", database_url]) == 0
    number = capsys.readouterr().out.split("demo-business: placed, invoice ")[1].split(",")[0]
    target = tmp_path / "fa3.xml"
    assert main(["invoices", "export", "--format", "ksef", number, "--output", str(target), "--database",
                 database_url]) == 0  # fmt: skip
    validate_fa3(target.read_bytes())
    assert f"<P_2>{number}</P_2>".encode() in target.read_bytes()
