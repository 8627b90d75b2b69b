"""One line, one period, one issue date and one amount on the PDF, in the e-mail and in the KSeF e-invoice alike, on
SQLite and PostgreSQL (rules C3, I2, I5, X2, X5).

A New York account buys from a Warsaw seller: its service periods are its own days, the last day included (the end
of a period is exclusive); the issue date is the seller's day.
"""

from __future__ import annotations

import email
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import policy
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select, update

from prorata.adapters.db.schema import accounts, invoices, outbox
from prorata.adapters.documents.ksef import fa3_xml, fa3_xml_of
from prorata.adapters.documents.pdf import render_pdf
from prorata.adapters.mail.files import FileMailer
from prorata.domain.cart import ChangePlan
from prorata.domain.documents import InvoiceDocument
from prorata.domain.errors import InvalidInput
from prorata.domain.periods import Period
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.credit_notes import void_invoice
from prorata.services.formatting import format_day, format_money
from prorata.services.invoice_documents import invoice_document
from prorata.services.outbox import send_outbox
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import Shop

NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
PL_BUYER = Contact("Anna Nowak", "anna@acme.pl", "ul. Długa 1", "Gdańsk", "80-001", "PL", tax_id="1234563218")
US_BUYER = Contact("John Doe", "john@example.com", "1 Main St", "New York", "10001", "US", company="Example Inc.",
                   tax_id="12-3456789")  # fmt: skip


