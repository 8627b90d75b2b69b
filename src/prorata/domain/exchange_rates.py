"""The National Bank of Poland's average exchange rates, and the VAT of a foreign-currency invoice in złoty.

Polish VAT law (art. 31a and 106e(11) of the VAT act) has a Polish seller's invoice in another currency show its VAT
amount in PLN, converted at the bank's average rate of the last working day before the issue date. The bank
publishes table A on working days only, so that day is the date of the newest table before the issue date, and it
is certain only when nothing can still come between: the table is dated on the last weekday before the issue date
(a weekday with a table is a working day), or a later table (dated on or after the issue date) is known. Otherwise
the rate is missing, never guessed: a holiday and a table not yet imported look the same until a later table comes.

Rates are exact decimals as the bank writes them (``3,6512`` PLN for 1 USD; ``2,4321`` PLN for 100 JPY): PLN per
one unit of the currency is ``mid / units``. The VAT in PLN is converted per invoice line and rounded half up to the
grosz once per line (the project's one rounding per line, rule T3), then summed per rate, as FA(3) sums
``P_14_xW``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from prorata.domain.errors import RuleViolation
from prorata.domain.money import currency_exponent, round_half_up

PLN_EXPONENT = 2


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """One currency's average rate in one of the bank's tables."""

    currency: str
    table_date: date
    table_number: str  # e.g. 233/A/NBP/2026
    mid: Decimal  # PLN for ``units`` of the currency, as published (four decimals)
    units: int = 1  # the bank's "przelicznik": 1, or 100 for currencies of small unit value

    @property
    def per_unit(self) -> Fraction:
        return Fraction(self.mid) / self.units


def last_weekday_before(issued_on: date) -> date:
    day = issued_on - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def rate_for(currency: str, issued_on: date, newest_before: ExchangeRate | None, later_known: bool) -> ExchangeRate:
    """The rate of the last working day before ``issued_on``, given the newest table before that day and whether
    a table dated on or after it is known; refused when it is not certain."""
    if newest_before is not None and (later_known or newest_before.table_date >= last_weekday_before(issued_on)):
        return newest_before
    wanted = last_weekday_before(issued_on)
    raise RuleViolation(
        "rates.missing",
        f"rate: the National Bank of Poland's {currency} rate of the last working day before {issued_on.isoformat()} "
        f"(normally {wanted.isoformat()}) is not imported; import its table with `prorata rates import FILE`",
        rule="T1",
        field="rate",
        currency=currency,
        issued_on=issued_on.isoformat(),
        wanted=wanted.isoformat(),
    )


def line_vat_in_pln(tax: int, currency: str, rate: ExchangeRate) -> int:
    """One line's VAT (minor units of ``currency``) in grosze, rounded half up once."""
    exact = Fraction(tax, 10 ** currency_exponent(currency)) * rate.per_unit * 10**PLN_EXPONENT
    return round_half_up(exact.numerator, exact.denominator)


def vat_in_pln(lines: Iterable[tuple[int, int]], currency: str, rate: ExchangeRate) -> Mapping[int, int]:
    """``{tax rate in basis points: VAT in grosze}`` over ``(tax rate, line tax)`` pairs, each line rounded once."""
    out: dict[int, int] = {}
    for tax_rate, tax in lines:
        if tax_rate:
            out[tax_rate] = out.get(tax_rate, 0) + line_vat_in_pln(tax, currency, rate)
    return out
