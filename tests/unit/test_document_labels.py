"""The words invoice documents print come from the product's shared gettext catalogs (rule X5)."""

from __future__ import annotations

from datetime import UTC, datetime

from prorata.adapters.documents.labels import ENGLISH, line_text, words
from prorata.adapters.translations import catalog
from prorata.domain.documents import DocumentLine, InvoiceDocument
from prorata.domain.periods import Period
from prorata.domain.seller import Seller


def test_every_document_label_is_translated_to_polish_except_the_words_both_languages_share() -> None:
    polish = words("pl")
    same = {key for key, english in ENGLISH.items() if polish[key] == english}
    assert same == {"status", "tax", "charge"}  # "Status", "VAT" and the "{name}: {quantity}, {share}" pattern
    assert polish["sold_to"] == "Dane kontaktowe nabywcy"  # the article's label, as the portal prints it
    assert polish["total"] == "Razem brutto"


def test_a_document_label_may_differ_from_the_portals_word_for_the_same_english() -> None:
    # context "document": the portal's "Total" is "Razem", an invoice's total is the gross "Razem brutto"
    assert catalog("pl").gettext("Total") == "Razem"
    assert catalog("pl").pgettext("document", "Total") == "Razem brutto"


def test_english_documents_print_the_message_ids() -> None:
    assert words("en") == ENGLISH


def test_a_polish_sellers_documents_name_the_tax_vat_and_another_sellers_the_generic_word() -> None:
    # rule T1: the tax a Polish seller charges is VAT; a seller elsewhere keeps "Tax" ("Podatek")
    assert (words("pl")["tax"], words("pl")["rate"]) == ("VAT", "Stawka VAT")
    assert (words("pl", "DE")["tax"], words("pl", "DE")["rate"]) == ("Podatek", "Stawka podatku")
    assert words("en", "US")["tax_on"] == "Tax {rate} on {base}"
    assert words("en", "PL")["tax_on"] == "VAT {rate} on {base}"


def test_a_lines_quantity_is_counted_in_licenses_or_seats_with_the_polish_plural_forms() -> None:
    # rule I5: "Duże spotkania 500: 2 miejsca", "Dla profesjonalistów: 5 licencji"
    period = Period(datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))
    document = InvoiceDocument("INV-2026-000001", "invoice", "open", period.start, period.end, "PLN", Seller("PL"),
                               None, None, (), 0, 0, 0, 0, 0)  # fmt: skip

    def line(kind: str, unit: str, quantity: int) -> DocumentLine:
        names = {"pl": "Duże spotkania 500" if unit == "seat" else "Dla profesjonalistów"}
        return DocumentLine(kind, "x", names, quantity, None, period, 30, 30, 0, 0, 0, counted_as=unit)

    assert line_text(line("charge", "seat", 2), document, "pl") == "Duże spotkania 500: 2 miejsca, 30 z 30 dni"
    assert line_text(line("charge", "seat", 5), document, "pl").startswith("Duże spotkania 500: 5 miejsc,")
    assert line_text(line("charge", "seat", 1), document, "en").startswith("x: 1 seat,")  # no English name: the code
    assert line_text(line("credit", "license", 5), document, "pl") == (
        "Niewykorzystany czas: Dla profesjonalistów, 5 licencji, 30 z 30 dni"
    )
