"""The words invoice documents print come from the product's shared gettext catalogs (rule X5)."""

from __future__ import annotations

from prorata.adapters.documents.labels import ENGLISH, words
from prorata.adapters.translations import catalog


def test_every_document_label_is_translated_to_polish_except_the_words_both_languages_share() -> None:
    polish = words("pl")
    same = {key for key, english in ENGLISH.items() if polish[key] == english}
    assert same == {"status", "tax", "charge"}  # "Status", "VAT" and the "{name} x {quantity}, {share}" pattern
    assert polish["sold_to"] == "Dane kontaktowe nabywcy"  # the article's label, as the portal prints it
    assert polish["total"] == "Razem brutto"


def test_a_document_label_may_differ_from_the_portals_word_for_the_same_english() -> None:
    # context "document": the portal's "Total" is "Razem", an invoice's total is the gross "Razem brutto"
    assert catalog("pl").gettext("Total") == "Razem"
    assert catalog("pl").pgettext("document", "Total") == "Razem brutto"


def test_english_documents_print_the_message_ids() -> None:
    assert words("en") == ENGLISH
