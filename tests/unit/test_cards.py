"""Cards are checked before they reach a gateway, and only a token, brand, last four and expiry are kept; the
sandbox gateway behaves like a real one (rules Y1, Y2, Y4)."""

from __future__ import annotations

from datetime import date

import pytest

from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.cards import Brand, check_card, luhn_valid
from prorata.domain.errors import FieldErrors, InvalidInput

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242 4242 4242 4242", Brand.VISA),
        ("5555-5555-5555-4444", Brand.MASTERCARD),
        ("2223003122003222", Brand.MASTERCARD),
        ("378282246310005", Brand.AMEX),
        ("6011111111111117", Brand.DISCOVER),
        ("3566002020360505", Brand.JCB),
    ],
)
def test_the_five_brands_are_recognised_and_only_the_last_four_digits_are_kept(number: str, brand: Brand) -> None:
    # rules Y1, Y2
    digits, details = check_card(number, 12, 2030, TODAY)
    assert details.brand is brand
    assert details.last4 == digits[-4:]
    assert not hasattr(details, "number")


@pytest.mark.parametrize(
    ("number", "month", "year", "code", "field"),
    [
        ("4242 4242 4242 4241", 12, 2030, "card.number_invalid", "card_number"),  # Luhn
        ("4242", 12, 2030, "card.number_invalid", "card_number"),
        ("abcd efgh ijkl mnop", 12, 2030, "card.number_invalid", "card_number"),
        ("6200000000000005", 12, 2030, "card.brand_unsupported", "card_number"),  # valid Luhn, no accepted brand
        ("4242424242424242", 13, 2030, "card.expiry_invalid", "exp_month"),
        ("4242424242424242", 10, 2026, "card.expired", "exp_year"),
        ("4242424242424242", 1, 30, "card.expiry_invalid", "exp_year"),
    ],
)
def test_a_card_that_cannot_be_used_is_refused_before_any_gateway(
    number: str, month: int, year: int, code: str, field: str
) -> None:
    # rule Y2
    with pytest.raises(InvalidInput) as error:
        check_card(number, month, year, TODAY)
    assert (error.value.code, error.value.field) == (code, field)


def test_a_bad_number_and_a_bad_expiry_are_refused_together() -> None:
    # rule X4: every field at fault at once, none hidden behind the first
    with pytest.raises(FieldErrors) as error:
        check_card("4242 4242 4242 4241", 0, 99, TODAY)
    assert [(e.code, e.field) for e in error.value.errors] == [
        ("card.number_invalid", "card_number"),
        ("card.expiry_invalid", "exp_month"),
        ("card.expiry_invalid", "exp_year"),
    ]


def test_a_card_expiring_this_month_is_still_accepted() -> None:
    assert check_card("4242424242424242", 11, 2026, TODAY)[1].exp_month == 11


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        ("4242424242424242", None),
        ("5555555555554444", None),
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
        ("4000000000000119", "processing_error"),
    ],
)
def test_sandbox_test_cards_succeed_or_fail_as_documented(number: str, outcome: str | None) -> None:
    # rule Y4
    gateway = SandboxGateway()
    token, _ = gateway.tokenize_card(number, 12, 2030, TODAY)
    assert number not in token
    result = gateway.charge(token, 1999, "USD", "order-1")
    assert result.succeeded is (outcome is None)
    assert result.failure_code == outcome


def test_a_sandbox_charge_is_idempotent_by_key_across_processes() -> None:
    # rule X3: asking again with the same key is how an interrupted payment is reconciled
    token, _ = SandboxGateway().tokenize_card("4242424242424242", 12, 2030, TODAY)
    first = SandboxGateway().charge(token, 1999, "USD", "order-7")
    again = SandboxGateway().charge(token, 1999, "USD", "order-7")
    assert first == again
    assert SandboxGateway().charge(token, 1999, "USD", "order-8").reference != first.reference


def test_sandbox_paypal_accounts() -> None:
    # rules Y1, Y4
    gateway = SandboxGateway()
    assert gateway.charge(gateway.tokenize_paypal("buyer@sandbox.prorata.test"), 500, "PLN", "k1").succeeded
    declined = gateway.charge(gateway.tokenize_paypal("declined@sandbox.prorata.test"), 500, "PLN", "k2")
    assert declined.failure_code == "paypal_declined"
    with pytest.raises(InvalidInput) as error:
        gateway.tokenize_paypal("someone@example.com")
    assert error.value.field == "paypal_email"
