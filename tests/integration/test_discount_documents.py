"""Discount lines (rules DC1, DC2: "each discount is a line of its own on the invoice, before tax") in every document
and message other than the portal's pages, on SQLite and PostgreSQL: the PDF in both languages, the KSeF e-invoice,
credit notes that give a discount back with its charge, the event's invoice object, ``prorata verify`` and the
dashboard's MRR.

The history: Business x 10 bought on Nov 15 with SAVE20 (20 % off for three periods), two licenses added on Nov 30
(15 of 30 days, discounted in proportion). Business is 21.99 a month; the Sold-To is Polish, so 23 % VAT.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import Engine, delete, select, update

from prorata.adapters.db.metrics import read_dashboard, refresh_metrics
from prorata.adapters.db.queries import invoice_view, invoice_views
from prorata.adapters.db.schema import credit_notes, events, invoice_lines, invoices
from prorata.adapters.db.verify import SqlBooks
from prorata.adapters.documents.ksef import fa3_xml, validate_fa3
from prorata.adapters.documents.pdf import render_pdf
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.domain.documents import InvoiceDocument
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import ProrataError
from prorata.domain.exchange_rates import ExchangeRate, line_vat_in_pln, vat_in_pln
from prorata.domain.invariants import VerificationScope
from prorata.entrypoints.api.schemas import InvoiceLineOut
from prorata.services.billing_information import set_contacts
from prorata.services.credit_notes import credit_lines, void_invoice
from prorata.services.invoice_documents import invoice_document
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import NOW, Shop
from tests.integration.test_discounts import make_code, order_with
from tests.integration.test_documents import BILL_TO, SOLD_TO, pln_style, text_of, usd

NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
NOV_30 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def discounted(engine: Engine) -> Shop:
    """Business x 10 with SAVE20 on Nov 15, two more licenses on Nov 30 (INV-2026-000001 and -000002)."""
    shop = Shop(engine)
    set_contacts(shop.account_id, SOLD_TO, BILL_TO, uow=shop.uow, clock=shop.clock)
    make_code(shop)
    assert order_with(shop, "SAVE20", ChangePlan("business", 10)).status == "placed"  # type: ignore[attr-defined]
    shop.clock.at = NOV_30
    assert shop.order(SetLicenses(12), key="k2").status == "placed"
    return shop


def numbers(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(invoices.c.series, invoices.c.year, invoices.c.number).order_by(invoices.c.id))
        return [f"{s}-{y}-{n:06d}" for s, y, n in rows]


def document(shop: Shop, number: str) -> InvoiceDocument:
    return invoice_document(number, uow=shop.uow, catalog=CATALOG)


def flat(pdf: bytes) -> str:
    """The PDF's text on one line: a long description wraps onto a second line in its column."""
    return " ".join(text_of(pdf).split())


# ------------------------------------------------------------------------------------------------ the PDF


def test_the_document_carries_each_discount_line_with_its_code_after_its_charge(engine: Engine) -> None:
    shop = discounted(engine)
    added = document(shop, numbers(engine)[1])
    charge, discount = added.lines
    assert (charge.kind, charge.quantity, charge.used, charge.whole, charge.discount_code) == ("charge", 2, 15, 30,
                                                                                              None)  # fmt: skip
    # rule DC2: 2 x 21.99 x 15/30 = 21.99, 20 % of it off: 4.398 -> 4.40; tax on its own rounded amount
    assert charge.amount == price("business")
    assert (discount.kind, discount.amount, discount.discount_code) == ("discount", -440, "SAVE20")
    assert (discount.used, discount.whole, discount.unit_amount, discount.tax_rate) == (15, 30, None, 2300)
    assert discount.tax == -101  # 23 % of -4.40 = -1.012
    assert added.subtotal == charge.amount + discount.amount
    assert added.tax == charge.tax + discount.tax


def test_the_english_pdf_prints_the_discount_as_a_line_of_its_own_before_tax(engine: Engine) -> None:
    shop = discounted(engine)
    added = document(shop, numbers(engine)[1])
    charge, discount = added.lines
    text = flat(render_pdf(added, "en"))
    line = "Discount SAVE20: Business, 2 licenses, 15 of 30 days"
    assert line in text
    assert text.index("Business: 2 licenses, 15 of 30 days") < text.index(line)  # right after its charge
    # its own row: quantity, no unit price, its negative amount, its rate and its own tax
    assert f"2 {usd(discount.amount)} 23 % {usd(discount.tax)} {line}" in text
    assert f"VAT 23 % on {usd(charge.amount + discount.amount)}" in text  # tax is on the discounted amount
    assert f"Total {usd(added.total)}" in text


