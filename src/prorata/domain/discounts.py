"""Discount codes and the discount an account holds (rules DC1, DC2).

A **code** is what an operator creates: a percentage, or a fixed amount per currency; on chosen products or on the
whole order; for one billing period, N periods or for ever; redeemable until an expiry instant and at most a number
of times. Its terms never change once created (issued invoices name it), an operator only retires it.

A **discount** is a code redeemed by one account (one at a time, rule DC2): the terms resolved in the account's
currency and the span of service time it covers, ``[start, end)`` (``end`` None: for ever). The span is counted in
the plan's billing periods: redeemed with an order (DC1), from the order's effective start to the end of the N-th
plan period counted from the one the order leaves current; redeemed later, from the next billing date for N periods.

How it prices (DC2): a discount takes a share of each charge of a product it covers for the service time it covers,
as a line of its own right after the charge, before tax:

- a percentage ``p`` takes ``quantity x unit price x covered / whole x p``;
- a fixed amount ``F`` is taken off each license's (or seat's, or item's) price per billing period, never below
  zero: ``quantity x min(F, unit price) x covered / whole``. Per license, so that licenses added mid-period are
  discounted in proportion exactly as they are priced, and the charge is always the integral of the discounted
  price x quantity x time.

Each is computed exactly and rounded once, half up (rule C4). What a subscription records as charged is the charge
less its discount (``Charge.amount``), so a credit for unused time reverses exactly what was paid for it, the
discount included (rule C5).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.frozen import direct_init
from prorata.domain.money import EXPONENTS, check_minor, major_units, round_half_up

WHOLE_PERCENT = 10_000  # basis points
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,31}")  # what a customer types: 3-32 letters, digits, - and _
MAX_PERIODS = 120
MAX_AMOUNT = 10**12  # minor units: a typing slip of a few digits is refused, and the value fits the column
MAX_REDEMPTIONS = 2**31 - 1  # what the column holds
_PERCENT = re.compile(r"([0-9]{1,3})(?:[.]([0-9]{1,2}))?")  # "20", "12.5", "0.25": basis points exactly


class Duration(enum.StrEnum):
    ONCE = "once"  # the first billing period
    REPEATING = "repeating"  # N billing periods
    FOREVER = "forever"


@direct_init
@dataclass(frozen=True, slots=True)
class Discount:
    """The discount an account holds: the terms in its currency and the service time it covers (rule DC2)."""

    code: str
    start: datetime
    end: datetime | None  # None: for ever
    percent: int | None = None  # basis points, 1-10000
    amount: int | None = None  # minor units off each license's price per billing period
    products: frozenset[str] = frozenset()  # empty: every product (the whole order)

    def covers(self, product: str) -> bool:
        return not self.products or product in self.products

    def active_at(self, at: datetime) -> bool:
        """Still covering service time at or after ``at`` (a discount whose span has run out is over)."""
        return self.end is None or self.end > at

    def overlap(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of ``[start, end)`` this discount covers, or None."""
        lo = start if start >= self.start else self.start
        hi = end if self.end is None or end <= self.end else self.end
        return (lo, hi) if lo < hi else None

    def off(self, quantity: int, unit: int, covered: int, whole: int) -> int:
        """What it takes off a charge of ``quantity x unit x covered / whole``, exact, rounded once half up."""
        if self.percent is not None:
            return round_half_up(quantity * unit * covered * self.percent, whole * WHOLE_PERCENT)
        assert self.amount is not None
        return round_half_up(quantity * min(self.amount, unit) * covered, whole)

    def describe(self, currency: str) -> str:
        """The terms in the stored English text of a line: ``20 %`` or ``5.00 USD off each license``."""
        if self.percent is not None:
            return f"{percent_text(self.percent)} %"
        assert self.amount is not None
        return f"{major_units(self.amount, currency):f} {currency} off each license"


@dataclass(frozen=True, slots=True)
class DiscountCode:
    """A code as the operator defined it (rule DC2), with how often it has been redeemed."""

    code: str
    duration: Duration
    periods: int | None = None  # for REPEATING: how many billing periods
    percent: int | None = None  # basis points
    amounts: Mapping[str, int] = field(default_factory=dict)  # currency -> minor units off each license per period
    products: frozenset[str] = frozenset()  # empty: the whole order
    expires_at: datetime | None = None  # redeemable before this instant
    max_redemptions: int | None = None
    redeemed: int = 0
    active: bool = True  # an operator retired it: no new redemptions, existing discounts run on

    @property
    def period_count(self) -> int | None:
        """How many billing periods a redemption covers; None for ever."""
        if self.duration is Duration.FOREVER:
            return None
        return 1 if self.duration is Duration.ONCE else self.periods

    def redemption(self, currency: str, at: datetime, *, field: str = "discount_code") -> Redemption:
        """The terms an account in ``currency`` redeeming at ``at`` gets, or a refusal naming why not."""
        percent, amount = self.terms_for(currency, at, field=field)
        return Redemption(self.code, percent, amount, self.products, self.period_count)

    def terms_for(self, currency: str, at: datetime, *, field: str = "discount_code") -> tuple[int | None, int | None]:
        """``(percent, amount)`` for an account in ``currency`` redeeming at ``at``, or a refusal naming why not."""
        if not self.active:
            raise RuleViolation("discount.retired", f"{field}: the code {self.code} is no longer offered",
                                rule="DC2", field=field, code_name=self.code)  # fmt: skip
        if self.expires_at is not None and at >= self.expires_at:
            raise RuleViolation("discount.expired", f"{field}: the code {self.code} has expired",
                                rule="DC2", field=field, code_name=self.code)  # fmt: skip
        if self.max_redemptions is not None and self.redeemed >= self.max_redemptions:
            raise exhausted(self.code, field)
        if self.percent is not None:
            return self.percent, None
        amount = self.amounts.get(currency)
        if amount is None:
            raise RuleViolation("discount.currency", f"{field}: the code {self.code} has no amount in {currency}",
                                rule="DC2", field=field, code_name=self.code, currency=currency)  # fmt: skip
        return None, amount


