"""Invoices and credit notes as PDF, in English or Polish (rules I3, I5, T2, X5), with the seller's branding from the
tax configuration: the logo at the top right of the first page, the bank account after the payments, and the footer
text in the document's language at the foot of every page.

Drawn with reportlab's canvas: measured here a one-page invoice takes about 7-9 ms (``bench/documents.py``), a
comparable page with fpdf2 70 ms and WeasyPrint about 200 ms; only reportlab leaves room above 50 documents a
second on two cores. The font is DejaVu Sans, shipped in ``fonts/`` (free licence beside it) rather than taken from
the system: reportlab's built-in fonts have no Polish letters and print boxes without a word of warning, and a
server image may have no fonts at all.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from importlib.resources import files

from babel.numbers import format_decimal
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from prorata.adapters.documents.labels import check_language, line_text, service_period
from prorata.adapters.documents.labels import words as label_words
from prorata.domain.documents import InvoiceDocument, Party
from prorata.domain.exchange_rates import vat_in_pln
from prorata.domain.seller import Logo, Seller
from prorata.domain.tax import rate_text
from prorata.services.formatting import LOCALES, format_day, format_local_day, format_money

REGULAR, BOLD = "ProrataSans", "ProrataSans-Bold"
WIDTH, HEIGHT = A4
MARGIN = 42.0
# columns of the lines table: x of each column's left edge (text) or right edge (numbers)
COLUMNS = {"line": MARGIN, "description": MARGIN + 22, "quantity": 295, "unit_price": 352, "net": 426, "rate": 489,
           "tax": WIDTH - MARGIN}  # fmt: skip
DESCRIPTION_WIDTH = 200.0
LOGO_BOX = (160.0, 56.0)  # the largest the logo is drawn, in points, its proportions kept
FOOTER_SIZE, FOOTER_LEADING = 7.0, 8.5
PAGE_NUMBER_WIDTH = 60.0  # room the page number keeps at the right of the footer's last line


def _register_fonts() -> None:
    if REGULAR in pdfmetrics.getRegisteredFontNames():
        return
    fonts = files("prorata.adapters.documents").joinpath("fonts")
    for name, file in ((REGULAR, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        with fonts.joinpath(file).open("rb") as handle:
            pdfmetrics.registerFont(TTFont(name, io.BytesIO(handle.read())))


class _Page:
    """A cursor down the page that starts a new page when the next row would not fit. The seller's footer text is
    drawn at the foot of every page, its last line beside the page number, and the rows stop above it."""

    def __init__(self, canvas: Canvas, language: str, footer_text: str = "") -> None:
        self.canvas = canvas
        self.language = language
        self.y = HEIGHT - MARGIN
        self.page = 1
        width = WIDTH - 2 * MARGIN - PAGE_NUMBER_WIDTH
        self.footer_lines = [part for line in footer_text.splitlines()
                             for part in (simpleSplit(line, REGULAR, FOOTER_SIZE, width) or [""])]  # fmt: skip
        self.bottom = MARGIN + 20 + FOOTER_LEADING * max(0, len(self.footer_lines) - 1)

    def need(self, height: float) -> None:
        if self.y - height < self.bottom:
            self.footer()
            self.canvas.showPage()
            self.page += 1
            self.y = HEIGHT - MARGIN

    def footer(self) -> None:
        self.canvas.setFont(REGULAR, FOOTER_SIZE)
        footer = label_words(self.language)["page"].format(page=self.page)
        self.canvas.drawRightString(WIDTH - MARGIN, MARGIN - 10, footer)
        for index, line in enumerate(reversed(self.footer_lines)):  # upwards from the page number's line
            self.canvas.drawString(MARGIN, MARGIN - 10 + FOOTER_LEADING * index, line)

    def text(self, x: float, value: str, *, size: float = 8.5, bold: bool = False, right: bool = False) -> None:
        self.canvas.setFont(BOLD if bold else REGULAR, size)
        if right:
            self.canvas.drawRightString(x, self.y, value)
        else:
            self.canvas.drawString(x, self.y, value)


def _party_lines(party: Party | Seller | None, words: dict[str, str]) -> list[str]:
    if party is None:
        return ["—"]
    if isinstance(party, Seller):
        out = [party.name, *party.address]
        return out + ([f"{words['tax_id']}: {party.tax_id}"] if party.tax_id else [])
    out = [party.company] if party.company else []
    out += [party.name, *party.address, party.country, party.email]
    return out + ([f"{words['tax_id']}: {party.tax_id}"] if party.tax_id else [])


def _draw_logo(canvas: Canvas, logo: Logo) -> float:
    """The logo at the top right of the first page, as large as ``LOGO_BOX`` allows; returns the width it takes."""
    scale = min(LOGO_BOX[0] / logo.width, LOGO_BOX[1] / logo.height)
    width, height = logo.width * scale, logo.height * scale
    canvas.drawImage(ImageReader(io.BytesIO(logo.data)), WIDTH - MARGIN - width, HEIGHT - MARGIN + 12 - height,
                     width, height, mask="auto")  # fmt: skip
    return width


def _bank_lines(seller: Seller) -> list[str]:
    """Where a customer paying by transfer sends the money: the IBAN in groups of four, SWIFT/BIC, the bank."""
    if seller.bank is None:
        return []
    bank = seller.bank
    return [f"IBAN: {bank.printed_iban}", *([f"SWIFT/BIC: {bank.swift}"] if bank.swift else []),
            *([bank.bank_name] if bank.bank_name else [])]  # fmt: skip


def render_pdf(document: InvoiceDocument, language: str = "en") -> bytes:
    """The document as PDF bytes, with the reverse-charge note when it applies (rule T2), and the seller's logo, bank
    account and footer when the configuration gives them."""
    language = check_language(language)
    _register_fonts()
    words = label_words(language, document.seller.country)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, invariant=1)
    title = f"{words[document.kind]} {document.number}"
    canvas.setTitle(title)
    canvas.setAuthor(document.seller.name)
    page = _Page(canvas, language, document.seller.footer_in(language))
    beside_logo = _draw_logo(canvas, document.logo) + 12 if document.logo is not None else 0.0
    # rule I2: the document's own dates (issue, due, payments) are the seller's; service periods are the account's
    seller_zone = document.seller.time_zone

    def day(at: datetime) -> str:
        return format_local_day(at, seller_zone, language)

    def money(amount: int) -> str:
        return format_money(amount, document.currency, language)

    page.text(MARGIN, title, size=16, bold=True)
    page.y -= 22
    facts = [
        (words["issued"], day(document.issued_at)),
        (words["due"], day(document.due_at)),
        (words["currency"], document.currency),
        *([(words["account"], document.account_code)] if document.account_code else []),
        (words["status"], words.get(document.status, document.status)),
    ]
    if document.corrects:
        facts.append(("", words["corrects"].format(number=document.corrects)))
    if document.reason:  # why the credit note was issued, as the operator gave it; nothing when none was given
        facts.append(("", words["reason"].format(reason=document.reason)))
    for label, value in facts:
        for part in simpleSplit(
            f"{label}: {value}" if label else value, REGULAR, 8.5, WIDTH - 2 * MARGIN - beside_logo
        ):
            page.text(MARGIN, part)
            page.y -= 12

    page.y -= 8
    blocks = [
        (words["seller"], _party_lines(document.seller, words)),
        (words["sold_to"], _party_lines(document.sold_to, words)),
        (words["bill_to"], _party_lines(document.bill_to, words)),
    ]
    top = page.y
    column = (WIDTH - 2 * MARGIN) / 3
    lowest = top
    for index, (label, rows) in enumerate(blocks):
        page.y = top
        x = MARGIN + index * column
        page.text(x, label, bold=True)
        for row in rows:
            for part in simpleSplit(row, REGULAR, 8.5, column - 8):
                page.y -= 11
                page.text(x, part)
        lowest = min(lowest, page.y)
    page.y = lowest - 22

    def header() -> None:
        for key in ("line", "description"):
            page.text(COLUMNS[key], words[key], bold=True)
        for key in ("quantity", "unit_price", "net", "rate", "tax"):
            page.text(COLUMNS[key], words[key], bold=True, right=True)
        page.y -= 4
        canvas.line(MARGIN, page.y, WIDTH - MARGIN, page.y)
        page.y -= 11

    header()
    for position, line in enumerate(document.lines, start=1):
        described = simpleSplit(line_text(line, document, language), REGULAR, 8.5, DESCRIPTION_WIDTH)
        period = f"{words['service_period']}: {service_period(line, document, language)}"
        page.need(11 * (len(described) + 1) + 4)
        if page.y == HEIGHT - MARGIN:  # a new page repeats the header
            header()
        page.text(COLUMNS["line"], str(position))
        page.text(COLUMNS["quantity"], str(line.quantity), right=True)
        unit = money(line.unit_amount) if line.unit_amount is not None else ""
        page.text(COLUMNS["unit_price"], unit, right=True)
        page.text(COLUMNS["net"], money(line.amount), right=True)
        page.text(COLUMNS["rate"], rate_text(line.tax_rate), right=True)
        page.text(COLUMNS["tax"], money(line.tax), right=True)
        for part in described:
            page.text(COLUMNS["description"], part)
            page.y -= 11
        page.text(COLUMNS["description"], period, size=7)
        page.y -= 14

    canvas.line(MARGIN, page.y + 6, WIDTH - MARGIN, page.y + 6)
    totals = [(words["subtotal"], document.subtotal, False)]
    for tax_row in document.tax_rows():
        label = words["tax_on"].format(rate=rate_text(tax_row.rate), base=money(tax_row.base))
        totals.append((label, tax_row.tax, False))
    totals += [
        (words["total"], document.total, True),
        (words["credit_applied"], -document.credit_applied, False),
        (words["amount_due"], document.amount_due, True),
    ]
    page.need(13 * len(totals) + 8)
    page.y -= 8
    for label, amount, bold in totals:
        page.text(COLUMNS["rate"], label, bold=bold, right=True)
        page.text(COLUMNS["tax"], money(amount), bold=bold, right=True)
        page.y -= 13

    _vat_in_pln(page, document, words, language)

    page.need(30 + 11 * len(document.payments))
    page.y -= 10
    page.text(MARGIN, words["payments"], bold=True)
    page.y -= 12
    for payment in document.payments:
        page.text(MARGIN, f"{day(payment.at)}  {payment.method}  {money(payment.amount)}")
        page.y -= 11
    if not document.payments:
        page.text(MARGIN, words["no_payments"])
        page.y -= 11

    bank = _bank_lines(document.seller)
    if document.terms_days and document.kind == "invoice":
        # rule NT1: paid by transfer, the invoice number as the payment's title
        bank = [words["net_terms"].format(days=document.terms_days),
                words["payment_reference"].format(number=document.number), *bank]  # fmt: skip
    if bank:
        page.need(24 + 11 * len(bank))
        page.y -= 10
        page.text(MARGIN, words["bank_account"], bold=True)
        page.y -= 12
        for row in bank:
            page.text(MARGIN, row)
            page.y -= 11

    reverse_charge_note = document.reverse_charge_notes.get(language) or document.reverse_charge_notes.get("en")
    if document.reverse_charge and reverse_charge_note:
        note = simpleSplit(reverse_charge_note, BOLD, 9, WIDTH - 2 * MARGIN)
        page.need(14 * len(note) + 10)
        page.y -= 10
        for part in note:
            page.text(MARGIN, part, size=9, bold=True)
            page.y -= 12
    page.footer()
    canvas.save()
    return out.getvalue()


def _vat_in_pln(page: _Page, document: InvoiceDocument, words: Mapping[str, str], language: str) -> None:
    """A Polish seller's document in another currency: its VAT in PLN per rate, and the bank's rate it was converted
    at (VAT act, art. 106e(11)), each line's VAT converted and rounded once (``domain.exchange_rates``)."""
    rate = document.exchange_rate
    if rate is None:
        return
    converted = vat_in_pln([(line.tax_rate, line.tax) for line in document.lines], document.currency, rate)
    rows = [words["vat_in_pln"].format(rate=rate_text(r), amount=format_money(amount, "PLN", language))
            for r, amount in sorted(converted.items(), reverse=True)]  # fmt: skip
    mid = format_decimal(rate.mid, format="#,##0.0000", locale=LOCALES[language])
    note = words["nbp_rate"].format(date=format_day(rate.table_date, language), table=rate.table_number,
                                    units=rate.units, currency=rate.currency, mid=mid)  # fmt: skip
    parts = [*rows, *simpleSplit(note, REGULAR, 8.5, WIDTH - 2 * MARGIN)]
    page.need(12 * len(parts) + 10)
    page.y -= 8
    for part in parts:
        page.text(MARGIN, part)
        page.y -= 12