def test_the_polish_pdf_prints_the_discount_as_rabat(engine: Engine) -> None:
    shop = discounted(engine)
    added = document(shop, numbers(engine)[1])
    charge, discount = added.lines
    text = flat(render_pdf(added, "pl"))
    line = "Rabat SAVE20: Dla firm, 2 licencje, 15 z 30 dni"
    assert line in text
    assert text.index("Dla firm: 2 licencje, 15 z 30 dni") < text.index(line)
    assert f"2 {pln_style(discount.amount)} 23 % {pln_style(discount.tax)} {line}" in text
    assert f"VAT 23 % od {pln_style(charge.amount + discount.amount)}" in text
    assert "Discount" not in text


def test_a_credit_note_gives_the_discount_back_as_a_reversal_in_both_languages(engine: Engine) -> None:
    # rules DC2, I2: crediting the charge line reverses its discount line too
    shop = discounted(engine)
    credit_lines(numbers(engine)[1], [1], actor="operator", reason="Licenses not used", uow=shop.uow,
                 clock=shop.clock)  # fmt: skip
    note = document(shop, numbers(engine)[-1])
    reversed_charge, reversed_discount = note.lines
    assert (reversed_charge.kind, reversed_discount.kind) == ("credit", "discount")
    assert (reversed_discount.amount, reversed_discount.tax, reversed_discount.discount_code) == (440, 101, "SAVE20")
    english, polish = flat(render_pdf(note, "en")), flat(render_pdf(note, "pl"))
    assert "Reversal: Business: 2 licenses, 15 of 30 days" in english
    assert f"{usd(440)} 23 % {usd(101)} Reversal: Discount SAVE20: Business, 2 licenses, 15 of 30 days" in english
    assert "Korekta: Rabat SAVE20: Dla firm, 2 licencje, 15 z 30 dni" in polish
    assert f"Total {usd(note.total)}" in english
    assert note.total == -(2199 + 506 - 440 - 101)  # what was paid for the line, never the undiscounted price


# ------------------------------------------------------------------------------------------------ credit notes


def test_crediting_a_charge_gives_back_what_was_paid_for_it_and_a_discount_alone_is_refused(engine: Engine) -> None:
    # rules DC2, R2
    shop = discounted(engine)
    first = numbers(engine)[0]
    with pytest.raises(ProrataError) as refused:
        credit_lines(first, [2], actor="operator", uow=shop.uow, clock=shop.clock)
    assert (refused.value.code, refused.value.field) == ("credit_note.discount_alone", "lines")
    assert numbers(engine) == [first, numbers(engine)[1]]  # nothing was issued
    balance = shop.balance()
    result = credit_lines(first, [1], actor="operator", reason="Bought by mistake", uow=shop.uow, clock=shop.clock)
    full, off = 10 * price("business"), 2 * price("business")  # 219.90, 20 % of it 43.98
    paid = full - off + 5058 - 1012  # 175.92 + 23 % of 219.90 (50.577 -> 50.58) less 23 % of 43.98 (10.1154 -> 10.12)
    assert (result.total, result.to_balance) == (-paid, paid)
    assert shop.balance() - balance == paid
    with engine.connect() as conn:
        positions = conn.execute(select(credit_notes.c.positions)).scalar_one()
    assert json.loads(positions) == [1, 2]
    with pytest.raises(ProrataError) as again:
        credit_lines(first, [2], actor="operator", uow=shop.uow, clock=shop.clock)
    assert again.value.code == "credit_note.already_credited"
    shop.assert_books_balance()


def test_a_void_reverses_the_discount_with_every_other_line_and_the_books_hold(engine: Engine) -> None:
    shop = discounted(engine)
    result = void_invoice(numbers(engine)[0], actor="operator", reason="Duplicate", uow=shop.uow, clock=shop.clock)
    note = document(shop, result.number)
    assert [(line.kind, line.discount_code) for line in note.lines] == [("credit", None), ("discount", "SAVE20")]
    assert note.total == -document(shop, numbers(engine)[0]).total
    shop.assert_books_balance()


# ------------------------------------------------------------------------------------------------ KSeF


def rows(xml: bytes) -> tuple[ElementTree.Element, list[ElementTree.Element]]:
    fa = ElementTree.fromstring(xml).find("fa:Fa", NS)
    assert fa is not None
    return fa, fa.findall("fa:FaWiersz", NS)


def text(element: ElementTree.Element, name: str) -> str | None:
    return element.findtext(f"fa:{name}", namespaces=NS)


