"""Amounts and dates as customers read them, in Polish and English, the same on every page, document and e-mail
(rules X1, X5, C3).

The number of decimals of an amount is its currency's ISO 4217 exponent (``prorata.domain.money.EXPONENTS``), not
CLDR's: 123456 minor units of HUF are 1 234,56, of IQD 123,456, of JPY 123 456.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prorata.domain.errors import InvalidInput
from prorata.domain.money import EXPONENTS, Money, major_units
from prorata.domain.periods import Granularity, Period
from prorata.services.formatting import (
    format_day,
    format_local_day,
    format_money,
    format_period,
    format_service_period,
    parse_money,
)

LANGUAGES = ("pl", "en")
AMOUNTS = (0, 1, -1, 7, 99, 100, 123456, -123456, 1_000_000_007, 10**15 + 789, -(10**17) + 3)
DECIMAL_MARK = {"pl": ",", "en": "."}


def decimals_written(text: str, language: str) -> int:
    """How many digits follow the language's decimal mark, read from the text alone."""
    digits = "".join(c for c in text if c.isdigit() or c == DECIMAL_MARK[language])
    whole, mark, fraction = digits.partition(DECIMAL_MARK[language])
    assert whole, text
    return len(fraction) if mark else 0


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("currency", sorted(EXPONENTS))
def test_every_currency_is_written_with_its_iso_decimals_and_read_back_to_the_same_minor_units(
    currency: str, language: str
) -> None:
    # rules X1, X5: zero, negative and large amounts alike, in both languages
    for amount in AMOUNTS:
        text = format_money(amount, currency, language)
        assert decimals_written(text, language) == EXPONENTS[currency], text
        assert (text.count("-") == 1) == (amount < 0), text
        assert parse_money(text, currency, language) == amount, text


@given(
    amount=st.integers(min_value=-(10**18), max_value=10**18),
    currency=st.sampled_from(sorted(EXPONENTS)),
    language=st.sampled_from(LANGUAGES),
)
def test_any_amount_survives_being_written_and_read_back(amount: int, currency: str, language: str) -> None:
    assert parse_money(format_money(amount, currency, language), currency, language) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "language", "text"),
    [
        (123456, "HUF", "pl", "1\xa0234,56\xa0HUF"),  # CLDR would print HUF without decimals: "123 456 HUF"
        (123456, "HUF", "en", "HUF\xa01,234.56"),  # a code before the digits is spaced from them (CLDR spacing)
        (123456, "IQD", "pl", "123,456\xa0IQD"),  # three decimals (CLDR: none)
        (123456, "IQD", "en", "IQD\xa0123.456"),
        (123456, "JPY", "pl", "123\xa0456\xa0JPY"),
        (123456, "JPY", "en", "¥123,456"),
        (1234567, "KWD", "pl", "1\xa0234,567\xa0KWD"),
        (-1234567, "KWD", "en", "-KWD\xa01,234.567"),
        (123450, "PLN", "pl", "1\xa0234,50\xa0zł"),
        (123450, "PLN", "en", "PLN\xa01,234.50"),
        (-123450, "PLN", "pl", "-1\xa0234,50\xa0zł"),
        (123450, "USD", "en", "$1,234.50"),
        (-5, "USD", "en", "-$0.05"),
        (0, "USD", "pl", "0,00\xa0USD"),
        (0, "JPY", "en", "¥0"),
        (123456, "CLF", "en", "CLF\xa012.3456"),
        (10**17, "EUR", "pl", "1\xa0000\xa0000\xa0000\xa0000\xa0000,00\xa0€"),
    ],
)
def test_amounts_are_written_with_the_languages_symbols_grouping_and_placement(
    amount: int, currency: str, language: str, text: str
) -> None:
    assert format_money(amount, currency, language) == text
    assert parse_money(text, currency, language) == amount


