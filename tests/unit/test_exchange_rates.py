"""The National Bank of Poland's average rates: reading the bank's files, choosing the rate of the last working day
before an issue date (never guessing one), and a foreign-currency invoice's VAT in PLN, one rounding per line.

The files under ``tests/fixtures/nbp`` have the shape of the bank's own (an XML table in ISO-8859-2, and the JSON of
its web API); their figures are samples.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from prorata.adapters.rates.nbp import parse_table_file
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.exchange_rates import ExchangeRate, last_weekday_before, line_vat_in_pln, rate_for, vat_in_pln

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nbp"
FRIDAY = date(2026, 11, 13)


def test_an_xml_table_is_read_with_its_number_date_and_unit_counts() -> None:
    rates = {r.currency: r for r in parse_table_file((FIXTURES / "a221z261113.xml").read_bytes(), "a221z261113.xml")}

    assert set(rates) == {"USD", "EUR", "HUF"}
    assert rates["EUR"] == ExchangeRate("EUR", FRIDAY, "221/A/NBP/2026", Decimal("4.2307"), 1)
    assert rates["HUF"].units == 100
    assert rates["HUF"].per_unit == Decimal("0.010981")


def test_the_web_apis_json_is_read_as_exact_decimals_never_floats() -> None:
    content = (FIXTURES / "tables_a_2026-11-12_2026-11-16.json").read_bytes()

    rates = parse_table_file(content, "tables.json")

    assert len(rates) == 6
    assert {type(r.mid) for r in rates} == {Decimal}
    assert [r.mid for r in rates if r.currency == "EUR"] == [Decimal("4.2291"), Decimal("4.2307"), Decimal("4.2350")]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><tabela_kursow/>', "DOCTYPE"),
        (b"<tabela_kursow><numer_tabeli>1/C/NBP/2026</numer_tabeli></tabela_kursow>", "not a table A"),
        (b"<kursy/>", "not a table of the National Bank of Poland"),
        (b"<tabela_kursow><numer_tabeli>1/A/NBP/2026</numer_tabeli><data_publikacji>13.11.2026</data_publikacji>"
         b"</tabela_kursow>", "not a date"),
        (b'[{"table":"A","no":"1/A/NBP/2026","effectiveDate":"2026-11-13","rates":[{"code":"EUR","mid":"-1"}]}]',
         "not a rate"),
        (b'{"table":"B","no":"1/B/NBP/2026","effectiveDate":"2026-11-13","rates":[]}', "not a table A"),
        (b"", "not XML"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_table_a_is_refused_whole_saying_why(content: bytes, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_table_file(content, "f")
    assert refused.value.code == "rates.file"
    assert says in refused.value.message


def rate(day: date, mid: str = "4.2307") -> ExchangeRate:
    return ExchangeRate("EUR", day, "n/A/NBP/2026", Decimal(mid))


@pytest.mark.parametrize(
    ("issued_on", "weekday_before"),
    [(date(2026, 11, 16), FRIDAY), (date(2026, 11, 15), FRIDAY), (date(2026, 11, 14), FRIDAY),
     (date(2026, 11, 17), date(2026, 11, 16))],
)  # fmt: skip
def test_the_last_weekday_before_an_issue_date_skips_the_weekend(issued_on: date, weekday_before: date) -> None:
    assert last_weekday_before(issued_on) == weekday_before


def test_a_table_of_the_last_weekday_before_is_certain_on_its_own() -> None:
    # an invoice of Monday 16 November: Friday's table is the last working day's
    assert rate_for("EUR", date(2026, 11, 16), rate(FRIDAY), later_known=False).table_date == FRIDAY


def test_an_older_table_is_certain_only_once_a_later_one_shows_the_days_between_had_none() -> None:
    # Wednesday 11 November is a holiday in Poland: an invoice of the 12th takes the table of the 10th, but only
    # once a table of the 12th or later shows that no table of the 11th is coming
    issued = date(2026, 11, 12)
    with pytest.raises(RuleViolation) as missing:
        rate_for("EUR", issued, rate(date(2026, 11, 10)), later_known=False)
    assert (missing.value.code, missing.value.data["wanted"]) == ("rates.missing", "2026-11-11")
    assert "prorata rates import" in missing.value.message
    assert rate_for("EUR", issued, rate(date(2026, 11, 10)), later_known=True).table_date == date(2026, 11, 10)


def test_no_table_at_all_is_missing_whatever_comes_later() -> None:
    with pytest.raises(RuleViolation):
        rate_for("EUR", date(2026, 11, 16), None, later_known=True)


def test_the_vat_in_pln_is_rounded_half_up_once_per_line_and_summed_per_rate() -> None:
    eur = rate(FRIDAY, "4.2307")
    # 12.34 EUR of VAT: 52.206838 PLN -> 52.21; 0.01 EUR: 0.042307 -> 0.04; a credit's -12.34 EUR -> -52.21
    assert line_vat_in_pln(1234, "EUR", eur) == 5221
    assert line_vat_in_pln(1, "EUR", eur) == 4
    assert line_vat_in_pln(-1234, "EUR", eur) == -5221
    assert vat_in_pln([(2300, 1234), (2300, 1), (800, 100), (0, 0)], "EUR", eur) == {2300: 5225, 800: 423}


def test_a_currency_without_minor_units_and_a_rate_per_hundred_units_convert_exactly() -> None:
    huf = ExchangeRate("HUF", FRIDAY, "221/A/NBP/2026", Decimal("1.0981"), 100)
    jpy = ExchangeRate("JPY", FRIDAY, "221/A/NBP/2026", Decimal("2.4321"), 100)
    # 123.45 HUF * 0.010981 = 1.35560... PLN; 1,000 JPY * 0.024321 = 24.321 PLN
    assert line_vat_in_pln(12345, "HUF", huf) == 136
    assert line_vat_in_pln(1000, "JPY", jpy) == 2432