def test_the_e_invoice_writes_the_discount_as_a_row_of_its_own_and_the_sums_are_the_invoices(engine: Engine) -> None:
    # rule DC2: a negative FaWiersz after its charge, the per-rate sums P_13_1 and P_14_1 the invoice's own
    shop = discounted(engine)
    added = document(shop, numbers(engine)[1])
    xml = fa3_xml(added)
    validate_fa3(xml)
    fa, found = rows(xml)
    assert [text(r, "P_11") for r in found] == ["21.99", "-4.40"]
    assert [text(r, "P_11Vat") for r in found] == ["5.06", "-1.01"]
    assert text(found[1], "P_7") == "Rabat SAVE20: Dla firm, 2 licencje, 15 z 30 dni (30 lis 2026 – 14 gru 2026)"
    assert [text(r, "P_12") for r in found] == ["23", "23"]
    assert text(fa, "P_10") is None  # the discount is not also folded into a row (it would be taken off twice)
    assert (text(fa, "P_13_1"), text(fa, "P_14_1")) == (f"{added.subtotal / 100:.2f}", f"{added.tax / 100:.2f}")
    assert text(fa, "P_15") == f"{added.total / 100:.2f}"


def test_the_correction_gives_the_discount_back_in_a_row_of_its_own(engine: Engine) -> None:
    shop = discounted(engine)
    first = numbers(engine)[0]
    void_invoice(first, actor="operator", uow=shop.uow, clock=shop.clock)
    note = document(shop, numbers(engine)[-1])
    xml = fa3_xml(note, document(shop, first).issued_at.date())
    validate_fa3(xml)
    fa, found = rows(xml)
    assert text(fa, "RodzajFaktury") == "KOR"
    assert [text(r, "P_11") for r in found] == ["-219.90", "43.98"]
    assert text(found[1], "P_7") is not None
    assert str(text(found[1], "P_7")).startswith("Korekta: Rabat SAVE20: Dla firm, 10 licencji, 30 z 30 dni")
    assert (text(fa, "P_13_1"), text(fa, "P_14_1")) == (f"{note.subtotal / 100:.2f}", f"{note.tax / 100:.2f}")


def test_a_foreign_currency_e_invoice_converts_the_discounts_vat_to_pln_too(engine: Engine) -> None:
    # VAT act art. 106e(11): the VAT in PLN per rate (P_14_1W) is each line's VAT converted and rounded once, the
    # discount's negative VAT included, so it is the invoice's VAT in PLN and not the charge's alone
    shop = discounted(engine)
    added = document(shop, numbers(engine)[1])
    rate = ExchangeRate("USD", date(2026, 11, 27), "231/A/NBP/2026", Decimal("3.6512"))
    fa, found = rows(fa3_xml(added, rate=rate))
    expected = vat_in_pln([(line.tax_rate, line.tax) for line in added.lines], "USD", rate)[2300]
    charge_alone = line_vat_in_pln(added.lines[0].tax, "USD", rate)
    assert expected == charge_alone + line_vat_in_pln(-101, "USD", rate) == 1848 - 369
    assert text(fa, "P_14_1W") == f"{expected / 100:.2f}"
    assert [text(r, "KursWaluty") for r in found] == ["3.6512", "3.6512"]


# ------------------------------------------------------------------------------------------------ events and views


def invoice_events(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.object, events.c.data).order_by(events.c.id))
        return [json.loads(data) for kind, data in rows if kind in ("invoice", "credit_note")]


