"""Money: an integer number of minor units in one ISO 4217 currency (rule X1).

The minor-unit exponent comes from ISO 4217 (JPY 0, USD/EUR/PLN 2, KWD 3). Floats are refused wherever money is
built; arithmetic between two currencies is refused. Rounding happens in exactly one place, :func:`round_half_up`,
which every invoice line goes through once (rule C4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from prorata.domain.errors import InvalidInput

# ISO 4217 active codes and their minor-unit exponents. Codes not listed here are refused.
_ZERO: Final = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE: Final = "BHD IQD JOD KWD LYD OMR TND"
_FOUR: Final = "CLF UYW"
_TWO: Final = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF "
    "CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF "
    "IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR "
    "MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD "
    "SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR "
    "ZMW ZWG"
)
EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}


def currency_exponent(code: object, *, field: str = "currency") -> int:
    """The ISO 4217 minor-unit exponent of ``code``; an unknown code is refused."""
    if not isinstance(code, str) or code not in EXPONENTS:
        raise InvalidInput(
            "currency.unknown",
            f"{field}: {code!r} is not an ISO 4217 currency code this installation knows",
            rule="X1",
            field=field,
        )
    return EXPONENTS[code]


def major_units(amount: int, currency: str) -> Decimal:
    """``amount`` minor units as an exact decimal in major units with the currency's ISO 4217 exponent as its number
    of decimals (123456 HUF -> 1234.56, IQD -> 123.456, JPY -> 123456): the one conversion every rendering of an
    amount (portal, documents, e-mails, e-invoice XML) starts from. No float is involved."""
    return Decimal(check_minor(amount, field="amount")).scaleb(-currency_exponent(currency))


def check_currency(code: object, *, field: str = "currency") -> str:
    currency_exponent(code, field=field)
    assert isinstance(code, str)
    return code


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero (rule C4).

    Integer arithmetic only: the exact quotient is never represented as a float or a truncated decimal.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return sign * q


def check_minor(value: object, *, field: str) -> int:
    """An amount in minor units: an int (never a bool, never a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "a float" if isinstance(value, float) else type(value).__name__
        raise InvalidInput(
            "money.not_integer_minor_units",
            f"{field}: amounts are integers of minor units, got {kind} {value!r}",
            rule="X1",
            field=field,
        )
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        check_minor(self.amount, field="amount")
        check_currency(self.currency)

    @classmethod
    def parse(cls, text: str, currency: str, *, field: str = "amount") -> Money:
        """Parse a decimal string in major units ("14.99") exactly; more decimals than the currency has is refused."""
        exponent = currency_exponent(currency)
        if not isinstance(text, str):
            kind = "a float" if isinstance(text, float) else type(text).__name__
            raise InvalidInput(
                "money.not_a_decimal_string",
                f'{field}: write amounts in major units as a decimal string, e.g. "14.99" (got {kind} {text!r})',
                rule="X1",
                field=field,
            )
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise InvalidInput(
                "money.not_a_decimal_string",
                f"{field}: {text!r} is not a decimal amount",
                rule="X1",
                field=field,
            ) from None
        if not value.is_finite():
            raise InvalidInput("money.not_a_decimal_string", f"{field}: {text!r} is not finite", field=field)
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidInput(
                "money.too_many_decimals",
                f"{field}: {text!r} has more decimals than {currency} allows ({exponent})",
                rule="X1",
                field=field,
            )
        return cls(int(scaled), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidInput(
                "money.currency_mismatch",
                f"cannot combine {self.currency} and {other.currency}",
                rule="X1",
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def format(self) -> str:
        """Plain decimal rendering in major units (``"15.81 USD"``) for operators and logs; what a customer reads is
        written per language by ``prorata.services.formatting``."""
        return f"{major_units(self.amount, self.currency):f} {self.currency}"

    def __str__(self) -> str:
        return self.format()
