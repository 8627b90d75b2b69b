"""A card is named by its brand as written on it, wherever a customer reads it: the portal, the invoice PDF and the
e-mails all take it from ``payment_method_text`` (rule Y2 keeps the brand as a key: "visa", "amex")."""

from __future__ import annotations

import pytest

from prorata.adapters.db.documents import payment_method_text
from prorata.domain.cards import Brand


@pytest.mark.parametrize(
    ("brand", "written"),
    [(Brand.VISA, "Visa"), (Brand.MASTERCARD, "Mastercard"), (Brand.AMEX, "American Express"),
     (Brand.DISCOVER, "Discover"), (Brand.JCB, "JCB")],
)  # fmt: skip
def test_every_accepted_brand_is_written_as_the_brand_writes_itself(brand: Brand, written: str) -> None:
    assert payment_method_text("card", brand.value, "4242") == f"{written} •••• 4242"


def test_every_accepted_brand_has_its_written_name() -> None:
    # a brand added to the accepted ones without its name here would print as its key ("diners •••• 1234")
    named = {payment_method_text("card", brand.value, "0000").split(" •••• ")[0] for brand in Brand}
    assert named == {"Visa", "Mastercard", "American Express", "Discover", "JCB"}


def test_paypal_is_named_paypal() -> None:
    assert payment_method_text("paypal", None, None) == "PayPal"
