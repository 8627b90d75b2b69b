"""The portal writes every period, date and amount as the documents do (rules C3, I2, I5, X5).

``demo-pro`` is a New York account that bought Pro x 3 on 2026-11-15 (10:00 UTC, 05:00 in New York): its month is
[Nov 15, Dec 15) in New York, written Nov 15 - Dec 14, the last day included, on the cart, the order summary, the
invoice page and the invoice's PDF alike.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import httpx
from pypdf import PdfReader

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.queries import invoice_views
from prorata.entrypoints.portal.i18n import money
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.test_portal import checkout, text_of

PERIOD = {"en": "Nov 15, 2026 – Dec 14, 2026", "pl": "15 lis 2026 – 14 gru 2026"}
SERVICE_PERIOD = {"en": "Service period", "pl": "Okres rozliczeniowy"}


def periods_on(page: httpx.Response) -> list[str]:
    return [re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r'<td class="period">(.*?)</td>', page.text)]


def pdf_text(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    return "\n".join(page.extract_text() for page in pages).replace("\xa0", " ")


def first_invoice_id(visitor: Visitor) -> int:
    with visitor.app.engine.connect() as conn:
        return invoice_views(conn, account_id(visitor.app, "demo-pro"))[-1].id


def test_the_invoice_page_and_its_pdf_write_the_lines_period_with_the_same_first_and_last_day(
    visitor: Visitor,
) -> None:
    # rules C3, I5, X5: in both languages
    visitor.sign_in("owner@demo-pro.test")
    invoice_id = first_invoice_id(visitor)
    for language in ("en", "pl"):
        visitor.language(language)
        page = visitor.get(f"/billing/invoices/{invoice_id}")
        assert periods_on(page) == [PERIOD[language]]
        pdf = pdf_text(visitor.get(f"/billing/invoices/{invoice_id}/pdf"))
        assert f"{SERVICE_PERIOD[language]}: {PERIOD[language]}" in pdf
        # the total, too, is written alike on the page and in the PDF
        assert text_of(page, "total").replace("\xa0", " ") in pdf


def test_the_cart_and_the_summary_write_the_period_as_the_invoice_will(visitor: Visitor) -> None:
    # rules C3, C6: two licenses added on Nov 15 are charged to the end of the month, Dec 14 included
    visitor.sign_in("owner@demo-pro.test")
    visitor.post("/billing/edit", {"licenses": "5", "interval": "month"})
    assert periods_on(visitor.get("/cart")) == [PERIOD["en"]]
    summary, _ = checkout(visitor)
    assert periods_on(summary) == [PERIOD["en"]]
    with visitor.app.engine.connect() as conn:
        newest = invoice_views(conn, account_id(visitor.app, "demo-pro"))[0]
    assert periods_on(visitor.get(f"/billing/invoices/{newest.id}")) == [PERIOD["en"]]


def test_amounts_on_the_invoice_page_follow_the_currencys_decimals(visitor: Visitor) -> None:
    # rule X1: the page's figures are the formatter's, which takes the ISO 4217 decimals (PLN 2 in Polish)
    visitor.sign_in("owner@demo-business.test")
    visitor.language("pl")
    with visitor.app.engine.connect() as conn:
        invoice = invoice_views(conn, account_id(visitor.app, "demo-business"))[-1]
    page = visitor.get(f"/billing/invoices/{invoice.id}")
    assert text_of(page, "total") == money(invoice.total, "PLN", "pl")
    assert re.fullmatch(r"\d{1,3}(\xa0\d{3})*,\d{2}\xa0zł", text_of(page, "total"))


def test_the_issue_date_on_the_invoice_page_and_in_the_history_is_the_sellers(visitor: Visitor) -> None:
    # rule I2: an order placed at 23:30 UTC on Dec 14 is Dec 14 in New York, but the Warsaw seller issues the invoice
    # on Dec 15, as its PDF says
    move_clock(visitor.app.engine, datetime(2026, 12, 14, 23, 30, tzinfo=UTC))
    visitor.app.clock.refresh()
    visitor.sign_in("owner@demo-pro.test")
    visitor.post("/billing/edit", {"licenses": "4", "interval": "month"})
    checkout(visitor)
    with visitor.app.engine.connect() as conn:
        newest = invoice_views(conn, account_id(visitor.app, "demo-pro"))[0]
    page = visitor.get(f"/billing/invoices/{newest.id}")
    assert text_of(page, "issued") == "Dec 15, 2026"
    assert "Issue date: Dec 15, 2026" in pdf_text(visitor.get(f"/billing/invoices/{newest.id}/pdf"))
    history = visitor.get("/billing/invoices").text
    row = re.search(rf'<tr id="invoice-{newest.id}">(.*?)</tr>', history, re.S)
    assert row is not None
    assert "Dec 15, 2026" in row.group(1)
    assert "Dec 14, 2026" not in row.group(1)
    assert periods_on(page) == ["Dec 14, 2026"]  # the one day left of the month, in New York
