"""Invoice lines and the totals of a quote or a renewal (rules C4, C5, C6, I5, T3).

Every line is computed exactly as ``quantity x unit amount x used / whole`` (or, for a credit, as the charged
amounts x unused / charged span) and rounded once, half up; its tax is computed on that rounded amount (T3). Totals
are sums of rounded lines; the total is the subtotal plus the tax. The credit balance is used before anything is
due; a negative total goes to the balance.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from prorata.domain.account import Account, Pending
from prorata.domain.frozen import direct_init
from prorata.domain.periods import Granularity, Period
from prorata.domain.tax import NO_TAX, TaxDecision


class LineKind(enum.StrEnum):
    CHARGE = "charge"
    CREDIT = "credit"
    DISCOUNT = "discount"  # rule DC2: what a discount takes off the charge line before it


@direct_init
@dataclass(frozen=True, slots=True)
class Line:
    kind: LineKind
    subscription: str
    product: str
    description: str
    quantity: int
    unit_amount: int | None  # list price per license per interval; None on a credit (it reverses charges, C5)
    period: Period  # the service period this line covers
    used: int  # numerator of the fraction: days or seconds of the period
    whole: int  # denominator: days or seconds of the whole period
    amount: int  # signed minor units: charges positive, credits negative
    basis: int | None = None  # on a credit: the amount charged that it reverses (never exceeded)
    tax_rate: int = 0  # basis points; on a credit, the rate of the charge it reverses (rule T3)
    tax: int = 0  # signed minor units, on the rounded ``amount`` (rule T3)
    # the period ``whole`` measures: the anchor period a charge is prorated against, or the subscription's period a
    # credit reverses part of (kept with the line, so that its fraction can be checked against the calendar, C3)
    billing_period: Period | None = None
    discount: str | None = None  # on a discount line: the code (rule DC2)


# read for every line's text: on Python 3.11 ``Granularity.DAY`` passes the enum metaclass's ``__getattr__`` hook
_BY_DAY = Granularity.DAY


def fraction_text(used: int, whole: int, granularity: Granularity) -> str:
    unit = "days" if granularity is _BY_DAY else "seconds"
    return f"{used} of {whole} {unit}"


@direct_init
@dataclass(frozen=True, slots=True)
class ScheduledChange:
    """A change the order leaves for later, or withdraws (rule L6: nothing pending is dropped silently)."""

    subscription: str
    product: str
    action: str  # "scheduled" or "withdrawn"
    change: Pending


class UnassignReason(enum.StrEnum):
    ENDED = "ended"  # the subscription ended (cancelled at the term end D1, a one-month product A8)
    REDUCED = "reduced"  # it renewed with fewer licenses than were assigned (data from before rule L4 held)


@dataclass(frozen=True, slots=True)
class Unassigned:
    """Assignments a renewal ends: never dropped silently (rules C7, L4, U1). The services choose the users."""

    subscription: str
    product: str  # the product the assignments were of
    licenses: int  # how many assignments end: all of an ended subscription's, the excess of a reduced one
    reason: UnassignReason


@direct_init
@dataclass(frozen=True, slots=True)
class Quote:
    """Lines due now, totals, credit used, scheduled changes and the account as the order leaves it."""

    currency: str
    at: datetime
    lines: tuple[Line, ...]
    subtotal: int
    credit_balance_before: int
    credit_used: int
    credit_added: int
    amount_due: int
    credit_balance_after: int
    scheduled: tuple[ScheduledChange, ...]
    account: Account
    to_assign: tuple[tuple[str, str, int], ...] = ()  # rule L5: (subscription, product, licenses bought now)
    valid_until: datetime | None = None  # rule C6: placed before this instant, invoiced exactly as quoted
    tax: int = 0  # the sum of the lines' tax (rule T3)
    tax_decision: TaxDecision = NO_TAX  # the rate new charges pay, and whether the reverse-charge note applies (T2)
    unassigned: tuple[Unassigned, ...] = ()  # a renewal's assignments that end with it (rules C7, L4, U1)

    @property
    def total(self) -> int:
        """Subtotal plus tax: what the credit balance and the payment settle."""
        return self.subtotal + self.tax


def settle(subtotal: int, balance: int) -> tuple[int, int, int]:
    """``(credit_used, credit_added, amount_due)``: the balance pays first; a negative subtotal is credited."""
    if subtotal >= 0:
        used = min(balance, subtotal)
        return used, 0, subtotal - used
    return 0, -subtotal, 0
