"""Money in integer minor units with the ISO 4217 exponent (rules X1, C4)."""

from __future__ import annotations

import pytest

from prorata.domain.errors import InvalidInput
from prorata.domain.money import Money, currency_exponent, round_half_up


@pytest.mark.parametrize(("code", "exponent"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("PLN", 2), ("KWD", 3)])
def test_each_currency_has_its_iso_4217_minor_unit_exponent(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [("14.99", "USD", 1499), ("1500", "JPY", 1500), ("1.234", "KWD", 1234), ("0.5", "PLN", 50), ("-2.10", "EUR", -210)],
)
def test_decimal_strings_in_major_units_parse_exactly(text: str, code: str, minor: int) -> None:
    assert Money.parse(text, code) == Money(minor, code)


def test_more_decimals_than_the_currency_allows_are_refused() -> None:
    # rule X1: 0.5 yen cannot exist; nothing is silently rounded away
    with pytest.raises(InvalidInput) as error:
        Money.parse("10.5", "JPY")
    assert error.value.code == "money.too_many_decimals"


def test_money_built_from_a_float_is_refused() -> None:
    # rule X1: no floats where money flows
    with pytest.raises(InvalidInput) as error:
        Money(10.0, "USD")  # type: ignore[arg-type]
    assert error.value.code == "money.not_integer_minor_units"
    with pytest.raises(InvalidInput):
        Money.parse(14.99, "USD")  # type: ignore[arg-type]


def test_a_boolean_is_not_an_amount() -> None:
    with pytest.raises(InvalidInput):
        Money(True, "USD")  # type: ignore[arg-type]


def test_mixing_currencies_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        Money(100, "USD") + Money(100, "PLN")
    assert error.value.code == "money.currency_mismatch"


def test_unknown_currency_codes_are_refused() -> None:
    for code in ("XYZ", "usd", "", 840):
        with pytest.raises(InvalidInput) as error:
            Money(1, code)  # type: ignore[arg-type]
        assert error.value.code == "currency.unknown"


def test_arithmetic_within_one_currency() -> None:
    assert Money(1599, "USD") + Money(1, "USD") - Money(600, "USD") == Money(1000, "USD")
    assert -Money(5, "USD") == Money(-5, "USD")
    assert Money(1, "USD") < Money(2, "USD")


def test_formatting_uses_the_currency_exponent() -> None:
    assert str(Money(1581, "USD")) == "15.81 USD"
    assert str(Money(1500, "JPY")) == "1500 JPY"
    assert str(Money(-1234, "KWD")) == "-1.234 KWD"
    assert str(Money(5, "PLN")) == "0.05 PLN"


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounded"),
    [(1, 2, 1), (3, 2, 2), (-1, 2, -1), (-3, 2, -2), (49, 100, 0), (-49, 100, 0), (490, 31, 16), (0, 7, 0)],
)
def test_round_half_up_rounds_halves_away_from_zero(numerator: int, denominator: int, rounded: int) -> None:
    # rule C4: one rounding per line, half up (away from zero for credits)
    assert round_half_up(numerator, denominator) == rounded


def test_round_half_up_is_exact_for_huge_numbers() -> None:
    # a float would lose these digits
    assert round_half_up(10**30 + 1, 2) == 5 * 10**29 + 1


def test_round_half_up_rejects_a_non_positive_denominator() -> None:
    with pytest.raises(ValueError, match="denominator"):
        round_half_up(1, 0)