def text_of(pdf: bytes) -> str:
    """Every page's text, with the no-break spaces of amounts and dates as plain spaces."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\xa0", " ")


def plain(text: str) -> str:
    return text.replace("\xa0", " ")


def new_york_order(engine: Engine, at: datetime, buyer: Contact = US_BUYER) -> tuple[Shop, InvoiceDocument]:
    """A New York account with a US Sold-To contact (English e-mails) buys Pro x 3 at ``at``."""
    shop = Shop(engine)
    with engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == shop.account_id).values(time_zone="America/New_York"))
    set_contacts(shop.account_id, buyer, None, uow=shop.uow, clock=shop.clock)
    shop.clock.at = at
    assert shop.order(ChangePlan("pro", 3)).status == "placed"
    with engine.connect() as conn:
        row = conn.execute(select(invoices).order_by(invoices.c.id.desc()).limit(1)).mappings().one()
    number = f"{row['series']}-{row['year']}-{row['number']:06d}"
    return shop, invoice_document(number, uow=shop.uow, catalog=CATALOG)


def mailed_bodies(shop: Shop, tmp_path: Path) -> list[str]:
    """The plain-text bodies of the e-mails sent, as the mail folder holds them."""
    send_outbox(uow=shop.uow, clock=shop.clock, mailer=FileMailer(tmp_path), render=render_pdf, catalog=CATALOG,
                sender="billing@prorata.example")  # fmt: skip
    bodies = []
    for file in sorted(tmp_path.glob("*.eml")):
        body = email.message_from_bytes(file.read_bytes(), policy=policy.default).get_body(("plain",))
        assert body is not None
        bodies.append(plain(body.get_content()))  # type: ignore[attr-defined]
    return bodies


def mailed_body(shop: Shop, tmp_path: Path) -> str:
    """The plain-text body of the one e-mail the order wrote (its confirmation)."""
    (body,) = mailed_bodies(shop, tmp_path)
    return body


def fa(xml: bytes) -> ElementTree.Element:
    found = ElementTree.fromstring(xml).find("fa:Fa", NS)
    assert found is not None
    return found


def test_a_lines_period_has_the_same_first_and_last_day_on_the_pdf_in_the_e_mail_and_in_ksef(
    engine: Engine, tmp_path: Path
) -> None:
    # rules C3, X2: bought on Dec 1 at 03:00 UTC, still Nov 30 in New York; the month [Nov 30, Dec 30) is
    # written Nov 30 - Dec 29, where a UTC reading would say Dec 1 and a careless one Dec 30
    shop, document = new_york_order(engine, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    (line,) = document.lines

    assert "Service period: Nov 30, 2026 – Dec 29, 2026" in text_of(render_pdf(document, "en"))
    assert "Okres rozliczeniowy: 30 lis 2026 – 29 gru 2026" in text_of(render_pdf(document, "pl"))
    body = mailed_body(shop, tmp_path)
    assert f"Pro: 3 licenses, Nov 30, 2026 – Dec 29, 2026: {plain(format_money(line.amount, 'USD', 'en'))}" in body
    row = fa(fa3_xml(document))
    assert row.findtext("fa:OkresFa/fa:P_6_Od", namespaces=NS) == "2026-11-30"
    assert row.findtext("fa:OkresFa/fa:P_6_Do", namespaces=NS) == "2026-12-29"
    description = row.findtext("fa:FaWiersz/fa:P_7", namespaces=NS)
    assert description is not None
    assert "(30 lis 2026 – 29 gru 2026)" in plain(description)


def test_the_e_mail_shows_every_figure_as_the_pdf_prints_it(engine: Engine, tmp_path: Path) -> None:
    # rules I4, I5, X5: the amounts of the e-mail are the PDF's, to the cent and in the same form
    shop, document = new_york_order(engine, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    body = mailed_body(shop, tmp_path)
    pdf = text_of(render_pdf(document, "en"))
    assert f"Invoice {document.number}, issued Dec 1, 2026:" in body
    for label, amount in (("Subtotal", document.subtotal), ("Total", document.total),
                          ("Amount due", document.amount_due)):  # fmt: skip
        written = plain(format_money(amount, "USD", "en"))
        assert f"{label}: {written}" in body
        assert written in pdf


def test_an_invoice_issued_late_on_new_years_eve_utc_carries_the_sellers_date(engine: Engine, tmp_path: Path) -> None:
    # rule I2: 2026-12-31T23:30Z is Jan 1 in Warsaw (the seller) and Dec 31 in New York (the account); the issue
    # date is the seller's everywhere, the service period the account's
    shop, document = new_york_order(engine, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))

    assert "Issue date: Jan 1, 2027" in text_of(render_pdf(document, "en"))
    assert "Data wystawienia: 1 sty 2027" in text_of(render_pdf(document, "pl"))
    assert "Service period: Dec 31, 2026 – Jan 30, 2027" in text_of(render_pdf(document, "en"))
    invoice = fa(fa3_xml(document))
    assert invoice.findtext("fa:P_1", namespaces=NS) == "2027-01-01"
    assert invoice.findtext("fa:OkresFa/fa:P_6_Od", namespaces=NS) == "2026-12-31"
    assert f"Invoice {document.number}, issued Jan 1, 2027:" in mailed_body(shop, tmp_path)

    # a credit note names the corrected invoice by the same seller's date
    note = void_invoice(document.number, actor="operator", uow=shop.uow, clock=shop.clock)
    credit_note = invoice_document(note.number, uow=shop.uow, catalog=CATALOG)
    correction = fa(fa3_xml_of(credit_note, document))
    assert correction.findtext("fa:DaneFaKorygowanej/fa:DataWystFaKorygowanej", namespaces=NS) == "2027-01-01"


def test_the_issue_date_follows_the_sellers_configured_time_zone(engine: Engine) -> None:
    # rule I2: the seller's time zone is a setting (tax configuration), not a fixed Warsaw
    _, document = new_york_order(engine, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    in_new_york = replace(document, seller=replace(document.seller, time_zone="America/New_York"))
    assert "Issue date: Dec 31, 2026" in text_of(render_pdf(in_new_york, "en"))
    assert fa(fa3_xml(in_new_york)).findtext("fa:P_1", namespaces=NS) == "2026-12-31"


def test_lines_ending_on_different_days_each_carry_their_last_day_in_ksef(engine: Engine) -> None:
    # FA(3): P_6A per line only where the lines' dates differ; OkresFa spans them all
    _, document = new_york_order(engine, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    (line,) = document.lines
    shorter = replace(line, period=Period(line.period.start, line.period.end - timedelta(days=10)))
    rows = fa(fa3_xml(replace(document, lines=(line, shorter))))
    assert [r.findtext("fa:P_6A", namespaces=NS) for r in rows.findall("fa:FaWiersz", NS)] == [
        "2026-12-29",
        "2026-12-19",
    ]
    assert rows.findtext("fa:OkresFa/fa:P_6_Do", namespaces=NS) == "2026-12-29"
    same = fa(fa3_xml(replace(document, lines=(line, line))))
    assert [r.findtext("fa:P_6A", namespaces=NS) for r in same.findall("fa:FaWiersz", NS)] == [None, None]


def test_a_polish_e_mail_writes_the_period_the_amounts_and_the_retry_date_in_polish(
    engine: Engine, tmp_path: Path
) -> None:
    # rules X5, I8: a Polish Sold-To contact reads Polish; a failed renewal's next attempt is the account's day
    shop, document = new_york_order(engine, datetime(2026, 12, 1, 3, 0, tzinfo=UTC), buyer=PL_BUYER)
    (line,) = document.lines
    (confirmation,) = mailed_bodies(shop, tmp_path / "order")
    assert (
        f"Dla profesjonalistów: 3 licencje, 30 lis 2026 – 29 gru 2026: {plain(format_money(line.amount, 'USD', 'pl'))}"
        in (confirmation)
    )
    assert f"Faktura {document.number}, data wystawienia 1 gru 2026:" in confirmation
    assert f"Razem brutto: {plain(format_money(document.total, 'USD', 'pl'))}" in confirmation

    with shop.engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    shop.clock.at = datetime(2026, 12, 31, 3, 0, tzinfo=UTC)  # Dec 30, 22:00 in New York
    renew_due(RenewDue(shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
              catalog=CATALOG, dunning=shop.dunning)  # fmt: skip
    with engine.connect() as conn:
        data = conn.execute(select(outbox.c.data).where(outbox.c.kind == "payment_failed")).scalar_one()
    retry = datetime.fromisoformat(json.loads(data)["retry"]).astimezone(ZoneInfo("America/New_York")).date()
    (failed,) = mailed_bodies(shop, tmp_path / "failed")
    assert f"Spróbujemy ponownie {format_day(retry, 'pl')}." in failed
    assert "30 gru 2026 – 29 sty 2027" in failed  # the renewal's month, last day included


def test_e_invoice_amounts_carry_the_currencys_own_decimals_and_a_currency_fa3_cannot_hold_is_refused(
    engine: Engine,
) -> None:
    # rule X1: the XML's amounts are the minor units over the ISO 4217 exponent (USD 2, JPY 0), exactly; FA(3)
    # amounts have two decimals at most, so KWD (3) is refused naming the field rather than rounded
    _, document = new_york_order(engine, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    (line,) = document.lines

    def net(xml: bytes) -> Decimal:
        return Decimal(fa(xml).findtext("fa:FaWiersz/fa:P_11", namespaces=NS) or "NaN")

    assert net(fa3_xml(document)) == Decimal(line.amount) / 100
    assert net(fa3_xml(replace(document, currency="JPY"))) == Decimal(line.amount)
    with pytest.raises(InvalidInput) as error:
        fa3_xml(replace(document, currency="KWD"))
    assert (error.value.code, error.value.field) == ("ksef.currency", "currency")
