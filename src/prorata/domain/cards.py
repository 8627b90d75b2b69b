"""Payment cards as far as Prorata may know them (rules Y1, Y2, Y3).

A card number is checked (Luhn, a brand Prorata accepts, an expiry not in the past) before it reaches a gateway, and
is never kept: what is stored is the gateway's token, the brand, the last four digits and the expiry. Changing any
of these means entering the whole card again (Y3), so there is no partial update of a card.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date

from prorata.domain.errors import InvalidInput, refuse_all


class Brand(enum.StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    JCB = "jcb"


# (brand, prefix pattern, allowed lengths): the card networks' published number ranges, rule Y1's five brands
_RANGES: tuple[tuple[Brand, re.Pattern[str], tuple[int, ...]], ...] = (
    (Brand.VISA, re.compile(r"4"), (13, 16, 19)),
    (Brand.MASTERCARD, re.compile(r"5[1-5]|2(2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720)"), (16,)),
    (Brand.AMEX, re.compile(r"3[47]"), (15,)),
    (Brand.DISCOVER, re.compile(r"6011|65|64[4-9]|622"), (16, 19)),
    (Brand.JCB, re.compile(r"35(2[89]|[3-8])"), (16, 17, 18, 19)),
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class CardDetails:
    """What may be kept of a card besides the gateway's token (rule Y2)."""

    brand: Brand
    last4: str
    exp_month: int
    exp_year: int


def check_card(number: str, exp_month: int, exp_year: int, today: date) -> tuple[str, CardDetails]:
    """Rule Y2: the digits of a usable card and what may be kept of it; a refusal names every field at fault."""
    refuse_all(card_errors(number, exp_month, exp_year, today))
    digits = _digits(number)
    brand = _brand(digits)
    assert brand is not None  # card_errors refused any other number
    return digits, CardDetails(brand, digits[-4:], exp_month, exp_year)


def _digits(number: str) -> str:
    return re.sub(r"[ -]", "", number or "")


def _brand(digits: str) -> Brand | None:
    return next((b for b, prefix, lengths in _RANGES if prefix.match(digits) and len(digits) in lengths), None)


def card_errors(number: str, exp_month: int, exp_year: int, today: date) -> list[InvalidInput]:
    """Rules Y1, Y2: what is wrong with the number and with the expiry, each field once (rule X4: all at once)."""
    errors: list[InvalidInput] = []
    digits = _digits(number)
    if not digits:
        errors.append(InvalidInput("card.number_missing", "card_number: enter the card number", rule="Y2",
                                   field="card_number"))  # fmt: skip
    elif not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_valid(digits):
        errors.append(InvalidInput("card.number_invalid", "card_number: this is not a valid card number", rule="Y2",
                                   field="card_number"))  # fmt: skip
    elif _brand(digits) is None:
        errors.append(InvalidInput(
            "card.brand_unsupported",
            "card_number: cards accepted are Visa, Mastercard, Discover, JCB and American Express",
            rule="Y1",
            field="card_number",
        ))  # fmt: skip
    month_ok = not isinstance(exp_month, bool) and isinstance(exp_month, int) and 1 <= exp_month <= 12
    year_ok = not isinstance(exp_year, bool) and isinstance(exp_year, int) and 2000 <= exp_year <= 2100
    if not month_ok:
        errors.append(InvalidInput("card.expiry_invalid", "exp_month: a month from 1 to 12", rule="Y2",
                                   field="exp_month"))  # fmt: skip
    if not year_ok:
        errors.append(InvalidInput("card.expiry_invalid", "exp_year: a four-digit year", rule="Y2", field="exp_year"))
    if month_ok and year_ok and (exp_year, exp_month) < (today.year, today.month):
        errors.append(InvalidInput("card.expired", f"exp_year: the card expired in {exp_month:02d}/{exp_year}",
                                   rule="Y2", field="exp_year", month=exp_month, year=exp_year))  # fmt: skip
    return errors
