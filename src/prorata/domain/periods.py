"""Billing periods, instants and how much of a period remains (rules C3, X2).

Periods are half-open ``[start, end)``. Period ``k`` of a subscription ends at ``anchor + k * interval``, always
computed from the anchor and never chained, in the account's time zone: an anchor on Jan 31 gives Feb 28 (or 29),
Mar 31, Apr 30 ... and keeps its local wall-clock time across daylight-saving changes.

Proration counts either whole **days** in the account's time zone (the default: the day of a change counts as
unused, the period's end date is exclusive) or **seconds** (Stripe-style). Under day granularity a change takes
effect at the start of its local day, so a period started by a change starts at local midnight.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prorata.domain.errors import InvalidInput
from prorata.domain.frozen import direct_init

_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Interval(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"

    def __init__(self, value: str) -> None:
        # months per period, an attribute of the member rather than a property: read for every boundary located (a
        # class-level annotation would make mypy widen the members' values from their literals to str)
        self.months = 1 if value == "month" else 12

    @classmethod
    def parse(cls, value: object, *, field: str = "interval") -> Interval:
        if not isinstance(value, str) or value not in cls._value2member_map_:
            raise InvalidInput(
                "interval.unknown", f"{field}: {value!r} is not a billing interval (month or year)", field=field
            )
        return cls(value)


class Granularity(enum.StrEnum):
    DAY = "day"
    SECOND = "second"

    @classmethod
    def parse(cls, value: object, *, field: str = "granularity") -> Granularity:
        if not isinstance(value, str) or value not in cls._value2member_map_:
            raise InvalidInput(
                "granularity.unknown", f"{field}: {value!r} is not a granularity (day or second)", field=field
            )
        return cls(value)


# Compared on every instant measured, so bound once: on Python 3.11 a member read through its class
# (``Granularity.SECOND``) passes the enum metaclass's ``__getattr__`` hook, several times the cost of a global
_BY_SECOND = Granularity.SECOND


def require_aware(value: object, *, field: str) -> datetime:
    """An aware instant, normalised to UTC; naive datetimes are refused (rule X2)."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # already normalised: the common case
    if not isinstance(value, datetime):
        raise InvalidInput("time.not_a_datetime", f"{field}: expected an instant, got {value!r}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            "time.naive",
            f"{field}: {value.isoformat()} has no UTC offset; instants must be aware (e.g. 2026-11-15T10:00:00Z)",
            rule="X2",
            field=field,
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 and 9999-12-31T23:59-01:00 fall outside the years a datetime holds
        raise InvalidInput(
            "time.out_of_range", f"{field}: {value.isoformat()} is before the year 1 or after 9999 in UTC", rule="X2",
            field=field,
        ) from None  # fmt: skip


def parse_instant(value: object, *, field: str) -> datetime:
    """Parse an ISO 8601 instant with an offset (``Z`` accepted); naive text is refused."""
    if not isinstance(value, str):
        raise InvalidInput("time.not_a_datetime", f"{field}: expected an ISO 8601 instant string", field=field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "time.not_a_datetime", f"{field}: {value!r} is not an ISO 8601 instant", field=field
        ) from None
    return require_aware(parsed, field=field)


@lru_cache(maxsize=512)
def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "time_zone.unknown", f"time_zone: {name!r} is not an IANA time zone", rule="X2", field="time_zone"
        ) from None