def test_the_events_invoice_object_shows_the_discount_line_with_its_kind_and_code(engine: Engine) -> None:
    shop = discounted(engine)
    shop.clock.at = NOW + timedelta(days=30)  # the renewal of Dec 15, discounted too (the second of three periods)
    renew_due(RenewDue(until=shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG,
              dunning=shop.dunning)  # fmt: skip
    void_invoice(numbers(engine)[0], actor="operator", uow=shop.uow, clock=shop.clock)
    told = {data["number"]: data for data in invoice_events(engine)}
    assert set(told) == set(numbers(engine))  # orders, the billing run and the credit note: each told
    for number, data in told.items():
        discounts = [line for line in data["lines"] if line["kind"] == "discount"]
        assert [line["discount_code"] for line in discounts] == ["SAVE20"], number
        assert all(line["discount_code"] is None for line in data["lines"] if line["kind"] != "discount")
    renewal = told[numbers(engine)[2]]  # Business x 12, 20 % off: 263.88 less 52.776 -> 52.78
    assert [(line["kind"], line["amount"]) for line in renewal["lines"]] == [
        ("charge", 12 * price("business")), ("discount", -5278)]  # fmt: skip
    assert [line["amount"] for line in told[numbers(engine)[-1]]["lines"]] == [-10 * price("business"),
                                                                               2 * price("business")]  # fmt: skip


def test_the_api_reads_every_discount_line_as_its_schema_says(engine: Engine) -> None:
    # the invoice the API returns (and events carry) validates against its documented line, kind discount included
    shop = discounted(engine)
    void_invoice(numbers(engine)[0], actor="operator", uow=shop.uow, clock=shop.clock)
    with engine.connect() as conn:
        views = [invoice_view(conn, shop.account_id, head.id) for head in invoice_views(conn, shop.account_id)]
    lines = [InvoiceLineOut(**asdict(line)) for view in views if view is not None for line in view.lines]
    assert sorted(line.amount for line in lines if line.kind == "discount") == [-4398, -440, 4398]
    assert {line.discount_code for line in lines if line.kind == "discount"} == {"SAVE20"}
    assert {line.discount_code for line in lines if line.kind != "discount"} == {None}


# ------------------------------------------------------------------------------------------------ prorata verify


def found(engine: Engine, code: str) -> list[str]:
    with SqlBooks(engine, CATALOG) as books:
        ((_, violations),) = books.run([code], VerificationScope(), NOW + timedelta(days=60))
    return [violation.message for violation in violations]


def test_verify_accepts_discount_lines_and_catches_a_code_changed_after_issue(engine: Engine) -> None:
    shop = discounted(engine)
    credit_lines(numbers(engine)[1], [1], actor="operator", uow=shop.uow, clock=shop.clock)
    shop.assert_books_balance()
    with engine.begin() as conn:  # the code is not in the seal's text, but the sealed description names it
        first_discount = (invoice_lines.c.kind == "discount", invoice_lines.c.amount == -4398)
        conn.execute(update(invoice_lines).where(*first_discount).values(discount_code="FREE100"))
    (message,) = found(engine, "inv.discount_line")
    assert message.startswith(f"{numbers(engine)[0]} line 2 (discount): its code FREE100 is not the one")


def test_verify_catches_a_discount_line_made_larger_than_its_charge(engine: Engine) -> None:
    discounted(engine)
    with engine.begin() as conn:
        conn.execute(update(invoice_lines).where(invoice_lines.c.amount == -440).values(amount=-2500, tax=-575))
    assert found(engine, "inv.discount_line") == [
        f"{numbers(engine)[1]} line 2 (discount): it takes off 25.00 USD from a charge of 21.99 USD"
    ]
    assert len(found(engine, "inv.unchanged")) == 1  # and the seal shows the edit


def test_verify_catches_a_credit_note_that_gave_a_charge_back_without_its_discount(engine: Engine) -> None:
    # rule R2: the note below gives back 219.90 + tax for a line that was paid 175.92 + tax
    shop = discounted(engine)
    first = numbers(engine)[0]
    credit_lines(first, [1], actor="operator", uow=shop.uow, clock=shop.clock)
    assert found(engine, "inv.credit_note") == []
    with engine.begin() as conn:
        note_id = conn.execute(select(credit_notes.c.invoice_id)).scalar_one()
        conn.execute(delete(invoice_lines).where(invoice_lines.c.invoice_id == note_id, invoice_lines.c.position == 2))
        conn.execute(update(credit_notes).values(positions="[1]"))
    assert any("credits the charge of discount line(s) [2] but not the discount" in m
               for m in found(engine, "inv.credit_note"))  # fmt: skip


# ------------------------------------------------------------------------------------------------ MRR


def test_mrr_is_net_of_the_discount_until_it_ends_and_its_end_is_expansion(engine: Engine) -> None:
    # the dashboard's MRR: 12 x 21.99 x 0.8 = 211.104 -> 211.10 while SAVE20 lasts (Nov 15 - Feb 15), then 263.88
    shop = discounted(engine)
    for day in ("2026-12-15", "2027-01-15", "2027-02-15"):
        shop.clock.at = datetime.fromisoformat(day).replace(tzinfo=UTC)
        renew_due(RenewDue(until=shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                  catalog=CATALOG, dunning=shop.dunning)  # fmt: skip
    now = datetime(2027, 2, 20, tzinfo=UTC)
    refresh_metrics(engine, CATALOG, now=now)
    board = read_dashboard(engine, currency="USD", first_month=date(2026, 11, 1), last_month=date(2027, 2, 1),
                           now=now, dunning=DunningPolicy())  # fmt: skip
    months = board.series("USD")
    full = 12 * price("business")
    net = 21110  # 211.104, rounded once per account
    assert [row.mrr for row in months] == [net, net, net, full]
    assert [row.new for row in months] == [net, 0, 0, 0]
    assert [row.expansion for row in months] == [0, 0, 0, full - net]  # the discount ended: the customer pays more
    assert [p.mrr for p in board.products if p.product == "business"] == [full]
    shop.assert_books_balance()