def exhausted(code: str, field: str = "discount_code") -> RuleViolation:
    """Rule DC2: the code's redemptions are all taken (read so, or taken by another redemption since it was read)."""
    return RuleViolation("discount.exhausted", f"{field}: the code {code} has been used as often as allowed",
                         rule="DC2", field=field, code_name=code)  # fmt: skip


@direct_init
@dataclass(frozen=True, slots=True)
class Redemption:
    """A code's terms resolved for one account, before the service time it covers is known (rule DC1: that depends
    on whether it comes with an order, and on the plan's periods after it)."""

    code: str
    percent: int | None
    amount: int | None
    products: frozenset[str]
    periods: int | None  # billing periods covered; None for ever

    def covering(self, start: datetime, end: datetime | None) -> Discount:
        return Discount(self.code, start, end, self.percent, self.amount, self.products)


def normalise_code(value: object, *, field: str = "discount_code") -> str:
    """A code as typed (any case, surrounding spaces) in its stored form, or a refusal."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if not CODE_PATTERN.fullmatch(text):
        raise InvalidInput("discount.invalid_code",
                           f"{field}: a discount code is 3-32 letters, digits, '-' or '_'",
                           rule="DC1", field=field)  # fmt: skip
    return text


def percent_points(value: object, *, field: str = "percent") -> int:
    """A percentage as typed ("20", "12.5", "0.25") in basis points, read exactly, never through a float."""
    found = _PERCENT.fullmatch(value) if isinstance(value, str) and len(value) <= 16 else None
    points = None if found is None else int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))
    if points is None or not 1 <= points <= WHOLE_PERCENT:
        raise InvalidInput("discount.percent", f'{field}: a percentage from 0.01 to 100, written as "20" or "12.5"',
                           rule="DC2", field=field)  # fmt: skip
    return points


def percent_text(points: int) -> str:
    """Basis points as a percentage is written: 2000 -> "20", 1250 -> "12.5", 25 -> "0.25"."""
    whole, part = divmod(points, 100)
    return str(whole) if not part else f"{whole}.{part:02d}".rstrip("0")


def check_definition(code: DiscountCode, products: frozenset[str] | None = None) -> DiscountCode:
    """Rule DC2: a definition an operator may create; ``products`` is what the catalog sells, to check against."""
    normalise_code(code.code, field="code")
    if (code.percent is None) == (not code.amounts):
        raise InvalidInput("discount.terms", "percent: give either a percentage or fixed amounts, not both",
                           rule="DC2", field="percent")  # fmt: skip
    if code.percent is not None and (type(code.percent) is not int or not 1 <= code.percent <= WHOLE_PERCENT):
        raise InvalidInput("discount.percent", "percent: a percentage from 0.01 to 100",
                           rule="DC2", field="percent")  # fmt: skip
    for currency, amount in code.amounts.items():
        if currency not in EXPONENTS:
            raise InvalidInput("currency.unknown", f"amounts: {currency!r} is not an ISO 4217 currency code",
                               rule="X1", field="amounts")  # fmt: skip
        check_minor(amount, field="amounts")
        if not 1 <= amount <= MAX_AMOUNT:
            raise InvalidInput("discount.amount", f"amounts: a fixed discount is from 1 to {MAX_AMOUNT} minor units",
                               rule="DC2", field="amounts")  # fmt: skip
    if code.duration is Duration.REPEATING:
        if type(code.periods) is not int or not 1 <= code.periods <= MAX_PERIODS:
            raise InvalidInput("discount.periods", f"periods: from 1 to {MAX_PERIODS} billing periods",
                               rule="DC2", field="periods")  # fmt: skip
    elif code.periods is not None:
        raise InvalidInput("discount.periods", "periods: only a repeating discount counts periods",
                           rule="DC2", field="periods")  # fmt: skip
    if code.max_redemptions is not None and (
        type(code.max_redemptions) is not int or not 1 <= code.max_redemptions <= MAX_REDEMPTIONS
    ):
        raise InvalidInput("discount.max_redemptions",
                           f"max_redemptions: from 1 to {MAX_REDEMPTIONS}, or none for no limit",
                           rule="DC2", field="max_redemptions")  # fmt: skip
    if products is not None:
        unknown = sorted(code.products - products)
        if unknown:
            raise InvalidInput("discount.products", f"products: the catalog sells no {', '.join(unknown)}",
                               rule="DC2", field="products")  # fmt: skip
    return code


def one_at_a_time(current: Discount | None, start: datetime, *, field: str = "discount_code") -> None:
    """Rule DC2: one discount per account at a time: a code that would start (at ``start``) while the current one
    still covers time is refused; it may be entered once the current one has run out by then."""
    if current is not None and current.active_at(start):
        raise RuleViolation("discount.one_at_a_time",
                            f"{field}: the account already has the discount {current.code}; one code at a time",
                            rule="DC2", field=field, current=current.code)  # fmt: skip