@direct_init
@dataclass(frozen=True, slots=True)
class Period:
    """A half-open service period ``[start, end)`` of aware UTC instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise InvalidInput(
                "period.empty",
                f"a period must end after it starts ({self.start} .. {self.end})",
                field="period",
            )

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at < self.end


@lru_cache(maxsize=1024)
def _local_time(at: datetime, tz: ZoneInfo) -> datetime:
    """``at`` in ``tz``: one order looks at the instant it is priced at in local time twice (where its change takes
    effect, until when its quote holds). Locating a period converts its instant directly: those are mostly new."""
    return at.astimezone(tz)


@lru_cache(maxsize=8192)
def _anchor_parts(anchor: datetime, tz: ZoneInfo) -> tuple[int, int, int, int, int, int, int]:
    """``(months since year 0, day, hour, minute, second, microsecond, fold)`` of ``anchor`` in ``tz``: what every
    boundary of it is built from. An anchor serves many boundaries (its subscriptions' periods, their add-ons', the
    quote's), so it is converted to local time once."""
    local = anchor.astimezone(tz)
    return (
        local.year * 12 + (local.month - 1), local.day, local.hour, local.minute, local.second, local.microsecond,
        local.fold,
    )  # fmt: skip


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


@lru_cache(maxsize=65536)
def boundary(anchor: datetime, k: int, months_per_period: int, tz: ZoneInfo) -> datetime:
    """The instant ``anchor + k periods``, from the anchor, clamped to the month's last day, in ``tz`` wall time
    (the anchor's ``fold`` kept: an anchor in the repeated hour of a clock change stays in its second pass)."""
    month_index, anchor_day, hour, minute, second, microsecond, fold = _anchor_parts(anchor, tz)
    year, month0 = divmod(month_index + k * months_per_period, 12)
    if not MINYEAR < year < MAXYEAR:
        raise InvalidInput(
            "period.out_of_range", f"period: a billing period cannot reach the year {year}", field="period"
        )
    day = anchor_day if anchor_day <= 28 else min(anchor_day, _days_in_month(year, month0 + 1))  # every month has 28
    # the fields given directly (no date and time objects combined); fold named only where it is set
    if fold:
        return datetime(year, month0 + 1, day, hour, minute, second, microsecond, tz, fold=1).astimezone(UTC)
    return datetime(year, month0 + 1, day, hour, minute, second, microsecond, tz).astimezone(UTC)


def _locate(anchor: datetime, at: datetime, months: int, tz: ZoneInfo) -> tuple[int, datetime, datetime]:
    """``(k, boundary(k), boundary(k + 1))`` with ``boundary(k) <= at < boundary(k + 1)``."""
    b = at.astimezone(tz)
    k = (b.year * 12 + (b.month - 1) - _anchor_parts(anchor, tz)[0]) // months
    start, end = boundary(anchor, k, months, tz), boundary(anchor, k + 1, months, tz)
    while start > at:
        k, end = k - 1, start
        start = boundary(anchor, k, months, tz)
    while end <= at:
        k, start = k + 1, end
        end = boundary(anchor, k + 1, months, tz)
    return k, start, end


def period_index(anchor: datetime, at: datetime, interval: Interval, tz: ZoneInfo) -> int:
    """The ``k`` for which ``boundary(k) <= at < boundary(k + 1)``."""
    return _locate(anchor, at, interval.months, tz)[0]


def period_containing(anchor: datetime, at: datetime, interval: Interval, tz: ZoneInfo) -> Period:
    """The anchor period that contains ``at``."""
    _, start, end = _locate(anchor, at, interval.months, tz)
    return Period(start, end)


def period_bounds(anchor: datetime, at: datetime, interval: Interval, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``(start, end)`` of the anchor period that contains ``at``: ``period_containing`` for a caller that may
    already hold that period and need not make it again."""
    _, start, end = _locate(anchor, at, interval.months, tz)
    return start, end


def next_period(anchor: datetime, end: datetime, interval: Interval, tz: ZoneInfo) -> Period:
    """The anchor period that starts at ``end`` (the renewal of a period ending there)."""
    return period_containing(anchor, end, interval, tz)


@lru_cache(maxsize=8192)
def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant ``day`` starts in ``tz``, in UTC: every change of that day takes effect then, and every quote of
    the day before holds until then."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def effective_start(at: datetime, tz: ZoneInfo, granularity: Granularity) -> datetime:
    """Where a change made at ``at`` takes effect: its whole second, or its local midnight (day granularity).

    Truncating to the second keeps the parts of a period split by changes adding up to the whole period.
    """
    if granularity is _BY_SECOND:
        return at.replace(microsecond=0)
    return _local_midnight(_local_time(at, tz).date(), tz)


def trial_end(start: datetime, days: int, tz: ZoneInfo, granularity: Granularity) -> datetime:
    """Rule TR1: the end of a free trial of ``days`` that starts at ``start`` (a change's effective start): that
    many local days later at midnight (day granularity, DST-proof), or exactly that many 24-hour days (second)."""
    if granularity is Granularity.SECOND:
        return start + timedelta(days=days)
    return _local_midnight(_local_time(start, tz).date() + timedelta(days=days), tz)


def valid_until(at: datetime, tz: ZoneInfo, granularity: Granularity, seconds: int) -> datetime:
    """Rule C6: until when a quote's amounts hold: the end of the local day (day granularity, where every instant of
    the day prices the same), or ``seconds`` later (second granularity)."""
    if granularity is _BY_SECOND:
        return at + timedelta(seconds=seconds)
    return _local_midnight(_local_time(at, tz).date() + _DAY, tz)


def billing_day_anchor(at: datetime, day: int, interval: Interval, tz: ZoneInfo) -> datetime:
    """The anchor of periods billed on ``day`` of the month, chosen at ``at`` (rule C3), as an aware UTC instant.

    The first billing date is the first local date on or after ``at``'s that falls on ``day`` (the last day of a
    shorter month). The anchor is the local midnight of a date on or before it that carries ``day`` itself, so that
    the chosen day is never lost to a short month: billed monthly on the 31st from February 10, the anchor is January
    31 and the periods end Feb 28, Mar 31, Apr 30, May 31, the first one prorated against its real length (Jan 31 -
    Feb 28, 28 days). A yearly plan renews in the month of its first billing date: on the 29th to the 31st of
    February, its anchor is the latest February 29, so it renews on Feb 28, or Feb 29 in a leap year.
    """
    local = at.astimezone(tz).date()
    year, month = local.year, local.month
    if date(year, month, min(day, _days(year, month))) < local:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if interval is Interval.MONTH:
        while day > _days(year, month):  # at most one month back: a short month follows a long one
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        anchor = date(year, month, day)
    else:
        wanted = min(day, 29 if month == 2 else _days(year, month))
        while wanted > _days(year, month):  # February 29: back to the latest leap year
            year -= 1
        anchor = date(year, month, wanted)
    return datetime.combine(anchor, time(0), tzinfo=tz).astimezone(UTC)


def _days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def last_day(period: Period, tz: ZoneInfo, granularity: Granularity) -> date:
    """The last day a half-open period ``[start, end)`` serves, in ``tz``: the day a customer reads as included.

    Periods end exclusively (rule C3), so the date of ``end`` itself is not the last day when the period ends at
    midnight: Nov 30 - Dec 30 (midnight) is written Nov 30 - Dec 29. Under day granularity the end date is never
    counted, whatever its time, so the last day is the day before it, as the day counts of rule C3 take it. Under
    second granularity the last day is the one holding the period's last second (``end`` minus one second): a
    period ending at 10:00 on Dec 15 serves part of Dec 15, so Dec 15 is its last day. Never before the first day.
    """
    if granularity is _BY_SECOND:
        last = (period.end - _SECOND).astimezone(tz).date()
    else:
        last = period.end.astimezone(tz).date() - timedelta(days=1)
    return max(last, period.start.astimezone(tz).date())


def service_days(period: Period, tz: ZoneInfo, granularity: Granularity) -> tuple[date, date]:
    """``(first day, last day)`` of ``period`` in ``tz``, both included: how every document writes a service period."""
    return period.start.astimezone(tz).date(), last_day(period, tz, granularity)


@lru_cache(maxsize=16384)
def _local_ordinal(at: datetime, tz: ZoneInfo) -> int:
    """The proleptic ordinal of ``at``'s date in ``tz``: a period's ends and a change's start are measured again and
    again while one order is priced (its charge, its credit, their texts)."""
    return at.astimezone(tz).toordinal()


def measure(start: datetime, end: datetime, tz: ZoneInfo, granularity: Granularity) -> int:
    """The length of ``[start, end)`` in whole local days or in seconds (never negative)."""
    if end <= start:
        return 0
    if granularity is _BY_SECOND:
        # whole seconds on a fixed axis, so that lengths add up: measure(a, b) + measure(b, c) == measure(a, c).
        # A timedelta keeps 0 <= seconds < 86,400 and its microseconds as a non-negative rest, so days x 86,400 +
        # seconds is the floor of its length in seconds, without dividing one timedelta by another
        since_start, since_end = start - _EPOCH, end - _EPOCH
        return (since_end.days - since_start.days) * 86_400 + since_end.seconds - since_start.seconds
    return _local_ordinal(end, tz) - _local_ordinal(start, tz)


def clear_caches() -> None:
    """Empty the memoised period computations (boundaries, local midnights and dates), as a new process has them."""
    for cached in (boundary, _anchor_parts, _local_time, _local_midnight, _local_ordinal):
        cached.cache_clear()


def remaining(period: Period, at: datetime, tz: ZoneInfo, granularity: Granularity) -> tuple[int, int]:
    """``(remaining, whole)`` of ``period`` seen from ``at`` (rule C3): never rounded, clamped to ``[0, whole]``.

    Day granularity: the day of ``at`` counts as unused and the end date is exclusive, so a change on Nov 15 in
    Nov 1 - Dec 1 leaves 16 of 30 days.
    """
    whole = measure(period.start, period.end, tz, granularity)
    left = measure(max(at, period.start), period.end, tz, granularity)
    return min(left, whole), whole