def test_the_machine_form_is_exact_major_units_with_the_currencys_decimals() -> None:
    # rule X1: what the e-invoice XML and the operator's CLI print, never through a float
    assert str(major_units(123456, "HUF")) == "1234.56"
    assert str(major_units(123456, "IQD")) == "123.456"
    assert str(major_units(123456, "JPY")) == "123456"
    assert str(Money(-123456, "KWD")) == "-123.456 KWD"
    assert str(Money(0, "CLF")) == "0.0000 CLF"


@pytest.mark.parametrize(
    ("text", "currency", "language", "amount"),
    [
        ("1 234,56 HUF", "HUF", "pl", 123456),  # typed spaces instead of no-break ones
        ("1234,56 HUF", "HUF", "pl", 123456),  # no grouping at all
        ("1 234,50 PLN", "PLN", "pl", 123450),  # the ISO code instead of the symbol
        ("PLN 1,234.50", "PLN", "en", 123450),
        ("USD 12.00", "USD", "en", 1200),
        ("  −12.30 $ ", "USD", "en", -1230),  # the minus sign, the symbol after
        ("12", "USD", "en", 1200),
    ],
)
def test_the_parser_reads_what_a_person_types(text: str, currency: str, language: str, amount: int) -> None:
    assert parse_money(text, currency, language) == amount


@pytest.mark.parametrize(
    ("text", "currency", "language", "code"),
    [
        ("1,234.567", "USD", "en", "money.too_many_decimals"),
        ("12.5", "JPY", "en", "money.too_many_decimals"),
        ("1,2345", "KWD", "pl", "money.too_many_decimals"),
        ("abc", "USD", "en", "money.not_an_amount"),
        ("", "USD", "en", "money.not_an_amount"),
        ("$", "USD", "en", "money.not_an_amount"),
        ("1,23,4.00", "USD", "en", "money.not_an_amount"),  # grouping in the wrong places
        ("12 EUR", "USD", "en", "money.not_an_amount"),  # another currency
        (12.5, "USD", "en", "money.not_an_amount"),  # a float is never an amount
    ],
)
def test_the_parser_refuses_what_is_not_an_amount_of_the_currency_naming_the_field(
    text: object, currency: str, language: str, code: str
) -> None:
    # rules X1, X4
    with pytest.raises(InvalidInput) as error:
        parse_money(text, currency, language, field="price")
    assert (error.value.code, error.value.field, error.value.rule) == (code, "price", "X1")
    assert error.value.message.startswith("price: ")


def test_an_unknown_language_or_currency_is_refused_naming_the_field() -> None:
    # rules X1, X5
    with pytest.raises(InvalidInput) as error:
        format_money(100, "USD", "de")
    assert (error.value.code, error.value.field, error.value.rule) == ("language.unknown", "language", "X5")
    with pytest.raises(InvalidInput) as error:
        format_money(100, "XYZ", "en")
    assert (error.value.code, error.value.field) == ("currency.unknown", "currency")


def test_dates_are_written_in_one_form_per_language() -> None:
    # rule X5
    assert format_day(date(2026, 12, 15), "en") == "Dec 15, 2026"
    assert format_day(date(2026, 12, 15), "pl") == "15 gru 2026"
    # rule X2: an instant is the date of the time zone asked for
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert format_local_day(late, "America/New_York", "en") == "Dec 31, 2026"
    assert format_local_day(late, "Europe/Warsaw", "en") == "Jan 1, 2027"


def test_a_period_is_written_from_its_first_to_its_last_day_included() -> None:
    # rule C3: [Nov 30, Dec 30) in New York is Nov 30 - Dec 29 for its reader, whatever the UTC dates
    start = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # midnight in New York
    end = datetime(2026, 12, 30, 5, 0, tzinfo=UTC)
    period = Period(start, end)
    assert format_service_period(period, "America/New_York", Granularity.DAY, "en") == "Nov 30, 2026 – Dec 29, 2026"
    assert format_service_period(period, "America/New_York", Granularity.DAY, "pl") == "30 lis 2026 – 29 gru 2026"
    assert format_period(date(2026, 12, 15), date(2026, 12, 15), "en") == "Dec 15, 2026"  # one day, once
