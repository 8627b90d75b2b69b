"""A discount line in the portal's words (rules DC2, I5, I2, X5): its code, the product and the share of the period it
discounts, in Polish and English; a credit note's reversal of it is still a discount; a caller that has no code
(the console reads lines without it) still names it a discount."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prorata.catalogs import default_catalog
from prorata.entrypoints.portal.i18n import DEFAULT_LANGUAGE, catalog_line_text, use_language

CATALOG = default_catalog()


@pytest.fixture(autouse=True)
def _language_back() -> Iterator[None]:
    yield
    use_language(DEFAULT_LANGUAGE)  # the page language is the process's until the next page sets it


@pytest.mark.parametrize(
    ("language", "reversal", "code", "expected"),
    [
        ("en", False, "SAVE20", "Discount SAVE20: Business, 10 licenses, 16 of 30 days"),
        ("pl", False, "SAVE20", "Rabat SAVE20: Dla firm, 10 licencji, 16 z 30 dni"),
        ("en", True, "SAVE20", "Reversal: Discount SAVE20: Business, 10 licenses, 16 of 30 days"),
        ("pl", True, "SAVE20", "Korekta: Rabat SAVE20: Dla firm, 10 licencji, 16 z 30 dni"),
        ("en", False, None, "Discount: Business, 10 licenses, 16 of 30 days"),
        ("pl", False, None, "Rabat: Dla firm, 10 licencji, 16 z 30 dni"),
    ],
)
def test_a_discount_line_names_its_code_product_and_share_in_the_pages_language(
    language: str, reversal: bool, code: str | None, expected: str
) -> None:
    use_language(language)
    assert catalog_line_text("discount", "business", 10, 16, 30, CATALOG, language, reversal=reversal,
                             discount=code) == expected  # fmt: skip


def test_a_charges_and_a_credits_reversals_still_read_as_before() -> None:
    use_language("en")
    assert catalog_line_text("credit", "business", 2, 16, 30, CATALOG, "en", reversal=True) == (
        "Reversal: Business: 2 licenses, 16 of 30 days"
    )
    assert catalog_line_text("charge", "business", 2, 16, 30, CATALOG, "en", reversal=True) == (
        "Reversal: Unused time: Business, 2 licenses, 16 of 30 days"
    )
